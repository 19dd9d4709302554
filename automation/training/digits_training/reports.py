"""The evaluation written beside a trained bundle for people: ``metrics.json`` and a confusion-matrix plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from digits_bundle.manifest import Metrics


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
