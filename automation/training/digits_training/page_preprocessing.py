"""What the drawing page does to a drawing before it asks for a prediction, in Python.

The one Python implementation of ``frontend/static/assets/preprocess.js``: ink from the canvas, crop to
the ink's bounding box, the longer side scaled to 20 px by exact area averaging (aspect kept), then
placed in 28x28 with its centre of mass at the centre, as MNIST's digits were. Training renders
drawings through it; the JS module's tests check it against this one through
``frontend/tests/fixtures/preprocess-reference.json`` (written by ``tests/frontend/preprocess_fixture.py``
from these functions).

The JS loops and these matrix products compute the same sums in a different order, so they may differ by
one grey level where a value lands on .5.
"""

from __future__ import annotations

import numpy as np

SIZE = 28
"""The model's input side, pixels."""
BOX = 20
"""The side of the box the drawing's longer side is scaled to, pixels (MNIST's normalisation)."""


def round_half_up(values: np.ndarray | float) -> np.ndarray:
    """JavaScript's ``Math.round`` for the non-negative values here (numpy rounds halves to even)."""
    return np.floor(np.asarray(values) + 0.5)


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """Ink per pixel (0..255, float) of an (h, w, 4) RGBA canvas: dark or opaque paint is ink."""
    pixels = rgba.astype(np.float64)
    luminance = 0.299 * pixels[..., 0] + 0.587 * pixels[..., 1] + 0.114 * pixels[..., 2]
    ink: np.ndarray = (255 - luminance) * pixels[..., 3] / 255
    return ink


def _overlap_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of exact area averaging: output cell i covers [i·step, (i+1)·step) of the input."""
    step = n_in / n_out
    starts = np.arange(n_out)[:, None] * step
    pixels = np.arange(n_in)[None, :]
    covered = np.minimum(pixels + 1, starts + step) - np.maximum(pixels, starts)
    weights: np.ndarray = np.clip(covered, 0, None) / step
    return weights


def resample_area(ink: np.ndarray, out_height: int, out_width: int) -> np.ndarray:
    """Area-averaging resample (an exact box filter) of the whole of ``ink`` to out_height x out_width."""
    height, width = ink.shape
    resampled: np.ndarray = (
        _overlap_matrix(height, out_height) @ ink.astype(np.float64) @ _overlap_matrix(width, out_width).T
    )
    return resampled


def preprocess(ink: np.ndarray) -> np.ndarray | None:
    """The 28x28 uint8 image (white on black) the page sends for ``ink`` (h, w), or None for no ink."""
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    new_w = int(np.clip(round_half_up(width * scale), 1, BOX))
    new_h = int(np.clip(round_half_up(height * scale), 1, BOX))
    small = resample_area(crop, new_h, new_w)
    total = small.sum()
    if total == 0:
        return None
    ys, xs = np.arange(new_h), np.arange(new_w)
    cy, cx = small.sum(axis=1) @ ys / total, small.sum(axis=0) @ xs / total
    centre = (SIZE - 1) / 2
    left = int(np.clip(np.floor(centre - cx + 0.5), 0, SIZE - new_w))
    top = int(np.clip(np.floor(centre - cy + 0.5), 0, SIZE - new_h))
    out = np.zeros((SIZE, SIZE), dtype=np.uint8)
    out[top : top + new_h, left : left + new_w] = np.clip(round_half_up(small), 0, 255)
    return out


def squeeze_whole_canvas(ink: np.ndarray) -> np.ndarray:
    """The original page's way, kept for comparison: the whole canvas area-averaged to 28x28 uint8."""
    squeezed: np.ndarray = np.clip(round_half_up(resample_area(ink, SIZE, SIZE)), 0, 255).astype(np.uint8)
    return squeezed
