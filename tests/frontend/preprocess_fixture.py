"""The JS preprocessing tests' expected arrays, written by the training code's page_preprocessing.

frontend/tests/preprocess.test.mjs checks preprocess.js against these; tests/frontend/test_preprocess_fixture.py
checks they are what digits_training.page_preprocessing computes now. Together: Python and JS agree.

    python -m tests.frontend.preprocess_fixture   # rewrites frontend/tests/fixtures/preprocess-reference.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from digits_training.page_preprocessing import preprocess, round_half_up, squeeze_whole_canvas
from tests.support.paths import REPO

FIXTURE = REPO / "frontend" / "tests" / "fixtures" / "preprocess-reference.json"


def _listed(image: np.ndarray | None) -> list[int] | None:
    return None if image is None else [int(v) for v in image.reshape(-1)]


def _cases() -> list[dict[str, object]]:
    from digits_bundle.mnist import load_mnist

    rng = np.random.default_rng(11)
    cases: list[tuple[str, np.ndarray]] = [("empty", np.zeros((50, 60)))]
    square = np.zeros((100, 100))
    square[10:30, 60:90] = 255
    cases.append(("off-centre block", square))
    bar = np.zeros((120, 90))
    bar[20:110, 40:46] = 200
    cases.append(("tall thin stroke", bar))
    dash = np.zeros((70, 130))
    dash[50:53, 5:125] = 255
    cases.append(("wide dash", dash))
    dot = np.zeros((40, 40))
    dot[3, 37] = 128
    cases.append(("single pixel in a corner", dot))
    mnist = load_mnist()
    for index in (0, 1, 2):
        digit = np.kron(mnist.x_test[index].astype(np.float64), np.ones((4, 4)))
        canvas = np.zeros((150, 140))
        top, left = int(rng.integers(0, 150 - 112)), int(rng.integers(0, 140 - 112))
        canvas[top : top + 112, left : left + 112] = digit
        cases.append((f"mnist test digit {index} upscaled 4x at ({top},{left})", canvas))
    soft = round_half_up(rng.random((64, 48)) ** 6 * 255)
    cases.append(("soft noise", soft))
    return [
        {
            "name": name,
            "width": int(ink.shape[1]),
            "height": int(ink.shape[0]),
            "ink": [int(v) for v in ink.reshape(-1)],
            "expected": _listed(preprocess(ink)),
            "squeezed": _listed(squeeze_whole_canvas(ink)),
        }
        for name, ink in cases
    ]


def render_fixture() -> str:
    return json.dumps({"generated_by": "tests/frontend/preprocess_fixture.py", "cases": _cases()}) + "\n"


if __name__ == "__main__":
    Path(FIXTURE).write_text(render_fixture())
