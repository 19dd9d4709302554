"""The syncer's probes and metrics over HTTP: ``/healthz`` (polls succeed often enough), ``/readyz``
(a first reconcile is done) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest


class SyncerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "digits_syncer_reconciles_total", "Reconciles by outcome.", ["outcome"], registry=self.registry
        )
        self.errors = Counter(
            "digits_syncer_errors_total", "Temporary errors by kind.", ["kind"], registry=self.registry
        )
        self.last_success = Gauge(
            "digits_syncer_last_success_timestamp_seconds", "When a poll last succeeded.", registry=self.registry
        )
        self.leader = Gauge(
            "digits_syncer_leader", "1 while this replica is the active syncer.", registry=self.registry
        )


@dataclass
class Health:
    max_poll_age_s: float | Callable[[], float]
    """Seconds, or a function of the spec in force (a ``DigitsModel`` may change the poll interval)."""
    last_success: float | None = None
    ready: bool = False
    started: float = field(default_factory=time.monotonic)

    def live(self) -> bool:
        """Live while polls succeed often enough (a fresh process gets one allowance to make its first)."""
        reference = self.last_success if self.last_success is not None else self.started
        limit = self.max_poll_age_s() if callable(self.max_poll_age_s) else self.max_poll_age_s
        return time.monotonic() - reference <= limit


def serve_health(port: int, health: Health, metrics: SyncerMetrics) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._answer(200 if health.live() else 503, b"ok\n" if health.live() else b"last poll too old\n")
            elif self.path == "/readyz":
                self._answer(200 if health.ready else 503, b"ready\n" if health.ready else b"not yet\n")
            elif self.path == "/metrics":
                self._answer(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            else:
                self._answer(404, b"not found\n")

        def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - probes come from the kubelet
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
