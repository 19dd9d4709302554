from __future__ import annotations

import pytest

from tests.support.github_server import fake_github


@pytest.fixture
def github(tmp_path):
    with fake_github(tmp_path / "github") as hub:
        yield hub
    assert hub.schema_errors == [], "the fake GitHub strayed from GitHub's OpenAPI description:\n" + "\n".join(
        hub.schema_errors
    )
