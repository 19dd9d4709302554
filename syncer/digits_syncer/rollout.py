"""Is a Deployment's rollout complete, still progressing, or past its progress deadline?

``rollout_status`` is a pure function of the Deployment object (the same rules as
``kubectl rollout status``); ``digits_syncer.kube.wait_for_rollout`` watches with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RolloutState(StrEnum):
    COMPLETE = "complete"
    PROGRESSING = "progressing"
    FAILED = "failed"


@dataclass(frozen=True)
class RolloutStatus:
    state: RolloutState
    message: str

    @property
    def done(self) -> bool:
        return self.state is not RolloutState.PROGRESSING


def _get(obj: Any, *path: str) -> Any:
    """Read a field from a client model object or a plain dict (snake_case or camelCase keys)."""
    for name in path:
        if obj is None:
            return None
        if isinstance(obj, dict):
            camel = name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
            obj = obj.get(name, obj.get(camel))
        else:
            obj = getattr(obj, name, None)
    return obj


def rollout_status(deployment: Any) -> RolloutStatus:
    generation = _get(deployment, "metadata", "generation") or 0
    observed = _get(deployment, "status", "observed_generation") or 0
    if generation > observed:
        return RolloutStatus(RolloutState.PROGRESSING, "waiting for the deployment spec update to be observed")
    for condition in _get(deployment, "status", "conditions") or []:
        if _get(condition, "type") == "Progressing" and _get(condition, "reason") == "ProgressDeadlineExceeded":
            return RolloutStatus(RolloutState.FAILED, f"progress deadline exceeded: {_get(condition, 'message')}")
    desired = _get(deployment, "spec", "replicas")
    desired = 1 if desired is None else desired
    updated = _get(deployment, "status", "updated_replicas") or 0
    total = _get(deployment, "status", "replicas") or 0
    available = _get(deployment, "status", "available_replicas") or 0
    if updated < desired:
        return RolloutStatus(RolloutState.PROGRESSING, f"{updated} of {desired} new replicas have been updated")
    if total > updated:
        return RolloutStatus(RolloutState.PROGRESSING, f"{total - updated} old replicas are pending termination")
    if available < updated:
        return RolloutStatus(RolloutState.PROGRESSING, f"{available} of {updated} updated replicas are available")
    return RolloutStatus(RolloutState.COMPLETE, f"{updated} replicas updated and available")
