"""Digits drawn unlike MNIST on purpose, to make drift: shrunk to a small box and thickened."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def tiny_thick(images: np.ndarray, box: int = 9, dilate: int = 3) -> np.ndarray:
    """Each 28x28 digit shrunk to ``box`` pixels, thickened by a ``dilate``-pixel max filter, at the centre."""
    out = np.zeros((len(images), 28, 28), dtype=np.uint8)
    start = (28 - box) // 2
    for i, image in enumerate(images):
        small = Image.fromarray(image).resize((box, box), Image.Resampling.LANCZOS)
        canvas = Image.new("L", (28, 28))
        canvas.paste(small, (start, start))
        out[i] = np.asarray(canvas.filter(ImageFilter.MaxFilter(dilate)))
    return out
