"""The app across the kind cluster's two workers: spread, a drain under load, and the api's autoscaler.

The control plane takes no app pods, so the api and the frontend must be on both workers; draining one
while a client sends /predict through the NodePort must fail no request; load from inside the cluster
must make the HorizontalPodAutoscaler add api replicas, and its end must take them away again.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import wait_for_rollouts
from tests.support.kind import KindCluster
from tests.support.predict_load import PredictLoad
from tests.support.rollouts import keep_report
from tests.support.servers import wait_until

APPS = ("digits-api", "digits-frontend")
LOAD_JOB = "digits-e2e-load"
LOAD_THREADS = 8
MIN_REPLICAS = 2
AT_REST = (MIN_REPLICAS, MIN_REPLICAS)  # the HPA's desired count, the api's ready replicas
SCALE_TIMEOUT_S = 300

# Sends /predict to the api Service from inside the cluster for as long as the Job lives (the frontend's
# per-client rate limit would cap load sent through the NodePort far below what moves CPU).
LOAD_SCRIPT = """
import os, threading, time, urllib.request
body = os.environb[b"PIXELS"]
end = time.monotonic() + float(os.environ["LOAD_SECONDS"])
def send():
    while time.monotonic() < end:
        request = urllib.request.Request("http://digits-api:8000/predict", data=body,
                                         headers={"content-type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10).read()
        except OSError as error:
            print("failed:", error, flush=True)
threads = [threading.Thread(target=send) for _ in range(int(os.environ["LOAD_THREADS"]))]
for thread in threads: thread.start()
for thread in threads: thread.join()
"""


def _pods(system: KindCluster, app: str) -> list[dict[str, Any]]:
    """The app's pods that are not terminating."""
    listed = json.loads(system.kubectl("get", "pods", "-l", f"app.kubernetes.io/name={app}", "-o", "json"))
    return [pod for pod in listed["items"] if not pod["metadata"].get("deletionTimestamp")]


def _nodes_of(system: KindCluster, app: str) -> list[str]:
    return sorted(pod["spec"].get("nodeName", "") for pod in _pods(system, app))


def _api_replicas(system: KindCluster) -> tuple[int, int]:
    """The HPA's desired count and the api's ready replicas."""
    hpa = json.loads(system.kubectl("get", "hpa", "digits-api", "-o", "json"))
    ready = system.kubectl("get", "deployment", "digits-api", "-o", "jsonpath={.status.readyReplicas}")
    return hpa["status"].get("desiredReplicas", 0), int(ready or 0)


def _autoscaler_view(system: KindCluster) -> str:
    """What the HPA and the load saw, for a failure message: its conditions and events, the pods' CPU."""
    views = (
        ("describe", "hpa", "digits-api"),
        ("top", "pods", "-l", "app.kubernetes.io/name=digits-api"),
        ("get", "pods", "-o", "wide", "-l", f"app.kubernetes.io/name in (digits-api,{LOAD_JOB})"),
        ("logs", f"job/{LOAD_JOB}", "--tail=5"),
    )
    shown = []
    for view in views:
        try:
            shown.append(system.kubectl(*view))
        except (RuntimeError, subprocess.TimeoutExpired) as error:  # metrics-server may be what is broken
            shown.append(str(error))
    return "\n".join(shown)


def _wait(system: KindCluster, condition: Callable[[], bool], what: str) -> None:
    try:
        wait_until(condition, SCALE_TIMEOUT_S, what, interval_s=2)
    except TimeoutError as error:
        raise TimeoutError(f"{error}\n{_autoscaler_view(system)}") from None


def test_the_api_and_the_frontend_run_on_both_workers_and_never_on_the_control_plane(system):
    workers = system.workers()
    assert len(workers) == 2, f"kubernetes/kind-cluster.yaml makes two workers, the cluster has {workers}"
    wait_for_rollouts(system, APPS)
    for app in APPS:
        nodes = _nodes_of(system, app)
        assert set(nodes) == workers, f"{app} runs on {nodes}"


def test_a_worker_drained_under_load_fails_no_request(system, pixels):
    drained = sorted(system.workers())[-1]  # the store's volume is on the first worker
    moved = {app: _nodes_of(system, app).count(drained) for app in APPS}
    started = time.monotonic()
    try:
        with PredictLoad(pixels) as load:
            system.kubectl(
                "drain", drained, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=240s", timeout_s=270
            )
            drained_s = time.monotonic() - started
            wait_for_rollouts(system, APPS)
            time.sleep(5)  # answers from the replicas that stayed and those that moved
    finally:
        system.kubectl("uncordon", drained)
    placed = {app: _nodes_of(system, app) for app in APPS}
    keep_report(
        "drain",
        {"node": drained, "pods_moved": moved, "drain_s": round(drained_s, 1), "placed_after": placed}
        | {"requests": load.sent, "failures": load.failures},
    )
    assert all(moved.values()), f"the drained worker held no replica of each app: {moved}"
    assert load.sent > 0 and load.failures == [], load.failures[:5]
    assert all(drained not in nodes for nodes in placed.values()), placed

    # New pods go where the spread wants them: a restart puts a replica back on the uncordoned worker.
    for app in APPS:
        system.kubectl("rollout", "restart", f"deployment/{app}")
    wait_for_rollouts(system, APPS)
    for app in APPS:
        assert drained in _nodes_of(system, app), f"{app} did not come back to {drained}"


def _load_job(pixels: list[int], seconds: int) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": LOAD_JOB}
    container = {
        "name": "load",
        "image": "digits-api:dev",
        "imagePullPolicy": "Never",
        "command": ["python3", "-c", LOAD_SCRIPT],
        "env": [
            {"name": "PIXELS", "value": json.dumps(pixels)},
            {"name": "LOAD_SECONDS", "value": str(seconds)},
            {"name": "LOAD_THREADS", "value": str(LOAD_THREADS)},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
        },
    }
    job_spec = {"backoffLimit": 0, "activeDeadlineSeconds": seconds + 60, "template": pod}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": LOAD_JOB}, "spec": job_spec}


def _load_policies() -> list[dict[str, Any]]:
    """NetworkPolicies that let the test's load pods talk to the api (beside the frontend and the syncer)."""
    load = {"matchLabels": {"app.kubernetes.io/name": LOAD_JOB}}
    api = {"matchLabels": {"app.kubernetes.io/name": "digits-api"}}
    port = [{"protocol": "TCP", "port": 8000}]
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{LOAD_JOB}-{direction}"},
            "spec": {"podSelector": selected, "policyTypes": [direction.capitalize()], direction: [rule]},
        }
        for direction, selected, rule in (
            ("ingress", api, {"from": [{"podSelector": load}], "ports": port}),
            ("egress", load, {"to": [{"podSelector": api}], "ports": port}),
        )
    ]


