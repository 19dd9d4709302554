"""Zip archives built entry by entry, including the hostile kinds (links, escapes, bombs, clashes)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

Entry = tuple[str, bytes, int | None]

HOSTILE_ENTRIES: dict[str, tuple[list[Entry], str]] = {
    "file-and-folder": ([("x", b"file", None), ("x/y/z", b"nested", None)], "both a file and a folder"),
    "folder-and-file": ([("x/y/z", b"nested", None), ("x", b"file", None)], "both a file and a folder"),
    "long-name": ([("a" * 300, b"x", None)], "longer than 255 bytes"),
}
"""Entries no file system can hold as named -> (entries, words their refusal must use)."""


def write_zip(path: Path, entries: list[Entry]) -> Path:
    """``entries``: (name, data, unix mode or None) each, deflated."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def declare_size(archive: Path, size: int) -> Path:
    """Make every central directory record of ``archive`` declare ``size`` uncompressed bytes (a lying header)."""
    data = bytearray(archive.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        data[start + 24 : start + 28] = struct.pack("<I", size)
        start += 4
    archive.write_bytes(bytes(data))
    return archive
