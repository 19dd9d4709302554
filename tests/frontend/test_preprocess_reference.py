"""The JS tests' reference arrays are the Python reference's current output."""

from __future__ import annotations

import numpy as np

from tests.frontend.preprocess_reference import FIXTURE, reference_preprocess, render_fixture


def test_fixture_is_up_to_date():
    assert FIXTURE.read_text() == render_fixture(), "run: python -m tests.frontend.preprocess_reference"


def test_reference_centres_and_sizes_like_mnist():
    ink = np.zeros((100, 100))
    ink[10:30, 60:90] = 255
    out = np.array(reference_preprocess(ink)).reshape(28, 28)
    rows, cols = np.nonzero(out)
    assert cols.max() - cols.min() + 1 == 20  # longer side scaled to 20
    assert rows.max() - rows.min() + 1 == 13  # 20 * 20/30, rounded
    ys, xs = np.indices(out.shape)
    assert abs((out * xs).sum() / out.sum() - 13.5) <= 0.5
    assert abs((out * ys).sum() / out.sum() - 13.5) <= 0.5
