"""The pure decisions: what to do, and the gate's verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digits_syncer.plan import (
    Candidate,
    Deploy,
    Idle,
    Observed,
    Reject,
    Republished,
    Resume,
    judge,
    judge_labels,
    plan,
)
from digits_syncer.releases import Asset, Release, asset_fingerprint, tag_key
from digits_syncer.state import MAX_RECORDED, MAX_STATE_BYTES, MAX_TEXT, PendingRollout, Pin, SyncerState

ASSET = Asset(7, "mnist-cnn-v2.zip", 100, "u/7", "sha256:" + "d" * 64)
V2 = Candidate(Release(2, "v2", "v2", False, False, datetime(2026, 1, 2, tzinfo=UTC), None, (ASSET,)), ASSET)
PIN_V1 = Pin("v1", "https://example/v1.zip", "a" * 64)
PIN_V2 = Pin("v2", "https://example/v2.zip", "b" * 64)
PENDING = PendingRollout("v2", PIN_V2, PIN_V1, "c0ffee")


def _with(tag="v2", digest=ASSET.digest, asset_id=7):
    asset = Asset(asset_id, "m.zip", 100, "u", digest)
    return Candidate(Release(2, tag, tag, False, False, None, None, (asset,)), asset)


REPUBLISHED = _with(asset_id=8)
DEPLOYED_V2 = {"deployed": "v2", "deployed_asset": asset_fingerprint(ASSET)}


@pytest.mark.parametrize(
    ("desired", "running", "state", "expected"),
    [
        (None, PIN_V1, {}, Idle("no eligible release")),
        (V2, PIN_V2, {}, Idle("v2 is already running")),
        (V2, PIN_V1, {}, Deploy(V2)),
        (V2, PIN_V1, {"pending": PENDING}, Resume(PENDING)),  # recorded, then stopped before patching
        (V2, PIN_V2, {"pending": PENDING}, Resume(PENDING)),  # patched, then stopped before confirming
        (None, PIN_V1, {"pending": PENDING}, Resume(PENDING)),
        # A tag that cannot be a model version is refused for good, recorded under a safe key.
        (_with("v2/../../x"), PIN_V1, {}, Reject(tag_key("v2/../../x"), "not a plain version")),
        (_with("v2\n\x1b[31m"), PIN_V1, {}, Reject(tag_key("v2\n\x1b[31m"), "not a plain version")),
        (_with("v" * 251), PIN_V1, {}, Reject(tag_key("v" * 251), "more than 250")),
        # A digest that cannot be checked: deployed and said so, or refused when a checked one is required.
        (_with(digest=None), PIN_V1, {}, Deploy(_with(digest=None), "states no digest")),
        (_with(digest="md5:abc"), PIN_V1, {}, Deploy(_with(digest="md5:abc"), "cannot check (algorithm 'md5'")),
        (_with(digest=None), PIN_V1, {"require": True}, Reject("v2", "a checked digest is required")),
        (V2, PIN_V1, {"require": True}, Deploy(V2)),
        # The running tag republished with other bytes: reported once, the served model stays.
        (REPUBLISHED, PIN_V2, DEPLOYED_V2, Republished("v2", asset_fingerprint(REPUBLISHED.asset), "republished")),
        (
            REPUBLISHED,
            PIN_V2,
            {**DEPLOYED_V2, "republished": asset_fingerprint(REPUBLISHED.asset)},
            Idle("v2 is already running (its republication was reported)"),
        ),
        (V2, PIN_V2, DEPLOYED_V2, Idle("v2 is already running")),
    ],
)
def test_plan(desired, running, state, expected):
    require = state.pop("require", False)
    action = plan(desired, Observed(running, SyncerState(**state)), require_digest=require)
    assert type(action) is type(expected)
    for name, value in vars(expected).items():
        if isinstance(value, str) and name in ("reason", "unchecked_digest"):
            assert value in getattr(action, name), (getattr(action, name), value)
        else:
            assert getattr(action, name) == value


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


def test_state_stays_bounded_whatever_it_records():
    state = SyncerState()
    hostile = "\x00\u2028\U0001f4a5" * 1_000_000  # 3 M characters, each escaped in JSON
    for n in range(1000):
        state.reject(f"v{n}", hostile)
        state.fail(f"w{n}", hostile)
        state.note("recorded", f"v{n}", hostile)
    assert len(state.rejected) == MAX_RECORDED and "v999" in state.rejected and "v0" not in state.rejected
    assert all(len(reason) <= MAX_TEXT for reason in state.rejected.values())
    text = state.to_json()
    assert len(text.encode()) <= MAX_STATE_BYTES
    again = SyncerState.from_json(text)
    assert "v999" in again.rejected and "w999" in again.failed  # the newest are kept
    # A state written before the bounds existed is bounded when read.
    legacy = SyncerState.from_json('{"rejected": {"v1": "' + "x" * 10_000_000 + '"}}')
    assert len(legacy.to_json()) < 10_000


def test_state_round_trips_and_skips():
    state = SyncerState(rejected={"v3": "bad zip"}, failed={"v4": "stalled"}, pending=PENDING, deployed="v1")
    state.note("rejected", "v3", "bad zip")
    again = SyncerState.from_json(state.to_json())
    assert again == state
    assert again.skipped() == {"v3", "v4"}
    assert again.skipped(frozenset({"v3"})) == {"v4"}
