"""The pure decisions: what to do, and the state each outcome leads to."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from digits_syncer.plan import (
    Candidate,
    Complete,
    Deploy,
    GateRelease,
    Idle,
    Observed,
    RecordRelease,
    Reject,
    Republished,
    RestorePin,
    Resume,
    RollBack,
    RollOut,
    after_gate,
    after_record,
    after_review,
    after_rollback,
    after_rollout,
    first_step,
    pin_to_restore,
    plan,
    to_withdraw,
)
from digits_syncer.ports import Accepted, AssetError, Rejected, Review, ReviewState
from digits_syncer.releases import Asset, Release, asset_fingerprint, tag_key
from digits_syncer.rollout import RolloutState, RolloutStatus
from digits_syncer.state import (
    MAX_RECORDED,
    MAX_STATE_BYTES,
    MAX_SUPERSEDED,
    MAX_TEXT,
    PendingRollout,
    Pin,
    Proposal,
    SyncerState,
)

ASSET = Asset(7, "mnist-cnn-v2.zip", 100, "u/7", "sha256:" + "d" * 64)
V2 = Candidate(Release(2, "v2", "v2", False, False, datetime(2026, 1, 2, tzinfo=UTC), None, (ASSET,)), ASSET)
PIN_V1 = Pin("v1", "https://example/v1.zip", "a" * 64)
PIN_V2 = Pin("v2", "https://example/v2.zip", "b" * 64)
PENDING = PendingRollout("v2", PIN_V2, PIN_V1, "c0ffee")
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


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


def test_state_stays_bounded_whatever_it_records():
    state = SyncerState()
    hostile = "\x00\u2028\U0001f4a5" * 1_000_000  # 3 M characters, each escaped in JSON
    for n in range(1000):
        state = state.with_rejection(f"v{n}", hostile, AT)
        state = state.with_failure(f"w{n}", hostile, AT)
        state = state.with_note("recorded", f"v{n}", hostile, AT)
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
    state = state.with_note("rejected", "v3", "bad zip", AT)
    again = SyncerState.from_json(state.to_json())
    assert again == state and len(again.history) == 1
    assert again.skipped() == {"v3", "v4"}
    assert again.skipped(frozenset({"v3"})) == {"v4"}


ACCEPTED = Accepted(Path("mnist-cnn-v2.zip"), "b" * 64, "v2", 0.99, "holdout accuracy 0.9900")
GATE_V2 = GateRelease(V2, PIN_V1)
RECORD_V2 = RecordRelease("v2", ACCEPTED, PIN_V1, asset_fingerprint(ASSET))
ROLL_OUT_V2 = RollOut(PendingRollout("v2", PIN_V2, PIN_V1, "c0ffee", asset_fingerprint(ASSET)), patch=True)
FAILED = RollBack(ROLL_OUT_V2.pending, "rollout did not complete: progress deadline exceeded: stalled")


@pytest.mark.parametrize(
    ("decide", "expected"),
    [
        # Deploy: gate on what runs now, record what passed, roll out the recorded pin.
        (lambda: first_step(Deploy(V2), PIN_V1), GATE_V2),
        (lambda: after_gate(GATE_V2, ACCEPTED), RECORD_V2),
        (lambda: after_gate(GATE_V2, Rejected("not a valid zip")), Reject("v2", "not a valid zip")),
        (lambda: after_gate(GATE_V2, AssetError("the release states sha256:00")), Reject("v2", "sha256:00")),
        (lambda: after_record(RECORD_V2, PIN_V2.url, "c0ffee"), ROLL_OUT_V2),
        # Resume: patch only when the Deployment does not run the pending pin yet.
        (lambda: first_step(Resume(PENDING), PIN_V1), RollOut(PENDING, patch=True)),
        (lambda: first_step(Resume(PENDING), PIN_V2), RollOut(PENDING, patch=False)),
        # After the rollout: it stands, or it goes back to the pin that ran before, and git follows.
        (
            lambda: after_rollout(ROLL_OUT_V2, RolloutStatus(RolloutState.COMPLETE, "2 replicas updated")),
            Complete(ROLL_OUT_V2.pending, "2 replicas updated"),
        ),
        (
            lambda: after_rollout(
                ROLL_OUT_V2, RolloutStatus(RolloutState.FAILED, "progress deadline exceeded: stalled")
            ),
            FAILED,
        ),
        (
            lambda: after_rollout(ROLL_OUT_V2, RolloutStatus(RolloutState.PROGRESSING, "1 of 2 available")),
            RollBack(ROLL_OUT_V2.pending, "rollout did not complete: 1 of 2 available"),
        ),
        (lambda: after_rollback(FAILED), RestorePin(PIN_V1, "after a failed rollout")),
        (lambda: pin_to_restore(SyncerState(unrecorded=PIN_V1)), RestorePin(PIN_V1, "after a failed rollout")),
        (lambda: pin_to_restore(SyncerState()), None),
    ],
)
def test_each_step_follows_from_the_outcome_of_the_one_before(decide, expected):
    decided = decide()
    if isinstance(expected, Reject):
        assert isinstance(decided, Reject) and decided.key == expected.key and expected.reason in decided.reason
    else:
        assert decided == expected


def test_state_transitions_return_a_new_state_and_leave_the_old_one_alone():
    before = SyncerState(rejected={"v1": "bad zip"}, pending=ROLL_OUT_V2.pending)
    after = before.with_rollback(ROLL_OUT_V2.pending, "stalled", AT)
    assert (after.pending, after.unrecorded, dict(after.failed)) == (None, PIN_V1, {"v2": "stalled"})
    assert after.history == (
        {"at": "2026-01-02T03:04:05+00:00", "event": "rolled-back", "tag": "v2", "detail": "stalled"},
    )
    assert before == SyncerState(rejected={"v1": "bad zip"}, pending=ROLL_OUT_V2.pending)
    assert after.with_pin_restored().unrecorded is None
    assert dict(after.with_retry(frozenset({"v1", "v2"})).rejected) == {} and before.rejected == {"v1": "bad zip"}


PROPOSAL_V2 = Proposal("v2", 5, "digits-syncer/v2", PIN_V2, "head", asset_fingerprint(ASSET))
EDITED = Pin("v2", "https://mirror.example/v2.zip", "b" * 64)


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        (Review(ReviewState.OPEN), None),
        (Review(ReviewState.CLOSED), Reject("v2", "pull request #5 was closed without merging")),
        # Merged: the pin the merge commit names rolls out, whatever the branch held when it was proposed.
        (
            Review(ReviewState.MERGED, "m3rge", PIN_V2),
            RollOut(PendingRollout("v2", PIN_V2, PIN_V1, "m3rge", asset_fingerprint(ASSET)), patch=True),
        ),
        (Review(ReviewState.MERGED, "m3rge", EDITED), RollOut(PendingRollout("v2", EDITED, PIN_V1, "m3rge"), True)),
        (Review(ReviewState.MERGED, "m3rge", None), Reject("v2", "names no pin the syncer can read")),
    ],
)
def test_an_open_proposal_follows_its_pull_request(review, expected):
    decided = after_review(PROPOSAL_V2, review, PIN_V1)
    if isinstance(expected, Reject):
        assert isinstance(decided, Reject) and decided.key == expected.key and expected.reason in decided.reason
    else:
        assert decided == expected


def test_a_proposal_waits_for_review_unless_a_newer_release_supersedes_it():
    state = SyncerState(proposal=PROPOSAL_V2)
    assert plan(V2, Observed(PIN_V1, state)) == Idle("pull request #5 proposing v2 awaits review")
    assert plan(None, Observed(PIN_V1, state)) == Idle("pull request #5 proposing v2 awaits review")
    newer = _with("v3")
    assert plan(newer, Observed(PIN_V1, state)) == Deploy(newer)


def test_proposal_transitions_keep_the_superseded_to_close_and_round_trip():
    newer = Proposal("v3", 6, "digits-syncer/v3", PIN_V2)
    state = SyncerState().with_proposal(PROPOSAL_V2, "gated", AT).with_proposal(newer, "gated", AT)
    assert (state.proposal, state.superseded) == (newer, (PROPOSAL_V2,))
    assert SyncerState.from_json(state.to_json()) == state
    assert state.with_withdrawn(5).superseded == ()
    assert [w.comment for w in to_withdraw(state)] == ["Superseded by #6 (release `v3`): closed by the digits syncer."]
    closed = state.with_proposal_closed("pull request #6 was closed without merging", AT)
    assert (closed.proposal, dict(closed.rejected)) == (None, {"v3": "pull request #6 was closed without merging"})
    merged = state.with_merged(PENDING, "merged", AT)
    assert (merged.proposal, merged.pending, merged.history[-1]["event"]) == (None, PENDING, "merged")
    many = SyncerState()
    for n in range(100):
        many = many.with_proposal(Proposal(f"v{n}", n + 1, f"b{n}", PIN_V2), "gated", AT)
    assert len(many.superseded) == MAX_SUPERSEDED and many.superseded[-1].number == 99
