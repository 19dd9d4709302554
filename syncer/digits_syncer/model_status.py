"""The ``DigitsModel`` status: what serves, what the newest release came to, and conditions, as a pure function of
what one pass of the syncer found (no I/O; the time is passed in)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from digits_syncer.releases import tag_key
from digits_syncer.state import Pin, SyncerState, clip


@dataclass(frozen=True)
class Report:
    """What one pass found."""

    generation: int
    state: SyncerState
    running: Pin | None = None
    """The pin on the api Deployment (None: it could not be read)."""
    newest: str | None = None
    """The newest release the policy admits (None: none, or not read)."""
    pin: str = ""
    suspended: bool = False
    polled: bool = False
    """Releases were read in this pass."""
    pin_refusal: str = ""
    error: str = ""
    """A temporary error ended the pass (tried again)."""
    invalid: str = ""
    """Why the spec cannot be acted on."""
    retried: tuple[int, tuple[str, ...]] | None = None
    """The spec generation whose ``retry`` this pass acted on, and its tags (None: none acted on)."""


def _word(report: Report) -> str:
    state, running = report.state, report.running
    pinned = bool(report.pin) and running is not None and running.version == report.pin
    checks = (
        (report.invalid, "Invalid"),
        (report.suspended, "Suspended"),
        (report.error, "Unavailable"),
        (state.pending is not None, "RollingOut"),
        (report.pin_refusal, "PinRefused"),
        (state.proposal is not None, "AwaitingReview"),
        (pinned, "Pinned"),
    )
    return next((word for hit, word in checks if hit), "Synced")


def verdict(tag: str, state: SyncerState, running: Pin | None, suspended: bool = False) -> tuple[str, str]:
    """What became of release ``tag``: a word and why."""
    key, pending, proposal = tag_key(tag), state.pending, state.proposal
    checks = (
        (key in state.rejected, "Rejected", state.rejected.get(key, "")),
        (tag in state.failed, "RolledBack", state.failed.get(tag, "")),
        (running is not None and running.version == tag, "Serving", ""),
        (pending is not None and pending.tag == tag, "RollingOut", ""),
        (proposal is not None and proposal.tag == tag, "Proposed", "its pull request awaits review"),
        (tag in state.accepted, "Accepted", "passed the gate; not serving"),
    )
    for hit, word, why in checks:
        if hit:
            return word, why
    return "NotEvaluated", "suspended" if suspended else "not gated (another release is pinned or in flight)"


def _condition(kind: str, true: bool, reason: str, message: str) -> dict[str, Any]:
    return {"type": kind, "status": "True" if true else "False", "reason": reason, "message": clip(message)}


def conditions(report: Report, word: str, latest: tuple[str, str] | None) -> list[dict[str, Any]]:
    """Ready (the api serves what the syncer stands by), Progressing (a rollout or review is under way) and
    Degraded (something needs a person: a spec, a refused pin or release, a failing dependency)."""
    running = report.running.version if report.running is not None else "unknown"
    serving = f"{running} is serving"
    pending, proposal = report.state.pending, report.state.proposal
    ready_words = ("Synced", "Pinned", "AwaitingReview", "Suspended")
    ready = _condition("Ready", word in ready_words, word, serving if word in ready_words else f"{word}: {serving}")
    if pending is not None:
        progressing = _condition("Progressing", True, "RollingOut", f"rolling out {pending.tag}")
    elif proposal is not None:
        progressing = _condition(
            "Progressing", True, "AwaitingReview", f"pull request #{proposal.number} proposes {proposal.tag}"
        )
    else:
        progressing = _condition("Progressing", False, "Suspended" if report.suspended else "Idle", serving)
    if report.invalid:
        degraded = _condition("Degraded", True, "InvalidSpec", report.invalid)
    elif report.error:
        degraded = _condition("Degraded", True, "Unavailable", report.error)
    elif report.pin_refusal:
        degraded = _condition("Degraded", True, "PinRefused", report.pin_refusal)
    elif latest is not None and latest[0] in ("Rejected", "RolledBack"):
        degraded = _condition("Degraded", True, f"Release{latest[0]}", latest[1])
    else:
        degraded = _condition("Degraded", False, "AsExpected", serving)
    return [ready, progressing, degraded]


def _stamp(at: datetime) -> str:
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def state_document(state: SyncerState) -> tuple[dict[str, Any], list[Mapping[str, str]]]:
    """``state`` as the status keeps it: the syncer's memory and, apart, its history."""
    data = json.loads(state.to_json())
    return data, data.pop("history")


def state_from_document(memory: Mapping[str, Any] | None, history: list[Any] | None) -> SyncerState:
    return SyncerState.from_json(json.dumps({**(memory or {}), "history": history or []}))


def model_status(report: Report, previous: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The whole status after ``report``; a condition keeps its ``lastTransitionTime`` while its status stays, and
    what this pass did not learn (the serving pin, the newest release, the last poll) stays as it was."""
    word = _word(report)
    latest_tag = report.newest if report.polled else (previous.get("latest") or {}).get("tag")
    latest = verdict(latest_tag, report.state, report.running, report.suspended) if latest_tag else None
    before = {c.get("type"): c for c in previous.get("conditions") or [] if isinstance(c, Mapping)}
    stamped = []
    for condition in conditions(report, word, latest):
        old = before.get(condition["type"], {})
        changed = old.get("status") != condition["status"]
        since = _stamp(now) if changed or "lastTransitionTime" not in old else old["lastTransitionTime"]
        stamped.append({**condition, "lastTransitionTime": since, "observedGeneration": report.generation})
    memory, history = state_document(report.state)
    status: dict[str, Any] = {
        "observedGeneration": report.generation,
        "state": word,
        "conditions": stamped,
        "history": history,
        "syncer": memory,
    }
    if report.running is not None:
        status["serving"] = {
            "version": report.running.version,
            "sha256": report.running.sha256,
            "url": report.running.url,
        }
    elif "serving" in previous:
        status["serving"] = previous["serving"]
    if latest is not None and latest_tag:
        status["latest"] = {"tag": latest_tag, "verdict": latest[0], "reason": clip(latest[1])}
    if report.retried is not None:
        status["retried"] = {"generation": report.retried[0], "tags": list(report.retried[1])}
    elif "retried" in previous:
        status["retried"] = previous["retried"]
    if report.polled:
        status["lastPollTime"] = _stamp(now)
    elif "lastPollTime" in previous:
        status["lastPollTime"] = previous["lastPollTime"]
    return status
