"""``python -m digits_syncer once`` in local mode, beside a real API watching its model directory."""

from __future__ import annotations

import json

import httpx

from digits_bundle.bundle import zip_bundle
from digits_bundle.fetch import main as fetch_main
from tests.support.bundles import copy_bundle
from tests.support.servers import api_server, wait_until
from tests.support.syncer_cli import TOKEN, syncer_once


def test_local_mode_installs_rejects_and_never_logs_the_token(tmp_path, github, baked_in_bundle):
    models = tmp_path / "models"
    assert fetch_main(["--models", str(models), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    v2 = zip_bundle(copy_bundle(baked_in_bundle, tmp_path / "v2", version="v2.0.0"), tmp_path / "mnist-cnn-v2.0.0.zip")
    github.publish("v2.0.0", v2.name, v2.read_bytes())
    with api_server(tmp_path, model_path=str(models / "current"), watch="true", watch_interval_s="0.2") as api:
        first = syncer_once(github, tmp_path, api.url)
        assert (first.returncode, first.stdout.strip()) == (0, "deployed"), first.stderr[-3000:]
        wait_until(lambda: httpx.get(f"{api.url}/model").json()["version"] == "v2.0.0", 30, "the API to serve v2.0.0")

        again = syncer_once(github, tmp_path, api.url)
        assert (again.returncode, again.stdout.strip()) == (0, "up-to-date")

        github.publish("v3.0.0", "mnist-cnn-v3.0.0.zip", b"PK\x03\x04 this is no zip")
        rejected = syncer_once(github, tmp_path, api.url)
        assert (rejected.returncode, rejected.stdout.strip()) == (3, "rejected")
        state = json.loads((tmp_path / "state.json").read_text())
        assert "not a valid zip" in state["rejected"]["v3.0.0"]
        assert httpx.get(f"{api.url}/model").json()["version"] == "v2.0.0"
        assert syncer_once(github, tmp_path, api.url).stdout.strip() == "up-to-date"  # not retried...
        assert (
            syncer_once(github, tmp_path, api.url, "--retry", "v3.0.0").stdout.strip() == "rejected"
        )  # ...unless asked

    logs = first.stderr + again.stderr + rejected.stderr
    assert TOKEN not in logs
    lines = [json.loads(line) for line in first.stderr.splitlines() if line.startswith("{")]
    assert any("model v2.0.0 deployed" in line["message"] for line in lines)
