"""One reconcile: observe -> plan -> act. The adapters are passed in; the decisions are in ``plan``."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from digits_syncer.gate import Accepted, Rejected
from digits_syncer.github_source import AssetError
from digits_syncer.plan import (
    Candidate,
    Deploy,
    Idle,
    Observed,
    Reject,
    Republished,
    Resume,
    after_rollout,
    plan,
)
from digits_syncer.releases import (
    Asset,
    Release,
    ReleaseFilter,
    ReleaseList,
    asset_fingerprint,
    model_asset,
    select_release,
)
from digits_syncer.rollout import RolloutStatus
from digits_syncer.state import PendingRollout, Pin, SyncerState, clip

log = logging.getLogger("digits_syncer")
ASSET_FILE = "release-asset.zip"
"""The download's name in the scratch folder: fixed, never a name the server sends."""


class Outcome(StrEnum):
    UP_TO_DATE = "up-to-date"
    PLANNED = "planned"
    DEPLOYED = "deployed"
    REJECTED = "rejected"
    ROLLED_BACK = "rolled-back"

    @property
    def exit_code(self) -> int:
        return {"rejected": 3, "rolled-back": 4}.get(self.value, 0)


class Source(Protocol):
    def list_releases(self) -> ReleaseList: ...
    def download(self, asset: Asset, target: Path) -> str: ...


class GatePort(Protocol):
    def check(self, archive: Path, tag: str, workdir: Path) -> Accepted: ...


class Recorder(Protocol):
    """Where accepted bundles are recorded and given a URL the api pods can fetch."""

    def record(self, tag: str, accepted: Accepted) -> tuple[str, str]:
        """Returns (bundle URL, commit)."""
        ...

    def restore_pin(self, pin: Pin, reason: str) -> None: ...


class Applier(Protocol):
    def running_pin(self) -> Pin: ...
    def apply(self, pin: Pin) -> None: ...
    def wait(self, timeout_s: float) -> RolloutStatus: ...
    def event(self, reason: str, message: str, warning: bool = False) -> None: ...


class StateStore(Protocol):
    def load(self) -> SyncerState: ...
    def save(self, state: SyncerState) -> None: ...


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

    def reconcile_once(self, retry: frozenset[str] = frozenset()) -> Outcome:
        state = self.store.load()
        if retry:
            state.forget(retry)
            self.store.save(state)
        if state.unrecorded is not None and not self.dry_run:
            self._record_rollback(state)
        chosen = select_release(self.source.list_releases().releases, self.rules, skip=state.skipped())
        running = self.applier.running_pin()
        action = plan(self._candidate(chosen), Observed(running, state), self.require_digest)
        if isinstance(action, Idle):
            log.debug("nothing to do: %s", action.reason)
            return Outcome.UP_TO_DATE
        if self.dry_run:
            log.info("dry run: would %s", clip(repr(action)))
            return Outcome.PLANNED
        if isinstance(action, Reject):
            return self._reject(state, action.key, action.reason)
        if isinstance(action, Republished):
            log.warning("%s", action.reason)
            state.republished = action.fingerprint
            state.note("republished", action.tag, action.reason)
            self.store.save(state)
            self.applier.event("ReleaseRepublished", action.reason, warning=True)
            return Outcome.UP_TO_DATE
        if isinstance(action, Resume):
            log.info("resuming the rollout of %s recorded before a restart", action.pending.tag)
            return self._roll_out(action.pending, state, running)
        assert isinstance(action, Deploy)
        return self._deploy(action, state, running)

    def _candidate(self, release: Release | None) -> Candidate | None:
        asset = model_asset(release, self.rules.asset_pattern) if release is not None else None
        return Candidate(release, asset) if release is not None and asset is not None else None

    def _reject(self, state: SyncerState, key: str, reason: str) -> Outcome:
        """Record that the release recorded as ``key`` was refused (not tried again unless asked)."""
        state.reject(key, reason)
        self.store.save(state)
        reason = state.rejected.get(key, clip(reason))
        self.applier.event("ReleaseRejected", f"release {key} rejected: {reason}", warning=True)
        log.warning("release %s rejected: %s", key, reason)
        return Outcome.REJECTED

    def _deploy(self, action: Deploy, state: SyncerState, running: Pin) -> Outcome:
        release, asset = action.candidate.release, action.candidate.asset
        if action.unchecked_digest:
            log.warning("release %s: %s; its bytes are not checked against one", release.tag, action.unchecked_digest)
            state.note("unchecked-digest", release.tag, action.unchecked_digest)
        with tempfile.TemporaryDirectory(prefix="release-") as scratch:
            workdir = Path(scratch)
            archive = workdir / ASSET_FILE
            try:
                self.source.download(asset, archive)
                accepted = self.gate.check(archive, release.tag, workdir)
            except (Rejected, AssetError) as error:
                return self._reject(state, release.tag, str(error))
            url, commit = self.recorder.record(release.tag, accepted)
        pending = PendingRollout(
            tag=release.tag,
            pin=Pin(release.tag, url, accepted.sha256),
            previous=running,
            commit=commit,
            asset=asset_fingerprint(asset),
        )
        state.pending = pending
        state.note("recorded", release.tag, f"{accepted.reason}; commit {commit or 'unchanged'}")
        self.store.save(state)
        self.applier.event("ReleaseAccepted", f"release {release.tag} accepted ({accepted.reason}); rolling out")
        return self._roll_out(pending, state, running)

    def _roll_out(self, pending: PendingRollout, state: SyncerState, running: Pin) -> Outcome:
        """``running``: the pin observed on the Deployment at the start of this reconcile."""
        if running != pending.pin:
            self.applier.apply(pending.pin)
        status = self.applier.wait(self.rollout_timeout_s)
        if after_rollout(status):
            state.pending, state.deployed, state.deployed_asset = None, pending.tag, pending.asset
            state.note("deployed", pending.tag, status.message)
            self.store.save(state)
            self.applier.event("RolloutComplete", f"model {pending.tag} is serving: {status.message}")
            log.info("model %s deployed: %s", pending.tag, status.message)
            return Outcome.DEPLOYED
        reason = f"rollout did not complete: {status.message}"
        log.warning("rolling back %s to %s: %s", pending.tag, pending.previous.version, reason)
        self.applier.apply(pending.previous)
        self.applier.wait(self.rollout_timeout_s)
        state.pending, state.unrecorded = None, pending.previous
        state.fail(pending.tag, reason)
        self.store.save(state)
        self.applier.event(
            "RolledBack", f"model {pending.tag} rolled back to {pending.previous.version}: {reason}", warning=True
        )
        self._record_rollback(state)
        return Outcome.ROLLED_BACK

    def _record_rollback(self, state: SyncerState) -> None:
        """Write the rolled-back-to pin to git, so re-applying the manifests keeps it (retried until it works)."""
        assert state.unrecorded is not None
        self.recorder.restore_pin(state.unrecorded, "after a failed rollout")
        state.unrecorded = None
        self.store.save(state)
