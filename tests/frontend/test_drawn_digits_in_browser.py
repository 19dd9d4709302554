"""The training code's drawing and preprocessing are the page's: font digits from the drawn-digit evaluation
set, traced through the real page in Chromium at sizes from a third of the pad to all of it, at random
places, give the 28x28 images the page posts to /predict within a few grey levels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digits_training.drawn_eval import drawn_digits
from tests.support.browser import draw, open_page, wait_for_answer

pytestmark = pytest.mark.browser

DRAWINGS = 20
SEED = 20261130
"""The evaluation set's own seed: these are its first drawings."""
MAX_DIFFERENCE = 40
"""Largest grey-level difference allowed at any pixel: antialiasing of the brush's edge and where the pointer
lands (the page composites each pointer move as its own stroke; a 1 px shift of a crop's edge moves a
28x28 pixel's share of an edge by a few tens of levels)."""
MEAN_DIFFERENCE = 2.0
"""Largest mean absolute difference over the 784 pixels, grey levels (of 255)."""


def test_the_page_sends_what_page_preprocessing_computes(frontend, page, capsys):
    posted: list[list[int]] = []
    page.on(
        "request",
        lambda request: posted.append(json.loads(request.post_data))
        if request.method == "POST" and request.url.endswith("/predict")
        else None,
    )
    open_page(page, frontend.url, "v1.0.0")
    worst = []
    for drawing in drawn_digits(DRAWINGS, SEED):
        page.get_by_test_id("clear").click()
        draw(page, [[(float(x), float(y)) for x, y in stroke] for stroke in drawing.strokes])
        wait_for_answer(page)
        sent = np.array(posted[-1], dtype=np.int64).reshape(28, 28)
        difference = np.abs(sent - drawing.image.astype(np.int64))
        worst.append((int(difference.max()), float(difference.mean()), drawing.font, drawing.label))
    with capsys.disabled():
        print(f"\n{DRAWINGS} drawings (max, mean difference, font, label): {worst}")
    assert page.console_errors == []
    assert max(w[0] for w in worst) <= MAX_DIFFERENCE
    assert max(w[1] for w in worst) <= MEAN_DIFFERENCE
