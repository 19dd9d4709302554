"""The drawn-digit evaluation set: font digits (not MNIST) drawn as the page would, balanced, reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.evaluation import predict_indices
from digits_bundle.runtime import load_model
from digits_training.cli import main
from digits_training.drawn_eval import DIGITS, FONT_NAMES, font_glyphs, load, make_drawn_eval_set
from digits_training.pad_renderings import PAD, PAGE_BRUSH


def test_every_font_has_strokes_for_every_digit():
    glyphs = font_glyphs()
    assert set(glyphs) == set(FONT_NAMES) and len(FONT_NAMES) >= 6
    for font, digits in glyphs.items():
        assert len(digits) == len(DIGITS), font
        for digit, strokes in zip(DIGITS, digits, strict=True):
            assert strokes and all(len(stroke) >= 2 and stroke.shape[1] == 2 for stroke in strokes), (font, digit)
    designs = {
        font: np.concatenate([np.vstack(digits[d]).ravel() for d in range(10)]) for font, digits in glyphs.items()
    }
    assert len({values.tobytes() for values in designs.values()}) == len(FONT_NAMES), "two fonts draw alike"


def test_the_set_is_balanced_reproducible_and_drawn_like_the_page():
    data = make_drawn_eval_set(140, seed=4)
    assert data.images.shape == (140, 28, 28) and data.images.dtype == np.uint8
    assert np.bincount(data.labels, minlength=10).tolist() == [14] * 10
    assert np.bincount(data.fonts, minlength=len(FONT_NAMES)).tolist() == [20] * len(FONT_NAMES)
    assert np.array_equal(data.images, make_drawn_eval_set(140, seed=4).images)
    assert not np.array_equal(data.images, make_drawn_eval_set(140, seed=5).images)
    assert (data.images.reshape(140, -1).max(axis=1) > 128).all(), "a drawing came out faint or empty"


def test_the_command_writes_the_set_and_scores_a_bundle(tmp_path, baked_in_bundle, capsys):
    out = tmp_path / "drawn.npz"
    assert (
        main(["drawn-eval", "--out", str(out), "--count", "70", "--seed", "9", "--bundle", str(baked_in_bundle)]) == 0
    )
    data = load(out)
    assert (data.count, data.seed, data.font_names) == (70, 9, FONT_NAMES)
    assert np.array_equal(data.images, make_drawn_eval_set(70, seed=9).images)
    with np.load(out) as stored:
        assert (int(stored["pad"]), float(stored["brush"])) == (PAD, PAGE_BRUSH)
    printed = capsys.readouterr().out
    assert "of 70 drawn digits right" in printed and all(font in printed for font in FONT_NAMES)


def test_a_file_of_another_kind_is_refused(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, format=np.array("something-else/1"))
    with pytest.raises(ValueError, match="not a drawn-digit set"):
        load(other)


def test_the_baked_in_model_reads_most_drawn_digits(baked_in_bundle):
    data = make_drawn_eval_set(210, seed=20261130)
    model = load_model(verify_directory(baked_in_bundle))
    accuracy = float((np.array(model.labels)[predict_indices(model, data.images)] == data.labels).mean())
    print(f"baked-in model on {data.count} drawn font digits: {accuracy:.1%}")
    assert accuracy >= 0.88
