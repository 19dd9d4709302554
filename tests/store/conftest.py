from __future__ import annotations

import pytest

from digits_store.settings import StoreSettings


@pytest.fixture(params=["sqlite", "postgresql"])
def store_settings(request, tmp_path) -> StoreSettings:
    """Settings of a fresh, empty store on each backend."""
    if request.param == "sqlite":
        return StoreSettings(url=f"sqlite:///{tmp_path}/feedback.sqlite3")
    server = request.getfixturevalue("postgres")
    name = f"t{abs(hash(request.node.nodeid)) % 10**12}"
    return StoreSettings(url=server.fresh_database(name), password_file=server.password_file)
