"""The syncer's decisions, as pure functions of what is desired and what is observed (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import overload

from digits_syncer.ports import Accepted, AssetError, Opened, Rejected, Review, ReviewState
from digits_syncer.pull_request_text import (
    release_body,
    release_title,
    restore_body,
    restore_title,
    superseded_comment,
)
from digits_syncer.releases import (
    Asset,
    DigestCheck,
    Release,
    asset_fingerprint,
    digest_check,
    model_asset,
    tag_key,
    tag_problem,
)
from digits_syncer.rollout import RolloutState, RolloutStatus
from digits_syncer.state import PendingRollout, Pin, Proposal, SyncerState


@dataclass(frozen=True)
class Candidate:
    """The release the policy wants, and its model asset."""

    release: Release
    asset: Asset


@dataclass(frozen=True)
class Observed:
    running: Pin
    """The pin on the api Deployment's pod template now."""
    state: SyncerState


@dataclass(frozen=True)
class Idle:
    reason: str


@dataclass(frozen=True)
class Resume:
    """A release already gated and recorded in git whose rollout did not finish (the syncer stopped)."""

    pending: PendingRollout


@dataclass(frozen=True)
class Deploy:
    """Gate the release, record it, roll it out."""

    candidate: Candidate
    unchecked_digest: str = ""
    """Why the asset's bytes cannot be checked against a digest the release states ("" when they can)."""


@dataclass(frozen=True)
class Reject:
    """Refuse the release without downloading it (recorded under ``key``: not tried again unless asked)."""

    key: str
    reason: str


@dataclass(frozen=True)
class Republished:
    """The running tag now names other bytes than those deployed: say so once, serve what runs."""

    tag: str
    fingerprint: str
    reason: str


@dataclass(frozen=True)
class PinRefused:
    """The release a ``DigitsModel`` pins may not be served (nothing is recorded: the spec is the operator's)."""

    tag: str
    reason: str


@dataclass(frozen=True)
class ServePinned:
    """Serve a release that passed the gate before: write its recorded pin to git again, then roll it out."""

    tag: str
    pin: Pin


Action = Idle | Resume | Deploy | Reject | Republished
PinnedAction = Idle | Resume | Deploy | Reject | PinRefused | ServePinned


def unchecked_digest(digest: str | None) -> str:
    """Why a digest cannot be checked ("" when it is a ``sha256:`` one)."""
    check = digest_check(digest)
    if check is DigestCheck.ABSENT:
        return "the release states no digest for the asset"
    if check is DigestCheck.UNSUPPORTED:
        algorithm = (digest or "").split(":", 1)[0][:20] if ":" in (digest or "") else "unknown"
        return f"the release states a digest this syncer cannot check (algorithm {algorithm!r}; only sha256)"
    return ""


def plan(desired: Candidate | None, observed: Observed, require_digest: bool = False) -> Action:
    """What to do. ``require_digest``: refuse a release whose asset has no checkable digest."""
    in_flight = _in_flight(desired, observed.state)
    if in_flight is not None:
        return in_flight
    if desired is None:
        return Idle("no eligible release")
    problem = tag_problem(desired.release.tag)
    if problem:
        return Reject(tag_key(desired.release.tag), problem)
    if desired.release.tag == observed.running.version:
        return _running(desired, observed.state)
    digest_note = unchecked_digest(desired.asset.digest)
    if digest_note and require_digest:
        return Reject(desired.release.tag, f"{digest_note}, and a checked digest is required")
    return Deploy(desired, digest_note)


def pinned_release(releases: list[Release], tag: str, asset_pattern: str) -> Candidate | None:
    """The release tagged ``tag`` and its model asset, whatever the policy's tag pattern or channel (a pin names
    exactly one release; drafts never)."""
    for release in releases:
        asset = model_asset(release, asset_pattern) if release.tag == tag and not release.draft else None
        if asset is not None:
            return Candidate(release, asset)
    return None


def plan_pinned(tag: str, pinned: Candidate | None, observed: Observed, require_digest: bool = False) -> PinnedAction:
    """What to do when the operator pins ``tag``: serve it if it passed the gate before, gate it if it never
    was, refuse it if it was rejected or rolled back (``--retry TAG`` forgets that) or is not there."""
    state, running = observed.state, observed.running
    waiting = _pin_waits(tag, state, running)
    if waiting is not None:
        return waiting
    refusal = _pin_refusal(tag, state, listed=pinned is not None)
    if refusal:
        return PinRefused(tag, refusal)
    if tag in state.accepted:
        return ServePinned(tag, state.accepted[tag])
    action = plan(pinned, Observed(running, replace(state, pending=None, proposal=None)), require_digest)
    return action if isinstance(action, Deploy | Reject) else Idle(f"{tag}: {action}")


