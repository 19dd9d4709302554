"""``python -m digits_training drift-report``: one self-contained page from a real store and the committed
bundle, with drift per feature, live accuracy, the confusion matrix and the confidently wrong drawings."""

from __future__ import annotations

import base64
import io
import re
import uuid

import numpy as np
from PIL import Image

from digits_bundle import drift
from digits_bundle.bundle import verify_directory
from digits_bundle.runtime import load_model
from digits_store.engine import create_store_engine
from digits_store.feedback import FeedbackStore
from digits_store.migrate import upgrade
from digits_store.records import FeedbackRecord, InputSample
from digits_store.samples import SampleStore
from digits_store.settings import StoreSettings
from digits_training.cli import main
from tests.support.paths import ARTIFACTS, BAKED_IN_BUNDLE
from tests.support.shifted_digits import tiny_thick


def fill_store(url: str, mnist, images: np.ndarray) -> None:
    settings = StoreSettings(url=url)
    engine = create_store_engine(settings)
    upgrade(engine)
    model = load_model(verify_directory(BAKED_IN_BUNDLE))
    flat = images.reshape(len(images), -1).astype(np.float32)
    probabilities = model.predict(flat)
    features = drift.all_features(flat, probabilities, model.labels)
    SampleStore(engine, 10_000).add(
        [
            InputSample("v1.0.0", bytes(images[i].reshape(-1)), {k: float(v[i]) for k, v in features.items()})
            for i in range(len(images))
        ]
    )
    answers = FeedbackStore(engine, settings)
    for i in range(40):
        predicted = int(probabilities[i].argmax())
        label = predicted if i % 4 else (predicted + 1) % 10  # every fourth answer says it was wrong
        answers.add(
            FeedbackRecord(
                submission_id=str(uuid.uuid4()),
                client_id="browser-report-000001",
                model_version="v1.0.0",
                predicted=predicted,
                label=label,
                probabilities={str(predicted): float(probabilities[i].max())},
                image=bytes(images[i].reshape(-1)),
                strokes=[[[0.0, 0.0, 0.0]]],
                canvas_width=280,
                canvas_height=280,
            )
        )


def test_the_report_shows_drift_accuracy_and_the_confident_mistakes(tmp_path, mnist, capsys):
    url = f"sqlite:///{tmp_path}/store.sqlite3"
    fill_store(url, mnist, mnist.x_test[:600])
    out = ARTIFACTS / "drift-report-mnist.html"
    assert main(["drift-report", "--bundle", str(BAKED_IN_BUNDLE), "--out", str(out), "--store-url", url]) == 0
    assert "600 sampled inputs, 40 answers" in capsys.readouterr().out
    page = out.read_text()
    readings = dict(re.findall(r'<article class="feature (\w+)" data-feature="(\w+)"', page))
    assert len(re.findall(r'data-feature="', page)) == len(drift.FEATURES)
    assert set(readings) == {"stable"}, readings
    assert "30 of 40 right" in page and "75.0%" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 10
    first = Image.open(io.BytesIO(base64.b64decode(images[0])))
    assert first.size == (84, 84) and first.mode == "L"
    assert "<script" not in page and "http" not in page.replace("http-equiv", ""), "self-contained"


def test_digits_drawn_small_and_thick_read_as_significant_drift(tmp_path, mnist):
    url = f"sqlite:///{tmp_path}/store.sqlite3"
    fill_store(url, mnist, tiny_thick(mnist.x_test[:400]))
    out = tmp_path / "report.html"
    assert main(["drift-report", "--bundle", str(BAKED_IN_BUNDLE), "--out", str(out), "--store-url", url]) == 0
    page = out.read_text()
    for name in ("box_height", "box_width", "ink_mass"):
        assert f'<article class="feature significant" data-feature="{name}"' in page
