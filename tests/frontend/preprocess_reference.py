"""An independent Python formulation of the page's preprocessing, to check the JS module against.

Same definition (crop to ink, longer side to 20 px by exact area averaging,
centre of mass at the centre of 28x28), computed differently: the resampling
is a pair of overlap matrices rather than loops.

    python -m tests.frontend.preprocess_reference   # rewrites frontend/tests/fixtures/preprocess-reference.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.support.paths import REPO

FIXTURE = REPO / "frontend" / "tests" / "fixtures" / "preprocess-reference.json"


def _round(values: np.ndarray | float) -> np.ndarray:
    return np.floor(np.asarray(values) + 0.5)


def _overlap_matrix(n_in: int, n_out: int) -> np.ndarray:
    step = n_in / n_out
    starts = np.arange(n_out)[:, None] * step
    pixels = np.arange(n_in)[None, :]
    covered = np.minimum(pixels + 1, starts + step) - np.maximum(pixels, starts)
    return np.clip(covered, 0, None) / step


def reference_preprocess(ink: np.ndarray) -> list[int] | None:
    rows, cols = np.nonzero(ink > 0)
    if rows.size == 0:
        return None
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].astype(np.float64)
    height, width = crop.shape
    scale = 20 / max(height, width)
    new_w = int(np.clip(_round(width * scale), 1, 20))
    new_h = int(np.clip(_round(height * scale), 1, 20))
    small = _overlap_matrix(height, new_h) @ crop @ _overlap_matrix(width, new_w).T
    ys, xs = np.indices(small.shape)
    cy, cx = (small * ys).sum() / small.sum(), (small * xs).sum() / small.sum()
    left = int(np.clip(np.floor(13.5 - cx + 0.5), 0, 28 - new_w))
    top = int(np.clip(np.floor(13.5 - cy + 0.5), 0, 28 - new_h))
    out = np.zeros((28, 28))
    out[top : top + new_h, left : left + new_w] = np.clip(_round(small), 0, 255)
    return [int(v) for v in out.reshape(-1)]


def reference_squeeze(ink: np.ndarray) -> list[int]:
    height, width = ink.shape
    small = _overlap_matrix(height, 28) @ ink.astype(np.float64) @ _overlap_matrix(width, 28).T
    return [int(v) for v in np.clip(_round(small), 0, 255).reshape(-1)]


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
    soft = _round(rng.random((64, 48)) ** 6 * 255)
    cases.append(("soft noise", soft))
    return [
        {
            "name": name,
            "width": int(ink.shape[1]),
            "height": int(ink.shape[0]),
            "ink": [int(v) for v in ink.reshape(-1)],
            "expected": reference_preprocess(ink),
            "squeezed": reference_squeeze(ink),
        }
        for name, ink in cases
    ]


def render_fixture() -> str:
    return json.dumps({"generated_by": "tests/frontend/preprocess_reference.py", "cases": _cases()}) + "\n"


if __name__ == "__main__":
    Path(FIXTURE).write_text(render_fixture())
