from __future__ import annotations

import pytest

from digits_store.settings import StoreSettings


@pytest.fixture(params=["sqlite", "postgresql"])
def store_settings(request, tmp_path) -> StoreSettings:
    """Settings of a fresh, empty store on each backend."""
    if request.param == "sqlite":
        return StoreSettings(url=f"sqlite:///{tmp_path}/feedback.sqlite3")
    server = request.getfixturevalue("postgres")
    import psycopg

    from tests.support.postgres import PASSWORD, USER

    name = f"t{abs(hash(request.node.nodeid)) % 10**12}"
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=USER, password=PASSWORD, dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return StoreSettings(url=server.url.rsplit("/", 1)[0] + f"/{name}", password_file=server.password_file)
