"""The part of a bounded, digest-checked download that does not depend on the HTTP library: the fetcher
(``urllib``) and the syncer's release source (``requests``) each read their replies their own way and
hand every chunk to a ``BoundedSink``.

The sink writes the chunks to a file object as they arrive, counts them against a size limit, holds
one deadline for the whole download, honours a stop request, and computes the sha256 of what it wrote.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from typing import BinaryIO


class DownloadLimit(Exception):
    """A download ended by one of its bounds (each adapter says so in its own errors)."""


class TooLarge(DownloadLimit):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size
        """Bytes received (or declared) when the limit was passed."""


class DeadlinePassed(DownloadLimit):
    """The whole download's deadline passed."""


class Stopped(DownloadLimit):
    """The stop flag was set (the process is shutting down)."""


def declared_length(header: str | None) -> int | None:
    """A Content-Length header's value, or None when it is missing or not a plain decimal number."""
    value = (header or "").strip()
    return int(value) if re.fullmatch(r"[0-9]{1,20}", value) else None


class BoundedSink:
    """Chunks of one download, written to ``file`` within ``limit`` bytes and before ``deadline`` (a
    ``time.monotonic()`` value), unless ``stop`` is set; ``sha256`` is the digest of what was written."""

    def __init__(self, file: BinaryIO, *, limit: int, deadline: float, stop: threading.Event | None = None) -> None:
        self.limit, self.deadline = limit, deadline
        self.size = 0
        self._file, self._stop = file, stop
        self._digest = hashlib.sha256()

    def check(self) -> None:
        """Raise ``Stopped`` or ``DeadlinePassed`` when the download must end now (call before each read)."""
        if self._stop is not None and self._stop.is_set():
            raise Stopped
        if time.monotonic() > self.deadline:
            raise DeadlinePassed

    def expect(self, declared: int | None) -> None:
        """Refuse up front a reply that declares more than the limit (``TooLarge``)."""
        if declared is not None and declared > self.limit:
            raise TooLarge(declared)

    def write(self, chunk: bytes) -> None:
        """Count, digest and write ``chunk``; ``TooLarge`` once the limit is passed (nothing more written)."""
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(self.size)
        self._digest.update(chunk)
        self._file.write(chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()
