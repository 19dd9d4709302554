"""The training mixture: MNIST's training digits, pad-style renderings of them, renderings of UCI's pen digits
(``pen_digits``: styles MNIST hardly has, such as a 1 with a flag and a foot), and drawings people labelled.

One seeded permutation of MNIST's training digits decides which go to validation (for early stopping);
a digit's pad-style rendering goes to the same side as the digit it was drawn from, so validation never
sees a drawing of a digit trained on. Pen renderings are split the same way, by the pen digit they draw.
Collected drawings are split by the stable hash of their id: the held-out part is never trained on (it is
returned for evaluation); of the rest, each browser contributes at most ``max_client_share`` of the whole
training set.

Renderings take about 4 ms each, so they are made in worker processes and cached under ``DIGITS_CACHE``,
keyed by what is drawn, the seed, the style and the source of the code that draws them.
"""

from __future__ import annotations

import hashlib
import inspect
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digits_bundle.manifest import DataProvenance
from digits_bundle.mnist import CacheSettings, Dataset
from digits_training import pad_renderings, page_preprocessing, pen_digits, strokes
from digits_training.collected import HELD_OUT_FRACTION, MAX_CLIENT_SHARE, Collected, bounded_per_client, empty
from digits_training.pad_renderings import PadStyle

_CHUNK = 2_000
"""Digits per rendering task."""
_PEN_SEED_OFFSET = 1
"""The pen renderings' seed is the mixture's plus this: with the same seed, pen rendering k would be bent,
sized and placed exactly as pad rendering k."""


@dataclass(frozen=True)
class MixtureConfig:
    pad_renderings: int = 0
    """Training digits redrawn pad-style (one rendering each; at most all of them)."""
    pen_renderings: int = 0
    """Renderings of the pen digits that are not held out (going round them when more than there are)."""
    style: PadStyle = field(default_factory=PadStyle)
    validation_fraction: float = 0.1
    """Share of the training digits (and their renderings) held out for early stopping."""
    max_train_images: int | None = None
    """Use a seeded sample of this many training digits (quick mode)."""
    held_out_fraction: float = HELD_OUT_FRACTION
    max_client_share: float = MAX_CLIENT_SHARE
    seed: int = 20261125
    workers: int | None = None
    """Rendering processes; None: one per CPU."""


