"""Connections to the store, bounded in time: a database that is down or slow costs a request seconds at
most, never a hang."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from digits_store.settings import StoreSettings


class StoreConfigError(ValueError):
    """The store's settings name no database this code can use."""


def create_store_engine(settings: StoreSettings) -> Engine:
    url = make_url(settings.url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": settings.statement_timeout_s})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        password = settings.password()
        if password is not None:
            url = url.set(password=password.get_secret_value())
        return create_engine(
            url,
            pool_size=settings.pool_size,
            max_overflow=0,
            pool_timeout=settings.connect_timeout_s,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": max(1, math.ceil(settings.connect_timeout_s)),
                "options": f"-c statement_timeout={int(settings.statement_timeout_s * 1000)}",
            },
        )
    raise StoreConfigError(f"unsupported database {backend!r}: use postgresql+psycopg:// or sqlite://")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL: the page's writes do not block readers (the stats, a report) and survive a crash.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
