"""Real MNIST digits and ways to lay them out for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image_folders(root: Path, images: np.ndarray, targets: np.ndarray, labels: list[int], per_class: int) -> Path:
    """``root/mnist-<d>/*`` in the original pipeline's layout, in assorted sizes, modes and formats."""
    rng = np.random.default_rng(7)
    for label in labels:
        folder = root / f"mnist-{label}"
        folder.mkdir(parents=True)
        picks = np.flatnonzero(targets == label)[:per_class]
        for n, index in enumerate(picks):
            digit = Image.fromarray(images[index])
            size = int(rng.choice([28, 56, 100]))
            digit = digit.resize((size, size), Image.Resampling.BILINEAR)
            style = n % 4
            if style == 0:
                digit.save(folder / f"{n}.png")
            elif style == 1:  # black ink on white paper, RGB JPEG
                Image.merge("RGB", [Image.eval(digit, lambda v: 255 - v)] * 3).save(folder / f"{n}.jpg", quality=95)
            elif style == 2:  # RGBA with transparent background
                alpha = digit.copy()
                Image.merge("RGBA", [digit, digit, digit, alpha]).save(folder / f"{n}.png")
            else:
                digit.convert("RGB").save(folder / f"{n}.jpeg", quality=95)
    return root