@pytest.fixture
def load_job(system) -> Any:
    def start(pixels: list[int], seconds: int) -> None:
        for manifest in (*_load_policies(), _load_job(pixels, seconds)):
            system.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))

    def stop() -> None:
        system.kubectl("delete", "job", LOAD_JOB, "--ignore-not-found", "--wait=true", "--cascade=foreground")

    yield start, stop
    stop()
    system.kubectl("delete", "networkpolicy", f"{LOAD_JOB}-ingress", f"{LOAD_JOB}-egress", "--ignore-not-found")


def test_the_api_scales_out_under_load_and_back_in_when_it_ends(system, pixels, load_job):
    start, stop = load_job
    _wait(system, lambda: _api_replicas(system) == AT_REST, "the api at rest")
    started = time.monotonic()
    start(pixels, SCALE_TIMEOUT_S)
    _wait(system, lambda: _api_replicas(system)[1] > MIN_REPLICAS, "the HPA adding api replicas")
    scaled_out_s = time.monotonic() - started
    peak = max(_api_replicas(system))
    nodes = _nodes_of(system, "digits-api")
    stop()
    ended = time.monotonic()
    _wait(system, lambda: _api_replicas(system) == AT_REST, "the HPA scaling in")
    scaled_in_s = time.monotonic() - ended
    keep_report(
        "autoscaling",
        {"scaled_out_s": round(scaled_out_s, 1), "peak_replicas": peak, "nodes_at_peak": nodes}
        | {"scaled_in_s": round(scaled_in_s, 1), "hpa": system.kubectl("get", "hpa", "digits-api")},
    )
    assert len(set(nodes)) == 2, f"the added replicas spread over both workers: {nodes}"
