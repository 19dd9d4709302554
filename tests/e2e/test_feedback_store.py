"""The feedback store in the kind cluster: answers posted through the NodePort land in PostgreSQL and
survive the loss of its pod; with PostgreSQL scaled to zero, /predict carries on without a single
failure while /feedback answers 503, and feedback is saved again once it is back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.feedback import answer
from tests.support.kind import NODE_PORT_URL, POSTGRES_POD, KindCluster, postgres_ready
from tests.support.paths import ARTIFACTS
from tests.support.predict_load import PredictLoad
from tests.support.servers import wait_until

STORE_TIMEOUT_S = 180
# The frontend lets one client send 2 answers a second (burst 10): the tests stay under it.
ANSWER_INTERVAL_S = 0.6


def _sql(cluster: KindCluster, query: str) -> str:
    """A query run inside the PostgreSQL pod, as its postgres user over the local socket."""
    return cluster.kubectl(
        "exec", POSTGRES_POD, "-c", "postgres", "--", "psql", "-h", "/tmp", "-d", "digits", "-tAc", query
    ).strip()


def _saved(cluster: KindCluster, submissions: list[str]) -> int:
    quoted = ",".join(f"'{uuid.UUID(submission)}'" for submission in submissions)  # UUIDs only: safe to quote
    return int(_sql(cluster, f"SELECT count(*) FROM feedback WHERE submission_id IN ({quoted})"))  # noqa: S608


def _post(body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{NODE_PORT_URL}/feedback", json=body, timeout=10)


def _post_until_saved(body: dict[str, Any], timeout_s: float = STORE_TIMEOUT_S) -> httpx.Response:
    """Post an answer as the page does when the store is away: again, until it is saved."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = _post(body)
        if response.status_code in (200, 201) or time.monotonic() > deadline:
            return response
        assert response.status_code == 503, response.text
        time.sleep(1)


@pytest.fixture
def store(system: KindCluster) -> Iterator[KindCluster]:
    """The system with its store up; up again afterwards, whatever the test did to it."""
    postgres_ready(system)
    yield system
    system.kubectl("scale", "statefulset/digits-postgres", "--replicas=1")
    postgres_ready(system)


def _answers(model_version: str, count: int, client: str) -> list[dict[str, Any]]:
    return [
        answer(label=index % 10, predicted=(index * 3) % 10, client=client, model_version=model_version)
        for index in range(count)
    ]


def _api_restarts(cluster: KindCluster) -> str:
    return cluster.kubectl(
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/name=digits-api",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[0].restartCount}",
    )


def _serving_version() -> str:
    return str(httpx.get(f"{NODE_PORT_URL}/model", timeout=10).json()["version"])


def test_feedback_through_the_nodeport_lands_in_postgresql_and_survives_its_pod(store, capsys):
    answers = _answers(_serving_version(), 12, "browser-e2e-kept-00001")
    first = _post_until_saved(answers[0])
    assert first.status_code == 201, first.text
    for body in answers[1:]:
        time.sleep(ANSWER_INTERVAL_S)
        response = _post(body)
        assert response.status_code == 201, response.text
    submissions = [body["submission_id"] for body in answers]
    assert _saved(store, submissions) == len(answers)
    assert _sql(store, "SELECT rolsuper FROM pg_roles WHERE rolname = 'digits'") == "f"

    uid = store.kubectl("get", "pod", POSTGRES_POD, "-o", "jsonpath={.metadata.uid}")
    deleted = time.monotonic()
    store.kubectl("delete", "pod", POSTGRES_POD, "--wait=true", timeout_s=120)
    wait_until(
        lambda: store.kubectl("get", "pod", POSTGRES_POD, "-o", "jsonpath={.metadata.uid}") not in ("", uid),
        120,
        "a new PostgreSQL pod",
        1,
    )
    postgres_ready(store)
    back_s = time.monotonic() - deleted
    assert _saved(store, submissions) == len(answers), "an acknowledged answer was lost with the pod"
    after = _answers(_serving_version(), 1, "browser-e2e-kept-00002")[0]
    resaved = _post_until_saved(after)
    assert resaved.status_code == 201, resaved.text
    saved_again_s = time.monotonic() - deleted
    stats = httpx.get(f"{NODE_PORT_URL}/feedback/stats", timeout=10).json()
    assert stats["total"] >= len(answers) + 1
    with capsys.disabled():
        print(
            f"\nPostgreSQL pod deleted: ready again after {back_s:.1f} s, feedback saved again after "
            f"{saved_again_s:.1f} s; {len(answers)} of {len(answers)} acknowledged answers kept"
        )


def test_with_postgresql_scaled_to_zero_predictions_carry_on_and_feedback_says_503(store, pixels, capsys):
    restarts_before = _api_restarts(store)
    version = _serving_version()
    with PredictLoad(pixels) as load:
        started = time.monotonic()
        store.kubectl("scale", "statefulset/digits-postgres", "--replicas=0")
        store.kubectl("wait", "--for=delete", f"pod/{POSTGRES_POD}", "--timeout=120s", timeout_s=150)
        gone_s = time.monotonic() - started

        refused: list[httpx.Response] = []

        def refused_with_503() -> bool:
            response = _post(_answers(version, 1, "browser-e2e-outage-0001")[0])
            assert response.status_code in (201, 503), response.text
            refused.append(response)
            return response.status_code == 503

        wait_until(refused_with_503, 60, "/feedback to answer 503 without its store", ANSWER_INTERVAL_S)
        unavailable = refused[-1]
        assert int(unavailable.headers["retry-after"]) >= 1
        assert "store" in unavailable.json()["detail"].lower()
        time.sleep(10)  # predictions keep flowing through a stretch of outage, not only its first moment

        store.kubectl("scale", "statefulset/digits-postgres", "--replicas=1")
        postgres_ready(store)
        saved = _post_until_saved(_answers(version, 1, "browser-e2e-outage-0002")[0])
        recovered_s = time.monotonic() - started
        assert saved.status_code == 201, saved.text
    restarts_after = _api_restarts(store)
    report = {
        "store_gone_s": round(gone_s, 1),
        "feedback_saved_again_s": round(recovered_s, 1),
        "predict_requests": load.sent,
        "predict_failures": load.failures,
        "feedback_503_answers": sum(response.status_code == 503 for response in refused),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "e2e-store-outage.json").write_text(json.dumps(report, indent=2))
    with capsys.disabled():
        print(
            f"\nPostgreSQL scaled to zero for {recovered_s:.1f} s: {load.sent} /predict requests, "
            f"{len(load.failures)} failed; /feedback answered 503, then saved again"
        )
    assert load.failures == []
    assert restarts_after == restarts_before, "an api pod restarted while its store was away"
