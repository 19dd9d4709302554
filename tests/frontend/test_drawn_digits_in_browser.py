"""The training code's drawing and preprocessing are the page's: font digits from the drawn-digit evaluation
set, traced through the real page in Chromium at sizes from a third of the pad to all of it, at random
places, give the 28x28 images the page posts to /predict within a few grey levels."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from digits_training.drawn_eval import FONT_NAMES, drawn_digits
from tests.support.browser import draw, open_page, wait_for_answer
from tests.support.paths import BAKED_IN_VERSION

pytestmark = pytest.mark.browser

SEED = 20261130
INDICES = [50 * n + n % 10 for n in range(20)]
"""20 drawings of the evaluation set (its default seed): every font, every digit twice."""
CLOSE = 8
"""Grey levels (of 255) within which most drawings match at every pixel: sub-pixel antialiasing."""
MAX_DIFFERENCE = 40
"""Largest difference at any pixel of any drawing, grey levels: where the page's faint edge ink and ours
differ at the drawing's extreme, its crop moves by a pixel, which shifts an edge of the 28x28 image by
about a twentieth of a pixel there (measured: up to 29)."""
MEAN_DIFFERENCE = 1.5
"""Largest mean absolute difference over the 784 pixels of any drawing, grey levels (measured: up to 1.0)."""

PREVIEW = """() => Array.from(
  document.querySelector('[data-testid="preview"]').getContext('2d').getImageData(0, 0, 28, 28).data
).filter((_, i) => i % 4 === 0)"""


def last_posted(page, posted: list[list[int]], timeout_s: float = 5.0) -> np.ndarray:
    """The last image posted to /predict, once it is the one the page shows as sent (the preview)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if posted and posted[-1] == page.evaluate(PREVIEW):
            return np.array(posted[-1], dtype=np.int64).reshape(28, 28)
        page.wait_for_timeout(50)  # lets Playwright deliver the request events
    raise TimeoutError(f"the page's preview never matched the last of {len(posted)} posted images")


def aligned_difference(sent: np.ndarray, ours: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Absolute differences at the best of the nine placements one pixel apart, and that shift.

    The page places a drawing by its centre of mass rounded to a whole pixel: where that centre lies
    near a half pixel, the faintest difference in edge ink moves the whole image by one pixel."""
    padded = np.pad(ours, 1)
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    candidates = [np.abs(sent - padded[1 + dy : 29 + dy, 1 + dx : 29 + dx]) for dy, dx in shifts]
    best = min(range(len(shifts)), key=lambda i: (candidates[i].mean(), shifts[i] != (0, 0)))
    return candidates[best], shifts[best]


def test_the_page_sends_what_page_preprocessing_computes(frontend, page, capsys):
    posted: list[list[int]] = []
    page.on(
        "request",
        lambda request: (
            posted.append(json.loads(request.post_data))
            if request.method == "POST" and request.url.endswith("/predict")
            else None
        ),
    )
    open_page(page, frontend.url, BAKED_IN_VERSION)
    drawings = drawn_digits(INDICES, SEED)
    assert {d.font for d in drawings} == set(FONT_NAMES)
    assert {d.label for d in drawings} == set(range(10))
    found = []
    for drawing in drawings:
        page.get_by_test_id("clear").click()
        draw(page, [[(float(x), float(y)) for x, y in stroke] for stroke in drawing.strokes])
        wait_for_answer(page)
        difference, shift = aligned_difference(last_posted(page, posted), drawing.image.astype(np.int64))
        found.append((int(difference.max()), round(float(difference.mean()), 2), shift, drawing.font, drawing.label))
    with capsys.disabled():
        print(f"\n{len(found)} drawings (max and mean difference, placement shift, font, label): {found}")
    assert page.console_errors == []
    assert sum(f[0] <= CLOSE for f in found) >= 0.75 * len(found)
    assert max(f[0] for f in found) <= MAX_DIFFERENCE
    assert max(f[1] for f in found) <= MEAN_DIFFERENCE
    assert sum(f[2] != (0, 0) for f in found) <= 2, "placed a pixel apart more often than by chance"
