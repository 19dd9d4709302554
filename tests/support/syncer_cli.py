"""Running ``python -m digits_syncer once|run`` in local mode against the local GitHub-compatible server.

Scratch files go to ``workdir/scratch`` (``TMPDIR``), so tests can check that nothing is left there.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.github_server import FakeGitHub
from tests.support.servers import python_env

TOKEN = "ghp_never_log_me_0123456789"


def syncer_env(hub: FakeGitHub, workdir: Path, serving_api_url: str, **settings: str) -> dict[str, str]:
    """The environment of a local-mode syncer installing into ``workdir/models``, state in ``workdir/state.json``;
    ``settings`` adds or overrides ``DIGITS_SYNCER_*`` variables (named without the prefix, e.g. REQUIRE_DIGEST)."""
    (workdir / "token").write_text(TOKEN)
    (workdir / "scratch").mkdir(exist_ok=True)
    return python_env(
        TMPDIR=str(workdir / "scratch"),
        DIGITS_SYNCER_MODE="local",
        DIGITS_SYNCER_GITHUB_API_URL=hub.url,
        DIGITS_SYNCER_SOURCE_REPO=f"{hub.owner}/{hub.source}",
        DIGITS_SYNCER_GITHUB_TOKEN_FILE=str(workdir / "token"),
        DIGITS_SYNCER_LOCAL_MODELS_DIR=str(workdir / "models"),
        DIGITS_SYNCER_STATE_FILE=str(workdir / "state.json"),
        DIGITS_SYNCER_SERVING_API_URL=serving_api_url,
        DIGITS_SYNCER_HOLDOUT_SIZE="500",
        DIGITS_SYNCER_LOG_LEVEL="DEBUG",
        **{f"DIGITS_SYNCER_{name.upper()}": value for name, value in settings.items()},
    )


def syncer_once(
    hub: FakeGitHub, workdir: Path, serving_api_url: str, *extra: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    """One reconcile installing into ``workdir/models``, state in ``workdir/state.json``."""
    return subprocess.run(
        [sys.executable, "-m", "digits_syncer", "once", *extra],
        env=syncer_env(hub, workdir, serving_api_url, **settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass
class RunningSyncer:
    process: subprocess.Popen[bytes]
    log: Path
    stopped_in_s: float | None = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM, then wait up to ``timeout_s``; the exit code (None: it did not stop in time and was killed)."""
        if self.process.poll() is not None:
            return self.process.returncode
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None
        self.stopped_in_s = time.monotonic() - started
        return code


@contextmanager
def syncer_running(
    hub: FakeGitHub, workdir: Path, serving_api_url: str = "", **settings: str
) -> Iterator[RunningSyncer]:
    """``python -m digits_syncer run`` polling every 0.3 s, waiting at most 1 s after an error, no health port."""
    settings = {"poll_interval_s": "0.3", "max_retry_wait_s": "1", "health_port": "0", **settings}
    log = workdir / "syncer.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "digits_syncer", "run"],
            env=syncer_env(hub, workdir, serving_api_url, **settings),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = RunningSyncer(process, log)
    try:
        yield running
    finally:
        running.stop()
