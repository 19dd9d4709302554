"""The retraining loop in the kind cluster, with nobody running a script: 300 labelled drawings posted through
the NodePort make the syncer start a training Job; the Job fine-tunes the serving model on them and publishes a
release of the (local) training repository; the syncer gates it, records it in git and rolls it out with no
failed /predict request, and /model shows the new version and what it learnt from. A flood of drawings of 7
labelled 1 then ends in a refused release and the served model unchanged.

The Job runs in its short mode (DIGITS_RETRAIN_QUICK).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest

from digits_training.pad_renderings import render_digits
from kubernetes import client
from tests.support.feedback import answer
from tests.support.kind import NAMESPACE, NODE_PORT_URL, POSTGRES_POD, KindCluster
from tests.support.predict_load import PredictLoad
from tests.support.rollouts import serving_everywhere, set_model_spec, syncer_events, write_report
from tests.support.servers import wait_until

DRAWINGS = 300
ANSWER_INTERVAL_S = 0.55  # the frontend lets one address send 2 answers a second
JOB_TIMEOUT_S = 900
RETRAIN_LABEL = "app.kubernetes.io/component=retrain"
SYBILS = 120  # browser ids of the flood: 5 answers each, within the api's per-id burst


def _sql(cluster: KindCluster, statement: str) -> str:
    return cluster.kubectl(
        "exec", POSTGRES_POD, "-c", "postgres", "--", "psql", "-h", "/tmp", "-d", "digits", "-tAc", statement
    ).strip()  # fmt: skip


@pytest.fixture(scope="module")
def retraining(system: KindCluster) -> Iterator[None]:
    """Retraining on, due once 300 labelled drawings are in the store, emptied first: what earlier tests (or
    an earlier run on the same cluster) left there would be trained on too."""
    _sql(system, "DELETE FROM feedback")
    secret = system.kubectl(
        "create", "secret", "generic", "digits-retrain-github-token", "--from-literal=token=e2e-publish-token",
        "--dry-run=client", "-o", "json",
    )  # fmt: skip
    system.kubectl("apply", "-f", "-", stdin=secret)
    quick = [
        {
            "op": "add",
            "path": "/template/spec/containers/0/env/-",
            "value": {"name": "DIGITS_RETRAIN_QUICK", "value": "true"},
        }
    ]
    system.kubectl("patch", "podtemplate", "digits-retrain", "--type=json", "-p", json.dumps(quick))
    # A spec change acts at once: the syncer watches its DigitsModel (no restart).
    set_model_spec(system, {"retrain": {"afterDrawings": DRAWINGS, "minIntervalSeconds": 60}})
    yield
    set_model_spec(system, {"retrain": {"afterDrawings": 0, "minIntervalSeconds": 21600}})
    system.kubectl("delete", "jobs", "-l", RETRAIN_LABEL, "--ignore-not-found")
    system.kubectl("delete", "secret", "digits-retrain-github-token", "--ignore-not-found")
    template = json.loads(system.kubectl("get", "podtemplate", "digits-retrain", "-o", "json"))
    container = template["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "DIGITS_RETRAIN_QUICK"]
    system.kubectl("replace", "-f", "-", stdin=json.dumps(template))


def _jobs(batch: Any, since: datetime) -> list[Any]:
    jobs = batch.list_namespaced_job(NAMESPACE, label_selector=RETRAIN_LABEL).items
    return sorted(
        (j for j in jobs if j.metadata.creation_timestamp >= since.replace(microsecond=0)),
        key=lambda j: j.metadata.creation_timestamp,
    )


def _finished_job(cluster: KindCluster, batch: Any, since: datetime) -> tuple[Any, float]:
    """The first training Job started since ``since``, once it has succeeded; and how long it ran."""
    wait_until(lambda: bool(_jobs(batch, since)), 180, "the syncer to start a training Job", 1)
    name = _jobs(batch, since)[0].metadata.name
    started = time.monotonic()

    def finished() -> bool:
        status = batch.read_namespaced_job(name, NAMESPACE).status
        if status.failed:
            logs = cluster.kubectl("logs", f"job/{name}", "-c", "train", "--tail=40")
            raise AssertionError(f"training Job {name} failed:\n{logs}")
        return bool(status.succeeded)

    wait_until(finished, JOB_TIMEOUT_S, f"training Job {name} to succeed", 2)
    return batch.read_namespaced_job(name, NAMESPACE), time.monotonic() - started


def _post_through_the_nodeport(images: np.ndarray, labels: np.ndarray, clients: int) -> None:
    with httpx.Client(timeout=10) as http:
        for n, (image, label) in enumerate(zip(images, labels, strict=True)):
            body = answer(label=int(label), predicted=int(label), client=f"browser-e2e-{n % clients:06d}",
                          image=[int(v) for v in image.reshape(-1)])  # fmt: skip
            response = http.post(f"{NODE_PORT_URL}/feedback", json=body)
            assert response.status_code == 201, response.text
            time.sleep(ANSWER_INTERVAL_S)


def _post_past_the_frontend(api: Any, images: np.ndarray, label: int, clients: int) -> None:
    """Answers sent straight to the api Service (an attacker with many addresses is not slowed by the
    frontend's per-address limit), each browser id within the api's own per-id burst."""
    path = f"/api/v1/namespaces/{NAMESPACE}/services/digits-api:8000/proxy/feedback"
    for n, image in enumerate(images):
        body = answer(label=label, predicted=7, client=f"browser-flood-{n % clients:06d}",
                      image=[int(v) for v in image.reshape(-1)])  # fmt: skip
        request = api.param_serialize(
            "POST", path, header_params={"Content-Type": "application/json"}, body=body, auth_settings=["BearerToken"]
        )
        response = api.call_api(*request)
        response.read()
        assert response.status == 201, response.data[:300]


def test_drawings_posted_through_the_nodeport_retrain_and_roll_out_a_new_model(
    system, retraining, kube, mnist, pixels, capsys
):
    api, apps, core = kube
    batch = client.BatchV1Api(api)
    picks = np.random.default_rng(3).choice(len(mnist.x_train), size=DRAWINGS, replace=False)
    drawings = render_digits(mnist.x_train[picks], seed=41)
    before = httpx.get(f"{NODE_PORT_URL}/model", timeout=10).json()["version"]
    with PredictLoad(pixels) as load:
        since, began = datetime.now(UTC), time.monotonic()
        _post_through_the_nodeport(drawings, mnist.y_train[picks], clients=12)
        posted_s = time.monotonic() - began
        job, job_s = _finished_job(system, batch, since)
        tag = job.metadata.annotations["digits.app/retrain-tag"]
        job_done = time.monotonic()
        wait_until(lambda: serving_everywhere(apps, core, tag), 300, f"every api pod to serve {tag}", 0.5)
        served_s = time.monotonic() - job_done
        time.sleep(3)
    write_report("retrain", tag, load, posting_s=round(posted_s, 1), job_s=round(job_s, 1),
                 job_to_last_pod_ready_s=round(served_s, 1))  # fmt: skip
    with capsys.disabled():
        print(
            f"\n{DRAWINGS} drawings posted in {posted_s:.0f} s; training Job ran {job_s:.0f} s; {tag} served by"
            f" every api pod {served_s:.0f} s later; {load.sent} /predict requests, {len(load.failures)} failed"
        )
    assert load.failures == []
    served = httpx.get(f"{NODE_PORT_URL}/model", timeout=10).json()
    assert served["version"] == tag
    training = served["training"]
    assert training["fine_tuned_from"] == before
    assert training["data"]["store"]["records"] == DRAWINGS
    assert served["evaluations"]["collected_held_out"]["n"] == training["data"]["collected_held_out"] > 0
    (completed,) = syncer_events(core, "RolloutComplete", tag, since)
    assert completed


def test_a_flood_of_wrong_labels_ends_in_a_refused_release_and_no_change(
    system, retraining, kube, mnist, pixels, capsys
):
    api, apps, core = kube
    batch = client.BatchV1Api(api)
    serving = httpx.get(f"{NODE_PORT_URL}/model", timeout=10).json()["version"]
    flood = 2 * DRAWINGS  # counted from the last Job's start: enough to start another
    sevens = np.random.default_rng(5).choice(np.flatnonzero(mnist.y_train == 7), size=flood, replace=False)
    with PredictLoad(pixels) as load:
        since, began = datetime.now(UTC), time.monotonic()
        _post_past_the_frontend(api, render_digits(mnist.x_train[sevens], seed=43), label=1, clients=SYBILS)
        posted_s = time.monotonic() - began
        job, job_s = _finished_job(system, batch, since)
        tag = job.metadata.annotations["digits.app/retrain-tag"]
        job_done = time.monotonic()
        wait_until(
            lambda: bool(syncer_events(core, "ReleaseRejected", tag, since)), 300, f"the gate to refuse {tag}", 1
        )
        refused_s = time.monotonic() - job_done
    write_report("flood", tag, load, posting_s=round(posted_s, 1), job_s=round(job_s, 1),
                 job_to_refused_s=round(refused_s, 1))  # fmt: skip
    (message,) = syncer_events(core, "ReleaseRejected", tag, since)
    with capsys.disabled():
        print(f"\n{flood} drawings of 7 labelled 1 by {SYBILS} browser ids; training Job ran {job_s:.0f} s; {message}")
    assert "for label 7 (" in message
    assert load.failures == [] and set(load.versions) == {serving}
    assert serving_everywhere(apps, core, serving)
