from __future__ import annotations

import pytest

from tests.support.github_server import fake_github


@pytest.fixture
def github(tmp_path):
    with fake_github(tmp_path / "github") as hub:
        yield hub
