"""The pure decisions: what to do, and the gate's verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digits_syncer.plan import Deploy, Idle, Observed, Resume, judge, plan
from digits_syncer.releases import Release
from digits_syncer.state import PendingRollout, Pin, SyncerState

V2 = Release(2, "v2", "v2", False, False, datetime(2026, 1, 2, tzinfo=UTC), None, ())
PIN_V1 = Pin("v1", "https://example/v1.zip", "a" * 64)
PIN_V2 = Pin("v2", "https://example/v2.zip", "b" * 64)
PENDING = PendingRollout("v2", PIN_V2, PIN_V1, "c0ffee")


@pytest.mark.parametrize(
    ("desired", "running", "pending", "expected"),
    [
        (None, PIN_V1, None, Idle("no eligible release")),
        (V2, PIN_V2, None, Idle("v2 is already running")),
        (V2, PIN_V1, None, Deploy(V2)),
        (V2, PIN_V1, PENDING, Resume(PENDING)),  # recorded, then stopped before patching
        (V2, PIN_V2, PENDING, Resume(PENDING)),  # patched, then stopped before confirming
        (None, PIN_V1, PENDING, Resume(PENDING)),
    ],
)
def test_plan(desired, running, pending, expected):
    assert plan(desired, Observed(running, SyncerState(pending=pending))) == expected


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


def test_state_round_trips_and_skips():
    state = SyncerState(rejected={"v3": "bad zip"}, failed={"v4": "stalled"}, pending=PENDING, deployed="v1")
    state.note("rejected", "v3", "bad zip")
    again = SyncerState.from_json(state.to_json())
    assert again == state
    assert again.skipped() == {"v3", "v4"}
    assert again.skipped(frozenset({"v3"})) == {"v4"}
