"""``GET /drift``: how the latest inputs compare with what the served model was trained on."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter

from digits_api.drift_monitor import DriftMonitor
from digits_api.registry import ModelRegistry
from digits_api.schemas import ERRORS


def drift_router(registry: ModelRegistry, monitor: DriftMonitor) -> APIRouter:
    router = APIRouter(tags=["drift"])

    @router.get(
        "/drift",
        summary="Drift of the latest inputs",
        description="Per feature of the inputs and answers: the live proportions over the recent window, the"
        " served bundle's reference proportions, the population stability index and its reading (stable,"
        " moderate, significant; unknown for bundles that record no reference).",
        responses={503: ERRORS[503]},
    )
    async def drift() -> dict[str, Any]:
        model = registry.current
        return await anyio.to_thread.run_sync(monitor.report, model)

    return router
