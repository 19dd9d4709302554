"""The map-digit check: UCI's digits written on Dutch utility maps (mfeat-pix), never trained on, read from
the packaged file and drawn as the page would."""

from __future__ import annotations

import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.runtime import load_model
from digits_training.cli import main
from digits_training.drawing_evaluations import accuracy
from digits_training.drawn_eval import load
from digits_training.map_digits import COLUMNS, COUNT, ROWS, SOURCE, load_map_digits, make_map_eval_set, map_strokes
from digits_training.pen_digits import make_pen_eval_set


def test_the_packaged_digits_are_all_there_two_hundred_of_each():
    images, labels = load_map_digits()
    assert images.shape == (COUNT, ROWS, COLUMNS) and images.dtype == np.uint8
    assert np.array_equal(np.bincount(labels), np.full(10, 200))
    # Upright, not transposed: a 1 is taller than it is wide, a 0's middle column is blank in its middle row.
    ones = images[labels == 1].mean(axis=0) > 2
    assert np.ptp(np.nonzero(ones)[0]) > np.ptp(np.nonzero(ones)[1])
    zeros = images[labels == 0].mean(axis=0)
    assert zeros[ROWS // 2, COLUMNS // 2] < zeros[ROWS // 2].max() / 3


def test_a_digit_is_traced_into_strokes_within_its_enlarged_image():
    images, _ = load_map_digits()
    strokes = map_strokes(images[0])
    points = np.vstack(strokes)
    assert strokes and points.min() >= 0 and points[:, 0].max() <= 3 * COLUMNS and points[:, 1].max() <= 3 * ROWS
    assert sum(len(stroke) for stroke in strokes) > 20


def test_the_set_is_reproducible_and_drawn_like_the_page():
    data = make_map_eval_set(60, seed=3)
    assert data.images.shape == (60, 28, 28) and data.font_names == (SOURCE,)
    assert np.array_equal(data.images, make_map_eval_set(60, seed=3).images)
    assert not np.array_equal(data.labels, make_map_eval_set(60, seed=4).labels)
    assert (data.images.reshape(60, -1).max(axis=1) > 128).all(), "a drawing came out faint or empty"
    with pytest.raises(ValueError, match="count must be 1 to 2000"):
        make_map_eval_set(0)


@pytest.mark.parametrize(("source", "make"), [("maps", make_map_eval_set), ("pen", make_pen_eval_set)])
def test_the_command_writes_a_set_of_digits_people_wrote_and_scores_a_bundle(
    source, make, tmp_path, baked_in_bundle, capsys
):
    out = tmp_path / f"{source}.npz"
    args = ["drawn-eval", "--source", source, "--out", str(out), "--count", "40", "--bundle", str(baked_in_bundle)]
    assert main(args) == 0
    data = load(out)
    assert data.count == 40 and np.array_equal(data.images, make(40, seed=data.seed).images)
    printed = capsys.readouterr().out
    assert "of 40 drawn digits right" in printed and data.font_names[0] in printed


def test_the_baked_in_model_reads_most_map_digits(baked_in_bundle):
    data = make_map_eval_set(500)
    right, scored = accuracy(load_model(verify_directory(baked_in_bundle)), data.images, data.labels)
    assert scored == data.count and right >= 0.80, f"{right:.1%} of {scored} map digits right"
