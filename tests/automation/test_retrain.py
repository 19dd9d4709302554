"""``make retrain`` beside a running API, as a user runs it: drawings people labelled through the API's
``/feedback`` fine-tune the served model, the syncer's local path gates the result (on MNIST, on pad-style
drawings of it and on the held-out drawings) and installs it, and the API serves it; a flood of wrong
labels ends in a refused release and the served model unchanged."""

from __future__ import annotations

import json
import subprocess

import httpx
import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.fetch import main as fetch_main
from digits_training.pad_renderings import render_digits
from tests.support.feedback import answer
from tests.support.paths import BAKED_IN_VERSION, REPO
from tests.support.servers import api_server, python_env, wait_for_store, wait_until

pytestmark = pytest.mark.slow

DRAWINGS = 300


def _post_drawings(
    api_url: str, images: np.ndarray, labels: np.ndarray, clients: int, client_prefix: str = "browser-retrain"
) -> None:
    for n, (image, label) in enumerate(zip(images, labels, strict=True)):
        body = answer(
            label=int(label),
            predicted=int(label),
            client=f"{client_prefix}-{n % clients:06d}",
            image=image.reshape(-1).tolist(),
        )
        assert httpx.post(f"{api_url}/feedback", json=body, timeout=10).status_code == 201


def _retrain(tmp_path, models, store_url: str, api_url: str, version: str) -> subprocess.CompletedProcess[str]:
    port = api_url.rsplit(":", 1)[1]
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "retrain",
            f"LOCAL_MODELS={models}",
            f"STORE_URL={store_url}",
            f"RETRAIN_DIR={tmp_path / 'retrain'}",
            f"RETRAIN_VERSION={version}",
            "RETRAIN_ARGS=--quick --drawn-eval-count 100 --progress 0",
            "HOST=127.0.0.1",
            f"PORT={port}",
        ],
        cwd=REPO,
        env=python_env(TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=900,
    )


def _api(tmp_path, models, store_url):
    return api_server(
        tmp_path,
        store_url=store_url,
        model_path=str(models / "current"),
        watch="true",
        watch_interval_s="0.2",
        feedback_per_minute="60000",  # many people's answers, sent by one test
        feedback_burst="1000",
    )


def _honest_drawings(mnist) -> tuple[np.ndarray, np.ndarray]:
    picks = np.random.default_rng(3).choice(len(mnist.x_train), size=DRAWINGS, replace=False)
    return render_digits(mnist.x_train[picks], seed=41), mnist.y_train[picks]


def test_make_retrain_fine_tunes_on_collected_drawings_gates_and_installs(tmp_path, mnist, baked_in_bundle):
    models = tmp_path / "models"
    assert fetch_main(["--models", str(models), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    store_url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    with _api(tmp_path, models, store_url) as api:
        wait_for_store(api.url)
        _post_drawings(api.url, *_honest_drawings(mnist), clients=12)

        result = _retrain(tmp_path, models, store_url, api.url, "retrain-test-1")
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        assert result.stdout.strip().splitlines()[-1] == "deployed"
        wait_until(
            lambda: httpx.get(f"{api.url}/model").json()["version"] == "retrain-test-1", 30, "the retrained model"
        )

    bundle = verify_directory(models / "current")
    training = bundle.manifest.training
    assert training.fine_tuned_from == BAKED_IN_VERSION
    assert training.data is not None and training.data.store is not None
    assert training.data.store.records == DRAWINGS
    assert training.data.collected + training.data.collected_held_out == DRAWINGS
    held_out = (bundle.manifest.evaluations or {})["collected_held_out"]
    assert held_out.n == training.data.collected_held_out >= 50
    state = json.loads((tmp_path / "retrain" / "syncer-state.json").read_text())
    reasons = json.dumps(state)
    assert f"on {held_out.n} held-out drawings (serving" in reasons  # the gate compared on them


def test_a_flood_of_wrong_labels_ends_in_a_refused_release_and_the_model_unchanged(tmp_path, mnist, baked_in_bundle):
    """Sixty browser ids (each within the per-browser bound) label 600 drawings of 7 as 1, beside 300 honest
    drawings. The fine-tuned model learns it; the gate's per-label recall on trusted digits refuses it."""
    models = tmp_path / "models"
    assert fetch_main(["--models", str(models), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    store_url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    sevens = np.random.default_rng(5).choice(np.flatnonzero(mnist.y_train == 7), size=2 * DRAWINGS, replace=False)
    with _api(tmp_path, models, store_url) as api:
        wait_for_store(api.url)
        _post_drawings(api.url, *_honest_drawings(mnist), clients=12)
        flood = render_digits(mnist.x_train[sevens], seed=43)
        _post_drawings(api.url, flood, np.full(len(flood), 1), clients=60, client_prefix="browser-sybil")

        result = _retrain(tmp_path, models, store_url, api.url, "retrain-flood-1")
        assert result.returncode != 0, (result.stdout + result.stderr)[-4000:]  # make stops on the syncer's 3
        assert result.stdout.strip().splitlines()[-1] == "rejected"
        assert httpx.get(f"{api.url}/model").json()["version"] == BAKED_IN_VERSION

    assert verify_directory(models / "current").manifest.version == BAKED_IN_VERSION
    trained = verify_directory(tmp_path / "retrain" / "bundles" / "retrain-flood-1")
    assert trained.manifest.training.data is not None and trained.manifest.training.data.store.records == 3 * DRAWINGS
    reasons = json.dumps(json.loads((tmp_path / "retrain" / "syncer-state.json").read_text()))
    assert "worse than the serving model's by more than 0.0500 for label 7 (" in reasons
