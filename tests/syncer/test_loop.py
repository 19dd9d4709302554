"""The reconcile loop and its health: ready after the first reconcile, not live when polls keep failing,
metrics, and the waits of the backoff sequence."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest

from digits_syncer.backoff import backoff
from digits_syncer.health_server import Health, SyncerMetrics, serve_health
from digits_syncer.loop import run_forever
from digits_syncer.ports import SourceError
from digits_syncer.reconcile import Outcome
from tests.support.servers import free_port, wait_until

WAITS = {"max_wait_s": 900.0, "backoff_s": (5.0, 15.0)}


class _ScriptedSyncer:
    """Answers reconcile_once from a script: an Outcome, or an exception to raise."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = 0

    def reconcile_once(self):
        self.calls += 1
        step = self.script.pop(0) if self.script else Outcome.UP_TO_DATE
        if isinstance(step, Exception):
            raise step
        return step


def test_health_readiness_and_metrics():
    port = free_port()
    health, metrics = Health(max_poll_age_s=1.0), SyncerMetrics()
    server = serve_health(port, health, metrics)
    url = f"http://127.0.0.1:{port}"
    syncer = _ScriptedSyncer(
        [SourceError("GitHub down", retry_after_s=0.05), Outcome.DEPLOYED]
        + [SourceError("GitHub down", retry_after_s=0.05)] * 1000
    )
    stop = threading.Event()
    assert httpx.get(f"{url}/readyz").status_code == 503
    loop = threading.Thread(
        target=run_forever,
        args=(syncer,),
        kwargs={"interval_s": 0.05, "health": health, "metrics": metrics, "leader": lambda: True, "stop": stop} | WAITS,
    )
    loop.start()
    try:
        wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, 10, "readiness after a reconcile")
        assert httpx.get(f"{url}/healthz").status_code == 200
        # Every later poll fails: once the last success is older than max_poll_age_s, not live.
        wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 503, 10, "liveness to fail")
        text = httpx.get(f"{url}/metrics").text
        assert 'digits_syncer_reconciles_total{outcome="deployed"} 1.0' in text
        assert 'digits_syncer_errors_total{kind="SourceError"}' in text
        assert "digits_syncer_leader 1.0" in text
    finally:
        stop.set()
        loop.join(timeout=10)
        server.shutdown()


def test_a_passive_replica_does_not_reconcile():
    syncer = _ScriptedSyncer([])
    health, metrics, stop = Health(60), SyncerMetrics(), threading.Event()
    loop = threading.Thread(
        target=run_forever,
        args=(syncer,),
        kwargs={"interval_s": 0.01, "health": health, "metrics": metrics, "leader": lambda: False, "stop": stop}
        | WAITS,
    )
    loop.start()
    wait_until(lambda: health.ready, 10, "the first (passive) round")
    stop.set()
    loop.join(timeout=5)
    assert syncer.calls == 0 and health.ready


@pytest.mark.parametrize(
    ("failures", "steps", "max_s", "wait"),
    [
        (1, (5.0, 15.0, 60.0), 900.0, 5.0),
        (2, (5.0, 15.0, 60.0), 900.0, 15.0),
        (3, (5.0, 15.0, 60.0), 900.0, 60.0),
        (9, (5.0, 15.0, 60.0), 900.0, 60.0),  # the last step repeats
        (0, (7.0,), 900.0, 7.0),
        (2, (5.0, 15.0), 10.0, 10.0),  # cut to the longest wait
    ],
)
def test_backoff_walks_its_steps(failures, steps, max_s, wait):
    assert backoff(failures, steps, max_s) == wait


class _StoppingSyncer:
    """Fails unexpectedly and stops the loop as it does: the loop logs the wait it would have taken."""

    def __init__(self, stop):
        self.stop = stop

    def reconcile_once(self):
        self.stop.set()
        raise RuntimeError("a bug")


def test_the_loop_waits_the_configured_backoff(caplog):
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="digits_syncer"):
        run_forever(
            _StoppingSyncer(stop),
            interval_s=60,
            health=Health(60),
            metrics=SyncerMetrics(),
            leader=lambda: True,
            stop=stop,
            max_wait_s=900,
            backoff_s=(7.0, 11.0),
        )
    assert "attempt #1 failed unexpectedly; will retry in 7 s" in caplog.text


def test_the_retraining_check_runs_after_each_reconcile_and_its_failures_never_stop_the_loop(caplog):
    """A check that fails (the store down, a Job refused) is logged and counted; the loop goes on polling."""
    metrics, stop = SyncerMetrics(), threading.Event()
    syncer = _ScriptedSyncer([Outcome.UP_TO_DATE] * 3 + [SourceError("GitHub down", retry_after_s=0.05)])
    checks = []

    def check():
        checks.append(syncer.calls)
        if len(checks) == 1:
            raise ConnectionError("the store is down")
        if syncer.calls >= 3:
            stop.set()

    with caplog.at_level(logging.WARNING, logger="digits_syncer"):
        run_forever(
            syncer,
            interval_s=0.01,
            health=Health(max_poll_age_s=10),
            metrics=metrics,
            leader=lambda: True,
            stop=stop,
            after_reconcile=check,
            **WAITS,
        )
    assert checks == [1, 2, 3]  # after every successful reconcile, the failed first one included
    assert "the retraining check failed: ConnectionError: the store is down" in caplog.text
    assert metrics.errors.labels(kind="retrain:ConnectionError")._value.get() == 1
