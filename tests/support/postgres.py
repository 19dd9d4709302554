"""A real PostgreSQL server for tests: Debian's binaries, ``initdb`` in a temporary folder, password
authentication over loopback TCP, as the cluster's will be. Stopped and started again on demand, for the
"database down" cases."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import free_port

USER, DATABASE, PASSWORD = "digits", "digits", "not-a-real-secret"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed: `make system-deps` installs Debian's postgresql")
    return Path(initdb).parent


@dataclass
class Postgres:
    root: Path
    port: int
    bindir: Path
    password_file: Path

    @property
    def url(self) -> str:
        """Without the password: the store reads it from ``password_file``, as from a mounted Secret."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @staticmethod
    def _as_postgres(*command: str) -> list[str]:
        """PostgreSQL refuses to run as root: as root, run its tools as the postgres user."""
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    def _run(self, *command: str) -> None:
        subprocess.run(self._as_postgres(*command), check=True, capture_output=True, timeout=60)

    def running(self) -> bool:
        status = self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "status")
        return subprocess.run(status, capture_output=True, timeout=30).returncode == 0

    def start(self) -> None:
        """Start the server (nothing to do when it runs)."""
        if self.running():
            return
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.root / "data"),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def fresh_database(self, name: str) -> str:
        """The URL (without password) of a new, empty database ``name`` (dropped first if it exists)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="digits-postgres-"))
    password_file = root / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(password_file, "postgres")
    server = Postgres(root, free_port(), _bindir(), password_file)
    try:
        server._run(
            str(server.bindir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            USER,
            "--pwfile",
            str(password_file),
            "--auth-host=scram-sha-256",
            "--auth-local=peer",
            "-E",
            "UTF8",
        )
        server.start()
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=server.port, user=USER, password=PASSWORD, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # it was not running
            server._run(str(server.bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)
