"""Running the reconcile loop: leader election, retries with GitHub's wait times, health and metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from digits_syncer.backoff import backoff, bounded_wait
from digits_syncer.ports import Interrupted, KubernetesUnavailable, RecordError, SourceError
from digits_syncer.reconcile import Outcome, Syncer

log = logging.getLogger("digits_syncer")
TEMPORARY_ERRORS = (SourceError, KubernetesUnavailable, RecordError, OSError)
DEFAULT_MAX_WAIT_S = 900.0


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
    max_poll_age_s: float
    last_success: float | None = None
    ready: bool = False
    started: float = field(default_factory=time.monotonic)

    def live(self) -> bool:
        """Live while polls succeed often enough (a fresh process gets one allowance to make its first)."""
        reference = self.last_success if self.last_success is not None else self.started
        return time.monotonic() - reference <= self.max_poll_age_s


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


def run_forever(
    syncer: Syncer,
    *,
    interval_s: float,
    health: Health,
    metrics: SyncerMetrics,
    leader: Callable[[], bool],
    stop: threading.Event,
    max_wait_s: float = DEFAULT_MAX_WAIT_S,
) -> None:
    """Reconcile every ``interval_s`` until ``stop`` is set. No error ends the loop: temporary ones wait
    as long as the server asks or the backoff says, unexpected ones are logged with their traceback
    and wait the backoff; every wait lies within [1 s, ``max_wait_s``] and ends early on ``stop``."""
    failures = 0
    while not stop.is_set():
        wait = interval_s
        try:
            if leader():
                metrics.leader.set(1)
                outcome = syncer.reconcile_once()
                metrics.reconciles.labels(outcome=outcome.value).inc()
                if outcome is not Outcome.UP_TO_DATE:
                    log.info("reconcile: %s", outcome.value)
            else:
                metrics.leader.set(0)
                log.debug("another replica holds the lease: staying passive")
            failures = 0
            health.last_success, health.ready = time.monotonic(), True
            metrics.last_success.set(time.time())
        except Interrupted:
            log.info("interrupted by a stop request: stopping")
        except TEMPORARY_ERRORS as error:
            failures += 1
            asked = getattr(error, "retry_after_s", None)
            wait = bounded_wait(asked, max_wait_s, backoff(failures, max_wait_s))
            metrics.errors.labels(kind=type(error).__name__).inc()
            log.warning("attempt #%d failed: %s; will retry in %.0f s", failures, error, wait)
        except Exception as error:  # a bug or an answer nobody foresaw must not end the loop
            failures += 1
            wait = backoff(failures, max_wait_s)
            metrics.errors.labels(kind=type(error).__name__).inc()
            log.error("attempt #%d failed unexpectedly; will retry in %.0f s", failures, wait, exc_info=True)
        stop.wait(wait)
