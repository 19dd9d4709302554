"""Model releases published on the (local) GitHub reach the cluster with nobody touching it.

The tests run in order on one cluster: a good release rolls out (v1.1.0), a bad one is refused
(v1.2.0), and one whose pods cannot start is rolled back (v1.3.0). Throughout, a client sends
/predict through the frontend's NodePort and every answer must be a 200.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from digits_syncer.kube import ConfigMapStateStore
from digits_syncer.pin_manifest import VERSION_ANNOTATION
from digits_syncer.settings import RecordSettings
from digits_syncer.state import SyncerState
from kubernetes import client
from tests.support.bundles import publish_bundle
from tests.support.github_server import Fault
from tests.support.kind import NAMESPACE, NODE_PORT_URL
from tests.support.paths import ARTIFACTS, BAKED_IN_VERSION
from tests.support.predict_load import PredictLoad
from tests.support.servers import wait_until

API_SELECTOR = "app.kubernetes.io/name=digits-api"
PIN_PATH = RecordSettings.model_fields["deploy_pin_path"].default  # the syncer in the cluster keeps the default


def _pods(core: Any) -> list[Any]:
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=API_SELECTOR).items
    return [pod for pod in pods if pod.metadata.deletion_timestamp is None]


def _served_version(core: Any, pod: str) -> str | None:
    """What one pod serves, asked through the API server's pod proxy (the pods are not exposed)."""
    try:
        response = core.connect_get_namespaced_pod_proxy_with_path(
            f"{pod}:8000", NAMESPACE, "model", _preload_content=False
        )
        return str(json.loads(response.data)["version"])
    except (client.ApiException, ValueError, KeyError):
        return None


def _serving_everywhere(apps: Any, core: Any, version: str) -> bool:
    """The api Deployment has rolled out ``version`` and no other pod is left, each answering with it."""
    deployment = apps.read_namespaced_deployment("digits-api", NAMESPACE)
    status, replicas = deployment.status, deployment.spec.replicas
    rolled_out = (
        (deployment.spec.template.metadata.annotations or {}).get(VERSION_ANNOTATION) == version
        and (status.observed_generation or 0) >= deployment.metadata.generation
        and status.replicas == status.updated_replicas == status.available_replicas == replicas
    )
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=API_SELECTOR).items
    return (
        rolled_out
        and len(pods) == replicas
        and all(_served_version(core, pod.metadata.name) == version for pod in pods)
    )


def _events(core: Any, reason: str, tag: str, since: datetime) -> list[str]:
    """Messages of the syncer's Events on the api Deployment since ``since`` (earlier runs' Events linger)."""
    events = core.list_namespaced_event(NAMESPACE).items
    since = since.replace(microsecond=0)  # Event times have whole seconds
    return [
        e.message
        for e in events
        if e.reason == reason
        and e.involved_object.name == "digits-api"
        and tag in e.message
        and e.metadata.creation_timestamp >= since
    ]


def _state(api: Any) -> SyncerState:
    return ConfigMapStateStore(api, NAMESPACE, "digits-syncer-state", 10).load()


def _report(name: str, release: str, load: PredictLoad, **timings_s: float) -> None:
    """What a client saw while ``release`` was handled, kept as artifacts/tests/e2e-<name>.json."""
    report = {
        "release": release,
        **timings_s,
        "requests": load.sent,
        "failures": load.failures,
        "answers_by_version": load.versions,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"e2e-{name}.json").write_text(json.dumps(report, indent=2))


