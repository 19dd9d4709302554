"""FastAPI dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from digits_api.errors import BodyTooLarge, UnsupportedMediaType
from digits_api.metrics import ApiMetrics
from digits_api.registry import ModelRegistry
from digits_api.settings import ApiSettings


def _registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry = request.app.state.registry
    return registry


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def _metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


async def _json_body(request: Request) -> bytes:
    """The raw JSON body, refused early when too large or of the wrong media type."""
    settings: ApiSettings = request.app.state.settings
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected Content-Type application/json, got {media_type or 'none'}")
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


RegistryDep = Annotated[ModelRegistry, Depends(_registry)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
MetricsDep = Annotated[ApiMetrics, Depends(_metrics)]
JsonBody = Annotated[bytes, Depends(_json_body)]
