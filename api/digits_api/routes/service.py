"""``GET /model``, ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from digits_api.deps import MetricsDep, RegistryDep
from digits_api.json_response import json_response
from digits_api.schemas import ERRORS, Health

router = APIRouter(tags=["service"])


@router.get(
    "/model",
    summary="The manifest of the served model, and when it was loaded",
    responses={503: ERRORS[503], 200: {"description": "The bundle manifest plus loaded_at (RFC 3339)."}},
)
async def model_info(registry: RegistryDep) -> Response:
    model = registry.current
    manifest: dict[str, Any] = model.bundle.manifest.model_dump(mode="json", by_alias=True, exclude_none=True)
    loaded_at = datetime.fromtimestamp(model.loaded_at or 0, UTC).isoformat().replace("+00:00", "Z")
    return json_response({**manifest, "loaded_at": loaded_at}, model_version=model.version)


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: a model is loaded and passed its self-test",
    response_model=Health,
    responses={503: ERRORS[503]},
)
async def readyz(registry: RegistryDep) -> Health:
    return Health(status="ready", model_version=registry.current.version)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
