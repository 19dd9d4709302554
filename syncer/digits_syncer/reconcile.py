"""One reconcile: observe -> plan -> carry the plan out step by step.

This module is the interpreter: for each step ``plan`` names it calls one port (``ports``), feeds
the outcome to a pure transition of ``SyncerState`` and to the decision of the next step, and
saves. It imports no adapter; ``__main__`` wires them in.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from digits_syncer.plan import (
    PIN_REASON,
    Candidate,
    Complete,
    GateRelease,
    Idle,
    Observed,
    PinRefused,
    ProposePin,
    ProposeRelease,
    RecordRelease,
    Reject,
    Republished,
    RestorePin,
    Resume,
    RollBack,
    RollOut,
    ServePinned,
    after_gate,
    after_propose,
    after_record,
    after_review,
    after_rollback,
    after_rollout,
    first_step,
    pin_to_restore,
    pinned_release,
    plan,
    plan_pinned,
    propose_pin,
    propose_release,
    serve_pinned,
    to_withdraw,
)
from digits_syncer.ports import (
    Accepted,
    Applier,
    AssetError,
    GatePort,
    Proposals,
    Recorder,
    Rejected,
    Source,
    StateStore,
)
from digits_syncer.releases import Release, ReleaseFilter, model_asset, select_release
from digits_syncer.state import Pin, SyncerState, clip

log = logging.getLogger("digits_syncer")
ASSET_FILE = "release-asset.zip"
"""The download's name in the scratch folder: fixed, never a name the server sends."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Outcome(StrEnum):
    UP_TO_DATE = "up-to-date"
    PLANNED = "planned"
    PROPOSED = "proposed"
    """Pull-request mode: a release was proposed for review."""
    DEPLOYED = "deployed"
    REJECTED = "rejected"
    ROLLED_BACK = "rolled-back"
    PIN_REFUSED = "pin-refused"
    """The pinned release may not be served (rejected, rolled back, or not there)."""
    SUSPENDED = "suspended"
    """The ``DigitsModel`` is suspended: nothing was read or changed but what the status reports."""

    @property
    def exit_code(self) -> int:
        return {"rejected": 3, "pin-refused": 3, "rolled-back": 4}.get(self.value, 0)


@dataclass(frozen=True)
class Sighting:
    """What the last reconcile saw, for the ``DigitsModel`` status: the newest release the policy admits (whatever
    became of it) and, when a pin was refused, why."""

    newest: str | None = None
    pin_refusal: str = ""
    polled: bool = False
    """The releases were read (a pass that merged or closed a pull request ends before)."""