def _pin_waits(tag: str, state: SyncerState, running: Pin) -> Resume | Idle | None:
    """A rollout in flight is finished (or rolled back) first, whichever release it is; the pinned release's own
    pull request is waited for; a pinned release that serves needs nothing."""
    if state.pending is not None:
        return Resume(state.pending)
    if state.proposal is not None and state.proposal.tag == tag:
        return Idle(f"pull request #{state.proposal.number} proposing {tag} awaits review")
    if tag == running.version:
        return Idle(f"{tag} is serving, as pinned")
    return None


def _pin_refusal(tag: str, state: SyncerState, listed: bool) -> str | None:
    """Why ``tag`` may not be pinned (None: it may); ``listed``: the releases hold it."""
    problem = tag_problem(tag)
    if problem:
        return problem
    if tag in state.failed:
        return f"release {tag} was rolled back: {state.failed[tag]}"
    if tag in state.rejected:
        return f"release {tag} was rejected: {state.rejected[tag]}"
    if not listed and tag not in state.accepted:
        return f"no release is tagged {tag} with a model asset"
    return None


def _in_flight(desired: Candidate | None, state: SyncerState) -> Resume | Idle | None:
    """A release on its way that no newer one replaces: a rollout to resume, or a pull request under review."""
    pending, proposal = state.pending, state.proposal
    if pending is not None and (desired is None or desired.release.tag == pending.tag):
        return Resume(pending)
    if proposal is not None and (desired is None or desired.release.tag == proposal.tag):
        return Idle(f"pull request #{proposal.number} proposing {proposal.tag} awaits review")
    return None


def _running(desired: Candidate, state: SyncerState) -> Idle | Republished:
    """The desired tag already runs: nothing to do, unless it now names other bytes than were deployed."""
    tag, fingerprint = desired.release.tag, asset_fingerprint(desired.asset)
    if state.deployed != tag or not state.deployed_asset or state.deployed_asset == fingerprint:
        return Idle(f"{tag} is already running")
    if state.republished == fingerprint:
        return Idle(f"{tag} is already running (its republication was reported)")
    return Republished(
        tag,
        fingerprint,
        f"release {tag} was republished with other bytes ({fingerprint}; deployed: {state.deployed_asset});"
        " the served model stays: publish a new tag to roll the new bytes out",
    )


# -- the steps that carry an action out, each chosen from the outcome of the one before -----------
#
#   Deploy:  GateRelease -> RecordRelease -> RollOut -> Complete
#                        \-> Reject                \-> RollBack -> RestorePin
#   Resume:                                 RollOut -> (as above)
#   a rollback git did not take yet:                              RestorePin (first, each reconcile)
#
#   Pull-request mode, where git changes are reviewed before anything rolls out:
#   Deploy:  GateRelease -> RecordRelease -> ProposeRelease (the older proposal: Withdraw)
#   each reconcile, the open proposal:       merged -> RollOut (the merged pin) -> (as above)
#                                            closed unmerged -> Reject
#   RestorePin -> ProposePin (the cluster is rolled back at once; git follows through review)

ROLLBACK_REASON = "after a failed rollout"
"""Why a pin is restored in git (its commit message says so)."""


@dataclass(frozen=True)
class GateRelease:
    """Download the release's model asset and pass it through the gate."""

    candidate: Candidate
    running: Pin
    """The pin the Deployment runs now: what a failed rollout goes back to."""


@dataclass(frozen=True)
class RecordRelease:
    """Commit the accepted bundle and the pin naming it to the deployment repository."""

    tag: str
    accepted: Accepted
    running: Pin
    asset: str
    """The release asset the bundle was built from (``releases.asset_fingerprint``)."""


@dataclass(frozen=True)
class RollOut:
    """Patch the Deployment to the pending pin (unless it runs it already) and wait for the rollout."""

    pending: PendingRollout
    patch: bool


@dataclass(frozen=True)
class Complete:
    """The rollout stands: the pending release is what runs."""

    pending: PendingRollout
    message: str


@dataclass(frozen=True)
class RollBack:
    """Patch the Deployment back to the pin it ran before the failed rollout, and wait."""

    pending: PendingRollout
    reason: str

    @property
    def pin(self) -> Pin:
        return self.pending.previous


@dataclass(frozen=True)
class RestorePin:
    """Commit ``pin`` back to git after a roll back, so git agrees with the cluster again."""

    pin: Pin
    reason: str = ROLLBACK_REASON


Step = GateRelease | RecordRelease | RollOut | RollBack | RestorePin


