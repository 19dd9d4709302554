"""``POST /feedback`` and ``GET /feedback/stats`` through real HTTP against the real server and a real
store: saved once, every bad field refused with a detail that names it, floods limited, and predictions
untouched when the database is down."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from digits_api.errors import InvalidInput
from digits_api.feedback_body import MAX_POINTS, parse_feedback
from tests.support.feedback import answer
from tests.support.paths import BAKED_IN_VERSION
from tests.support.servers import api_server, wait_for_store


@pytest.fixture(scope="module")
def api_with_store(tmp_path_factory, baked_in_bundle):
    with api_server(tmp_path_factory.mktemp("feedback"), model_path=str(baked_in_bundle)) as server:
        wait_for_store(server.url)
        yield server


def stats(server) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/feedback/stats")
    assert response.status_code == 200
    return response.json()


def test_an_answer_is_saved_once_counted_and_summarised(api_with_store):
    url = api_with_store.url
    before = stats(api_with_store)["total"]
    body = answer(label=8, predicted=3, client="browser-saved-once-0001")
    first = httpx.post(f"{url}/feedback", json=body)
    assert first.status_code == 201, first.text
    retry = httpx.post(f"{url}/feedback", json=body)
    assert retry.status_code == 200
    assert retry.json() == {"id": first.json()["id"], "created": False}
    after = stats(api_with_store)
    assert after["total"] == before + 1
    (version,) = [v for v in after["versions"] if v["model_version"] == BAKED_IN_VERSION]
    assert version["count"] >= 1 and 0 <= version["ci95"][0] <= version["accuracy"] <= version["ci95"][1] <= 1
    assert after["confusion"][after["labels"].index(8)][after["labels"].index(3)] >= 1
    metrics = httpx.get(f"{url}/metrics").text
    assert f'digits_feedback_total{{model_version="{BAKED_IN_VERSION}",outcome="wrong"}}' in metrics


def test_the_same_submission_id_with_other_content_is_a_conflict(api_with_store):
    body = answer(client="browser-conflict-00001")
    assert httpx.post(f"{api_with_store.url}/feedback", json=body).status_code == 201
    response = httpx.post(f"{api_with_store.url}/feedback", json={**body, "label": 5})
    assert response.status_code == 409
    assert "other content" in response.json()["detail"]


BAD_FIELDS = {
    "image too short": ({"image": [0] * 783}, "image"),
    "image not grey levels": ({"image": [256] * 784}, "image"),
    "image of floats": ({"image": [0.5] * 784}, "image"),
    "label not a digit": ({"label": 10}, "label"),
    "label a string": ({"label": "3"}, "label"),
    "predicted negative": ({"predicted": -1}, "predicted"),
    "unknown field": ({"ip": "10.0.0.1"}, "ip"),
    "submission id not a uuid": ({"submission_id": "../../etc"}, "submission_id"),
    "client id too short": ({"client_id": "abc"}, "client_id"),
    "client id with a newline": ({"client_id": "browser-0123456789\n"}, "client_id"),
    "version with a slash": ({"model_version": "v1/../x"}, "model_version"),
    "probability above one": ({"probabilities": {"3": 1.5}}, "probabilities"),
    "probability of a label the model lacks": ({"probabilities": {"x": 0.5}}, "probabilities"),
    "too many points": (
        {"drawing": {"width": 280, "height": 280, "strokes": [[[1, 1, 0]] * 4000, [[1, 1, 0]] * 200]}},
        "drawing",
    ),
    "too many strokes": ({"drawing": {"width": 280, "height": 280, "strokes": [[[1, 1, 0]]] * 65}}, "drawing"),
    "a point of two numbers": ({"drawing": {"width": 280, "height": 280, "strokes": [[[1, 1]]]}}, "drawing"),
    "canvas of zero width": ({"drawing": {"width": 0, "height": 280, "strokes": [[[1, 1, 0]]]}}, "drawing"),
    "no drawing": ({"drawing": None}, "drawing"),
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_every_bad_field_is_refused_naming_it_and_nothing_is_stored(api_with_store, case):
    changes, field = BAD_FIELDS[case]
    before = stats(api_with_store)["total"]
    response = httpx.post(f"{api_with_store.url}/feedback", json=answer(client="browser-bad-field-0001", **changes))
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field)
    assert stats(api_with_store)["total"] == before


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{not json", {"content-type": "application/json"}, 400),
        (b"", {"content-type": "application/json"}, 400),
        (b"[]", {"content-type": "application/json"}, 422),
        (b"label=3", {"content-type": "application/x-www-form-urlencoded"}, 415),
        (b"[" + b"0," * 200_000 + b"0]", {"content-type": "application/json"}, 413),
    ],
)
def test_bodies_that_are_not_an_answer_get_a_clear_error(api_with_store, content, headers, status):
    response = httpx.post(f"{api_with_store.url}/feedback", content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["detail"]


def test_a_flood_from_one_browser_is_limited_and_others_are_not(api_with_store):
    url = api_with_store.url
    codes = [httpx.post(f"{url}/feedback", json=answer(client="browser-flooding-0001")).status_code for _ in range(14)]
    assert codes[:10] == [201] * 10
    limited = httpx.post(f"{url}/feedback", json=answer(client="browser-flooding-0001"))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert set(codes[10:]) == {429}
    assert httpx.post(f"{url}/feedback", json=answer(client="browser-calm-000001")).status_code == 201


def test_labels_must_be_the_served_models():
    body = answer(label=5, predicted=7)
    with pytest.raises(InvalidInput, match=r"label: 5 is not one of the model's labels \[2, 7, 8\]"):
        parse_feedback(orjson.dumps(body), [2, 7, 8])
    with pytest.raises(InvalidInput, match="probabilities"):
        parse_feedback(orjson.dumps(answer(label=7, predicted=7, probabilities={"5": 0.1})), [2, 7, 8])
    assert MAX_POINTS == 4096


def test_predictions_never_wait_for_a_database_that_is_down(tmp_path, baked_in_bundle, postgres, mnist):
    seven = mnist.x_test[np.flatnonzero(mnist.y_test == 7)[0]].reshape(-1).tolist()
    postgres.stop()
    try:
        with api_server(
            tmp_path,
            model_path=str(baked_in_bundle),
            store_url=postgres.url,
            env_extra={
                "DIGITS_STORE_PASSWORD_FILE": str(postgres.password_file),
                "DIGITS_STORE_CONNECT_TIMEOUT_S": "1",
            },
        ) as server:
            assert httpx.get(f"{server.url}/readyz").status_code == 200
            assert httpx.post(f"{server.url}/predict", json=seven).json()["prediction"] == 7
            down = httpx.post(f"{server.url}/feedback", json=answer(client="browser-db-down-0001"))
            assert down.status_code == 503 and down.headers["retry-after"] == "5"
            assert "feedback store is unavailable" in down.json()["detail"]
            postgres.start()
            wait_for_store(server.url, 40)
            assert httpx.post(f"{server.url}/feedback", json=answer(client="browser-db-down-0001")).status_code == 201
            postgres.stop()
            for _ in range(3):
                assert httpx.post(f"{server.url}/predict", json=seven, timeout=5).status_code == 200
            down = httpx.post(f"{server.url}/feedback", json=answer(client="browser-db-down-0001"), timeout=15)
            assert down.status_code == 503 and down.headers["retry-after"] == "5"
            assert httpx.get(f"{server.url}/readyz").status_code == 200
    finally:
        postgres.start()
