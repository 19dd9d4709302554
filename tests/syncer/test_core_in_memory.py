"""The syncer's core driven through every path the control-plane and local-mode tests take, with
in-memory fakes of its ports (``tests.support.syncer_fakes``): no servers, no binaries, milliseconds.

Each test asserts what the outside world would see: the Outcome, the state saved, the pins applied
to the Deployment, the Events, the commits to the deployment repository and the downloads.
"""

from __future__ import annotations

import json
import logging

import pytest

from digits_syncer.plan import ROLLBACK_REASON
from digits_syncer.ports import RecordError, ReviewState, SourceError
from digits_syncer.reconcile import Outcome
from digits_syncer.releases import asset_fingerprint, tag_key
from digits_syncer.state import PendingRollout, Pin
from tests.support.syncer_fakes import BAKED_IN, NOW, FakeBundle, SyncerFakes

STAMP = NOW.isoformat()


@pytest.fixture
def fakes() -> SyncerFakes:
    return SyncerFakes()


def _deployed(fakes: SyncerFakes, tag: str) -> Pin:
    fakes.source.publish(tag)
    assert fakes.once() is Outcome.DEPLOYED
    return fakes.deployed_pin(tag)


def test_nothing_published_is_up_to_date_and_changes_nothing(fakes, caplog):
    caplog.set_level(logging.DEBUG, "digits_syncer")
    assert fakes.once() is Outcome.UP_TO_DATE
    assert (fakes.store.saves, fakes.cluster.applied, fakes.cluster.events, fakes.recorder.commits) == (0, [], [], [])
    assert "nothing to do: no eligible release" in caplog.text


def test_a_new_release_is_gated_recorded_and_rolled_out(fakes, caplog):
    caplog.set_level(logging.INFO, "digits_syncer")
    release = fakes.source.publish("v2.0.0")
    assert fakes.once() is Outcome.DEPLOYED
    pin = fakes.deployed_pin("v2.0.0")
    assert fakes.cluster.applied == [pin] and fakes.cluster.running == pin
    assert fakes.recorder.commits == [
        "model v2.0.0: bundle mnist-cnn-v2.0.0.zip",
        "model v2.0.0: pin the api to mnist-cnn-v2.0.0.zip",
    ]
    assert fakes.recorder.pin == pin
    gated = "holdout accuracy 0.9900; labels [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] cover the serving model's"
    assert fakes.cluster.events == [
        ("ReleaseAccepted", f"release v2.0.0 accepted ({gated}); rolling out", False),
        ("RolloutComplete", "model v2.0.0 is serving: 2 replicas updated and available", False),
    ]
    state = fakes.store.state
    assert (state.deployed, state.deployed_asset, state.pending) == (
        "v2.0.0",
        asset_fingerprint(release.assets[0]),
        None,
    )
    assert [(h["at"], h["event"], h["tag"]) for h in state.history] == [
        (STAMP, "recorded", "v2.0.0"),
        (STAMP, "deployed", "v2.0.0"),
    ]
    assert state.history[0]["detail"].endswith("; commit commit-2")
    assert "model v2.0.0 deployed: 2 replicas updated and available" in caplog.text

    # Level-based: a second reconcile with nothing new does nothing, and commits nothing.
    saves = fakes.store.saves
    assert fakes.once() is Outcome.UP_TO_DATE
    assert (fakes.store.saves, len(fakes.cluster.applied), len(fakes.recorder.commits)) == (saves, 1, 2)
    assert fakes.source.downloads == ["v2.0.0"]


def test_a_newer_release_replaces_the_deployed_one(fakes):
    first = _deployed(fakes, "v2.0.0")
    assert fakes.once() is Outcome.UP_TO_DATE
    second = _deployed(fakes, "v3.0.0")
    assert fakes.cluster.applied == [first, second]
    assert fakes.store.state.deployed == "v3.0.0"


# -- refusals: recorded once, nothing rolled out or committed, not tried again unless asked ---------------


