"""What the syncer knows: the pin the api runs, and what it deployed, rejected or rolled back.

The state is kept in a ConfigMap (1 MiB at most), so it stays bounded whatever the releases
hold: reasons are cut to ``MAX_TEXT`` characters, the rejected and failed maps keep the newest
``MAX_RECORDED`` entries, the history the newest ``HISTORY_LENGTH``, and the serialised whole
never exceeds ``MAX_STATE_BYTES`` (the oldest entries go first).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

HISTORY_LENGTH = 50
MAX_TEXT = 1000
"""Longest reason or detail kept, in characters."""
MAX_RECORDED = 100
"""Most releases kept in ``rejected`` and in ``failed`` (each); the oldest are forgotten first."""
MAX_STATE_BYTES = 256 * 1024
"""Largest serialised state: well inside a ConfigMap's 1 MiB."""


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    marker = f"... ({len(text) - limit} more characters)"
    return text[: max(0, limit - len(marker))] + marker[:limit]


def _newest(entries: dict[str, str], count: int) -> dict[str, str]:
    """The last ``count`` entries (insertion order is age), keys and reasons clipped."""
    return {clip(key, MAX_TEXT // 4): clip(value) for key, value in list(entries.items())[-count:]}


def _recorded(entries: dict[str, str], key: str, reason: str) -> dict[str, str]:
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


@dataclass
class SyncerState:
    rejected: dict[str, str] = field(default_factory=dict)
    """Release tag key -> why the gate refused it. Not tried again unless asked."""
    failed: dict[str, str] = field(default_factory=dict)
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
    history: list[dict[str, str]] = field(default_factory=list)

    def note(self, event: str, tag: str, detail: str) -> None:
        stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        entry = {"at": stamp, "event": event, "tag": clip(tag, MAX_TEXT // 4), "detail": clip(detail)}
        self.history = [*self.history, entry][-HISTORY_LENGTH:]

    def reject(self, key: str, reason: str) -> None:
        """Record that the release recorded as ``key`` (``releases.tag_key``) was refused, and why."""
        self.rejected = _recorded(self.rejected, key, reason)
        self.note("rejected", key, reason)

    def fail(self, tag: str, reason: str) -> None:
        """Record that the rollout of ``tag`` was rolled back, and why."""
        self.failed = _recorded(self.failed, tag, reason)
        self.note("rolled-back", tag, reason)

    def skipped(self, retry: frozenset[str] = frozenset()) -> frozenset[str]:
        return (frozenset(self.rejected) | frozenset(self.failed)) - retry

    def forget(self, tags: frozenset[str]) -> None:
        for tag in tags:
            self.rejected.pop(tag, None)
            self.failed.pop(tag, None)

    def to_json(self) -> str:
        """The state as JSON (ASCII), within ``MAX_STATE_BYTES``: the oldest history, then the oldest
        rejections and failures are dropped until it fits (the caps make that rare)."""
        data = asdict(self)
        data["rejected"] = _newest(self.rejected, MAX_RECORDED)
        data["failed"] = _newest(self.failed, MAX_RECORDED)
        data["history"] = self.history[-HISTORY_LENGTH:]
        text = json.dumps(data, indent=1)
        while len(text) > MAX_STATE_BYTES and (data["history"] or data["rejected"] or data["failed"]):
            if data["history"]:
                data["history"] = data["history"][len(data["history"]) // 2 + 1 :]
            else:
                longer = "rejected" if len(data["rejected"]) >= len(data["failed"]) else "failed"
                data[longer] = _newest(data[longer], len(data[longer]) // 2)
            text = json.dumps(data, indent=1)
        return text

    @classmethod
    def from_json(cls, text: str | None) -> SyncerState:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        pending = data.get("pending")
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
            history=list(data.get("history", []))[-HISTORY_LENGTH:],
        )
