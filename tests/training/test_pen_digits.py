"""UCI's tablet digits (not MNIST), read from the packaged file and drawn as the page would: a held-out part
for the check, the rest for training."""

from __future__ import annotations

import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.runtime import load_model
from digits_training.drawing_evaluations import accuracy
from digits_training.drawn_sets import people_set
from digits_training.pad_renderings import PadStyle
from digits_training.pen_digits import (
    COUNT,
    HELD_OUT,
    SOURCE,
    held_out_indices,
    load_pen_digits,
    make_pen_eval_set,
    pen_renderings,
    pen_strokes,
    training_picks,
)


def test_the_packaged_digits_are_all_there_with_y_pointing_down():
    points, labels = load_pen_digits()
    assert points.shape == (COUNT, 8, 2) and labels.shape == (COUNT,)
    assert np.bincount(labels, minlength=10).min() > 1000
    ones = points[labels == 1]
    # A 1 is written from the top down: its first point is above its last, so at a smaller y once flipped.
    assert (ones[:, 0, 1] < ones[:, -1, 1]).mean() > 0.9


def test_the_curve_passes_through_every_point_in_order():
    points, _ = load_pen_digits()
    (stroke,) = pen_strokes(points[0])
    for point in points[0]:
        assert np.min(np.linalg.norm(stroke - point, axis=1)) < 1e-9
    assert np.array_equal(stroke[0], points[0][0]) and np.array_equal(stroke[-1], points[0][-1])


def test_the_set_is_reproducible_and_drawn_like_the_page():
    data = make_pen_eval_set(60, seed=3)
    assert data.images.shape == (60, 28, 28) and data.images.dtype == np.uint8
    assert data.font_names == (SOURCE,) and set(data.labels.tolist()) <= set(range(10))
    assert np.array_equal(data.images, make_pen_eval_set(60, seed=3).images)
    assert not np.array_equal(data.images, make_pen_eval_set(60, seed=4).images)
    assert (data.images.reshape(60, -1).max(axis=1) > 128).all(), "a drawing came out faint or empty"


def test_the_check_draws_only_held_out_digits_and_training_only_the_others():
    held_out = held_out_indices()
    assert len(set(held_out.tolist())) == HELD_OUT
    everything = training_picks(2 * (COUNT - HELD_OUT), seed=9)
    assert set(everything.tolist()) == set(range(COUNT)) - set(held_out.tolist())
    assert np.array_equal(np.bincount(everything, minlength=COUNT)[everything], np.full(len(everything), 2))
    points, labels = load_pen_digits()
    data = make_pen_eval_set(50)
    picks = np.sort(held_out[:50])
    assert data.labels.tolist() == labels[picks].tolist()
    drawn = people_set([pen_strokes(points[i]) for i in picks], labels[picks], SOURCE, data.seed)
    assert np.array_equal(data.images, drawn.images)
    with pytest.raises(ValueError, match="count must be 1 to 2000"):
        make_pen_eval_set(HELD_OUT + 1)


def test_training_renderings_are_reproducible_in_pieces():
    whole = pen_renderings(30, seed=4, style=PadStyle())
    assert np.array_equal(
        np.concatenate([pen_renderings(10, 4, PadStyle()), pen_renderings(20, 4, PadStyle(), 10)]), whole
    )
    assert (whole.reshape(30, -1).max(axis=1) > 128).all()
    assert np.array_equal(training_picks(20, 4, 10), training_picks(30, 4)[10:])


def test_the_baked_in_model_reads_most_pen_digits(baked_in_bundle):
    data = make_pen_eval_set(400)
    right, scored = accuracy(load_model(verify_directory(baked_in_bundle)), data.images, data.labels)
    assert scored == data.count and right >= 0.65, f"{right:.1%} of {scored} pen digits right"
