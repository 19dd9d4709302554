"""FastAPI dependencies of the service routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from digits_api.metrics import ApiMetrics
from digits_api.registry import ModelRegistry


def _registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry = request.app.state.registry
    return registry


def _metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


RegistryDep = Annotated[ModelRegistry, Depends(_registry)]
MetricsDep = Annotated[ApiMetrics, Depends(_metrics)]
