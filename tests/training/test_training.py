"""End-to-end training runs through the CLI, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.manifest import Training
from digits_bundle.runtime import numeric_type
from digits_store.engine import create_store_engine
from digits_store.feedback import FeedbackStore
from digits_store.migrate import upgrade
from digits_store.records import FeedbackRecord
from digits_store.settings import StoreSettings
from digits_training.package import BundleSpec, assemble_bundle
from tests.support.digits import write_image_folders
from tests.support.servers import python_env

pytestmark = pytest.mark.slow


def _train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digits_training", "train", "--progress", "0", *args],
        env=python_env(TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _store_of_drawings(tmp_path, mnist, count: int) -> str:
    """A SQLite feedback store holding ``count`` labelled drawings (MNIST training digits) from 4 browsers."""
    url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    settings = StoreSettings(url=url)
    engine = create_store_engine(settings)
    upgrade(engine)
    store = FeedbackStore(engine, settings)
    for n in range(count):
        label = int(mnist.y_train[n])
        store.add(
            FeedbackRecord(
                submission_id=f"00000000-0000-4000-8000-{n:012d}",
                client_id=f"browser-{n % 4:012d}",
                model_version="v1.0.0",
                predicted=label,
                label=label,
                probabilities={str(label): 1.0},
                image=mnist.x_train[n].tobytes(),
                strokes=[[[1.0, 2.0, 0.0]]],
                canvas_width=280,
                canvas_height=280,
            )
        )
    engine.dispose()
    return url


def test_quick_mode_trains_a_useful_ten_digit_bundle_and_records_its_data_and_drawn_accuracy(tmp_path, mnist):
    store_url = _store_of_drawings(tmp_path, mnist, 200)
    result = _train(
        "--quick",
        "--out",
        str(tmp_path / "quick"),
        "--version",
        "v0.0.1-quick",
        "--reports",
        str(tmp_path / "reports"),
        "--zip-dir",
        str(tmp_path / "zips"),
        "--store-url",
        store_url,
        "--drawn-eval-count",
        "300",
        "--pen-renderings",
        "400",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    bundle = verify_directory(tmp_path / "quick")
    assert bundle.manifest.labels == list(range(10))
    assert bundle.manifest.metrics.test_accuracy >= 0.95
    assert bundle.manifest.version == "v0.0.1-quick"
    assert numeric_type(bundle.model_path) == "int8", "training serves int8 unless told otherwise"
    data = bundle.manifest.training.data
    assert data is not None and data.base == 15_000 and data.pad_renderings == 1000 and data.pen_renderings == 400
    assert data.store is not None and data.store.records == data.store.used == 200
    assert data.collected + data.collected_held_out == 200 and 20 <= data.collected_held_out <= 60
    evaluations = bundle.manifest.evaluations or {}
    assert evaluations["drawn"].n == 300 and evaluations["drawn"].accuracy > 0.6
    assert evaluations["collected_held_out"].n == data.collected_held_out
    assert evaluations["collected_held_out"].accuracy > 0.8
    assert "drawn: " in result.stdout and "collected_held_out: " in result.stdout
    assert (tmp_path / "zips" / "mnist-cnn-v0.0.1-quick.zip").is_file()
    assert (tmp_path / "reports" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert report["n_test"] == 10_000 and len(report["confusion_matrix"]) == 10


def test_training_from_image_folders_of_2_7_8(tmp_path, mnist):
    root = write_image_folders(tmp_path / "images", mnist.x_train, mnist.y_train, [2, 7, 8], per_class=250)
    out = tmp_path / "b278"
    result = _train("--quick", "--folders", str(root), "--out", str(out), "--no-saved-model", "--float32")
    assert result.returncode == 0, result.stderr[-3000:]
    bundle = verify_directory(out)
    assert bundle.manifest.labels == [2, 7, 8]
    assert numeric_type(bundle.model_path) == "float32"
    assert bundle.manifest.metrics.n_test == 150
    assert bundle.manifest.metrics.test_accuracy > 0.8
    assert (bundle.manifest.evaluations or {})["drawn"].n == 300  # the 2s, 7s and 8s of 1000 drawings
    assert not (tmp_path / "b278" / "saved_model").exists()


def test_an_empty_folder_fails_clearly_and_writes_nothing(tmp_path):
    (tmp_path / "images").mkdir()
    result = _train("--folders", str(tmp_path / "images"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "no labelled folders" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_failure_while_packaging_leaves_nothing_half_written(tmp_path, mnist):
    def fill(staging):
        (staging / "model.tflite").write_bytes(b"not a model")

    spec = BundleSpec(name="broken", version="v0", labels=list(range(10)), scale=1, training=Training(dataset="none"))
    with pytest.raises(Exception, match="not a loadable TFLite model"):
        assemble_bundle(
            spec,
            fill=fill,
            x_test=mnist.x_test[:10],
            y_test=mnist.y_test[:10],
            test_set="t",
            destination=tmp_path / "out",
        )
    assert list(tmp_path.iterdir()) == []
