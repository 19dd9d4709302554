"""Zip archives built entry by entry, including the hostile kinds (links, escapes, bombs)."""

from __future__ import annotations

import zipfile
from pathlib import Path


def write_zip(path: Path, entries: list[tuple[str, bytes, int | None]]) -> Path:
    """``entries``: (name, data, unix mode or None) each, deflated."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path
