"""Training data from folders of images laid out as the original pipeline's (``mnist-<digit>/*.png``).

The MNIST digits themselves come from ``digits_bundle.mnist``. Everything is uint8 grey levels 0..255,
white digit on black, shape (n, 28, 28).
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from digits_bundle.mnist import DataError, Dataset

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
_FOLDER_LABEL = re.compile(r"^mnist-(\d)$")


def image_to_grey28(path: Path) -> np.ndarray:
    """Any size, RGB/RGBA/grey -> 28x28 uint8. Transparent pixels count as background."""
    try:
        with Image.open(path) as source:
            source.load()
            image: Image.Image = source
            if source.mode in ("RGBA", "LA") or (source.mode == "P" and "transparency" in source.info):
                rgba = source.convert("RGBA")
                backdrop = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                image = Image.alpha_composite(backdrop, rgba)
            grey = image.convert("L").resize((28, 28), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(f"{path}: not a readable image: {error}") from error
    return np.asarray(grey, dtype=np.uint8)


def load_image_folders(root: Path, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Images laid out as ``<root>/mnist-<digit>/*.png|jpg`` (the original pipeline's layout).

    Split per class into train and test with a seeded shuffle. Images whose
    background is lighter than their ink are inverted to white on black.
    """
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _FOLDER_LABEL.match(p.name))
    if not folders:
        raise DataError(f"{root}: no labelled folders (expected mnist-<digit>/ subfolders)")
    rng = random.Random(seed)
    splits: dict[str, list[tuple[np.ndarray, int]]] = {"train": [], "test": []}
    labels = [int(_FOLDER_LABEL.match(p.name).group(1)) for p in folders]  # type: ignore[union-attr]
    if len(labels) < 2:
        raise DataError(f"{root}: need at least two labelled folders, found {[p.name for p in folders]}")
    digest = hashlib.sha256()
    for index, folder in enumerate(folders):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) < 2:
            raise DataError(f"{folder}: needs at least 2 images (.png/.jpg), found {len(files)}")
        rng.shuffle(files)
        n_test = max(1, round(len(files) * test_fraction))
        for position, path in enumerate(files):
            image = image_to_grey28(path)
            if image[[0, -1], :].mean() + image[:, [0, -1]].mean() > 255:
                image = 255 - image
            digest.update(image.tobytes())
            splits["test" if position < n_test else "train"].append((image, index))

    def stack(items: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([i for i, _ in items]), np.array([t for _, t in items], dtype=np.int64)

    x_train, y_train = stack(splits["train"])
    x_test, y_test = stack(splits["test"])
    return Dataset(x_train, y_train, x_test, y_test, labels, f"folders:{root.name}", digest.hexdigest())
