"""What the drawing page does to a drawing before it asks for a prediction, in Python.

The one Python implementation of ``frontend/static/assets/preprocess.js``: ink from the canvas, crop to
the ink's bounding box, the longer side scaled to 20 px by exact area averaging (aspect kept), then
placed in 28x28 with its centre of mass at the centre, as MNIST's digits were. Training renders
drawings through it; the JS module's tests check it against this one through
``frontend/tests/fixtures/preprocess-reference.json`` (written by ``tests/frontend/preprocess_fixture.py``
from these functions).

The JS loops and these running sums compute the same averages in a different order, so they may differ
by one grey level where a value lands on .5.
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


def _area_sums(values: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Averages of ``values`` over ``n_out`` equal spans of ``axis``: differences of the running sum,
    interpolated where a span's edge cuts a pixel (pixels are constant, so that is exact)."""
    n_in = values.shape[axis]
    running = np.concatenate([np.zeros_like(values.take([0], axis=axis)), np.cumsum(values, axis=axis)], axis=axis)
    edges = np.arange(n_out + 1) * (n_in / n_out)
    whole = np.minimum(np.floor(edges).astype(np.int64), n_in - 1)
    part = np.expand_dims(edges - whole, 1 - axis)
    at_edges = running.take(whole, axis=axis) * (1 - part) + running.take(whole + 1, axis=axis) * part
    averages: np.ndarray = np.diff(at_edges, axis=axis) * (n_out / n_in)
    return averages


def resample_area(ink: np.ndarray, out_height: int, out_width: int) -> np.ndarray:
    """Area-averaging resample (an exact box filter) of the whole of ``ink`` to out_height x out_width.

    Running sums rather than a product of overlap matrices: no BLAS call, whose threads cost more than
    these small sums (a third more CPU time in a batch of renderings)."""
    return _area_sums(_area_sums(ink.astype(np.float64), out_height, axis=0), out_width, axis=1)


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
