"""Safe extraction of untrusted zip archives (model releases).

Every entry is checked before a byte is written: its name (no absolute or escaping
path, no component over 255 bytes, bounded length and depth, no entry that is both a
file and a folder, no entry twice), its type (regular files and folders only), its
compression (stored or deflated, not encrypted) and its declared size: the total, in
whole blocks as a volume counts them, must fit the limit, and a likely zip bomb is
refused by its ratio. While inflating, the bytes actually written are counted again,
so a header that lies cannot write past the limit either.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO


class UnsafeArchiveError(ValueError):
    """The archive is corrupt, too large, or tries to write outside its directory."""


class ArchiveTooLarge(UnsafeArchiveError):
    """The archive would take more space than ``ExtractionLimits.max_total_bytes``."""


@dataclass(frozen=True)
class ExtractionLimits:
    max_total_bytes: int = 512 * 1024 * 1024
    """Disk space all entries may take together, in bytes (files in whole 4 KiB blocks, one block per
    folder): checked on the declared sizes before extracting, and on the bytes written while inflating."""
    max_entries: int = 10_000
    max_ratio: float = 200.0
    """Largest uncompressed/compressed ratio for any entry bigger than 1 MiB."""
    max_name_bytes: int = 1024
    """Longest entry path, in UTF-8 bytes (Linux allows 4096 for the whole path, the destination included)."""
    max_depth: int = 32
    """Most path components an entry may have."""


MAX_COMPONENT_BYTES = 255
"""Longest file or folder name Linux file systems accept, in bytes."""
BLOCK_BYTES = 4096
"""The allocation unit space is counted in: a 1-byte file takes a block, a folder one block."""
_CHUNK = 1024 * 1024
_SUPPORTED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
DEFAULT_LIMITS = ExtractionLimits()


def disk_bytes(size: int) -> int:
    """Space ``size`` bytes of file content take on a volume, in whole blocks."""
    return -(-size // BLOCK_BYTES) * BLOCK_BYTES


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]

    @property
    def is_dir(self) -> bool:
        return self.info.is_dir()


def _member_parts(name: str, limits: ExtractionLimits) -> tuple[str, ...]:
    posix = name.replace("\\", "/")
    path = PurePosixPath(posix)
    if path.is_absolute() or posix.startswith("/") or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchiveError(f"entry {name!r} has an absolute path")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"entry {name!r} escapes the archive directory")
    if not path.parts:
        raise UnsafeArchiveError(f"entry {name!r} has no name")
    if not name.isprintable():
        raise UnsafeArchiveError(f"entry {name!r} has control characters in its name")
    if len(posix.encode()) > limits.max_name_bytes:
        raise UnsafeArchiveError(f"entry {name[:64]!r}... has a name longer than {limits.max_name_bytes} bytes")
    if any(len(part.encode()) > MAX_COMPONENT_BYTES for part in path.parts):
        raise UnsafeArchiveError(f"entry {name[:64]!r}... has a path component longer than {MAX_COMPONENT_BYTES} bytes")
    if len(path.parts) > limits.max_depth:
        raise UnsafeArchiveError(f"entry {name[:64]!r}... is nested deeper than {limits.max_depth} levels")
    return path.parts


def _check_entry(info: zipfile.ZipInfo, limits: ExtractionLimits) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeArchiveError(f"entry {info.filename!r} is a symbolic link")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UnsafeArchiveError(f"entry {info.filename!r} is not a regular file")
    if info.is_dir():
        return
    if info.flag_bits & 0x1:
        raise UnsafeArchiveError(f"entry {info.filename!r} is encrypted")
    if info.compress_type not in _SUPPORTED_COMPRESSION:
        raise UnsafeArchiveError(
            f"entry {info.filename!r} uses compression method {info.compress_type}: only stored and deflated are read"
        )
    if info.file_size > _CHUNK and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise UnsafeArchiveError(
            f"entry {info.filename!r} inflates {info.file_size / max(info.compress_size, 1):.0f}x"
            f" (limit {limits.max_ratio:.0f}x): refusing a likely zip bomb"
        )


def plan_extraction(members: list[zipfile.ZipInfo], limits: ExtractionLimits = DEFAULT_LIMITS) -> list[_Entry]:
    """Check every entry of an archive against ``limits`` before anything is written.

    Returns the entries to create, folders first. Raises ``UnsafeArchiveError`` naming the first
    entry that is refused, or the total when the declared sizes do not fit ``max_total_bytes``.
    """
    if len(members) > limits.max_entries:
        raise UnsafeArchiveError(f"archive has {len(members)} entries, more than {limits.max_entries}")
    files: dict[tuple[str, ...], str] = {}
    folders: dict[tuple[str, ...], str] = {}  # every folder an entry needs -> the first entry needing it
    entries: list[_Entry] = []
    for info in members:
        parts = _member_parts(info.filename, limits)
        _check_entry(info, limits)
        entry = _Entry(info, parts)
        entries.append(entry)
        for n in range(1, len(parts) + (1 if entry.is_dir else 0)):
            folders.setdefault(parts[:n], info.filename)
        if entry.is_dir:
            continue
        if parts in files:
            raise UnsafeArchiveError(f"archive holds {'/'.join(parts)!r} twice")
        files[parts] = info.filename
    for parts, name in files.items():
        if parts in folders:
            raise UnsafeArchiveError(
                f"entries {name!r} and {folders[parts]!r} clash: {'/'.join(parts)!r} would be both a file and a folder"
            )
    declared = sum(disk_bytes(e.info.file_size) for e in entries if not e.is_dir) + BLOCK_BYTES * len(folders)
    if declared > limits.max_total_bytes:
        raise ArchiveTooLarge(
            f"archive inflates to more than {limits.max_total_bytes} bytes: its entries declare {declared}"
        )
    return sorted((e for e in entries if e.is_dir), key=lambda e: len(e.parts)) + [e for e in entries if not e.is_dir]


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The inflated bytes of ``info``; a read the archive's own offsets make fail is the archive's fault."""
    try:
        with zf.open(info) as source:
            while chunk := source.read(_CHUNK):
                yield chunk
    except OSError as error:
        raise UnsafeArchiveError(f"entry {info.filename!r} cannot be read: {error.strerror or error}") from error


