"""A model's accuracy on drawings, for the manifest's ``evaluations``: the drawn-digit set (font digits drawn
as the page would receive them, ``drawn_eval``) and the collected drawings held out of training."""

from __future__ import annotations

import numpy as np

from digits_bundle.evaluation import predict_indices
from digits_bundle.manifest import Evaluation
from digits_bundle.runtime import DigitModel
from digits_training.collected import Collected
from digits_training.drawn_eval import FORMAT
from digits_training.drawn_sets import DrawnEvalSet

DRAWN = "drawn"
COLLECTED_HELD_OUT = "collected_held_out"


def accuracy(model: DigitModel, images: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
    """Share of ``images`` whose predicted digit is their label, and how many were scored: only those whose
    label the model knows."""
    known = np.isin(labels, model.labels)
    if not known.any():
        return 0.0, 0
    predicted = np.asarray(model.labels)[predict_indices(model, images[known])]
    return float((predicted == labels[known]).mean()), int(known.sum())


def drawing_evaluations(
    model: DigitModel, drawn: DrawnEvalSet | None, held_out: Collected | None
) -> dict[str, Evaluation]:
    found: dict[str, Evaluation] = {}
    if drawn is not None:
        score, n = accuracy(model, drawn.images, drawn.labels)
        found[DRAWN] = Evaluation(
            accuracy=round(score, 5),
            n=n,
            dataset=f"{FORMAT} seed {drawn.seed}: {len(drawn.font_names)} fonts' digits drawn through the page's"
            f" brush and preprocessing ({', '.join(drawn.font_names)})",
        )
    if held_out is not None and held_out.count:
        score, n = accuracy(model, held_out.images, held_out.labels)
        found[COLLECTED_HELD_OUT] = Evaluation(
            accuracy=round(score, 5),
            n=n,
            dataset=f"store snapshot {held_out.snapshot.digest[:12]}: the collected drawings held out of training"
            " by the hash of their id",
        )
    return found
