"""The gate's verdicts, as pure functions of holdout scores and label sets (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from digits_bundle.manifest import Metrics

MIN_CLASS_SUPPORT = 30
"""Digits of one label a holdout must hold for that label's recall to be compared (fewer: too noisy)."""


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str


def judge(
    accuracy: float,
    serving_accuracy: float | None,
    min_accuracy: float,
    max_regression: float,
    holdout: str = "holdout",
) -> Verdict:
    """The gate's decision from holdout accuracies (the serving model's on the same digits, when comparable)."""
    if accuracy < min_accuracy:
        return Verdict(False, f"{holdout} accuracy {accuracy:.4f} is below the floor {min_accuracy:.4f}")
    if serving_accuracy is not None and serving_accuracy - accuracy > max_regression:
        return Verdict(
            False,
            f"{holdout} accuracy {accuracy:.4f} is worse than the serving model's {serving_accuracy:.4f}"
            f" by more than {max_regression:.4f}",
        )
    return Verdict(True, f"{holdout} accuracy {accuracy:.4f}")


def judge_recalls(candidate: Metrics, serving: Metrics | None, holdout: str, max_drop: float) -> Verdict:
    """Refuse a model that reads one digit much worse than the serving model on the same holdout digits.

    An overall margin lets a release give up one label almost entirely (a flood of drawings of 7 labelled
    1 costs a fifth of the 7s but two points overall); the trusted holdout's per-label recall does not."""
    if serving is None:
        return Verdict(True, f"recall per label on {holdout} not compared: no serving score")
    drops = []
    for label, mine in candidate.per_class.items():
        theirs = serving.per_class.get(label)
        if theirs is None or min(mine.support, theirs.support) < MIN_CLASS_SUPPORT:
            continue
        if theirs.recall - mine.recall > max_drop:
            drops.append(f"{label} ({theirs.recall:.4f} -> {mine.recall:.4f})")
    if drops:
        return Verdict(
            False,
            f"recall on {holdout} is worse than the serving model's by more than {max_drop:.4f}"
            f" for label {', '.join(drops)} (serving -> candidate)",
        )
    return Verdict(True, f"recall per label on {holdout} within {max_drop:.4f} of the serving model's")


def judge_drawings(
    accuracy: float, serving_accuracy: float | None, count: int, min_count: int, max_regression: float
) -> Verdict:
    """The decision on the collected drawings held out of training: compared only when there are at least
    ``min_count`` of them and the serving model's accuracy on the same drawings is known."""
    if count < min_count or serving_accuracy is None:
        why = f"only {count} held-out drawings (fewer than {min_count})" if count < min_count else "no serving score"
        return Verdict(True, f"held-out drawings not compared: {why}")
    if serving_accuracy - accuracy > max_regression:
        return Verdict(
            False,
            f"accuracy {accuracy:.4f} on {count} held-out drawings people labelled is worse than the serving"
            f" model's {serving_accuracy:.4f} by more than {max_regression:.4f}",
        )
    return Verdict(True, f"accuracy {accuracy:.4f} on {count} held-out drawings (serving {serving_accuracy:.4f})")


def judge_labels(candidate: list[int], serving: list[int] | None, allow_narrower: bool) -> Verdict:
    """Whether a model with ``candidate`` labels may replace one answering ``serving`` (None: unknown).

    A release that cannot answer a digit the serving model answers would silently narrow what
    the app recognises: refused unless ``allow_narrower``.
    """
    if serving is None:
        return Verdict(True, "the serving model's labels are unknown: labels not compared")
    missing = sorted(set(serving) - set(candidate))
    if not missing:
        return Verdict(True, f"labels {sorted(candidate)} cover the serving model's")
    message = f"labels {candidate} do not cover the serving model's {serving} (missing {missing})"
    if allow_narrower:
        return Verdict(True, f"{message}; narrower labels are allowed")
    return Verdict(False, f"{message}: a release may not narrow the labels unless narrower labels are allowed")
