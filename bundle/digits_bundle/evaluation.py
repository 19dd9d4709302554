"""How a bundle's model scores on held-out digits, through the runtime that serves it: accuracy, per-class
precision/recall, confusion matrix."""

from __future__ import annotations

import numpy as np

from digits_bundle.drift import all_features, reference
from digits_bundle.manifest import ClassMetrics, DriftReference, Metrics
from digits_bundle.runtime import DigitModel


def compute_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[int], dataset: str) -> Metrics:
    """Targets and predictions are output indices into ``labels``."""
    n = len(labels)
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    per_class = {}
    for index, label in enumerate(labels):
        predicted = matrix[:, index].sum()
        actual = matrix[index, :].sum()
        per_class[str(label)] = ClassMetrics(
            precision=float(matrix[index, index] / predicted) if predicted else 0.0,
            recall=float(matrix[index, index] / actual) if actual else 0.0,
            support=int(actual),
        )
    total = int(matrix.sum())
    return Metrics(
        test_accuracy=float(np.trace(matrix) / total) if total else 0.0,
        n_test=total,
        per_class=per_class,
        confusion_matrix=matrix.tolist(),
        dataset=dataset,
    )


def predict_probabilities(model: DigitModel, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Output probabilities for uint8 images (n, 28, 28), through the TFLite runtime that serves them."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    chunks = [model.predict(flat[i : i + batch_size]) for i in range(0, len(flat), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, len(model.labels)), dtype=np.float32)


def predict_indices(model: DigitModel, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted output indices for uint8 images (n, 28, 28)."""
    return np.asarray(predict_probabilities(model, images, batch_size).argmax(axis=1))


def drift_reference(model: DigitModel, images: np.ndarray, dataset: str) -> DriftReference:
    """The drift features' distributions on ``images`` (the training data) and the model's answers to them."""
    features = all_features(images, predict_probabilities(model, images), model.labels)
    return reference(features, dataset)


def evaluate_model(model: DigitModel, images: np.ndarray, targets: np.ndarray, dataset: str) -> Metrics:
    return compute_metrics(targets, predict_indices(model, images), model.labels, dataset)
