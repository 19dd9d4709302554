"""The page's preprocessing in Python: crop, longer side to 20, centre of mass at the centre of 28x28."""

from __future__ import annotations

import numpy as np
import pytest

from digits_training.page_preprocessing import ink_from_rgba, preprocess, squeeze_whole_canvas


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(image.shape)
    return float((image * xs).sum() / image.sum()), float((image * ys).sum() / image.sum())


def test_no_ink_is_no_image():
    assert preprocess(np.zeros((50, 60))) is None


@pytest.mark.parametrize(
    ("block", "width", "height"),
    [
        ((slice(10, 30), slice(60, 90)), 20, 13),  # wide: 30 px -> 20, 20 px -> 13.3 -> 13
        ((slice(20, 110), slice(40, 46)), 1, 20),  # a thin bar: 6/90 of 20 rounds to 1
        ((slice(3, 4), slice(37, 38)), 20, 20),  # one pixel fills the box
    ],
)
def test_longer_side_to_20_keeping_aspect_centred(block, width, height):
    ink = np.zeros((120, 100))
    ink[block] = 255
    out = preprocess(ink)
    assert out is not None and out.shape == (28, 28) and out.dtype == np.uint8
    rows, cols = np.nonzero(out)
    assert (cols.max() - cols.min() + 1, rows.max() - rows.min() + 1) == (width, height)
    cx, cy = centre_of_mass(out.astype(float))
    assert abs(cx - 13.5) <= 0.5 and abs(cy - 13.5) <= 0.5


def test_the_same_drawing_anywhere_at_any_size_gives_the_same_image():
    def drawn(size: int, top: int, left: int) -> np.ndarray:
        ink = np.zeros((280, 280))
        ink[top : top + size, left : left + size // 4] = 255
        out = preprocess(ink)
        assert out is not None
        return out.astype(int)

    assert np.abs(drawn(40, 5, 200) - drawn(240, 30, 10)).max() <= 1


def test_ink_is_dark_or_opaque_paint():
    rgba = np.array([[[255, 255, 255, 255], [0, 0, 0, 255], [0, 0, 0, 0], [0, 0, 0, 128]]], dtype=np.uint8)
    assert np.round(ink_from_rgba(rgba)).tolist() == [[0, 255, 0, 128]]


def test_squeezing_the_whole_canvas_averages_areas():
    ink = np.zeros((56, 56))
    ink[:28, :28] = 255
    out = squeeze_whole_canvas(ink)
    assert out[:14, :14].min() == 255 and out[14:, :].max() == 0 and out[:, 14:].max() == 0
