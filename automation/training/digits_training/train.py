"""Training a model on a ``Dataset`` (deterministic given the seed)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from digits_bundle.mnist import Dataset
from digits_training.network import build_augmentation, build_cnn


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 15
    """Upper bound; early stopping usually ends sooner."""
    batch_size: int = 128
    learning_rate: float = 3e-3
    patience: int = 4
    """Epochs without validation improvement before stopping."""
    validation_fraction: float = 0.1
    """Share of the training set held out for early stopping (the test set is never seen)."""
    augment: bool = True
    seed: int = 20261125
    max_train_images: int | None = None
    """Train on a seeded sample of this many images (quick mode)."""
    verbose: int = 1
    """Keras progress display: 1 a progress bar, 2 one line per epoch, 0 silent."""


@dataclass(frozen=True)
class TrainingResult:
    model: keras.Model
    epochs_run: int
    duration_s: float
    history: dict[str, list[float]]


def _to_input(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 255.0)[..., None]


def calibration_inputs(dataset: Dataset, seed: int, count: int = 2000) -> np.ndarray:
    """A seeded sample of training images as model inputs, to calibrate int8 quantisation."""
    picks = np.random.default_rng(seed).choice(
        len(dataset.x_train), size=min(count, len(dataset.x_train)), replace=False
    )
    return _to_input(dataset.x_train[np.sort(picks)])


def train(dataset: Dataset, config: TrainingConfig) -> TrainingResult:
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(dataset.x_train))
    if config.max_train_images is not None:
        order = order[: config.max_train_images]
    n_val = max(1, int(len(order) * config.validation_fraction))
    val_idx, train_idx = order[:n_val], order[n_val:]
    x_train, y_train = _to_input(dataset.x_train[train_idx]), dataset.y_train[train_idx]
    x_val, y_val = _to_input(dataset.x_train[val_idx]), dataset.y_train[val_idx]

    train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(
        len(x_train), seed=config.seed, reshuffle_each_iteration=True
    )
    train_ds = train_ds.batch(config.batch_size)
    if config.augment:
        augmentation = build_augmentation(config.seed)
        train_ds = train_ds.map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=1)
    train_ds = train_ds.prefetch(2)
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512)

    model = build_cnn(len(dataset.labels))
    steps = max(1, int(np.ceil(len(x_train) / config.batch_size)))
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=steps * config.epochs, alpha=0.01
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    started = time.monotonic()
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=[stop], verbose=config.verbose
    )
    return TrainingResult(
        model=model,
        epochs_run=len(history.history["loss"]),
        duration_s=time.monotonic() - started,
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
    )
