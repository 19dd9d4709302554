"""The syncer's token comes from the shared token-file reader: a missing file of the optional Secret is
anonymous access; a file that is there but unusable stops the syncer at start, naming the file only."""

from __future__ import annotations

import pytest

from digits_bundle.token_file import TokenFileError
from digits_syncer.__main__ import build
from digits_syncer.settings import SyncerSettings


def test_no_file_or_a_missing_one_is_anonymous(tmp_path):
    assert SyncerSettings(github_token_file=None).token() is None
    assert SyncerSettings(github_token_file=tmp_path / "missing").token() is None


def test_the_token_is_read_stripped(tmp_path):
    (tmp_path / "token").write_text("ghp_abc\n")
    assert SyncerSettings(github_token_file=tmp_path / "token").token() == "ghp_abc"


def test_an_unusable_token_file_stops_the_syncer_at_start(tmp_path):
    (tmp_path / "token").write_text("\n")
    settings = SyncerSettings(github_token_file=tmp_path / "token")
    with pytest.raises(TokenFileError):
        settings.token()
    with pytest.raises(SystemExit, match=f"^error: token file {tmp_path / 'token'} is empty$"):
        build(settings, dry_run=True)
