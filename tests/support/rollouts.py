"""Reading a rollout in the kind cluster as a test sees it: what each api pod serves, the syncer's Events and
state, and the report of what a client saw (artifacts/tests/e2e-<name>.json)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from digits_syncer.model_status import state_from_document
from digits_syncer.pin_manifest import VERSION_ANNOTATION
from digits_syncer.state import SyncerState
from kubernetes import client
from tests.support.kind import NAMESPACE
from tests.support.paths import ARTIFACTS
from tests.support.predict_load import PredictLoad

API_SELECTOR = "app.kubernetes.io/name=digits-api"


def api_pods(core: Any) -> list[Any]:
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=API_SELECTOR).items
    return [pod for pod in pods if pod.metadata.deletion_timestamp is None]


def served_version(core: Any, pod: str) -> str | None:
    """What one pod serves, asked through the API server's pod proxy (the pods are not exposed)."""
    try:
        response = core.connect_get_namespaced_pod_proxy_with_path(
            f"{pod}:8000", NAMESPACE, "model", _preload_content=False
        )
        return str(json.loads(response.data)["version"])
    except (client.ApiException, ValueError, KeyError):
        return None


def serving_everywhere(apps: Any, core: Any, version: str) -> bool:
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
        rolled_out and len(pods) == replicas and all(served_version(core, pod.metadata.name) == version for pod in pods)
    )


def syncer_events(core: Any, reason: str, tag: str, since: datetime) -> list[str]:
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


def model_status(api: Any) -> dict[str, Any]:
    """The ``DigitsModel`` status the syncer in the cluster writes."""
    found = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "digits.app", "v1alpha1", NAMESPACE, "digitsmodels", "digits"
    )
    return dict(found.get("status") or {})


def syncer_state(api: Any) -> SyncerState:
    status = model_status(api)
    return state_from_document(status.get("syncer"), status.get("history"))


def set_model_spec(cluster: Any, spec: dict[str, Any]) -> None:
    """Change the ``DigitsModel``'s spec, as an operator would (a merge patch: null removes a field)."""
    cluster.kubectl("patch", "digitsmodel", "digits", "--type=merge", "-p", json.dumps({"spec": spec}))


def keep_model_table(cluster: Any, when: str) -> str:
    """``kubectl get digitsmodels`` now, added to artifacts/tests/e2e-digitsmodels.txt under ``when``."""
    table = cluster.kubectl("get", "digitsmodels")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "e2e-digitsmodels.txt").open("a") as report:
        report.write(f"## {when}\n{table}\n")
    return table


def keep_report(name: str, report: dict[str, Any]) -> None:
    """``report`` kept as artifacts/tests/e2e-<name>.json."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"e2e-{name}.json").write_text(json.dumps(report, indent=2))


def write_report(name: str, release: str, load: PredictLoad, **timings_s: float) -> None:
    """What a client saw while ``release`` was handled, kept as artifacts/tests/e2e-<name>.json."""
    report = {
        "release": release,
        **timings_s,
        "requests": load.sent,
        "failures": load.failures,
        "answers_by_version": load.versions,
    }
    keep_report(name, report)