@dataclass(frozen=True)
class Mixture:
    """uint8 images (n, 28, 28) and label indices (n,), for training and for validation."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    held_out: Collected
    """Collected drawings never trained on, labels as digits."""
    provenance: DataProvenance


def _code_digest(*modules: Any) -> str:
    digest = hashlib.sha256()
    for module in modules:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


def _render_chunk(args: tuple[np.ndarray, int, PadStyle, int]) -> np.ndarray:
    images, seed, style, start = args
    return pad_renderings.render_digits(images, seed, style, start)


def _render_pen_chunk(args: tuple[int, int, PadStyle, int]) -> np.ndarray:
    count, seed, style, start = args
    return pen_digits.pen_renderings(count, seed, style, start)


def _in_parallel(function: Callable[[Any], Any], chunks: Sequence[Any], workers: int | None) -> list[Any]:
    processes = max(1, min(workers or os.cpu_count() or 1, len(chunks)))
    if processes == 1:
        return [function(chunk) for chunk in chunks]
    # spawn, not fork: the parent may already hold TensorFlow's threads.
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(function, chunks))


def _cached(
    name: str, key_parts: Sequence[bytes], make: Callable[[], np.ndarray], shape: tuple[int, ...]
) -> np.ndarray:
    """``make()``, kept on disk under ``DIGITS_CACHE``/``name`` by a hash of ``key_parts``."""
    key = hashlib.sha256()
    for part in key_parts:
        key.update(hashlib.sha256(part).digest())
    path = CacheSettings().digits_cache / name / f"{key.hexdigest()[:32]}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path, allow_pickle=False)
        if cached.shape == shape and cached.dtype == np.uint8:
            return cached
    out = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    with partial.open("wb") as file:
        np.save(file, out)
    partial.replace(path)
    return out


def render_cached(images: np.ndarray, seed: int, style: PadStyle, workers: int | None) -> np.ndarray:
    """``pad_renderings.render_digits(images, seed, style)``, in parallel and cached on disk."""

    def make() -> np.ndarray:
        chunks = [(images[i : i + _CHUNK], seed, style, i) for i in range(0, len(images), _CHUNK)]
        rendered = _in_parallel(_render_chunk, chunks, workers)
        return np.concatenate(rendered) if rendered else np.zeros((0, 28, 28), np.uint8)

    digest = _code_digest(pad_renderings, strokes, page_preprocessing)
    parts = (images.tobytes(), str(seed).encode(), repr(style).encode(), digest.encode())
    return _cached("pad-renderings", parts, make, images.shape)


def pen_cached(count: int, seed: int, style: PadStyle, workers: int | None) -> np.ndarray:
    """``pen_digits.pen_renderings(count, seed, style)``, in parallel and cached on disk."""

    def make() -> np.ndarray:
        chunks = [(min(_CHUNK, count - i), seed, style, i) for i in range(0, count, _CHUNK)]
        rendered = _in_parallel(_render_pen_chunk, chunks, workers)
        return np.concatenate(rendered) if rendered else np.zeros((0, 28, 28), np.uint8)

    digest = _code_digest(pad_renderings, pen_digits, page_preprocessing)
    parts = (str(count).encode(), str(seed).encode(), repr(style).encode(), digest.encode())
    return _cached("pen-renderings", parts, make, (count, 28, 28))


def build_mixture(dataset: Dataset, config: MixtureConfig, collected: Collected | None = None) -> Mixture:
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(dataset.x_train))
    if config.max_train_images is not None:
        order = order[: config.max_train_images]
    n_val = max(1, int(len(order) * config.validation_fraction))
    is_val = np.zeros(len(dataset.x_train), dtype=bool)
    is_val[order[:n_val]] = True

    sources = order[: min(config.pad_renderings, len(order))]
    rendered = render_cached(dataset.x_train[sources], config.seed, config.style, config.workers)
    rendered_val = is_val[sources]
    pen_images, pen_targets, pen_val = _pen_part(dataset.labels, config)

    collected = collected if collected is not None else empty()
    collected.targets(dataset.labels)  # every label must be one of the data set's
    held_out_mask = collected.held_out(config.held_out_fraction)
    held_out = collected.take(held_out_mask)
    n_base = (len(order) - n_val) + int((~rendered_val).sum()) + int((~pen_val).sum())
    cap = int(config.max_client_share * (n_base + (~held_out_mask).sum()))
    trainable = bounded_per_client(collected.take(~held_out_mask), cap)
    trainable_targets = trainable.targets(dataset.labels)

    train_idx, val_idx = order[n_val:], order[:n_val]
    x_train = np.concatenate(
        [dataset.x_train[train_idx], rendered[~rendered_val], pen_images[~pen_val], trainable.images]
    )
    y_train = np.concatenate(
        [dataset.y_train[train_idx], dataset.y_train[sources][~rendered_val], pen_targets[~pen_val], trainable_targets]
    )
    x_val = np.concatenate([dataset.x_train[val_idx], rendered[rendered_val], pen_images[pen_val]])
    y_val = np.concatenate([dataset.y_train[val_idx], dataset.y_train[sources][rendered_val], pen_targets[pen_val]])
    provenance = DataProvenance(
        base=len(order),
        pad_renderings=len(sources),
        pen_renderings=config.pen_renderings,
        collected=trainable.count,
        collected_held_out=held_out.count,
        max_per_client=cap if collected.count else None,
        store=collected.snapshot if collected.snapshot.records else None,
    )
    return Mixture(x_train, y_train.astype(np.int64), x_val, y_val.astype(np.int64), held_out, provenance)


def _pen_part(labels: list[int], config: MixtureConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pen renderings (images, label indices, whether each is for validation). A pen digit's renderings
    all go to one side, chosen by a seeded draw per digit."""
    if not config.pen_renderings:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), np.zeros(0, dtype=bool)
    if not set(range(10)) <= set(labels):
        raise ValueError(f"pen renderings are of the digits 0 to 9; the data's labels are {labels}")
    seed = config.seed + _PEN_SEED_OFFSET
    images = pen_cached(config.pen_renderings, seed, config.style, config.workers)
    picks = pen_digits.training_picks(config.pen_renderings, seed)
    _, digits = pen_digits.load_pen_digits()
    targets = np.array([labels.index(int(digit)) for digit in digits[picks]], dtype=np.int64)
    for_validation = np.random.default_rng(seed).random(pen_digits.COUNT) < config.validation_fraction
    return images, targets, for_validation[picks]
