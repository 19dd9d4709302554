"""What the syncer knows: the pin the api runs, and what it deployed, rejected or rolled back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

HISTORY_LENGTH = 50


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


@dataclass
class SyncerState:
    rejected: dict[str, str] = field(default_factory=dict)
    """Release tag -> why the gate refused it. Not tried again unless asked."""
    failed: dict[str, str] = field(default_factory=dict)
    """Release tag -> why its rollout was rolled back. Not tried again unless asked."""
    pending: PendingRollout | None = None
    deployed: str | None = None
    """The tag last rolled out successfully."""
    unrecorded: Pin | None = None
    """A pin rolled back to in the cluster but not yet written back to git (retried each reconcile)."""
    history: list[dict[str, str]] = field(default_factory=list)

    def note(self, event: str, tag: str, detail: str) -> None:
        stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        self.history = [*self.history, {"at": stamp, "event": event, "tag": tag, "detail": detail}][-HISTORY_LENGTH:]

    def skipped(self, retry: frozenset[str] = frozenset()) -> frozenset[str]:
        return (frozenset(self.rejected) | frozenset(self.failed)) - retry

    def forget(self, tags: frozenset[str]) -> None:
        for tag in tags:
            self.rejected.pop(tag, None)
            self.failed.pop(tag, None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> SyncerState:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        pending = data.get("pending")
        return cls(
            rejected=dict(data.get("rejected", {})),
            failed=dict(data.get("failed", {})),
            pending=PendingRollout(
                tag=pending["tag"],
                pin=Pin(**pending["pin"]),
                previous=Pin(**pending["previous"]),
                commit=pending.get("commit", ""),
            )
            if pending
            else None,
            deployed=data.get("deployed"),
            unrecorded=Pin(**data["unrecorded"]) if data.get("unrecorded") else None,
            history=list(data.get("history", [])),
        )
