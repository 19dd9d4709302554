"""Bearer tokens read from a file (a mounted Secret): the one reader of the fetcher and the syncer.

Whatever goes wrong, the message names the file and never shows what it holds.
"""

from __future__ import annotations

from pathlib import Path

MAX_TOKEN_BYTES = 16 * 1024
"""Largest token file read, in bytes: GitHub's tokens are a few hundred bytes; a bigger file is not one."""


class TokenFileError(ValueError):
    """A token file was named but gives no usable token (missing, unreadable, empty, too big, not one line)."""


def read_token(path: Path | None, *, optional: bool = False) -> str | None:
    """The token in ``path``, surrounding whitespace removed; None when no path is given, or when the
    file is missing and ``optional`` (a Secret volume marked optional). Raises ``TokenFileError``."""
    if path is None:
        return None
    try:
        with path.open("rb") as file:
            content = file.read(MAX_TOKEN_BYTES + 1)
    except FileNotFoundError:
        if optional:
            return None
        raise TokenFileError(f"token file {path} does not exist") from None
    except OSError as error:
        raise TokenFileError(f"token file {path} cannot be read: {error.strerror or error}") from None
    if len(content) > MAX_TOKEN_BYTES:
        raise TokenFileError(f"token file {path} is larger than {MAX_TOKEN_BYTES} bytes")
    try:
        token = content.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise TokenFileError(f"token file {path} is not UTF-8 text") from None
    if not token:
        raise TokenFileError(f"token file {path} is empty")
    if not (token.isascii() and token.isprintable()) or " " in token:
        raise TokenFileError(f"token file {path} does not hold a single-line token")
    return token
