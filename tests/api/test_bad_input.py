"""Bad input of every kind gets the right 4xx with a JSON detail; never a 5xx."""

from __future__ import annotations

import httpx
import pytest

GOOD = [0] * 784
JSON = {"content-type": "application/json"}


def _post(api, path, content, headers=JSON):
    return httpx.post(f"{api.url}{path}", content=content, headers=headers)


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ("[" + ",".join(["0"] * 783) + "]", 422, "expected 784 values, got 783"),
        ("[" + ",".join(["0"] * 785) + "]", 422, "expected 784 values, got 785"),
        ('["0"' + ",0" * 783 + "]", 422, "body[0]: expected a number, got a string"),
        ("[0,null" + ",0" * 782 + "]", 422, "body[1]: expected a number, got null"),
        ("[0,0,true" + ",0" * 781 + "]", 422, "body[2]: expected a number, got a boolean"),
        ("[NaN" + ",0" * 783 + "]", 400, "not valid JSON"),
        ("[Infinity" + ",0" * 783 + "]", 400, "not valid JSON"),
        ("[1e999" + ",0" * 783 + "]", 400, "not valid JSON"),
        ("[-1" + ",0" * 783 + "]", 422, "body[0]: grey level -1 is outside 0..255"),
        ("[0,256" + ",0" * 782 + "]", 422, "body[1]: grey level 256 is outside 0..255"),
        ("[[0]" + ",0" * 783 + "]", 422, "body[0]: expected a number, got a nested list"),
        ("[" + ",".join(["[0]"] * 784) + "]", 422, "expected a number, got a nested list"),
        ("", 400, "request body is empty"),
        ("{", 400, "not valid JSON"),
        ("42", 422, "got int"),
        ('"hello"', 422, "got a string"),
        ('{"pixel": []}', 422, 'or an object {"pixels"'),
        ('{"pixels": [1], "x": 1}', 422, "unexpected fields: x"),
        ('{"pixels": "abc"}', 422, "pixels: expected an array of 784 numbers, got a string"),
    ],
)
def test_predict_bad_bodies(api, body, status, detail):
    response = _post(api, "/predict", body)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type(api, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = httpx.post(f"{api.url}/predict", content=str(GOOD), headers=headers)
    assert response.status_code == 415
    assert "expected Content-Type application/json" in response.json()["detail"]


def test_oversized_body_is_413(api):
    huge = b"[" + b"0," * (5 * 1024 * 1024) + b"0]"
    response = _post(api, "/predict", huge)
    assert response.status_code == 413
    assert "exceeds the limit" in response.json()["detail"]


def test_oversized_body_without_content_length_is_413(api):
    def chunks():
        for _ in range(20):
            yield b"0," * (512 * 1024)

    response = httpx.post(f"{api.url}/predict", content=chunks(), headers=JSON)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"instances": [GOOD] * 65}, "at most 64 images per request, got 65"),
        ({"instances": []}, "at least one image"),
        ({"instances": [GOOD, GOOD[:-1]]}, "instances[1]: expected 784 values, got 783"),
        ({"instances": [GOOD, [*GOOD[:-1], 300]]}, "instances[1][783]: grey level 300 is outside 0..255"),
        ({"instances": GOOD}, "instances[0]: expected an array of 784 numbers, got int"),
        ([GOOD], 'expected an object {"instances"'),
    ],
)
def test_batch_bad_payloads(api, payload, detail):
    response = httpx.post(f"{api.url}/predict/batch", json=payload)
    assert response.status_code == 422
    assert detail in response.json()["detail"]


def test_unknown_routes_and_methods(api):
    assert httpx.get(f"{api.url}/predict").status_code == 405
    assert httpx.get(f"{api.url}/nope").status_code == 404
    assert httpx.get(f"{api.url}/nope").json() == {"detail": "Not Found"}
