"""Converting a foreign release (a zip holding only a TF SavedModel) into a model bundle.

The original system's releases carry no manifest: labels and input scale come
from the caller, metrics from evaluating the converted model on the MNIST test
digits of its own labels, and the TFLite model must agree with the SavedModel.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np

from digits_bundle.archive import UnsafeArchiveError, extract_zip
from digits_bundle.bundle import ModelBundle
from digits_bundle.evaluation import predict_indices
from digits_bundle.manifest import MODEL_FILE, Training
from digits_bundle.mnist import Dataset
from digits_bundle.runtime import DigitModel
from digits_training.package import SAVED_MODEL_DIR, BundleSpec, assemble_bundle, saved_model_to_tflite

MIN_AGREEMENT = 0.999


class ConversionError(ValueError):
    """The release cannot be turned into a bundle; the message says why."""


def find_saved_model(root: Path) -> Path:
    candidates = sorted(p.parent for p in root.rglob("saved_model.pb"))
    if not candidates:
        raise ConversionError("the release holds no TF SavedModel (no saved_model.pb)")
    if len(candidates) > 1:
        raise ConversionError(
            f"the release holds {len(candidates)} SavedModels: {[str(c.relative_to(root)) for c in candidates]}"
        )
    return candidates[0]


def saved_model_predict(saved_model_dir: Path, images: np.ndarray, scale: int) -> np.ndarray:
    """Probabilities from the SavedModel's ``serving_default`` signature for uint8 images (n, 28, 28)."""
    import tensorflow as tf

    signature = tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"]
    (input_name,) = signature.structured_input_signature[1].keys()
    batch = images.astype(np.float32)[..., None] / (255.0 if scale == 1 else 1.0)
    outputs = [
        next(iter(signature(**{input_name: tf.constant(batch[i : i + 500])}).values())).numpy()
        for i in range(0, len(batch), 500)
    ]
    return np.concatenate(outputs)


def convert_release(
    archive: Path,
    *,
    labels: list[int],
    scale: Literal[255, 1],
    mnist: Dataset,
    destination: Path,
    name: str = "mnist-cnn",
    version: str | None = None,
) -> ModelBundle:
    """Turn a SavedModel release zip into the bundle directory ``destination``."""
    if not labels:
        raise ConversionError("labels must be given for a release without a manifest")
    test = mnist.subset(labels)
    source_digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory(prefix="foreign-") as scratch:
        unpacked = Path(scratch) / "release"
        unpacked.mkdir()
        try:
            extract_zip(archive, unpacked)
        except UnsafeArchiveError as error:
            raise ConversionError(f"{archive.name}: {error}") from error
        saved_model = find_saved_model(unpacked)
        try:
            reference = saved_model_predict(saved_model, test.x_test, scale)
        except (ValueError, KeyError, OSError) as error:
            raise ConversionError(f"the SavedModel does not load or run: {error}") from error
        if reference.shape[1] != len(labels):
            raise ConversionError(
                f"the SavedModel has {reference.shape[1]} outputs but {len(labels)} labels were given: {labels}"
            )

        def fill(staging: Path) -> None:
            (staging / MODEL_FILE).write_bytes(saved_model_to_tflite(saved_model))
            shutil.copytree(saved_model, staging / SAVED_MODEL_DIR, symlinks=False)

        def check_agreement(model: DigitModel) -> dict[str, object]:
            tflite = predict_indices(model, test.x_test)
            rate = float(np.mean(tflite == reference.argmax(axis=1)))
            if rate < MIN_AGREEMENT:
                raise ConversionError(
                    f"TFLite conversion agrees with the SavedModel on only {rate:.4%} of {len(tflite)} digits"
                )
            return {"conversion": {"tflite_savedmodel_agreement": rate, "n": len(tflite)}}

        bundle = assemble_bundle(
            BundleSpec(
                name=name,
                version=version or archive.stem,
                labels=labels,
                scale=scale,
                training=Training(
                    dataset="unknown (foreign release)",
                    source=f"{archive.name} sha256:{source_digest} ({saved_model.relative_to(unpacked)})",
                ),
            ),
            fill=fill,
            x_test=test.x_test,
            y_test=test.y_test,
            test_set=f"mnist-test digits {labels}",
            destination=destination,
            check=check_agreement,
        )
    return bundle