def test_a_published_release_reaches_every_api_pod_with_no_failed_request(
    system, hub, kube, pixels, tmp_path, baked_in_bundle, capsys
):
    api, apps, core = kube
    with PredictLoad(pixels) as load:
        since, published = datetime.now(UTC), time.monotonic()
        publish_bundle(hub, baked_in_bundle, tmp_path, "v1.1.0")
        wait_until(lambda: _serving_everywhere(apps, core, "v1.1.0"), 300, "every api pod to serve v1.1.0", 0.5)
        rolled_out_s = time.monotonic() - published
        time.sleep(3)  # answers from the last replaced pods' final moments count too
    _report("rollout", "v1.1.0", load, publication_to_last_pod_ready_s=round(rolled_out_s, 1))
    with capsys.disabled():
        print(
            f"\nv1.1.0 served by every api pod {rolled_out_s:.1f} s after publication; "
            f"{load.sent} /predict requests during the rollout, {len(load.failures)} failed ({load.versions})"
        )
    assert load.failures == []
    assert set(load.versions) == {BAKED_IN_VERSION, "v1.1.0"}
    assert httpx.get(f"{NODE_PORT_URL}/model", timeout=10).json()["version"] == "v1.1.0"
    pin = hub.file_at("main", PIN_PATH)
    assert pin is not None and b"v1.1.0" in pin  # the deployment repository records what runs
    assert _state(api).deployed == "v1.1.0"
    assert _events(core, "RolloutComplete", "v1.1.0", since)


def test_a_release_failing_the_gate_changes_nothing_and_says_why(system, hub, kube, tmp_path, baked_in_bundle):
    api, apps, core = kube
    before = apps.read_namespaced_deployment("digits-api", NAMESPACE)
    commits = hub.commits()
    since = datetime.now(UTC)
    # The same network with its labels reversed: a model that gets almost every digit wrong.
    publish_bundle(hub, baked_in_bundle, tmp_path, "v1.2.0", labels=list(range(9, -1, -1)))
    wait_until(lambda: bool(_events(core, "ReleaseRejected", "v1.2.0", since)), 120, "the syncer to reject v1.2.0", 1)
    (message,) = _events(core, "ReleaseRejected", "v1.2.0", since)
    assert "accuracy" in message
    after = apps.read_namespaced_deployment("digits-api", NAMESPACE)
    assert after.metadata.generation == before.metadata.generation
    assert after.spec.template == before.spec.template
    assert hub.commits() == commits
    assert "v1.2.0" in _state(api).rejected
    assert {_served_version(core, pod.metadata.name) for pod in _pods(core)} == {"v1.1.0"}


def test_a_release_whose_pods_cannot_start_is_rolled_back(system, hub, kube, pixels, tmp_path, baked_in_bundle, capsys):
    api, apps, core = kube
    # The api pods' init containers fetch the committed bundle from the deployment repository:
    # while that download fails, the new pods never start.
    hub.fail_next(
        r"^/raw/",
        *[Fault(503, b'{"message": "Service Unavailable"}')] * 100_000,
    )
    try:
        with PredictLoad(pixels) as load:
            since, published = datetime.now(UTC), time.monotonic()
            publish_bundle(hub, baked_in_bundle, tmp_path, "v1.3.0")
            wait_until(
                lambda: bool(_events(core, "RolledBack", "v1.3.0", since)), 300, "the syncer to roll v1.3.0 back", 1
            )
            wait_until(lambda: _serving_everywhere(apps, core, "v1.1.0"), 300, "every api pod to serve v1.1.0", 0.5)
            rolled_back_s = time.monotonic() - published
    finally:
        hub.faults.clear()
    with capsys.disabled():
        print(
            f"\nv1.3.0 rolled back {rolled_back_s:.1f} s after publication; "
            f"{load.sent} /predict requests meanwhile, {len(load.failures)} failed"
        )
    _report("rollback", "v1.3.0", load, publication_to_rolled_back_s=round(rolled_back_s, 1))
    assert load.failures == []
    assert load.versions.keys() == {"v1.1.0"}
    state = _state(api)
    assert "v1.3.0" in state.failed and state.pending is None
    wait_until(lambda: b"v1.1.0" in (hub.file_at("main", PIN_PATH) or b""), 60, "git to record the roll back")
