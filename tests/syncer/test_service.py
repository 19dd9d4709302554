"""The loop's health: ready after the first reconcile, not live when polls keep failing, metrics."""

from __future__ import annotations

import threading

import httpx

from digits_syncer.ports import SourceError
from digits_syncer.reconcile import Outcome
from digits_syncer.service import Health, SyncerMetrics, run_forever, serve_health
from tests.support.servers import free_port, wait_until


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
        kwargs={"interval_s": 0.05, "health": health, "metrics": metrics, "leader": lambda: True, "stop": stop},
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
        kwargs={"interval_s": 0.01, "health": health, "metrics": metrics, "leader": lambda: False, "stop": stop},
    )
    loop.start()
    wait_until(lambda: health.ready, 10, "the first (passive) round")
    stop.set()
    loop.join(timeout=5)
    assert syncer.calls == 0 and health.ready


def test_liveness_leaves_room_for_a_rollout_and_its_roll_back():
    from digits_syncer.settings import SyncerSettings

    # A 2 s poll with 90 s rollouts: one reconcile may block for 180 s without the syncer being stuck.
    assert SyncerSettings(poll_interval_s=2, rollout_timeout_s=90).liveness_age_s() == 186
    assert SyncerSettings(poll_interval_s=2, max_poll_age_s=10).liveness_age_s() == 10
