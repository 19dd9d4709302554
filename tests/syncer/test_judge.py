"""The gate's verdicts: holdout accuracies and label sets."""

from __future__ import annotations

import pytest

from digits_bundle.manifest import ClassMetrics, Metrics
from digits_syncer.judge import judge, judge_drawings, judge_labels, judge_recalls


@pytest.mark.parametrize(
    ("candidate", "serving", "allow", "accepted", "reason"),
    [
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], list(range(10)), False, True, "cover the serving model's"),
        ([2, 7, 8], list(range(10)), False, False, "missing [0, 1, 3, 4, 5, 6, 9]"),
        ([2, 7, 8], list(range(10)), True, True, "narrower labels are allowed"),
        (list(range(10)), [2, 7, 8], False, True, "cover"),  # widening is always fine
        ([8, 7, 2], [2, 7, 8], False, True, "cover"),  # order does not matter
        ([2, 7, 8], None, False, True, "labels not compared"),
    ],
)
def test_judge_labels(candidate, serving, allow, accepted, reason):
    verdict = judge_labels(candidate, serving, allow)
    assert verdict.accepted is accepted and reason in verdict.reason


@pytest.mark.parametrize(
    ("accuracy", "serving", "accepted", "reason"),
    [
        (0.99, None, True, "holdout accuracy 0.9900"),
        (0.85, None, False, "below the floor 0.9000"),
        (0.95, 0.99, False, "worse than the serving model's 0.9900 by more than 0.0200"),
        (0.98, 0.99, True, "holdout accuracy 0.9800"),
        (0.999, 0.95, True, "holdout accuracy 0.9990"),
    ],
)
def test_judge(accuracy, serving, accepted, reason):
    verdict = judge(accuracy, serving, min_accuracy=0.9, max_regression=0.02)
    assert verdict.accepted is accepted and reason in verdict.reason


@pytest.mark.parametrize(
    ("accuracy", "serving", "count", "accepted", "reason"),
    [
        (0.80, 0.95, 49, True, "only 49 held-out drawings (fewer than 50)"),
        (0.80, None, 200, True, "no serving score"),
        (0.90, 0.95, 200, False, "accuracy 0.9000 on 200 held-out drawings people labelled is worse than the serving"),
        (0.94, 0.95, 200, True, "accuracy 0.9400 on 200 held-out drawings (serving 0.9500)"),
        (0.99, 0.95, 50, True, "accuracy 0.9900 on 50 held-out drawings"),
    ],
)
def test_judge_drawings(accuracy, serving, count, accepted, reason):
    verdict = judge_drawings(accuracy, serving, count, min_count=50, max_regression=0.02)
    assert verdict.accepted is accepted and reason in verdict.reason


def _recalls(**recall_and_support):
    per_class = {
        label[1:]: ClassMetrics(precision=1.0, recall=r, support=n) for label, (r, n) in recall_and_support.items()
    }
    return Metrics(test_accuracy=0.0, n_test=0, per_class=per_class, confusion_matrix=[], dataset="holdout")


@pytest.mark.parametrize(
    ("candidate", "serving", "accepted", "reason"),
    [
        (
            _recalls(l1=(0.99, 300), l7=(0.80, 300)),
            _recalls(l1=(0.99, 300), l7=(0.99, 300)),
            False,
            "label 7 (0.9900 -> 0.8000)",
        ),
        (
            _recalls(l1=(0.93, 300), l7=(0.80, 300)),
            _recalls(l1=(0.99, 300), l7=(0.99, 300)),
            False,
            "label 1 (0.9900 -> 0.9300), 7",
        ),
        (_recalls(l1=(0.95, 300), l7=(0.95, 300)), _recalls(l1=(0.99, 300), l7=(0.99, 300)), True, "within 0.0500"),
        (_recalls(l7=(0.50, 29)), _recalls(l7=(0.99, 29)), True, "within"),  # too few digits of 7 to tell
        (_recalls(l7=(0.50, 300)), _recalls(l1=(0.99, 300)), True, "within"),  # the serving model has no 7
        (_recalls(l7=(0.50, 300)), None, True, "not compared: no serving score"),
    ],
)
def test_judge_recalls(candidate, serving, accepted, reason):
    verdict = judge_recalls(candidate, serving, "pad-style holdout", max_drop=0.05)
    assert verdict.accepted is accepted and reason in verdict.reason
