"""``python -m digits_syncer``: it stops at start on unusable settings, saying which, and imports the adapters
of the mode in use only."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from digits_syncer.__main__ import main
from tests.support.servers import free_port, python_env


def test_kubernetes_mode_without_a_deployment_repository_stops_at_start(environment):
    with pytest.raises(SystemExit, match=r"^error: invalid settings: kubernetes mode .* set DIGITS_SYNCER_DEPLOY_REPO"):
        main(["once"])


def test_a_value_out_of_range_names_its_variable(environment):
    environment.setenv("DIGITS_SYNCER_MODE", "local")
    environment.setenv("DIGITS_SYNCER_MIN_ACCURACY", "90")
    with pytest.raises(SystemExit, match=r"^error: invalid settings: DIGITS_SYNCER_MIN_ACCURACY: .* less than or"):
        main(["once"])


def _imported(stderr: str) -> set[str]:
    """The modules ``python -X importtime`` reports."""
    return {match[1] for match in re.finditer(r"^import time:.*\|\s+(\S+)$", stderr, re.MULTILINE)}


def test_local_mode_imports_no_kubernetes_or_github_client(tmp_path):
    # GitHub unreachable: one reconcile fails at once (exit 1), after every import it needs.
    env = python_env(
        DIGITS_SYNCER_MODE="local",
        DIGITS_SYNCER_GITHUB_API_URL=f"http://127.0.0.1:{free_port()}",
        DIGITS_SYNCER_LOCAL_MODELS_DIR=str(tmp_path / "models"),
        DIGITS_SYNCER_STATE_FILE=str(tmp_path / "state.json"),
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "digits_syncer", "once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "GitHub unreachable" in done.stderr
    imported = _imported(done.stderr)
    assert {"digits_syncer.local", "digits_syncer.github_source", "digits_syncer.loop"} <= imported
    assert sorted(m for m in imported if m.split(".")[0] in {"kubernetes", "github"}) == []
