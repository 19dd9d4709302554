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
from digits_syncer.plan import Deploy, Idle, Observed, Resume, after_rollout, plan
from digits_syncer.releases import Asset, ReleaseFilter, ReleaseList, model_asset, select_release
from digits_syncer.rollout import RolloutStatus
from digits_syncer.state import PendingRollout, Pin, SyncerState

log = logging.getLogger("digits_syncer")


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

    def reconcile_once(self, retry: frozenset[str] = frozenset()) -> Outcome:
        state = self.store.load()
        if retry:
            state.forget(retry)
            self.store.save(state)
        if state.unrecorded is not None and not self.dry_run:
            self._record_rollback(state)
        desired = select_release(self.source.list_releases().releases, self.rules, skip=state.skipped())
        running = self.applier.running_pin()
        action = plan(desired, Observed(running, state))
        if isinstance(action, Idle):
            log.debug("nothing to do: %s", action.reason)
            return Outcome.UP_TO_DATE
        if self.dry_run:
            log.info("dry run: would %s", action)
            return Outcome.PLANNED
        if isinstance(action, Resume):
            log.info("resuming the rollout of %s recorded before a restart", action.pending.tag)
            return self._roll_out(action.pending, state, running)
        assert isinstance(action, Deploy)
        return self._deploy(action, state, running)

    def _deploy(self, action: Deploy, state: SyncerState, running: Pin) -> Outcome:
        release = action.release
        asset = model_asset(release, self.rules.asset_pattern)
        assert asset is not None  # select_release only picks releases with a model asset
        with tempfile.TemporaryDirectory(prefix="release-") as scratch:
            workdir = Path(scratch)
            try:
                self.source.download(asset, workdir / asset.name)
                accepted = self.gate.check(workdir / asset.name, release.tag, workdir)
            except (Rejected, AssetError) as error:
                state.rejected[release.tag] = str(error)
                state.note("rejected", release.tag, str(error))
                self.store.save(state)
                self.applier.event("ReleaseRejected", f"release {release.tag} rejected: {error}", warning=True)
                log.warning("release %s rejected: %s", release.tag, error)
                return Outcome.REJECTED
            url, commit = self.recorder.record(release.tag, accepted)
        pending = PendingRollout(
            tag=release.tag,
            pin=Pin(release.tag, url, accepted.sha256),
            previous=running,
            commit=commit,
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
            state.pending, state.deployed = None, pending.tag
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
        state.failed[pending.tag] = reason
        state.note("rolled-back", pending.tag, reason)
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