REFUSALS = {
    "tag-not-a-version": (
        lambda f: f.source.publish("v2/../../pwned", FakeBundle("v2/../../pwned")),
        {},
        "not a plain version",
        False,
    ),
    "not-a-bundle": (lambda f: f.source.publish("v3.0.0", b"PK\x03\x04 this is no zip"), {}, "not a bundle", True),
    "digest-mismatch": (
        lambda f: f.source.publish("v3.0.0", digest="sha256:" + "0" * 64),
        {},
        "the release states sha256:0000",
        True,
    ),
    "asset-too-large": (
        lambda f: f.source.publish("v3.0.0", b"x" * 2_000_000),
        {},
        "more than the limit of 1000000",
        True,
    ),
    "narrower-labels": (
        lambda f: f.source.publish("v3.0.0", FakeBundle("v3.0.0", labels=(2, 7, 8))),
        {},
        "labels [2, 7, 8] do not cover the serving model's [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
        True,
    ),
    "below-the-accuracy-floor": (
        lambda f: f.source.publish("v3.0.0", FakeBundle("v3.0.0", accuracy=0.5)),
        {},
        "holdout accuracy 0.5000 is below the floor 0.9000",
        True,
    ),
    "version-is-not-the-tag": (
        lambda f: f.source.publish("v9.9.9", FakeBundle("v1.0.0")),
        {},
        "its manifest says version 'v1.0.0', the release tag is 'v9.9.9'",
        True,
    ),
    "required-digest-missing": (
        lambda f: f.source.publish("v3.0.0", digest=None),
        {"require_digest": True},
        "the release states no digest for the asset, and a checked digest is required",
        False,
    ),
}


