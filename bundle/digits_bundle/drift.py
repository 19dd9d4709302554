"""Drift of what people draw: cheap features of every input, their reference distributions (recorded in the
bundle manifest when it is packaged, from the training data) and the population stability index (PSI) of a
live window against them.

Every feature is computed on the 28x28 grey levels the model is given (white on black, 0..255) or on its
answer, for a whole batch at once. The bin edges are part of the recorded reference, so a reference keeps
its meaning whatever later code prefers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from digits_bundle.manifest import DriftReference, FeatureReference

INK = 0.5
"""A pixel is ink when its grey level is above this share of white (for box and thickness)."""
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
"""The usual PSI thresholds: below 0.1 stable, 0.1 to 0.25 moderate drift, above 0.25 significant."""
_FLOOR = 1e-4
"""The proportion an empty bin counts as, so the PSI stays finite."""

EDGES: dict[str, list[float]] = {
    "ink_mass": [0, 50, 70, 85, 100, 115, 130, 150, 180, 784],
    "box_height": [0, 12, 15, 17, 19, 20, 21, 23, 26, 28],
    "box_width": [0, 5, 8, 11, 13, 15, 17, 19, 22, 28],
    "aspect": [0, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.3, 1.7, 28],
    "centre_offset": [0, 0.5, 1, 1.5, 2, 3, 4, 6, 20],
    "thickness": [0, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 28],
    "top_probability": [0, 0.5, 0.7, 0.9, 0.99, 0.999, 1],
    "predicted_label": [-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5],
}
FEATURES = tuple(EDGES)
DESCRIPTIONS = {
    "ink_mass": "ink in the image, in fully white pixels' worth",
    "box_height": "height of the inked box, in pixels of 28",
    "box_width": "width of the inked box, in pixels of 28",
    "aspect": "width over height of the inked box",
    "centre_offset": "distance of the centre of mass from the image's centre, in pixels",
    "thickness": "estimated stroke width, in pixels (twice the inked area over its outline)",
    "top_probability": "the probability of the predicted label",
    "predicted_label": "the predicted digit",
}


def image_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """The image features of ``images`` (n, 784) or (n, 28, 28), grey levels 0..255: one value per image each."""
    grey = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28) / 255.0
    n = len(grey)
    mass = grey.sum(axis=(1, 2))
    inked: np.ndarray = grey > INK
    rows = np.asarray(inked.any(axis=2))
    columns = np.asarray(inked.any(axis=1))
    height = _extent(rows)
    width = _extent(columns)
    weights = np.where(mass > 0, mass, 1.0)
    axis = np.arange(28, dtype=np.float32)
    centre_y = (grey.sum(axis=2) * axis).sum(axis=1) / weights
    centre_x = (grey.sum(axis=1) * axis).sum(axis=1) / weights
    offset = np.where(mass > 0, np.hypot(centre_y - 13.5, centre_x - 13.5), 0.0)
    area = inked.sum(axis=(1, 2))
    padded = np.zeros((n, 30, 30), dtype=np.int8)
    padded[:, 1:-1, 1:-1] = inked
    outline = np.abs(np.diff(padded, axis=1)).sum(axis=(1, 2)) + np.abs(np.diff(padded, axis=2)).sum(axis=(1, 2))
    thickness = np.where(outline > 0, 2.0 * area / np.maximum(outline, 1), 0.0)
    aspect = np.where(height > 0, width / np.maximum(height, 1), 0.0)
    return {
        "ink_mass": mass,
        "box_height": height.astype(np.float32),
        "box_width": width.astype(np.float32),
        "aspect": aspect,
        "centre_offset": offset,
        "thickness": thickness,
    }


def _extent(present: np.ndarray) -> np.ndarray:
    """Rows (or columns) from the first to the last present one, per image; 0 for none."""
    any_present = present.any(axis=1)
    first = present.argmax(axis=1)
    last = present.shape[1] - 1 - present[:, ::-1].argmax(axis=1)
    return np.where(any_present, last - first + 1, 0)


def all_features(images: np.ndarray, probabilities: np.ndarray, labels: list[int]) -> dict[str, np.ndarray]:
    """Image features and the answer's: its top probability and its predicted digit."""
    best = probabilities.argmax(axis=1)
    return {
        **image_features(images),
        "top_probability": probabilities.max(axis=1),
        "predicted_label": np.asarray(labels)[best].astype(np.float32),
    }


def proportions(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """The share of ``values`` in each bin; values beyond the outer edges count in the outer bins."""
    index = np.searchsorted(np.asarray(edges[1:-1]), values, side="right")
    counts = np.bincount(index, minlength=len(edges) - 1)
    return counts / max(1, len(values))


def reference(features: Mapping[str, np.ndarray], dataset: str) -> DriftReference:
    n = len(next(iter(features.values())))
    return DriftReference(
        dataset=dataset,
        n=n,
        features={
            name: FeatureReference(
                edges=EDGES[name], proportions=[round(float(p), 6) for p in _normalised(values, name)]
            )
            for name, values in features.items()
        },
    )


def _normalised(values: np.ndarray, name: str) -> np.ndarray:
    shares = proportions(values, EDGES[name])
    return np.asarray(shares / shares.sum())


def psi(live: Sequence[float] | np.ndarray, expected: Sequence[float] | np.ndarray) -> float:
    """Population stability index of ``live`` proportions against ``expected`` ones (same bins)."""
    observed = np.maximum(np.asarray(live, dtype=np.float64), _FLOOR)
    wanted = np.maximum(np.asarray(expected, dtype=np.float64), _FLOOR)
    return float(np.sum((observed - wanted) * np.log(observed / wanted)))


def status(score: float) -> str:
    if score >= PSI_SIGNIFICANT:
        return "significant"
    if score >= PSI_MODERATE:
        return "moderate"
    return "stable"


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's live distribution against its reference, and what that reads as."""

    name: str
    edges: list[float]
    reference: list[float] | None
    live: list[float] | None
    psi: float | None
    status: str
    """stable, moderate or significant; unknown without a reference or live values."""


def compare(reference: DriftReference | None, live: Mapping[str, np.ndarray] | None) -> list[FeatureDrift]:
    """Every feature's live values (binned as its reference is) scored against the reference."""
    scored = []
    for name in FEATURES:
        expected = reference.features.get(name) if reference is not None else None
        edges = expected.edges if expected is not None else EDGES[name]
        values = live.get(name) if live is not None else None
        shares = proportions(values, edges).tolist() if values is not None and len(values) else None
        score = psi(shares, expected.proportions) if shares is not None and expected is not None else None
        scored.append(
            FeatureDrift(
                name=name,
                edges=edges,
                reference=expected.proportions if expected is not None else None,
                live=shares,
                psi=score,
                status=status(score) if score is not None else "unknown",
            )
        )
    return scored
