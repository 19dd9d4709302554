"""Prometheus metrics of the API, in a registry of their own (one per app, so tests can run several)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KNOWN_ROUTES = frozenset(
    {
        "/predict",
        "/predict/batch",
        "/feedback",
        "/feedback/stats",
        "/drift",
        "/model",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api-docs",
        "/openapi.json",
    }
)
# Feedback names a model version the page was told; only versions this process served become label values.
MAX_VERSION_LABELS = 50
OTHER_VERSION = "other"


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "digits_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "digits_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.predictions = Counter(
            "digits_predictions_total",
            "Predicted labels served.",
            ["label", "model_version"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "digits_model_info", "The served model version (value 1).", ["model_version"], registry=self.registry
        )
        self.feedback = Counter(
            "digits_feedback_total",
            "Answers people gave about predictions, by model version and outcome (right or wrong): live accuracy"
            " is sum by (model_version) (rate(digits_feedback_total{outcome='right'}[1h])) / sum by (model_version)"
            " (rate(digits_feedback_total[1h])).",
            ["model_version", "outcome"],
            registry=self.registry,
        )
        self.inference_batch = Histogram(
            "digits_inference_batch_images",
            "Images per model call for single predictions (those arriving together run as one batch).",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.model_loaded = Gauge(
            "digits_model_loaded_timestamp_seconds", "When the served model was loaded.", registry=self.registry
        )

        # Children by label values, looked up once each: labels() takes a lock and builds a key per call.
        # Their number is bounded: known routes, the methods the HTTP parser accepts, status codes.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._prediction_children: dict[tuple[str, str], Any] = {}
        self._served_versions: list[str] = []

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        children = self._request_children.get((route, method, status))
        if children is None:
            children = (
                self.requests.labels(route=route, method=method, status=str(status)),
                self.latency.labels(route=route, method=method),
            )
            self._request_children[(route, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_predictions(self, version: str, counts: dict[str, int]) -> None:
        """Adds ``counts`` (predictions served by label) to ``digits_predictions_total``."""
        for label, count in counts.items():
            child = self._prediction_children.get((label, version))
            if child is None:
                child = self._prediction_children[label, version] = self.predictions.labels(
                    label=label, model_version=version
                )
            child.inc(count)

    def count_feedback(self, version: str, right: bool) -> None:
        label = version if version in self._served_versions else OTHER_VERSION
        self.feedback.labels(model_version=label, outcome="right" if right else "wrong").inc()

    def served(self, version: str, loaded_at: float) -> None:
        if version not in self._served_versions:
            self._served_versions = [*self._served_versions, version][-MAX_VERSION_LABELS:]
        self.model_info.clear()
        self.model_info.labels(model_version=version).set(1)
        self.model_loaded.set(loaded_at)


class MetricsMiddleware:
    """Counts and times every HTTP request (pure ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = (
            path
            if path in KNOWN_ROUTES
            else ("/" if not path.startswith(("/predict", "/model", "/feedback")) else "other")
        )
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.observe_request(route, scope["method"], status, time.perf_counter() - started)
