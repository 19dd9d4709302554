"""The training mixture: what goes to training, to validation and nowhere, and how many of each."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from digits_bundle.manifest import StoreSnapshot
from digits_bundle.mnist import DataError, Dataset
from digits_training import pen_digits
from digits_training.collected import Collected
from digits_training.mixture import MixtureConfig, build_mixture, pen_cached, render_cached
from digits_training.pad_renderings import PadStyle, render_digits


@pytest.fixture
def small(mnist) -> Dataset:
    return Dataset(
        mnist.x_train[:400], mnist.y_train[:400], mnist.x_test[:50], mnist.y_test[:50], mnist.labels, "mnist", "x"
    )


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _collected(count: int, flood: int) -> Collected:
    """``count`` drawings from as many browsers, then ``flood`` from one; each image unique (its first two
    pixels number it)."""
    n = count + flood
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = np.arange(n) % 256, np.arange(n) // 256
    images[:, 10:18, 10:18] = 200
    return Collected(
        images=images,
        labels=np.arange(n) % 10,
        ids=tuple(f"id-{i}" for i in range(n)),
        clients=tuple(f"browser-{i}" for i in range(count)) + ("browser-flood",) * flood,
        snapshot=StoreSnapshot(records=n, used=n, newest=datetime(2026, 12, 1, tzinfo=UTC), digest="d" * 64),
    )


def _rows(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


def test_renderings_go_where_their_digit_goes_and_nothing_leaks(small):
    config = MixtureConfig(pad_renderings=100, validation_fraction=0.25, seed=11, workers=1)
    mixture = build_mixture(small, config)
    order = np.random.default_rng(11).permutation(400)
    val, sources = set(order[:100].tolist()), order[:100]  # the first 100 of the order are rendered
    rendered = render_digits(small.x_train[sources], 11, PadStyle())
    in_val = np.array([s in val for s in sources])
    assert _rows(rendered[in_val]) <= _rows(mixture.x_val)
    assert not _rows(rendered[in_val]) & _rows(mixture.x_train)
    assert len(mixture.x_val) == 100 + in_val.sum() and len(mixture.x_train) == 300 + (~in_val).sum()
    assert _rows(small.x_train[order[:100]]) <= _rows(mixture.x_val)
    assert mixture.provenance.base == 400 and mixture.provenance.pad_renderings == 100
    assert mixture.provenance.collected == 0 and mixture.provenance.store is None
    assert np.bincount(mixture.y_train, minlength=10).sum() == len(mixture.x_train)


def test_held_out_drawings_are_never_trained_on_and_a_flood_is_bounded(small):
    collected = _collected(200, flood=300)
    config = MixtureConfig(pad_renderings=0, seed=11, max_client_share=0.02, workers=1)
    mixture = build_mixture(small, config, collected)
    held = collected.held_out()
    assert mixture.held_out.count == held.sum() > 0
    assert not _rows(collected.images[held]) & (_rows(mixture.x_train) | _rows(mixture.x_val))
    data = mixture.provenance
    assert data.max_per_client == int(0.02 * (360 + (~held).sum()))
    trained = _rows(mixture.x_train)
    flood_trained = sum(image.tobytes() in trained for image in collected.images[200:])
    assert flood_trained == data.max_per_client < 300 * 0.5
    assert data.collected == len(mixture.x_train) - 360 and data.collected_held_out == held.sum()
    assert data.store == collected.snapshot


def test_a_drawing_labelled_outside_the_data_sets_labels_is_refused(small):
    subset = small.subset([2, 7, 8])
    with pytest.raises(DataError, match="outside"):
        build_mixture(subset, MixtureConfig(pad_renderings=0, workers=1), _collected(30, flood=0))


def test_renderings_are_the_same_in_parallel_and_come_back_from_the_cache(small, cache):
    images = small.x_train[:90]
    serial = render_cached(images, 5, PadStyle(), workers=1)
    (cached,) = (cache / "pad-renderings").iterdir()
    cached.unlink()
    parallel = render_cached(images, 5, PadStyle(), workers=2)
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_array_equal(serial, render_digits(images, 5, PadStyle()))
    stamp = cached.stat().st_mtime_ns
    np.testing.assert_array_equal(render_cached(images, 5, PadStyle(), workers=1), serial)
    assert cached.stat().st_mtime_ns == stamp
    assert not np.array_equal(render_cached(images, 6, PadStyle(), workers=1), serial)


def test_pen_renderings_are_trained_on_never_the_held_out_ones_and_carry_their_digit(small):
    reversed_labels = small.subset(list(range(9, -1, -1)))  # label index 9 - digit: a mapping bug shows
    config = MixtureConfig(pad_renderings=0, pen_renderings=300, validation_fraction=0.25, seed=11, workers=1)
    mixture = build_mixture(reversed_labels, config)
    picks = pen_digits.training_picks(300, 12)  # the mixture's seed plus one
    assert not set(picks.tolist()) & set(pen_digits.held_out_indices().tolist())
    rendered = pen_digits.pen_renderings(300, 12, PadStyle())
    _, digits = pen_digits.load_pen_digits()
    trained, validated = _rows(mixture.x_train), _rows(mixture.x_val)
    to_val = np.array([image.tobytes() in validated for image in rendered])
    assert all(image.tobytes() in trained for image in rendered[~to_val])
    assert 30 < to_val.sum() < 120, "about a quarter of the digits go to validation"
    labels_of = {image.tobytes(): label for image, label in zip(mixture.x_train, mixture.y_train, strict=True)}
    trained_pairs = zip(rendered[~to_val], digits[picks][~to_val], strict=True)
    assert all(labels_of[image.tobytes()] == 9 - digit for image, digit in trained_pairs)
    assert mixture.provenance.pen_renderings == 300
    assert len(mixture.x_train) + len(mixture.x_val) == len(reversed_labels.x_train) + 300


def test_every_rendering_of_a_pen_digit_goes_to_the_same_side(small, monkeypatch):
    pool = pen_digits.training_picks(20, 12)  # 20 digits, drawn 6 times each
    monkeypatch.setattr(pen_digits, "training_picks", lambda count, seed, start=0: pool[np.arange(count) % 20])
    config = MixtureConfig(pad_renderings=0, pen_renderings=120, validation_fraction=0.5, seed=11, workers=1)
    validated = _rows(build_mixture(small, config).x_val)
    to_val = np.array([image.tobytes() in validated for image in pen_digits.pen_renderings(120, 12, PadStyle())])
    assert 0 < to_val.sum() < 120
    for digit in pool:
        assert len(set(to_val[pool[np.arange(120) % 20] == digit].tolist())) == 1


def test_pen_renderings_need_the_ten_digits(small):
    with pytest.raises(ValueError, match="digits 0 to 9"):
        build_mixture(small.subset([2, 7, 8]), MixtureConfig(pen_renderings=10, workers=1))


def test_pen_renderings_are_the_same_in_parallel_and_come_back_from_the_cache(cache):
    serial = pen_cached(50, 5, PadStyle(), workers=1)
    (cached,) = (cache / "pen-renderings").iterdir()
    cached.unlink()
    np.testing.assert_array_equal(pen_cached(50, 5, PadStyle(), workers=2), serial)
    np.testing.assert_array_equal(serial, pen_digits.pen_renderings(50, 5, PadStyle()))
    stamp = cached.stat().st_mtime_ns
    np.testing.assert_array_equal(pen_cached(50, 5, PadStyle(), workers=1), serial)
    assert cached.stat().st_mtime_ns == stamp
