"""Bring the database to the newest schema, safely when several api replicas start at once: PostgreSQL
serialises them with a transaction-scoped advisory lock, SQLite (one host) with a lock file beside it.
The later ones find the schema current and change nothing.

``python -m digits_store.migrate`` does it for the store ``DIGITS_STORE_*`` names and prints the revision
(the api runs it as a child process, so Alembic never loads into the api's memory).
"""

from __future__ import annotations

import contextlib
import fcntl
import sys
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number, the same in every replica: the key of the advisory lock.
_LOCK_KEY = 0x646967_6974_73


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str | None:
    """Apply every migration not yet applied; returns the revision the database is at."""
    config = alembic_config()
    with _file_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return current_revision(connection)


@contextlib.contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main() -> int:
    from digits_store.engine import create_store_engine
    from digits_store.records import reason
    from digits_store.settings import StoreSettings

    try:
        revision = upgrade(create_store_engine(StoreSettings()))
    except Exception as error:  # one line for the api's log, whatever went wrong
        print(reason(error), file=sys.stderr)
        return 1
    print(revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
