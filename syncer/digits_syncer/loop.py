"""The reconcile loop: reconcile while this replica leads, wait between polls, retry after errors (the
wait GitHub names, else the backoff sequence), and keep the health and metrics up to date."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from digits_syncer.backoff import backoff, bounded_wait
from digits_syncer.health_server import Health, SyncerMetrics
from digits_syncer.ports import GateUnavailable, Interrupted, KubernetesUnavailable, RecordError, SourceError
from digits_syncer.reconcile import Outcome

log = logging.getLogger("digits_syncer")
PASSIVE_RETRY_S = 5.0
"""How often a passive replica asks for the Lease again (it takes over soon after the leader's claim lapses)."""
STOP_CHECK_S = 0.5
"""How often a wait that a spec change may end looks at the stop request too."""
TEMPORARY_ERRORS = (SourceError, KubernetesUnavailable, RecordError, GateUnavailable, OSError)


class Reconciler(Protocol):
    def reconcile_once(self, retry: frozenset[str] = ...) -> Outcome: ...


def run_forever(
    syncer: Reconciler,
    *,
    interval_s: float | Callable[[], float],
    health: Health,
    metrics: SyncerMetrics,
    leader: Callable[[], bool],
    stop: threading.Event,
    max_wait_s: float,
    backoff_s: Sequence[float],
    after_reconcile: Callable[[], object] | None = None,
    wake: threading.Event | None = None,
) -> None:
    """Reconcile every ``interval_s`` until ``stop`` is set. No error ends the loop: temporary ones wait
    as long as the server asks or else the backoff step, unexpected ones are logged with their traceback
    and wait the backoff step (``backoff_s[n - 1]`` after n failures in a row, the last repeating); every
    wait lies within [1 s, ``max_wait_s``] and ends early on ``stop``, and on ``wake`` (a spec changed: act at once;
    ``interval_s`` may then be a function, read before each wait). ``after_reconcile`` (the retraining
    check) runs after each successful reconcile while leading; its failures are logged and counted only."""
    failures = 0

    def interval() -> float:  # read after each pass: the pass may have brought a new spec into force
        return interval_s() if callable(interval_s) else interval_s

    while not stop.is_set():
        wait = interval()
        try:
            if leader():
                metrics.leader.set(1)
                outcome = syncer.reconcile_once()
                metrics.reconciles.labels(outcome=outcome.value).inc()
                if outcome is not Outcome.UP_TO_DATE:
                    log.info("reconcile: %s", outcome.value)
                if after_reconcile is not None:
                    guarded(after_reconcile, metrics)
                wait = interval()
            else:
                metrics.leader.set(0)
                log.debug("another replica holds the lease: staying passive")
                wait = min(interval(), PASSIVE_RETRY_S)
            failures = 0
            health.last_success, health.ready = time.monotonic(), True
            metrics.last_success.set(time.time())
        except Interrupted:
            log.info("interrupted by a stop request: stopping")
        except TEMPORARY_ERRORS as error:
            failures += 1
            asked = getattr(error, "retry_after_s", None)
            wait = bounded_wait(asked, max_wait_s, backoff(failures, backoff_s, max_wait_s))
            metrics.errors.labels(kind=type(error).__name__).inc()
            log.warning("attempt #%d failed: %s; will retry in %.0f s", failures, error, wait)
        except Exception as error:  # a bug or an answer nobody foresaw must not end the loop
            failures += 1
            wait = backoff(failures, backoff_s, max_wait_s)
            metrics.errors.labels(kind=type(error).__name__).inc()
            log.error("attempt #%d failed unexpectedly; will retry in %.0f s", failures, wait, exc_info=True)
        pause(wait, stop, wake)


def pause(seconds: float, stop: threading.Event, wake: threading.Event | None) -> None:
    """Wait ``seconds``, less when ``stop`` or ``wake`` is set (``wake`` is cleared: one change, one early pass)."""
    if wake is None:
        stop.wait(seconds)
        return
    deadline = time.monotonic() + seconds
    while not (stop.is_set() or wake.is_set()) and (left := deadline - time.monotonic()) > 0:
        wake.wait(min(left, STOP_CHECK_S))
    wake.clear()


def guarded(check: Callable[[], object], metrics: SyncerMetrics) -> None:
    """Run ``check``; a failure is logged and counted, never raised."""
    try:
        check()
    except Exception as error:  # the store or the api is down, a Job could not be created: next poll
        metrics.errors.labels(kind=f"retrain:{type(error).__name__}").inc()
        log.warning("the retraining check failed: %s: %s", type(error).__name__, error)