def _extract_entries(zf: zipfile.ZipFile, entries: list[_Entry], destination: Path, limits: ExtractionLimits) -> None:
    written = 0
    for entry in entries:
        target = destination.joinpath(*entry.parts)
        if entry.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as sink:
            for chunk in _chunks(zf, entry.info):
                written += len(chunk)
                if written > limits.max_total_bytes:
                    raise ArchiveTooLarge(f"archive inflates to more than {limits.max_total_bytes} bytes")
                sink.write(chunk)


def _open_zip(stream: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(stream)
    except OSError as error:  # a seek to an offset the archive's directory made up
        raise UnsafeArchiveError(f"not a valid zip archive: {error.strerror or error}") from error


def extract_zip(archive: Path, destination: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> None:
    """Extract ``archive`` into the (new or empty) directory ``destination``.

    Raises ``UnsafeArchiveError`` for anything wrong with the archive, ``OSError`` for the disk
    (or an archive file that cannot be opened at all).
    """
    with open(archive, "rb") as stream:
        try:
            with _open_zip(stream) as zf:
                _extract_entries(zf, plan_extraction(zf.infolist(), limits), destination, limits)
        except zipfile.BadZipFile as error:
            raise UnsafeArchiveError(f"not a valid zip archive: {error}") from error
        except (EOFError, zlib.error, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as error:
            raise UnsafeArchiveError(f"corrupt or unsupported zip archive: {error}") from error
        except UnicodeDecodeError as error:
            raise UnsafeArchiveError(f"an entry name is not valid UTF-8: {error.object[:64]!r}") from error
        except FileExistsError as error:
            raise UnsafeArchiveError(f"archive holds the same entry twice: {error.filename}") from error