@dataclass
class Syncer:
    source: Source
    gate: GatePort
    recorder: Recorder
    applier: Applier
    store: StateStore
    rules: ReleaseFilter
    rollout_timeout_s: float
    dry_run: bool = False
    require_digest: bool = False
    """Refuse a release whose model asset has no digest this syncer can check."""
    clock: Callable[[], datetime] = utc_now
    """When an outcome happened, for the state's history."""
    proposals: Proposals | None = None
    """Pull-request mode (None: push mode): releases and roll backs are recorded through pull requests,
    and a release rolls out only once its pull request is merged."""
    pin: str = ""
    """Serve exactly this release (a ``DigitsModel``'s ``spec.pin``; "": the policy's newest)."""
    seen: Sighting = Sighting()
    """What the last reconcile saw (set by ``reconcile_once``)."""

    def reconcile_once(self, retry: frozenset[str] = frozenset()) -> Outcome:
        self.seen = Sighting()
        state = self.store.load()
        if retry:
            state = self._save(state.with_retry(retry))
        if not self.dry_run:
            state = self._catch_up(state)
        running = self.applier.running_pin()
        # While pinned, a pull request proposing another release waits (merged, it would roll the pin back).
        if self.proposals is not None and state.proposal is not None and self.pin in ("", state.proposal.tag):
            merged_or_closed = self._review(state, running, self.proposals)
            if merged_or_closed is not None:
                return merged_or_closed
        releases = self.source.list_releases().releases
        newest = select_release(releases, self.rules)
        self.seen = Sighting(newest.tag if newest is not None else None, polled=True)
        if self.pin:
            return self._reconcile_pinned(state, running, releases)
        return self._reconcile_policy(state, running, releases)

    def _reconcile_policy(self, state: SyncerState, running: Pin, releases: list[Release]) -> Outcome:
        """Serve the newest release the policy admits."""
        chosen = select_release(releases, self.rules, skip=state.skipped())
        action = plan(self._candidate(chosen), Observed(running, state), self.require_digest)
        if isinstance(action, Idle) or self.dry_run:
            return self._idle(action)
        if isinstance(action, Reject):
            return self._reject(state, action)
        if isinstance(action, Republished):
            return self._report_republished(state, action)
        if isinstance(action, Resume):
            log.info("resuming the rollout of %s recorded before a restart", action.pending.tag)
            return self._roll_out(state, first_step(action, running))
        if action.unchecked_digest:
            tag = action.candidate.release.tag
            log.warning("release %s: %s; its bytes are not checked against one", tag, action.unchecked_digest)
            state = state.with_note("unchecked-digest", tag, action.unchecked_digest, self.clock())
        return self._deploy(state, first_step(action, running))

    def _reconcile_pinned(self, state: SyncerState, running: Pin, releases: list[Release]) -> Outcome:
        pinned = pinned_release(releases, self.pin, self.rules.asset_pattern)
        action = plan_pinned(self.pin, pinned, Observed(running, state), self.require_digest)
        if isinstance(action, PinRefused):
            self.seen = Sighting(self.seen.newest, clip(action.reason), polled=True)
            log.warning("the pinned release %s is not served: %s", action.tag, action.reason)
            return Outcome.PIN_REFUSED
        if isinstance(action, Idle) or self.dry_run:
            return self._idle(action)
        if isinstance(action, Reject):
            return self._reject(state, action)
        if isinstance(action, Resume):
            return self._roll_out(state, first_step(action, running))
        if isinstance(action, ServePinned):
            return self._serve_pinned(state, action, running)
        return self._deploy(state, first_step(action, running))

    def _serve_pinned(self, state: SyncerState, action: ServePinned, running: Pin) -> Outcome:
        """Write the pin of a release accepted before back to git (through review in pull-request mode), then
        roll it out: the way an operator rolls back by hand."""
        state = self._restore_pin(state, RestorePin(action.pin, PIN_REASON))
        roll_out = serve_pinned(action, running)
        state = self._save(state.with_pending(roll_out.pending, PIN_REASON, self.clock()))
        self.applier.event("ModelPinned", f"model {action.tag} is pinned: rolling it out")
        return self._roll_out(state, roll_out)

    def _catch_up(self, state: SyncerState) -> SyncerState:
        """What earlier reconciles left undone in git: a roll back to record, superseded pull requests to
        close; and, back in push mode, pull requests no longer to follow."""
        restore = pin_to_restore(state)
        if restore is not None:
            state = self._restore_pin(state, restore)
        if self.proposals is not None:
            return self._withdraw_superseded(state, self.proposals)
        if state.proposal is not None or state.superseded:
            log.warning("push mode: pull requests opened in pull-request mode are no longer followed")
            state = self._save(state.with_proposals_dropped(self.clock()))
        return state

    def _idle(self, action: object) -> Outcome:
        """Nothing to do, or (a dry run) nothing done."""
        if isinstance(action, Idle):
            log.debug("nothing to do: %s", action.reason)
            return Outcome.UP_TO_DATE
        log.info("dry run: would %s", clip(repr(action)))
        return Outcome.PLANNED

    def _candidate(self, release: Release | None) -> Candidate | None:
        asset = model_asset(release, self.rules.asset_pattern) if release is not None else None
        return Candidate(release, asset) if release is not None and asset is not None else None

    def _save(self, state: SyncerState) -> SyncerState:
        self.store.save(state)
        return state

    def _reject(self, state: SyncerState, action: Reject) -> Outcome:
        """Record that the release recorded as ``action.key`` was refused (not tried again unless asked)."""
        state = self._save(state.with_rejection(action.key, action.reason, self.clock()))
        reason = state.rejected.get(action.key, clip(action.reason))
        self.applier.event("ReleaseRejected", f"release {action.key} rejected: {reason}", warning=True)
        log.warning("release %s rejected: %s", action.key, reason)
        return Outcome.REJECTED

    def _report_republished(self, state: SyncerState, action: Republished) -> Outcome:
        log.warning("%s", action.reason)
        self._save(state.with_republication(action.tag, action.fingerprint, action.reason, self.clock()))
        self.applier.event("ReleaseRepublished", action.reason, warning=True)
        return Outcome.UP_TO_DATE

    def _deploy(self, state: SyncerState, step: GateRelease) -> Outcome:
        """Gate, record, roll out; or in pull-request mode gate and propose (the scratch folder lives
        until the bundle is recorded)."""
        with tempfile.TemporaryDirectory(prefix="release-") as scratch:
            verdict = after_gate(step, self._gate(step, Path(scratch)))
            if isinstance(verdict, Reject):
                return self._reject(state, verdict)
            if self.proposals is not None:
                return self._propose(state, propose_release(verdict), self.proposals)
            roll_out = self._record(verdict)
        detail = f"{verdict.accepted.reason}; commit {roll_out.pending.commit or 'unchanged'}"
        state = self._save(state.with_pending(roll_out.pending, detail, self.clock()))
        self.applier.event(
            "ReleaseAccepted", f"release {verdict.tag} accepted ({verdict.accepted.reason}); rolling out"
        )
        return self._roll_out(state, roll_out)

    def _gate(self, step: GateRelease, workdir: Path) -> Accepted | Rejected | AssetError:
        archive = workdir / ASSET_FILE
        try:
            self.source.download(step.candidate.asset, archive)
            return self.gate.check(archive, step.candidate.release.tag, workdir)
        except (Rejected, AssetError) as refusal:
            return refusal

    def _record(self, step: RecordRelease) -> RollOut:
        url, commit = self.recorder.record(step.tag, step.accepted)
        return after_record(step, url, commit)

    def _roll_out(self, state: SyncerState, step: RollOut) -> Outcome:
        if step.patch:
            self.applier.apply(step.pending.pin)
        decision = after_rollout(step, self.applier.wait(self.rollout_timeout_s))
        if isinstance(decision, RollBack):
            return self._roll_back(state, decision)
        return self._complete(state, decision)

    def _complete(self, state: SyncerState, step: Complete) -> Outcome:
        tag = step.pending.tag
        self._save(state.with_deployed(step.pending, step.message, self.clock()))
        self.applier.event("RolloutComplete", f"model {tag} is serving: {step.message}")
        log.info("model %s deployed: %s", tag, step.message)
        return Outcome.DEPLOYED

    def _roll_back(self, state: SyncerState, step: RollBack) -> Outcome:
        tag = step.pending.tag
        log.warning("rolling back %s to %s: %s", tag, step.pin.version, step.reason)
        self.applier.apply(step.pin)
        self.applier.wait(self.rollout_timeout_s)
        state = self._save(state.with_rollback(step.pending, step.reason, self.clock()))
        self.applier.event("RolledBack", f"model {tag} rolled back to {step.pin.version}: {step.reason}", warning=True)
        self._restore_pin(state, after_rollback(step))
        return Outcome.ROLLED_BACK

    def _restore_pin(self, state: SyncerState, step: RestorePin) -> SyncerState:
        """Write the rolled-back-to pin to git, so re-applying the manifests keeps it (``state.unrecorded``
        keeps it until this works: retried each reconcile); in pull-request mode, propose it."""
        if self.proposals is not None:
            return self._propose_pin(state, propose_pin(step), self.proposals)
        self.recorder.restore_pin(step.pin, step.reason)
        return self._save(state.with_pin_restored())

    # -- pull-request mode -------------------------------------------------------------------------

    def _propose(self, state: SyncerState, step: ProposeRelease, proposals: Proposals) -> Outcome:
        """Open the release's pull request (a restart finds the one open already), then close the one
        it replaces."""
        record = step.record
        proposal = after_propose(step, proposals.propose(record.tag, record.accepted, step.title, step.body))
        detail = f"{record.accepted.reason}; pull request #{proposal.number}"
        state = self._save(state.with_proposal(proposal, detail, self.clock()))
        self.applier.event(
            "ReleaseProposed",
            f"release {record.tag} accepted ({record.accepted.reason}); pull request #{proposal.number} awaits review",
        )
        log.info("release %s proposed in pull request #%d", record.tag, proposal.number)
        self._withdraw_superseded(state, proposals)
        return Outcome.PROPOSED

    def _withdraw_superseded(self, state: SyncerState, proposals: Proposals) -> SyncerState:
        for step in to_withdraw(state):
            closed = proposals.withdraw(step.proposal.number, step.comment)
            if closed:
                log.info("pull request #%d (%s) superseded: closed", step.proposal.number, step.proposal.tag)
            state = self._save(state.with_withdrawn(step.proposal.number))
        return state

    def _review(self, state: SyncerState, running: Pin, proposals: Proposals) -> Outcome | None:
        """Roll out what the open proposal's merge commit names, or record its closing as a rejection;
        None while it awaits review."""
        proposal = state.proposal
        if proposal is None:
            return None
        decision = after_review(proposal, proposals.review(proposal.number), running)
        if decision is None:
            return None
        if self.dry_run:
            return self._idle(decision)
        if isinstance(decision, Reject):
            state = self._save(state.with_proposal_closed(decision.reason, self.clock()))
            self.applier.event("ReleaseRejected", f"release {proposal.tag} rejected: {decision.reason}", warning=True)
            log.warning("release %s rejected: %s", proposal.tag, decision.reason)
            return Outcome.REJECTED
        pending = decision.pending
        detail = f"pull request #{proposal.number} merged as {pending.commit}: rolling out {pending.pin.version}"
        state = self._save(state.with_merged(pending, detail, self.clock()))
        self.applier.event("ReleaseMerged", detail)
        log.info("%s", detail)
        return self._roll_out(state, decision)

    def _propose_pin(self, state: SyncerState, step: ProposePin, proposals: Proposals) -> SyncerState:
        opened = proposals.propose_pin(step.pin, step.title, step.body)
        detail = (
            f"pull request #{opened.number} restores the pin"
            if opened is not None
            else "the deployment branch names this pin already"
        )
        log.info("pin %s: %s", step.pin.version, detail)
        return self._save(state.with_pin_proposed(step.pin.version, detail, self.clock()))
