"""What the syncer knows: the pin the api runs, and what it deployed, rejected or rolled back.

The state is kept in a ConfigMap (1 MiB at most), so it stays bounded whatever the releases
hold: reasons are cut to ``MAX_TEXT`` characters, the rejected and failed maps keep the newest
``MAX_RECORDED`` entries, the history the newest ``HISTORY_LENGTH``, and the serialised whole
never exceeds ``MAX_STATE_BYTES`` (the oldest entries go first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

HISTORY_LENGTH = 50
MAX_TEXT = 1000
"""Longest reason or detail kept, in characters."""
MAX_RECORDED = 100
"""Most releases kept in ``rejected`` and in ``failed`` (each); the oldest are forgotten first."""
MAX_STATE_BYTES = 256 * 1024
"""Largest serialised state: well inside a ConfigMap's 1 MiB."""
MAX_SUPERSEDED = 10
"""Most superseded pull requests kept waiting to be closed (normally one, for one reconcile)."""


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    marker = f"... ({len(text) - limit} more characters)"
    return text[: max(0, limit - len(marker))] + marker[:limit]


def _newest(entries: Mapping[str, str], count: int) -> dict[str, str]:
    """The last ``count`` entries (insertion order is age), keys and reasons clipped."""
    return {clip(key, MAX_TEXT // 4): clip(value) for key, value in list(entries.items())[-count:]}


def _newest_pins(entries: Mapping[str, Pin], count: int) -> dict[str, Pin]:
    return {key: pin for key, pin in list(entries.items())[-count:]}


def _recorded(entries: Mapping[str, str], key: str, reason: str) -> dict[str, str]:
    """``entries`` with ``key`` recorded as the newest, within ``MAX_RECORDED``."""
    older = {name: why for name, why in entries.items() if name != key}
    return _newest({**older, key: reason}, MAX_RECORDED)


@dataclass(frozen=True)
class Pin:
    """A model the api pods are told to serve: version, bundle URL and its sha256 (empty URL: baked in)."""

    version: str
    url: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class PendingRollout:
    """Recorded in git, not yet confirmed in the cluster (a restart resumes it without a second commit)."""

    tag: str
    pin: Pin
    previous: Pin
    commit: str = ""
    asset: str = ""
    """The release asset it was built from (``releases.asset_fingerprint``)."""


@dataclass(frozen=True)
class Proposal:
    """Pull-request mode: a release gated and proposed in a pull request, not merged yet."""

    tag: str
    number: int
    branch: str
    pin: Pin
    """The pin the pull request proposes (what is rolled out is what the merge commit names)."""
    head: str = ""
    """The branch's head commit when the pull request was opened."""
    asset: str = ""
    """The release asset the bundle was built from (``releases.asset_fingerprint``)."""


@dataclass(frozen=True)
class SyncerState:
    """A value: every transition below returns a new state from the old one and an outcome (no I/O,
    no clock: the time of a history entry is passed in), and a ``StateStore`` persists it."""

    rejected: Mapping[str, str] = field(default_factory=dict)
    """Release tag key -> why the gate refused it. Not tried again unless asked."""
    failed: Mapping[str, str] = field(default_factory=dict)
    """Release tag -> why its rollout was rolled back. Not tried again unless asked."""
    pending: PendingRollout | None = None
    deployed: str | None = None
    """The tag last rolled out successfully."""
    deployed_asset: str = ""
    """The release asset ``deployed`` was built from (``releases.asset_fingerprint``; empty: unknown)."""
    republished: str = ""
    """The asset last reported as a republication of the deployed tag (reported once)."""
    unrecorded: Pin | None = None
    """A pin rolled back to in the cluster but not yet written back to git (retried each reconcile)."""
    proposal: Proposal | None = None
    """Pull-request mode: the release whose pull request awaits review (nothing rolls out before its merge)."""
    superseded: tuple[Proposal, ...] = ()
    """Pull requests of older releases a newer proposal replaced, closed first thing each reconcile."""
    history: tuple[Mapping[str, str], ...] = ()
    accepted: Mapping[str, Pin] = field(default_factory=dict)
    """Release tag -> the pin recorded in git when it passed the gate: what a ``DigitsModel`` may pin without
    gating it again (the newest ``MAX_RECORDED``)."""

    def skipped(self, retry: frozenset[str] = frozenset()) -> frozenset[str]:
        return (frozenset(self.rejected) | frozenset(self.failed)) - retry

    # -- transitions: the state after an outcome ---------------------------------------------------

    def with_note(self, event: str, tag: str, detail: str, at: datetime) -> SyncerState:
        """``event`` about ``tag`` added to the history (the newest ``HISTORY_LENGTH`` kept)."""
        stamp = at.astimezone(UTC).replace(microsecond=0).isoformat()
        entry = {"at": stamp, "event": event, "tag": clip(tag, MAX_TEXT // 4), "detail": clip(detail)}
        return replace(self, history=(*self.history, entry)[-HISTORY_LENGTH:])

    def with_retry(self, tags: frozenset[str]) -> SyncerState:
        """``tags`` forgotten as rejected or rolled back, so they are tried again."""
        return replace(
            self,
            rejected={key: why for key, why in self.rejected.items() if key not in tags},
            failed={tag: why for tag, why in self.failed.items() if tag not in tags},
        )

    def with_rejection(self, key: str, reason: str, at: datetime) -> SyncerState:
        """The release recorded as ``key`` (``releases.tag_key``) was refused, and why."""
        return replace(self, rejected=_recorded(self.rejected, key, reason)).with_note("rejected", key, reason, at)

    def with_failure(self, tag: str, reason: str, at: datetime) -> SyncerState:
        """The rollout of ``tag`` failed, and why."""
        return replace(self, failed=_recorded(self.failed, tag, reason)).with_note("rolled-back", tag, reason, at)

    def with_republication(self, tag: str, fingerprint: str, reason: str, at: datetime) -> SyncerState:
        """The running ``tag`` was reported as republished with the asset ``fingerprint`` (said once)."""
        return replace(self, republished=fingerprint).with_note("republished", tag, reason, at)

    def with_pending(self, pending: PendingRollout, detail: str, at: datetime) -> SyncerState:
        """``pending`` was gated and recorded in git; its rollout starts (a restart resumes it)."""
        return replace(self, pending=pending, accepted=self._with_accepted(pending)).with_note(
            "recorded", pending.tag, detail, at
        )

    def _with_accepted(self, pending: PendingRollout) -> dict[str, Pin]:
        older = {tag: pin for tag, pin in self.accepted.items() if tag != pending.tag}
        return _newest_pins({**older, pending.tag: pending.pin}, MAX_RECORDED)

    def with_deployed(self, pending: PendingRollout, detail: str, at: datetime) -> SyncerState:
        """The rollout of ``pending`` completed: its tag is what runs."""
        done = replace(
            self,
            pending=None,
            deployed=pending.tag,
            deployed_asset=pending.asset,
            accepted=self._with_accepted(pending),
        )
        return done.with_note("deployed", pending.tag, detail, at)

    def with_rollback(self, pending: PendingRollout, reason: str, at: datetime) -> SyncerState:
        """The rollout of ``pending`` failed and the cluster runs ``pending.previous`` again; git still
        names ``pending``'s pin until ``with_pin_restored``."""
        return replace(self, pending=None, unrecorded=pending.previous).with_failure(pending.tag, reason, at)

    def with_pin_restored(self) -> SyncerState:
        """The rolled-back-to pin was written back to git."""
        return replace(self, unrecorded=None)

    # -- pull-request mode -------------------------------------------------------------------------

    def with_proposal(self, proposal: Proposal, detail: str, at: datetime) -> SyncerState:
        """``proposal`` was opened; the one it replaces (another pull request) waits to be closed."""
        older = self.proposal
        superseded = self.superseded
        if older is not None and older.number != proposal.number:
            superseded = (*superseded, older)[-MAX_SUPERSEDED:]
        proposed = replace(self, proposal=proposal, superseded=superseded)
        return proposed.with_note("proposed", proposal.tag, detail, at)

    def with_withdrawn(self, number: int) -> SyncerState:
        """The superseded pull request ``number`` is closed (or was no longer open)."""
        return replace(self, superseded=tuple(p for p in self.superseded if p.number != number))

    def with_merged(self, pending: PendingRollout, detail: str, at: datetime) -> SyncerState:
        """The open proposal was merged: the pin its merge commit names is ``pending``'s, rolled out next."""
        tag = self.proposal.tag if self.proposal is not None else pending.tag
        merged = replace(self, proposal=None, pending=pending, accepted=self._with_accepted(pending))
        return merged.with_note("merged", tag, detail, at)

    def with_proposal_closed(self, reason: str, at: datetime) -> SyncerState:
        """The open proposal was closed without being merged: its release is recorded as rejected."""
        if self.proposal is None:
            return self
        return replace(self, proposal=None).with_rejection(self.proposal.tag, reason, at)

    def with_proposals_dropped(self, at: datetime) -> SyncerState:
        """Back in push mode: the proposal and the superseded pull requests are no longer followed (their
        pull requests stay as they are), so the open proposal's release is recorded and rolled out as pushed."""
        if self.proposal is None and not self.superseded:
            return self
        dropped = replace(self, proposal=None, superseded=())
        if self.proposal is None:
            return dropped
        detail = f"push mode: pull request #{self.proposal.number} is no longer followed"
        return dropped.with_note("proposal-dropped", self.proposal.tag, detail, at)

    def with_pin_proposed(self, tag: str, detail: str, at: datetime) -> SyncerState:
        """The rolled-back-to pin was proposed back to git in a pull request (or git names it already)."""
        return replace(self, unrecorded=None).with_note("restore-proposed", tag, detail, at)

    def to_json(self) -> str:
        """The state as JSON (ASCII), within ``MAX_STATE_BYTES``: the oldest history, then the oldest
        rejections and failures, then the oldest accepted pins are dropped until it fits (the caps make that rare)."""
        data = asdict(self)
        data["rejected"] = _newest(self.rejected, MAX_RECORDED)
        data["failed"] = _newest(self.failed, MAX_RECORDED)
        data["history"] = list(self.history[-HISTORY_LENGTH:])
        text = json.dumps(data, indent=1)
        shrinkable = ("history", "rejected", "failed", "accepted")
        while len(text) > MAX_STATE_BYTES and any(data[name] for name in shrinkable):
            if data["history"]:
                data["history"] = data["history"][len(data["history"]) // 2 + 1 :]
            elif data["rejected"] or data["failed"]:
                longer = "rejected" if len(data["rejected"]) >= len(data["failed"]) else "failed"
                data[longer] = _newest(data[longer], len(data[longer]) // 2)
            else:
                data["accepted"] = dict(list(data["accepted"].items())[len(data["accepted"]) // 2 + 1 :])
            text = json.dumps(data, indent=1)
        return text

    @classmethod
    def from_json(cls, text: str | None) -> SyncerState:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        pending = data.get("pending")
        proposal = data.get("proposal")
        return cls(
            rejected=_newest(dict(data.get("rejected", {})), MAX_RECORDED),
            failed=_newest(dict(data.get("failed", {})), MAX_RECORDED),
            pending=PendingRollout(
                tag=pending["tag"],
                pin=Pin(**pending["pin"]),
                previous=Pin(**pending["previous"]),
                commit=pending.get("commit", ""),
                asset=pending.get("asset", ""),
            )
            if pending
            else None,
            deployed=data.get("deployed"),
            deployed_asset=data.get("deployed_asset", ""),
            republished=data.get("republished", ""),
            unrecorded=Pin(**data["unrecorded"]) if data.get("unrecorded") else None,
            proposal=_proposal(proposal) if proposal else None,
            superseded=tuple(_proposal(p) for p in data.get("superseded", []))[-MAX_SUPERSEDED:],
            history=tuple(data.get("history", []))[-HISTORY_LENGTH:],
            accepted=_newest_pins(
                {str(tag): Pin(**pin) for tag, pin in data.get("accepted", {}).items()}, MAX_RECORDED
            ),
        )


def _proposal(data: Mapping[str, Any]) -> Proposal:
    return Proposal(
        tag=data["tag"],
        number=int(data["number"]),
        branch=data["branch"],
        pin=Pin(**data["pin"]),
        head=data.get("head", ""),
        asset=data.get("asset", ""),
    )
