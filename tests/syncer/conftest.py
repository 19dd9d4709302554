from __future__ import annotations

import os

import pytest

from digits_syncer.settings import ENV_PREFIX


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """No ``DIGITS_SYNCER_*`` variable and no ``.env`` file but what a test sets (through the returned
    ``monkeypatch``); the working directory is ``tmp_path``."""
    for name in os.environ:
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch
