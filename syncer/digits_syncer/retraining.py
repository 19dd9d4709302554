"""When to start a training Job, as pure functions (no I/O): enough labelled drawings have arrived since
the data the serving model was trained on, none is running, and the last one started long enough ago."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetrainRules:
    after_drawings: int
    """New labelled drawings that start a Job (0: never)."""
    min_interval: timedelta
    """Least time between two Jobs' starts, whatever their outcome: a flood of feedback, honest or not,
    costs at most one training run per interval."""


@dataclass(frozen=True)
class TrainingJobs:
    """The training Jobs the cluster still holds (finished ones until their TTL removes them)."""

    running: tuple[str, ...]
    last_started: datetime | None


@dataclass(frozen=True)
class Decision:
    start: bool
    reason: str


def retrain_decision(new_drawings: int, jobs: TrainingJobs, now: datetime, rules: RetrainRules) -> Decision:
    """Whether to start a training Job now. ``new_drawings``: labelled drawings saved after the newest one
    the serving model was trained on (all of them for a model trained on none), or after the last Job
    started when that is later."""
    if rules.after_drawings <= 0:
        return Decision(False, "retraining is off")
    if jobs.running:
        return Decision(False, f"training Job {jobs.running[0]} is still running")
    if new_drawings < rules.after_drawings:
        return Decision(False, f"{new_drawings} new labelled drawings, fewer than {rules.after_drawings}")
    if jobs.last_started is not None and now - jobs.last_started < rules.min_interval:
        wait = jobs.last_started + rules.min_interval - now
        return Decision(
            False,
            f"{new_drawings} new labelled drawings, but the last training Job started"
            f" {_minutes(now - jobs.last_started)} ago (next in {_minutes(wait)})",
        )
    return Decision(True, f"{new_drawings} new labelled drawings since the serving model's data and the last Job")


def retrain_tag(prefix: str, now: datetime) -> str:
    """The release tag a Job started at ``now`` publishes (sorts by time; a valid model version)."""
    return f"{prefix}{now:%Y%m%dT%H%M%SZ}"


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"
