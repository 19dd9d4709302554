"""The PostgreSQL image's entrypoint (store/postgres/entrypoint.sh) with Debian's PostgreSQL on this
machine, run as the unprivileged postgres user as the cluster runs it: first start, the app's role and
password, restarts, a rotated Secret, refusals, and a fast shutdown with the api's connections open."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from digits_store.engine import create_store_engine
from digits_store.migrate import upgrade
from digits_store.settings import StoreSettings
from tests.support.paths import REPO
from tests.support.servers import free_port, wait_until

ENTRYPOINT = REPO / "store" / "postgres" / "entrypoint.sh"


@dataclass
class Server:
    root: Path
    port: int

    @property
    def password_file(self) -> Path:
        return self.root / "secret" / "password"

    def environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "PGDATA": str(self.root / "data" / "pgdata"),
            "PGPORT": str(self.port),
            "DIGITS_POSTGRES_PASSWORD_FILE": str(self.password_file),
            "DIGITS_POSTGRES_SOCKET_DIR": str(self.root / "socket"),
        }

    def run(self, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.root / "digits-postgres"), *args],
            env={**self.environment(), **environment},
            user="postgres",
            group="postgres",
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [str(self.root / "digits-postgres"), "serve"],
            env=self.environment(),
            user="postgres",
            group="postgres",
            extra_groups=[],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_until(lambda: process.poll() is not None or self.run("ready").returncode == 0, 60, "the server ready")
        assert process.poll() is None, process.communicate()[0]
        return process

    def connect(self, user: str = "digits", password: str | None = None) -> psycopg.Connection:
        secret = self.password_file.read_text().strip() if password is None else password
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=user, password=secret, dbname="digits", connect_timeout=5
        )


def _stop(process: subprocess.Popen[str]) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGINT)  # the image's STOPSIGNAL
    process.wait(timeout=30)
    return time.monotonic() - started


@pytest.fixture
def server() -> Iterator[Server]:
    if os.geteuid() != 0:
        pytest.skip("runs the server as the postgres user, which needs root")
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="digits-postgres-image-"))
    postgres = pwd.getpwnam("postgres")
    for folder in ("data", "socket", "secret"):
        (root / folder).mkdir()
    shutil.copy(ENTRYPOINT, root / "digits-postgres")
    server = Server(root, free_port())
    server.password_file.write_text("first'secret\n")
    for path in (root, *root.iterdir(), server.password_file):
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
    yield server
    subprocess.run(["pkill", "-INT", "-f", f"postgres -D {root}"], check=False)
    time.sleep(0.5)
    shutil.rmtree(root, ignore_errors=True)


def test_first_start_makes_the_app_role_and_database_and_migrations_apply(server):
    process = server.start()
    try:
        settings = StoreSettings(
            url=f"postgresql+psycopg://digits@127.0.0.1:{server.port}/digits", password_file=server.password_file
        )
        engine = create_store_engine(settings)
        upgrade(engine)
        engine.dispose()
        with server.connect() as connection:
            tables = {
                row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE tableowner = 'digits'")
            }
            superuser = connection.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        assert {"feedback", "input_samples", "alembic_version"} <= tables
        assert superuser == (False,), "the app's role must not be a superuser"
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            server.connect(password="guess")
        # The superuser has no password: only the local socket, as the postgres user, reaches it.
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            server.connect(user="postgres", password="postgres")
    finally:
        assert _stop(process) < 10


def test_a_restart_keeps_the_data_and_takes_a_rotated_password(server):
    process = server.start()
    with server.connect() as connection:
        connection.execute("CREATE TABLE kept (value int)")
        connection.execute("INSERT INTO kept VALUES (42)")
        connection.commit()
        # An open connection (as the api's pool keeps) does not hold up the shutdown.
        assert _stop(process) < 10
    old = server.password_file.read_text().strip()
    server.password_file.write_text("rotated-secret\n")
    process = server.start()
    try:
        with server.connect() as connection:
            assert connection.execute("SELECT value FROM kept").fetchall() == [(42,)]
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            server.connect(password=old)
    finally:
        _stop(process)


def test_it_refuses_to_start_without_a_password_or_with_a_hostile_name(server):
    server.password_file.write_text("")
    result = server.run("serve")
    assert result.returncode == 1 and "no password in" in result.stderr
    assert not (server.root / "data" / "pgdata").exists(), "nothing initialised without a password"
    server.password_file.write_text("secret\n")
    result = server.run("serve", DIGITS_POSTGRES_DB="digits; DROP ROLE postgres")
    assert result.returncode == 2 and "lower-case letters" in result.stderr
    assert server.run("ready").returncode != 0, "no server answers"
    assert server.run("stop").returncode == 2


def test_an_interrupted_first_start_starts_afresh_and_a_foreign_folder_is_left_alone(server):
    data = server.root / "data"
    leftover = data / "pgdata.initialising"
    leftover.mkdir()
    (leftover / "PG_VERSION").write_text("15\n")  # half made: no role, no database
    foreign = data / "pgdata"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not a database")
    for path in (leftover, leftover / "PG_VERSION", foreign, foreign / "notes.txt"):
        os.chown(path, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
    result = server.run("serve")
    assert result.returncode == 1 and "not empty and holds no database" in result.stderr
    assert (foreign / "notes.txt").read_text() == "not a database"
    shutil.rmtree(foreign)
    process = server.start()
    try:
        with server.connect() as connection:
            assert connection.execute("SELECT current_database()").fetchone() == ("digits",)
        assert not leftover.exists()
    finally:
        _stop(process)
