"""Packaging a model into a bundle: TFLite conversion, evaluation of the TFLite model, manifest, zip.

A bundle is assembled in a staging directory beside its destination and renamed
into place only once it verifies, so a failure never leaves a half-written bundle.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from digits_bundle.bundle import ModelBundle, digest_files, verify_directory, write_manifest, zip_bundle
from digits_bundle.evaluation import drift_reference, evaluate_model
from digits_bundle.manifest import MODEL_FILE, SCHEMA_VERSION, InputSpec, Manifest, Metrics, Training
from digits_bundle.runtime import DigitModel, load_model

SAVED_MODEL_DIR = "saved_model"
KERAS_FILE = "model.keras"
"""The trained network in Keras' own format, without optimizer state: what fine-tuning starts from."""


@dataclass(frozen=True)
class BundleSpec:
    name: str
    version: str
    labels: list[int]
    scale: Literal[255, 1]
    training: Training


def code_revision() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip()


def saved_model_to_tflite(saved_model_dir: Path, calibration: np.ndarray | None = None) -> bytes:
    """TFLite conversion: with ``calibration`` inputs, int8 weights and activations (float input and output);
    without, float32.

    Training serves int8 unless told otherwise: on an x86 CPU with VNNI (AVX-512 VNNI or AVX-VNNI, as in
    Xeons since Cascade Lake), XNNPACK runs this network's int8 graph about 4 times faster than its float32
    one (30 against 120 microseconds an image, one thread); on AVX2 alone it is about 1.5 times slower. int8
    is also 3.6 times smaller. Either way the manifest's metrics are measured on the converted model itself.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if calibration is not None:
        samples = calibration.astype(np.float32)

        def representative() -> Iterator[list[np.ndarray]]:
            for start in range(0, len(samples), 10):
                yield [samples[start : start + 10]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
    return bytes(converter.convert())


def _empty_metrics(labels: list[int]) -> Metrics:
    return Metrics(test_accuracy=0.0, n_test=0, per_class={}, confusion_matrix=[], dataset="")


def assemble_bundle(
    spec: BundleSpec,
    *,
    fill: Callable[[Path], None],
    x_test: np.ndarray,
    y_test: np.ndarray,
    test_set: str,
    destination: Path,
    check: Callable[[DigitModel], dict[str, object]] | None = None,
    reference_images: np.ndarray | None = None,
    reference_dataset: str = "",
) -> ModelBundle:
    """Create the bundle directory ``destination``.

    ``fill(staging)`` writes ``model.tflite`` (and optionally ``saved_model/``).
    The TFLite model is then evaluated on the test set through the serving
    runtime, so the manifest's metrics are those of what will be served.
    ``check(model)`` may reject the model by raising, or return fields to add
    to the manifest. ``reference_images`` (the training images): the drift
    features' distributions on them are recorded as the manifest's drift reference.
    """
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; remove it or choose another version")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        fill(staging)
        if not (staging / MODEL_FILE).is_file():
            raise FileNotFoundError(f"packaging produced no {MODEL_FILE}")
        manifest = Manifest(
            schema=SCHEMA_VERSION,
            name=spec.name,
            version=spec.version,
            created=datetime.now(UTC).replace(microsecond=0),
            labels=spec.labels,
            input=InputSpec(scale=spec.scale),
            files=digest_files(staging),
            metrics=_empty_metrics(spec.labels),
            training=spec.training,
        )
        model = load_model(ModelBundle(root=staging, manifest=manifest))
        metrics = evaluate_model(model, x_test, y_test, test_set)
        extra = check(model) if check else {}
        if reference_images is not None:
            extra["drift_reference"] = drift_reference(model, reference_images, reference_dataset)
        write_manifest(staging, manifest.model_copy(update={"metrics": metrics, **extra}))
        verify_directory(staging)
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return verify_directory(destination)


def export_keras(
    model: object, staging: Path, include_saved_model: bool = True, calibration: np.ndarray | None = None
) -> None:
    """The Keras model (to fine-tune from), a SavedModel export (kept for TensorFlow users when asked) and its
    TFLite conversion.

    ``calibration``: model inputs (n, 28, 28, 1) for int8 quantisation, or None for a float model.
    """
    import keras

    plain = keras.Model.from_config(model.get_config())  # type: ignore[attr-defined]  # no optimizer to save
    plain.set_weights(model.get_weights())  # type: ignore[attr-defined]
    plain.save(staging / KERAS_FILE)
    saved = staging / SAVED_MODEL_DIR
    model.export(str(saved), format="tf_saved_model", verbose=False)  # type: ignore[attr-defined]
    (staging / MODEL_FILE).write_bytes(saved_model_to_tflite(saved, calibration))
    if not include_saved_model:
        shutil.rmtree(saved)


def zip_path(bundle: ModelBundle, directory: Path) -> Path:
    return directory / f"{bundle.manifest.name}-{bundle.manifest.version}.zip"


def write_zip(bundle: ModelBundle, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return zip_bundle(bundle.root, zip_path(bundle, directory))
