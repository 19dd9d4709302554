"""Safe extraction of untrusted zip archives (model releases).

Refuses path escapes, absolute paths, links and special files, and bounds the
number of entries and the bytes actually written (header sizes are not trusted,
so a zip bomb is stopped while it inflates).
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class UnsafeArchiveError(ValueError):
    """The archive is corrupt, too large, or tries to write outside its directory."""


@dataclass(frozen=True)
class ExtractionLimits:
    max_total_bytes: int = 512 * 1024 * 1024
    """Bytes written for all entries together, counted while inflating."""
    max_entries: int = 10_000
    max_ratio: float = 200.0
    """Largest uncompressed/compressed ratio for any entry bigger than 1 MiB."""


_CHUNK = 1024 * 1024
DEFAULT_LIMITS = ExtractionLimits()


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchiveError(f"entry {name!r} has an absolute path")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"entry {name!r} escapes the archive directory")
    return path


def extract_zip(archive: Path, destination: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> None:
    """Extract ``archive`` into the (new or empty) directory ``destination``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > limits.max_entries:
                raise UnsafeArchiveError(f"archive has {len(members)} entries, more than {limits.max_entries}")
            written = 0
            for info in members:
                relative = _safe_member_path(info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise UnsafeArchiveError(f"entry {info.filename!r} is a symbolic link")
                if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise UnsafeArchiveError(f"entry {info.filename!r} is not a regular file")
                if info.file_size > _CHUNK and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                    raise UnsafeArchiveError(
                        f"entry {info.filename!r} inflates {info.file_size / max(info.compress_size, 1):.0f}x"
                        f" (limit {limits.max_ratio:.0f}x): refusing a likely zip bomb"
                    )
                target = destination.joinpath(*relative.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(target, "xb") as sink:
                    while chunk := source.read(_CHUNK):
                        written += len(chunk)
                        if written > limits.max_total_bytes:
                            raise UnsafeArchiveError(f"archive inflates to more than {limits.max_total_bytes} bytes")
                        sink.write(chunk)
    except zipfile.BadZipFile as error:
        raise UnsafeArchiveError(f"not a valid zip archive: {error}") from error
    except (EOFError, zipfile.LargeZipFile, NotImplementedError) as error:
        raise UnsafeArchiveError(f"corrupt or unsupported zip archive: {error}") from error
    except FileExistsError as error:
        raise UnsafeArchiveError(f"archive holds the same entry twice: {error.filename}") from error
