"""What a training Job runs (``python -m release.retrain_job``), as a process: it fine-tunes the bundle the
init container fetched on the drawings in the store and publishes it as a release of the training repository
(the local GitHub-compatible server), which the syncer then gates and installs like any other release."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.fetch import main as fetch_main
from digits_training.pad_renderings import render_digits
from tests.support.feedback import store_drawings
from tests.support.paths import BAKED_IN_VERSION
from tests.support.servers import python_env
from tests.support.syncer_cli import syncer_once

pytestmark = pytest.mark.slow

TAG = "retrain-20261205T220000Z"


def _job(tmp_path, github, store_url, **changes):
    (tmp_path / "publish-token").write_text("t0ken")
    settings = {
        "TAG": TAG,
        "SOURCE_REPO": f"{github.owner}/{github.source}",
        "GITHUB_API_URL": github.url,
        "TOKEN_FILE": str(tmp_path / "publish-token"),
        "MODEL_DIR": str(tmp_path / "job-models" / "current"),
        "STORE_URL": store_url,
        "WORK_DIR": str(tmp_path / "work"),
        "QUICK": "true",
        **changes,
    }
    environment = python_env(TF_CPP_MIN_LOG_LEVEL="2", **{f"DIGITS_RETRAIN_{k}": v for k, v in settings.items() if v})
    return subprocess.run(
        [sys.executable, "-m", "release.retrain_job"], env=environment, capture_output=True, text=True, timeout=600
    )


def test_the_training_job_publishes_a_release_the_syncer_installs(tmp_path, github, mnist, baked_in_bundle):
    store_url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    picks = np.random.default_rng(11).choice(len(mnist.x_train), size=300, replace=False)
    store_drawings(store_url, render_digits(mnist.x_train[picks], seed=47), mnist.y_train[picks], 12, "browser-job")
    # what the Job's init container does: fetch the serving bundle (here the baked-in one)
    assert fetch_main(["--models", str(tmp_path / "job-models"), "--url", "", "--fallback", str(baked_in_bundle)]) == 0

    result = _job(tmp_path, github, store_url)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert result.stdout.strip().splitlines()[-1].startswith(f"published {TAG}: ")
    (release,) = github.releases
    assert release["tag_name"] == TAG and [a["name"] for a in release["assets"]] == [f"mnist-cnn-{TAG}.zip"]

    assert fetch_main(["--models", str(tmp_path / "models"), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    installed = syncer_once(github, tmp_path, "", DRAWINGS_STORE_URL=store_url)
    assert (installed.returncode, installed.stdout.strip()) == (0, "deployed"), installed.stderr[-3000:]
    manifest = verify_directory(tmp_path / "models" / "current").manifest
    assert manifest.version == TAG and manifest.training.fine_tuned_from == BAKED_IN_VERSION
    assert manifest.training.data is not None and manifest.training.data.store is not None
    assert manifest.training.data.store.records == 300


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"TAG": ""}, "DIGITS_RETRAIN_* settings"),
        ({"TAG": "../v1"}, "DIGITS_RETRAIN_* settings"),
        ({"STORE_URL": ""}, "DIGITS_RETRAIN_* settings"),
        ({}, "could not read the feedback store: OperationalError: no such table"),  # never migrated
    ],
)
def test_a_job_without_its_settings_stops_with_one_line(tmp_path, github, changes, message):
    result = _job(tmp_path, github, f"sqlite:///{tmp_path}/feedback.sqlite3", **changes)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert github.releases == []
