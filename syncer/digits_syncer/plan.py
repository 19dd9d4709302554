"""The syncer's decisions, as pure functions of what is desired and what is observed (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from digits_syncer.releases import Release
from digits_syncer.rollout import RolloutState, RolloutStatus
from digits_syncer.state import PendingRollout, Pin, SyncerState


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

    release: Release


Action = Idle | Resume | Deploy


def plan(desired: Release | None, observed: Observed) -> Action:
    pending = observed.state.pending
    if pending is not None and (desired is None or desired.tag == pending.tag):
        return Resume(pending)
    if desired is None:
        return Idle("no eligible release")
    if desired.tag == observed.running.version:
        return Idle(f"{desired.tag} is already running")
    return Deploy(desired)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str


def judge(accuracy: float, serving_accuracy: float | None, min_accuracy: float, max_regression: float) -> Verdict:
    """The gate's decision from holdout accuracies (the serving model's on the same digits, when comparable)."""
    if accuracy < min_accuracy:
        return Verdict(False, f"holdout accuracy {accuracy:.4f} is below the floor {min_accuracy:.4f}")
    if serving_accuracy is not None and serving_accuracy - accuracy > max_regression:
        return Verdict(
            False,
            f"holdout accuracy {accuracy:.4f} is worse than the serving model's {serving_accuracy:.4f}"
            f" by more than {max_regression:.4f}",
        )
    return Verdict(True, f"holdout accuracy {accuracy:.4f}")


def after_rollout(status: RolloutStatus) -> bool:
    """True when the rollout may stand; False when it must be rolled back."""
    return status.state is RolloutState.COMPLETE
