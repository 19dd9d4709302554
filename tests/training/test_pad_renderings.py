"""Pad-style renderings: drawn like the page draws, varied, deterministic, and still readable digits."""

from __future__ import annotations

import re

import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.evaluation import predict_indices
from digits_bundle.runtime import load_model
from digits_training.pad_renderings import (
    PAD,
    PAGE_BRUSH,
    PadStyle,
    as_polylines,
    draw_strokes,
    image_rngs,
    render_digits,
    render_strokes,
)
from digits_training.page_preprocessing import preprocess
from digits_training.strokes import trace_strokes
from tests.support.paths import FRONTEND_STATIC

SAMPLE = 200


@pytest.fixture(scope="module")
def digits(mnist):
    picks = np.random.default_rng(7).choice(len(mnist.x_test), size=SAMPLE, replace=False)
    return mnist.x_test[picks], mnist.y_test[picks]


@pytest.fixture(scope="module")
def drawings(digits):
    """(image, strokes on the pad, brush) of each sample digit, as render_digits draws them with seed 3."""
    images, _ = digits
    return [
        render_strokes(as_polylines(trace_strokes(image)), PadStyle(), rng)
        for image, rng in zip(images, image_rngs(3, len(images)), strict=True)
    ]


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """left, top, width, height of the ink."""
    rows, cols = np.nonzero(ink)
    return int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1), int(rows.max() - rows.min() + 1)


def test_the_pad_and_brush_are_the_pages():
    page = (FRONTEND_STATIC / "index.html").read_text()
    script = (FRONTEND_STATIC / "assets" / "app.js").read_text()
    assert re.search(rf'id="pad"[^>]*width="{PAD}" height="{PAD}"', page)
    assert re.search(rf"^const BRUSH = {PAGE_BRUSH:g};$", script, re.M)


def test_a_round_brush_of_the_given_width():
    ink = draw_strokes([[(100.0, 140.0), (180.0, 140.0)]], brush=18)
    assert ink.dtype == np.uint8 and ink.shape == (PAD, PAD)
    assert ink_box(ink) == (91, 131, 98, 18)  # 80 px long, 9 px round caps each end; 18 px high
    assert (ink[132:148, 100:180] == 255).all() and ink[:128].max() == 0
    dot = draw_strokes([[(50.0, 50.0)]], brush=20).astype(float) / 255
    assert dot.sum() == pytest.approx(np.pi * 10**2, rel=0.02)


def test_renderings_are_28x28_uint8_and_deterministic(digits):
    images, _ = digits
    first = render_digits(images[:12], seed=5)
    assert first.shape == (12, 28, 28) and first.dtype == np.uint8
    assert np.array_equal(first, render_digits(images[:12], seed=5))
    assert np.array_equal(first[:6], render_digits(images[:6], seed=5)), "an image depends on the batch"
    assert not np.array_equal(first, render_digits(images[:12], seed=6))


def test_sizes_aspects_and_places_vary_over_the_pad(drawings):
    boxes = np.array([ink_box(draw_strokes(strokes, brush)) for _, strokes, brush in drawings])
    brushes = np.array([brush for _, _, brush in drawings])
    longer = np.maximum(boxes[:, 2], boxes[:, 3]) - brushes
    assert longer.min() < PAD / 3 + 15 and longer.max() > PAD - 40, "from a third of the pad to all of it"
    assert boxes[:, 0].min() <= 5 and (boxes[:, 0] + boxes[:, 2]).max() >= PAD - 5
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    assert centres.min(axis=0).max() < PAD / 3 and centres.max(axis=0).min() > 2 * PAD / 3
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= PAD).all()
    assert brushes.min() < 14 and brushes.max() > 24


def test_the_same_digit_comes_out_in_different_shapes(digits):
    images, _ = digits
    strokes = as_polylines(trace_strokes(images[0]))
    shapes = [render_strokes(strokes, PadStyle(), rng)[1] for rng in image_rngs(1, 40)]
    aspects = [np.ptp(np.vstack(s)[:, 0]) / np.ptp(np.vstack(s)[:, 1]) for s in shapes]
    assert max(aspects) / min(aspects) > 1.4


def test_renderings_are_what_the_page_would_send(drawings):
    for image, strokes, brush in drawings[:20]:
        assert np.array_equal(image, preprocess(draw_strokes(strokes, brush)))
    for image, _, _ in drawings:
        ys, xs = np.indices(image.shape)
        total = image.sum()
        # Placed by whole pixels (within 0.5 of the centre), then rounded to grey levels.
        assert abs((image * xs).sum() / total - 13.5) <= 0.55 and abs((image * ys).sum() / total - 13.5) <= 0.55
        _, _, width, height = ink_box(image)
        assert max(width, height) in (19, 20)


def test_the_baked_in_model_still_reads_rendered_mnist_digits(digits, baked_in_bundle):
    images, labels = digits
    model = load_model(verify_directory(baked_in_bundle))
    predicted = np.array(model.labels)[predict_indices(model, render_digits(images, seed=3))]
    accuracy = float((predicted == labels).mean())
    print(f"baked-in model on {SAMPLE} pad-style renderings of MNIST test digits: {accuracy:.1%}")
    assert accuracy >= 0.85