@pytest.mark.parametrize(("publish", "options", "reason", "downloads"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_release_is_recorded_once_and_changes_nothing(fakes, caplog, publish, options, reason, downloads):
    running = _deployed(fakes, "v2.0.0")
    commits, applied = list(fakes.recorder.commits), list(fakes.cluster.applied)
    key = tag_key(publish(fakes).tag)

    outcome = fakes.once(**options)
    assert (outcome, outcome.exit_code) == (Outcome.REJECTED, 3)
    assert reason in fakes.store.state.rejected[key]
    assert fakes.cluster.events[-1] == (
        "ReleaseRejected",
        f"release {key} rejected: {fakes.store.state.rejected[key]}",
        True,
    )
    assert f"release {key} rejected: " in caplog.text
    assert fakes.cluster.running == running and fakes.cluster.applied == applied
    assert fakes.recorder.commits == commits
    assert (key in fakes.source.downloads) is downloads
    assert fakes.store.state.deployed == "v2.0.0" and fakes.store.state.pending is None

    # Not tried again: the release is skipped, the served model stays.
    assert fakes.once(**options) is Outcome.UP_TO_DATE
    assert fakes.store.history().count("rejected") == 1
    assert fakes.source.downloads.count(key) == int(downloads)


def test_narrower_labels_are_deployed_when_allowed(fakes):
    fakes.gate.allow_narrower_labels = True
    fakes.source.publish("v3.0.0", FakeBundle("v3.0.0", labels=(2, 7, 8)))
    assert fakes.once() is Outcome.DEPLOYED
    assert "narrower labels are allowed" in fakes.store.state.history[0]["detail"]


def test_a_worse_model_than_the_serving_one_is_refused(fakes):
    fakes.gate.serving_accuracy = 0.99
    fakes.source.publish("v3.0.0", FakeBundle("v3.0.0", accuracy=0.95))
    assert fakes.once() is Outcome.REJECTED
    assert "worse than the serving model's 0.9900" in fakes.store.state.rejected["v3.0.0"]


@pytest.mark.parametrize(("digest", "said"), [(None, "states no digest"), ("md5:0123", "algorithm 'md5'")])
def test_an_unchecked_digest_is_deployed_logged_and_recorded(fakes, caplog, digest, said):
    fakes.source.publish("v2.0.0", digest=digest)
    assert fakes.once() is Outcome.DEPLOYED
    assert said in caplog.text
    history = fakes.store.state.history
    assert [h["event"] for h in history] == ["unchecked-digest", "recorded", "deployed"]
    assert history[0]["tag"] == "v2.0.0" and said in history[0]["detail"]


def test_an_unchecked_digest_is_saved_with_the_rejection_when_the_gate_refuses(fakes):
    fakes.source.publish("v2.0.0", b"not a bundle", digest=None)
    assert fakes.once() is Outcome.REJECTED
    assert fakes.store.history() == ["unchecked-digest", "rejected"]


def test_a_tag_republished_with_other_bytes_is_reported_once_and_changes_nothing(fakes, caplog):
    pin = _deployed(fakes, "v2.0.0")
    fakes.source.republish("v2.0.0", FakeBundle("v2.0.0", accuracy=0.98))
    assert fakes.once() is Outcome.UP_TO_DATE
    (reason, message, warning) = fakes.cluster.events[-1]
    assert reason == "ReleaseRepublished" and warning
    assert "release v2.0.0 was republished with other bytes" in message and message in caplog.text
    state = fakes.store.state
    assert state.republished == asset_fingerprint(fakes.source.releases[0].assets[0])
    events = len(fakes.cluster.events)
    assert fakes.once() is Outcome.UP_TO_DATE
    assert len(fakes.cluster.events) == events and fakes.store.history().count("republished") == 1
    assert fakes.cluster.running == pin and fakes.cluster.applied == [pin]
    assert fakes.source.downloads == ["v2.0.0"]


# -- restarts: a rollout recorded in git is resumed, never recorded twice ----------------------------------


@pytest.mark.parametrize("killed", ["before-patching", "before-the-rollout-completed"])
def test_a_syncer_killed_mid_rollout_resumes_without_a_second_commit(fakes, caplog, killed):
    caplog.set_level(logging.INFO, "digits_syncer")
    fakes.source.publish("v3.0.0")
    if killed == "before-patching":
        fakes.cluster.apply_errors.append(KeyboardInterrupt("killed between commit and patch"))
    else:
        fakes.cluster.wait_errors.append(KeyboardInterrupt("killed while waiting"))
    with pytest.raises(KeyboardInterrupt):
        fakes.once()
    pin = fakes.deployed_pin("v3.0.0")
    pending = fakes.store.state.pending
    assert pending == PendingRollout(
        "v3.0.0", pin, BAKED_IN, "commit-2", asset_fingerprint(fakes.source.releases[0].assets[0])
    )
    commits = list(fakes.recorder.commits)

    assert fakes.once() is Outcome.DEPLOYED  # a new Syncer over the same store: a restart
    assert "resuming the rollout of v3.0.0 recorded before a restart" in caplog.text
    assert fakes.recorder.commits == commits and fakes.source.downloads == ["v3.0.0"]
    assert fakes.cluster.applied == [pin]  # patched once, whichever side of the patch it was killed on
    assert fakes.store.state.deployed == "v3.0.0" and fakes.store.state.pending is None


def test_a_pending_rollout_is_resumed_even_when_its_release_is_gone(fakes):
    pin = Pin("v3.0.0", "https://git.example/deploy/models/mnist-cnn-v3.0.0.zip", "c" * 64)
    # The state as an earlier syncer wrote it (history as a list, no republished field).
    fakes.store.text = json.dumps(
        {
            "rejected": {"v1.0.0": "bad zip"},
            "failed": {},
            "pending": {"tag": "v3.0.0", "pin": vars(pin), "previous": vars(BAKED_IN), "commit": "abc"},
            "deployed": None,
            "history": [{"at": "2025-12-01T00:00:00+00:00", "event": "recorded", "tag": "v3.0.0", "detail": "x"}],
        }
    )
    assert fakes.once() is Outcome.DEPLOYED
    assert fakes.cluster.applied == [pin]
    state = fakes.store.state
    assert (state.deployed, state.pending, dict(state.rejected)) == ("v3.0.0", None, {"v1.0.0": "bad zip"})
    assert [h["event"] for h in state.history] == ["recorded", "deployed"]


# -- failed rollouts: rolled back in the cluster, then in git ----------------------------------------------


@pytest.mark.parametrize(
    ("version_set", "said"),
    [
        ("stalling", "progress deadline exceeded: ReplicaSet has timed out"),
        ("slow", "1 of 2 updated replicas are available"),  # still progressing when the wait timed out
    ],
)
def test_a_rollout_that_does_not_complete_is_rolled_back_and_the_pin_restored(fakes, caplog, version_set, said):
    previous = _deployed(fakes, "v2.1.0")
    getattr(fakes.cluster, version_set).add("v-stalls")
    fakes.source.publish("v-stalls")

    outcome = fakes.once()
    assert (outcome, outcome.exit_code) == (Outcome.ROLLED_BACK, 4)
    stalled = fakes.deployed_pin("v-stalls")
    assert fakes.cluster.applied == [previous, stalled, previous] and fakes.cluster.running == previous
    assert fakes.cluster.waits == [60.0, 60.0, 60.0]
    state = fakes.store.state
    assert state.failed["v-stalls"] == f"rollout did not complete: {said}"
    assert (state.pending, state.unrecorded, state.deployed) == (None, None, "v2.1.0")
    assert fakes.recorder.pin == previous and fakes.recorder.restored == [(previous, ROLLBACK_REASON)]
    assert fakes.recorder.commits[-1] == f"model v2.1.0: roll back ({ROLLBACK_REASON})"
    (reason, message, warning) = fakes.cluster.events[-1]
    assert (reason, warning) == ("RolledBack", True)
    assert message == f"model v-stalls rolled back to v2.1.0: {state.failed['v-stalls']}"
    assert "rolling back v-stalls to v2.1.0" in caplog.text
    assert fakes.store.history()[-2:] == ["recorded", "rolled-back"]

    assert fakes.once() is Outcome.UP_TO_DATE  # never retried unless asked
    assert fakes.cluster.applied == [previous, stalled, previous]


def test_a_roll_back_git_did_not_take_is_recorded_first_thing_after_a_restart(fakes):
    previous = _deployed(fakes, "v6.0.0")
    fakes.cluster.stalling.add("v-stalls-again")
    fakes.source.publish("v-stalls-again")
    fakes.recorder.restore_errors.append(RecordError("writing to digits-lab/deploy failed: HTTP 503"))
    with pytest.raises(RecordError):
        fakes.once()
    assert fakes.cluster.running == previous
    state = fakes.store.state
    assert state.unrecorded == previous and "v-stalls-again" in state.failed
    assert fakes.recorder.pin == fakes.deployed_pin("v-stalls-again")  # git still names the failed release

    # A dry run changes nothing, not even git.
    assert fakes.once(dry_run=True) is Outcome.UP_TO_DATE
    assert fakes.recorder.restored == [] and fakes.store.state.unrecorded == previous

    assert fakes.once() is Outcome.UP_TO_DATE  # git is written first, then nothing is left to do
    assert fakes.recorder.pin == previous and fakes.recorder.restored == [(previous, ROLLBACK_REASON)]
    assert fakes.store.state.unrecorded is None
    assert fakes.cluster.applied == [previous, fakes.deployed_pin("v-stalls-again"), previous]


# -- asking again, and planning only ------------------------------------------------------------------------


def test_a_rejected_release_is_tried_again_when_asked(fakes):
    fakes.source.publish("v3.0.0", b"PK\x03\x04 this is no zip")
    assert fakes.once() is Outcome.REJECTED
    assert fakes.once() is Outcome.UP_TO_DATE
    assert fakes.once(retry=["v3.0.0"]) is Outcome.REJECTED
    assert fakes.source.downloads == ["v3.0.0", "v3.0.0"] and fakes.store.history() == ["rejected", "rejected"]


def test_a_rolled_back_release_is_deployed_when_asked_again_and_it_now_rolls_out(fakes):
    previous = _deployed(fakes, "v2.0.0")
    fakes.cluster.stalling.add("v3.0.0")
    fakes.source.publish("v3.0.0")
    assert fakes.once() is Outcome.ROLLED_BACK
    fakes.cluster.stalling.clear()  # the cluster got the capacity it lacked
    assert fakes.once() is Outcome.UP_TO_DATE
    assert fakes.once(retry=["v3.0.0"]) is Outcome.DEPLOYED
    state = fakes.store.state
    assert (state.deployed, dict(state.failed)) == ("v3.0.0", {})
    pin = fakes.deployed_pin("v3.0.0")
    assert fakes.cluster.applied == [previous, pin, previous, pin]
    # The bundle is in git already: only the pin changes back.
    assert fakes.recorder.commits[-1] == "model v3.0.0: pin the api to mnist-cnn-v3.0.0.zip"


@pytest.mark.parametrize("tag", ["v5.0.0", "v5/../../x"])
def test_dry_run_plans_and_changes_nothing(fakes, caplog, tag):
    caplog.set_level(logging.INFO, "digits_syncer")
    fakes.source.publish(tag, FakeBundle(tag))
    assert fakes.once(dry_run=True) is Outcome.PLANNED
    assert (fakes.store.saves, fakes.source.downloads, fakes.cluster.applied) == (0, [], [])
    assert (fakes.cluster.events, fakes.recorder.commits) == ([], [])
    assert "dry run: would " in caplog.text


def test_a_source_error_changes_nothing(fakes):
    running = _deployed(fakes, "v4.0.0")
    saves = fakes.store.saves
    fakes.source.publish("v5.0.0")
    fakes.source.list_errors.append(SourceError("listing releases: GitHub answered HTTP 502"))
    with pytest.raises(SourceError):
        fakes.once()
    assert fakes.cluster.running == running and fakes.store.saves == saves
    assert fakes.once() is Outcome.DEPLOYED  # the next poll goes on


# -- pull-request mode: review before rollout ------------------------------------------------------------


@pytest.fixture
def reviewed() -> SyncerFakes:
    return SyncerFakes(pull_requests=True)


def _proposed(fakes: SyncerFakes, tag: str, content: FakeBundle | None = None) -> int:
    fakes.source.publish(tag, content)
    assert fakes.once() is Outcome.PROPOSED
    return fakes.store.state.proposal.number


def test_a_release_is_proposed_with_the_gate_evidence_and_nothing_rolls_out_before_the_merge(reviewed):
    reviewed.gate.serving_accuracy = 0.985
    reviewed.source.publish("v2.0.0", FakeBundle("v2.0.0", accuracy=0.9912, model_bytes=612_345))
    outcome = reviewed.once()
    assert (outcome, outcome.exit_code) == (Outcome.PROPOSED, 0)
    (pull,) = reviewed.recorder.pulls
    assert (pull.number, pull.branch, pull.title) == (1, "digits-syncer/v2.0.0", "Roll out model v2.0.0")
    accepted = reviewed.deployed_pin("v2.0.0")
    size = len(reviewed.source.assets[reviewed.source.releases[0].assets[0].id])
    for evidence in (
        "| Holdout accuracy | 0.9912 |",
        "| Serving model's accuracy | 0.9850 on the same digits (`baked-in`) |",
        "| Labels | 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 |",
        f"| Bundle | `mnist-cnn-v2.0.0.zip`, {size:,} bytes |",
        "| Model | 612,345 bytes |",
        f"| sha256 | `{accepted.sha256}` |",
        "`--retry v2.0.0`",
    ):
        assert evidence in pull.body
    # Recorded, not rolled out: the deployment branch and the cluster are as they were.
    assert (reviewed.cluster.applied, reviewed.recorder.commits, reviewed.recorder.pin) == ([], [], None)
    state = reviewed.store.state
    assert (state.proposal.tag, state.proposal.number, state.proposal.pin, state.pending) == (
        "v2.0.0",
        1,
        accepted,
        None,
    )
    assert reviewed.store.history() == ["proposed"]
    assert reviewed.cluster.reasons() == ["ReleaseProposed"]

    saves = reviewed.store.saves  # while it awaits review, a reconcile does nothing
    assert reviewed.once() is Outcome.UP_TO_DATE
    assert (reviewed.store.saves, len(reviewed.recorder.pulls), reviewed.source.downloads) == (
        saves,
        1,
        ["v2.0.0"],
    )


def test_a_merged_proposal_rolls_out_exactly_the_pin_its_merge_commit_names(reviewed):
    number = _proposed(reviewed, "v2.0.0")
    # The reviewer points the pin at a mirror before merging: what rolls out is what was merged.
    merged = Pin("v2.0.0", "https://mirror.example/mnist-cnn-v2.0.0.zip", reviewed.deployed_pin("v2.0.0").sha256)
    reviewed.recorder.merge(number, merged)
    assert reviewed.once() is Outcome.DEPLOYED
    assert reviewed.cluster.applied == [merged] and reviewed.cluster.running == merged
    state = reviewed.store.state
    assert (state.deployed, state.deployed_asset, state.proposal, state.pending) == ("v2.0.0", "", None, None)
    assert reviewed.store.history() == ["proposed", "merged", "deployed"]
    assert "pull request #1 merged as commit-1" in state.history[1]["detail"]
    assert reviewed.cluster.reasons() == ["ReleaseProposed", "ReleaseMerged", "RolloutComplete"]
    assert reviewed.once() is Outcome.UP_TO_DATE


def test_a_merged_proposal_as_proposed_is_deployed_with_its_asset(reviewed):
    reviewed.recorder.merge(_proposed(reviewed, "v2.0.0"))
    assert reviewed.once() is Outcome.DEPLOYED
    pin = reviewed.deployed_pin("v2.0.0")
    assert reviewed.cluster.applied == [pin] and reviewed.recorder.pin == pin
    assert reviewed.store.state.deployed_asset == asset_fingerprint(reviewed.source.releases[0].assets[0])


def test_a_newer_release_supersedes_the_open_proposal_whose_pull_request_is_closed(reviewed):
    older = _proposed(reviewed, "v2.0.0")
    newer = _proposed(reviewed, "v3.0.0")
    first, second = reviewed.recorder.pulls
    assert (first.state, first.comments) == (
        ReviewState.CLOSED,
        ["Superseded by #2 (release `v3.0.0`): closed by the digits syncer."],
    )
    assert (older, newer, second.state) == (1, 2, ReviewState.OPEN)
    state = reviewed.store.state
    assert (state.proposal.tag, state.superseded) == ("v3.0.0", ())
    assert reviewed.cluster.applied == []
    reviewed.recorder.merge(newer)
    assert reviewed.once() is Outcome.DEPLOYED
    assert reviewed.cluster.applied == [reviewed.deployed_pin("v3.0.0")]


def test_a_superseded_pull_request_left_open_by_a_crash_is_closed_on_the_next_reconcile(reviewed):
    _proposed(reviewed, "v2.0.0")
    reviewed.source.publish("v3.0.0")
    reviewed.recorder.withdraw_errors.append(KeyboardInterrupt("killed after saving the new proposal"))
    with pytest.raises(KeyboardInterrupt):
        reviewed.once()
    assert [pull.state for pull in reviewed.recorder.pulls] == [ReviewState.OPEN, ReviewState.OPEN]
    state = reviewed.store.state
    assert (state.proposal.number, [p.number for p in state.superseded]) == (2, [1])

    assert reviewed.once() is Outcome.UP_TO_DATE  # closed first thing, then v3.0.0 awaits review
    assert [pull.state for pull in reviewed.recorder.pulls] == [ReviewState.CLOSED, ReviewState.OPEN]
    assert reviewed.store.state.superseded == ()


def test_a_proposal_closed_without_merging_is_recorded_as_rejected_and_not_proposed_again(reviewed, caplog):
    reviewed.recorder.close(_proposed(reviewed, "v2.0.0"))
    outcome = reviewed.once()
    assert (outcome, outcome.exit_code) == (Outcome.REJECTED, 3)
    state = reviewed.store.state
    assert state.rejected["v2.0.0"] == "pull request #1 was closed without merging" and state.proposal is None
    assert reviewed.cluster.events[-1] == (
        "ReleaseRejected",
        "release v2.0.0 rejected: pull request #1 was closed without merging",
        True,
    )
    assert "release v2.0.0 rejected" in caplog.text
    assert reviewed.once() is Outcome.UP_TO_DATE
    assert (len(reviewed.recorder.pulls), reviewed.cluster.applied) == (1, [])

    assert reviewed.once(retry=["v2.0.0"]) is Outcome.PROPOSED  # asked: proposed again, in a new pull request
    assert [pull.state for pull in reviewed.recorder.pulls] == [ReviewState.CLOSED, ReviewState.OPEN]


def test_a_syncer_killed_after_opening_the_pull_request_opens_no_second_one(reviewed):
    reviewed.source.publish("v2.0.0")
    reviewed.store.save_errors.append(KeyboardInterrupt("killed between opening the pull request and saving"))
    with pytest.raises(KeyboardInterrupt):
        reviewed.once()
    assert reviewed.store.state.proposal is None and len(reviewed.recorder.pulls) == 1

    assert reviewed.once() is Outcome.PROPOSED  # gated again, and the open pull request found by its branch
    assert len(reviewed.recorder.pulls) == 1 and reviewed.store.state.proposal.number == 1
    assert reviewed.source.downloads == ["v2.0.0", "v2.0.0"]


def test_a_failed_rollout_is_rolled_back_at_once_and_the_roll_back_recorded_through_a_pull_request(reviewed):
    reviewed.recorder.merge(_proposed(reviewed, "v2.0.0"))
    assert reviewed.once() is Outcome.DEPLOYED
    previous = reviewed.deployed_pin("v2.0.0")
    reviewed.cluster.stalling.add("v3.0.0")
    reviewed.recorder.merge(_proposed(reviewed, "v3.0.0"))

    assert reviewed.once() is Outcome.ROLLED_BACK
    stalled = reviewed.deployed_pin("v3.0.0")
    assert reviewed.cluster.applied == [previous, stalled, previous] and reviewed.cluster.running == previous
    restore = reviewed.recorder.pulls[-1]
    assert (restore.number, restore.branch, restore.pin, restore.state) == (
        3,
        "digits-syncer/restore-v2.0.0",
        previous,
        ReviewState.OPEN,
    )
    assert restore.title == "Roll back the model pin to `v2.0.0`"
    assert ROLLBACK_REASON in restore.body and previous.sha256 in restore.body
    assert reviewed.recorder.pin == stalled and reviewed.recorder.restored == []  # git follows through review
    state = reviewed.store.state
    assert (state.unrecorded, state.proposal, "v3.0.0" in state.failed) == (None, None, True)
    assert state.history[-1]["event"] == "restore-proposed" and "#3" in state.history[-1]["detail"]

    assert reviewed.once() is Outcome.UP_TO_DATE  # the roll back is not proposed twice
    assert len(reviewed.recorder.pulls) == 3


def test_push_mode_opens_no_pull_request(fakes):
    _deployed(fakes, "v2.0.0")
    fakes.cluster.stalling.add("v3.0.0")
    fakes.source.publish("v3.0.0")
    assert fakes.once() is Outcome.ROLLED_BACK
    assert fakes.recorder.pulls == [] and fakes.store.state.proposal is None
    assert fakes.recorder.restored == [(fakes.deployed_pin("v2.0.0"), ROLLBACK_REASON)]


def test_a_dry_run_in_pull_request_mode_proposes_closes_and_rolls_out_nothing(reviewed):
    number = _proposed(reviewed, "v2.0.0")
    reviewed.source.publish("v3.0.0")
    assert reviewed.once(dry_run=True) is Outcome.PLANNED
    reviewed.recorder.merge(number)
    saves = reviewed.store.saves
    assert reviewed.once(dry_run=True) is Outcome.PLANNED
    assert (reviewed.store.saves, reviewed.cluster.applied, len(reviewed.recorder.pulls)) == (saves, [], 1)
    assert reviewed.store.state.proposal.number == number


def test_back_in_push_mode_an_open_proposal_is_no_longer_followed_and_its_release_is_pushed(reviewed):
    _proposed(reviewed, "v2.0.0")
    reviewed.pull_requests = False
    assert reviewed.once() is Outcome.DEPLOYED
    assert reviewed.cluster.applied == [reviewed.deployed_pin("v2.0.0")] and reviewed.recorder.pin is not None
    assert reviewed.store.history() == ["proposed", "proposal-dropped", "recorded", "deployed"]
    assert reviewed.store.state.proposal is None