@overload
def first_step(action: Deploy, running: Pin) -> GateRelease: ...
@overload
def first_step(action: Resume, running: Pin) -> RollOut: ...
def first_step(action: Deploy | Resume, running: Pin) -> GateRelease | RollOut:
    """Where carrying ``action`` out starts, on a Deployment running ``running``."""
    if isinstance(action, Resume):
        return RollOut(action.pending, patch=running != action.pending.pin)
    return GateRelease(action.candidate, running)


def after_gate(step: GateRelease, outcome: Accepted | Rejected | AssetError) -> RecordRelease | Reject:
    """Record an accepted release; refuse one the gate rejected or whose asset was not what it claimed."""
    release = step.candidate.release
    if not isinstance(outcome, Accepted):
        return Reject(release.tag, str(outcome))
    return RecordRelease(release.tag, outcome, step.running, asset_fingerprint(step.candidate.asset))


def after_record(step: RecordRelease, bundle_url: str, commit: str) -> RollOut:
    """Roll out the pin naming the recorded bundle."""
    pin = Pin(step.tag, bundle_url, step.accepted.sha256)
    pending = PendingRollout(tag=step.tag, pin=pin, previous=step.running, commit=commit, asset=step.asset)
    return RollOut(pending, patch=step.running != pin)


def after_rollout(step: RollOut, status: RolloutStatus) -> Complete | RollBack:
    """The rollout stands when it completed; anything else (failed, or still progressing at the
    timeout) is rolled back."""
    if status.state is RolloutState.COMPLETE:
        return Complete(step.pending, status.message)
    return RollBack(step.pending, f"rollout did not complete: {status.message}")


def after_rollback(step: RollBack) -> RestorePin:
    return RestorePin(step.pin)


@dataclass(frozen=True)
class ProposeRelease:
    """Commit the accepted bundle and its pin to a branch and open a pull request carrying the gate's
    evidence; nothing rolls out before it is merged."""

    record: RecordRelease
    title: str
    body: str


@dataclass(frozen=True)
class ProposePin:
    """Open a pull request restoring ``pin`` in git after a roll back."""

    pin: Pin
    title: str
    body: str


@dataclass(frozen=True)
class Withdraw:
    """Close a pull request of the syncer's that a newer proposal replaced, saying so."""

    proposal: Proposal
    comment: str


def propose_release(step: RecordRelease) -> ProposeRelease:
    """Pull-request mode: the accepted release is proposed, with the gate's evidence, instead of pushed."""
    body = release_body(step.tag, step.accepted, step.asset, step.running)
    return ProposeRelease(step, release_title(step.tag), body)


def after_propose(step: ProposeRelease, opened: Opened) -> Proposal:
    """The proposal to keep in the state until its pull request is merged or closed."""
    record = step.record
    pin = Pin(record.tag, opened.bundle_url, record.accepted.sha256)
    return Proposal(record.tag, opened.number, opened.branch, pin, opened.head, record.asset)


def to_withdraw(state: SyncerState) -> list[Withdraw]:
    """The superseded pull requests still to close: first thing each reconcile, until it works."""
    return [Withdraw(older, superseded_comment(state.proposal)) for older in state.superseded]


def propose_pin(step: RestorePin) -> ProposePin:
    return ProposePin(step.pin, restore_title(step.pin), restore_body(step.pin, step.reason))


def after_review(proposal: Proposal, review: Review, running: Pin) -> RollOut | Reject | None:
    """What an open proposal's pull request leads to: roll out exactly the pin its merge commit names,
    record a release closed without merging as rejected, or wait (None) while it is open."""
    number = proposal.number
    if review.state is ReviewState.OPEN:
        return None
    if review.state is ReviewState.CLOSED:
        return Reject(proposal.tag, f"pull request #{number} was closed without merging")
    pin = review.merged_pin
    if pin is None:
        return Reject(
            proposal.tag,
            f"pull request #{number} was merged (commit {review.merge_commit}), but its merge commit names"
            " no pin the syncer can read: nothing rolled out",
        )
    asset = proposal.asset if pin == proposal.pin else ""
    pending = PendingRollout(pin.version, pin, running, review.merge_commit, asset)
    return RollOut(pending, patch=running != pin)


PIN_REASON = "pinned by the operator"
"""Why a pinned release's pin is written to git again (its commit message says so)."""


def serve_pinned(action: ServePinned, running: Pin) -> RollOut:
    """Roll out the pinned release once git names it again."""
    pending = PendingRollout(tag=action.tag, pin=action.pin, previous=running)
    return RollOut(pending, patch=running != action.pin)


def pin_to_restore(state: SyncerState) -> RestorePin | None:
    """A roll back git did not take yet (it was down): written first, each reconcile, until it works."""
    return RestorePin(state.unrecorded) if state.unrecorded is not None else None
