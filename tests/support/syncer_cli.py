"""Running ``python -m digits_syncer once`` in local mode against the local GitHub-compatible server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.github_server import FakeGitHub
from tests.support.servers import python_env

TOKEN = "ghp_never_log_me_0123456789"


def syncer_once(hub: FakeGitHub, workdir: Path, serving_api_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """One reconcile installing into ``workdir/models``, state in ``workdir/state.json``."""
    (workdir / "token").write_text(TOKEN)
    env = python_env(
        DIGITS_SYNCER_MODE="local",
        DIGITS_SYNCER_GITHUB_API_URL=hub.url,
        DIGITS_SYNCER_SOURCE_REPO=f"{hub.owner}/{hub.source}",
        DIGITS_SYNCER_GITHUB_TOKEN_FILE=str(workdir / "token"),
        DIGITS_SYNCER_LOCAL_MODELS_DIR=str(workdir / "models"),
        DIGITS_SYNCER_STATE_FILE=str(workdir / "state.json"),
        DIGITS_SYNCER_SERVING_API_URL=serving_api_url,
        DIGITS_SYNCER_HOLDOUT_SIZE="500",
        DIGITS_SYNCER_LOG_LEVEL="DEBUG",
    )
    return subprocess.run(
        [sys.executable, "-m", "digits_syncer", "once", *extra], env=env, capture_output=True, text=True, timeout=300
    )
