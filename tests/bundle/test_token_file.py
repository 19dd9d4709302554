"""The one token-file reader (the fetcher's --token-file, the syncer's DIGITS_SYNCER_GITHUB_TOKEN_FILE)."""

from __future__ import annotations

import pytest

from digits_bundle.token_file import MAX_TOKEN_BYTES, TokenFileError, read_token

SECRET = "ghp_s3cr3t_0123456789"


@pytest.mark.parametrize(
    ("content", "token"),
    [
        (SECRET.encode(), SECRET),
        (f"\n  {SECRET}\r\n\t".encode(), SECRET),
        (b"x" * MAX_TOKEN_BYTES, "x" * MAX_TOKEN_BYTES),
    ],
    ids=["bare", "whitespace-around", "at-the-size-limit"],
)
def test_a_token_is_read_without_the_whitespace_around_it(tmp_path, content, token):
    (tmp_path / "token").write_bytes(content)
    assert read_token(tmp_path / "token") == token


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b" \n\t\r\n", "is empty"),
        (b"x" * (MAX_TOKEN_BYTES + 1), f"is larger than {MAX_TOKEN_BYTES} bytes"),
        (f"{SECRET}\n{SECRET}".encode(), "does not hold a single-line token"),
        (f"{SECRET} {SECRET}".encode(), "does not hold a single-line token"),
        (f"{SECRET}\x1b".encode(), "does not hold a single-line token"),
        (f"{SECRET}\u00e9".encode(), "does not hold a single-line token"),
        (SECRET.encode() + b"\xff", "is not UTF-8 text"),
    ],
    ids=["empty", "only-whitespace", "oversized", "two-lines", "two-words", "control", "non-ascii", "not-utf8"],
)
def test_a_file_without_a_usable_token_is_refused_without_showing_it(tmp_path, content, reason):
    (tmp_path / "token").write_bytes(content)
    for optional in (False, True):  # optional only excuses a missing file
        with pytest.raises(TokenFileError) as error:
            read_token(tmp_path / "token", optional=optional)
        assert str(error.value) == f"token file {tmp_path / 'token'} {reason}"
        assert SECRET not in str(error.value) and error.value.__cause__ is None


def test_a_missing_file_is_an_error_unless_optional(tmp_path):
    with pytest.raises(TokenFileError, match=f"token file {tmp_path / 'missing'} does not exist"):
        read_token(tmp_path / "missing")
    assert read_token(tmp_path / "missing", optional=True) is None
    assert read_token(None) is None


def test_a_file_that_cannot_be_read_says_why(tmp_path):
    with pytest.raises(TokenFileError, match=f"token file {tmp_path} cannot be read: Is a directory"):
        read_token(tmp_path, optional=True)
