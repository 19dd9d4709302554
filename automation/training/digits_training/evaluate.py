"""Evaluation of a served model on held-out digits: accuracy, per-class precision/recall, confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from digits_api.manifest import ClassMetrics, Metrics
from digits_api.model import DigitModel


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


def predict_indices(model: DigitModel, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted output indices for uint8 images (n, 28, 28), through the TFLite runtime that serves them."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    chunks = [model.predict(flat[i : i + batch_size]).argmax(axis=1) for i in range(0, len(flat), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def evaluate_model(model: DigitModel, images: np.ndarray, targets: np.ndarray, dataset: str) -> Metrics:
    return compute_metrics(targets, predict_indices(model, images), model.labels, dataset)


def write_reports(metrics: Metrics, labels: list[int], directory: Path) -> None:
    """``metrics.json`` and ``confusion_matrix.png`` beside each other."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.json").write_text(metrics.model_dump_json(indent=2) + "\n")
    matrix = np.array(metrics.confusion_matrix)
    size = 1.2 + 0.55 * len(labels)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    axes.set_xticks(range(len(labels)), [str(label) for label in labels])
    axes.set_yticks(range(len(labels)), [str(label) for label in labels])
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"accuracy {metrics.test_accuracy:.4f} on {metrics.n_test} ({metrics.dataset})")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(
            column,
            row,
            str(count),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if count > threshold else "black",
        )
    figure.tight_layout()
    figure.savefig(directory / "confusion_matrix.png", dpi=110)
    plt.close(figure)


def metrics_summary(metrics: Metrics) -> str:
    return json.dumps({"test_accuracy": round(metrics.test_accuracy, 5), "n_test": metrics.n_test})
