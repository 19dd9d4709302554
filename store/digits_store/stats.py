"""Live accuracy from feedback: per model version with a Wilson score interval, and the confusion matrix
of the labels people gave against the predicted ones."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class VersionAccuracy:
    model_version: str
    count: int
    correct: int
    accuracy: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class FeedbackStats:
    total: int
    correct: int
    versions: list[VersionAccuracy]
    """Most answered first."""
    labels: list[int]
    confusion: list[list[int]]
    """``confusion[i][j]``: answers whose given label is ``labels[i]`` and predicted label ``labels[j]``."""


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: sound at 0 or all successes and for few trials."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0 or all successes the bound is exactly 0 or 1; floating point would miss it by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


def summarise(rows: Iterable[tuple[str, int, int, int]], max_versions: int) -> FeedbackStats:
    """``rows``: (model version, given label, predicted label, count)."""
    per_version: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pairs: dict[tuple[int, int], int] = defaultdict(int)
    for version, label, predicted, n in rows:
        per_version[version][0] += n
        per_version[version][1] += n if label == predicted else 0
        pairs[(label, predicted)] += n
    versions = [
        VersionAccuracy(version, count, correct, correct / count, wilson_interval(correct, count))
        for version, (count, correct) in sorted(per_version.items(), key=lambda item: (-item[1][0], item[0]))
    ][:max_versions]
    labels = sorted({label for pair in pairs for label in pair})
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for (label, predicted), n in pairs.items():
        confusion[index[label]][index[predicted]] += n
    return FeedbackStats(
        total=sum(c for c, _ in per_version.values()),
        correct=sum(k for _, k in per_version.values()),
        versions=versions,
        labels=labels,
        confusion=confusion,
    )
