"""``python -m digits_syncer once`` in local mode, beside a real API watching its model directory."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from digits_api.bundle import zip_bundle
from digits_api.fetch import main as fetch_main
from tests.api.conftest import copy_bundle
from tests.support.servers import api_server, python_env, wait_until

TOKEN = "ghp_never_log_me_0123456789"


def _once(hub, tmp_path, api_url, *extra):
    (tmp_path / "token").write_text(TOKEN)
    env = python_env(
        DIGITS_SYNCER_MODE="local",
        DIGITS_SYNCER_GITHUB_API_URL=hub.url,
        DIGITS_SYNCER_SOURCE_REPO=f"{hub.owner}/{hub.source}",
        DIGITS_SYNCER_GITHUB_TOKEN_FILE=str(tmp_path / "token"),
        DIGITS_SYNCER_LOCAL_MODELS_DIR=str(tmp_path / "models"),
        DIGITS_SYNCER_STATE_FILE=str(tmp_path / "state.json"),
        DIGITS_SYNCER_SERVING_API_URL=api_url,
        DIGITS_SYNCER_HOLDOUT_SIZE="500",
        DIGITS_SYNCER_LOG_LEVEL="DEBUG",
    )
    return subprocess.run(
        [sys.executable, "-m", "digits_syncer", "once", *extra], env=env, capture_output=True, text=True, timeout=300
    )


def test_local_mode_installs_rejects_and_never_logs_the_token(tmp_path, github, baked_in_bundle):
    models = tmp_path / "models"
    assert fetch_main(["--models", str(models), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    v2 = zip_bundle(copy_bundle(baked_in_bundle, tmp_path / "v2", version="v2.0.0"), tmp_path / "mnist-cnn-v2.0.0.zip")
    github.publish("v2.0.0", v2.name, v2.read_bytes())
    with api_server(tmp_path, model_path=str(models / "current"), watch="true", watch_interval_s="0.2") as api:
        first = _once(github, tmp_path, api.url)
        assert (first.returncode, first.stdout.strip()) == (0, "deployed"), first.stderr[-3000:]
        wait_until(lambda: httpx.get(f"{api.url}/model").json()["version"] == "v2.0.0", 30, "the API to serve v2.0.0")

        again = _once(github, tmp_path, api.url)
        assert (again.returncode, again.stdout.strip()) == (0, "up-to-date")

        github.publish("v3.0.0", "mnist-cnn-v3.0.0.zip", b"PK\x03\x04 this is no zip")
        rejected = _once(github, tmp_path, api.url)
        assert (rejected.returncode, rejected.stdout.strip()) == (3, "rejected")
        state = json.loads((tmp_path / "state.json").read_text())
        assert "not a valid zip" in state["rejected"]["v3.0.0"]
        assert httpx.get(f"{api.url}/model").json()["version"] == "v2.0.0"
        assert _once(github, tmp_path, api.url).stdout.strip() == "up-to-date"  # not retried...
        assert _once(github, tmp_path, api.url, "--retry", "v3.0.0").stdout.strip() == "rejected"  # ...unless asked

    logs = first.stderr + again.stderr + rejected.stderr
    assert TOKEN not in logs
    lines = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    assert any("model v2.0.0 deployed" in line["message"] for line in lines)
