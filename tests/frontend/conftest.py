from __future__ import annotations

import pytest

from tests.support.nginx import nginx_frontend


@pytest.fixture(scope="module")
def frontend(tmp_path_factory, api):
    """nginx with the project's configuration in front of the real API."""
    with nginx_frontend(
        tmp_path_factory.mktemp("nginx"), api.url.removeprefix("http://"), rate="200r/s", burst="400"
    ) as server:
        yield server
