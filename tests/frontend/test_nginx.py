"""Real nginx with the project's configuration in front of the real API."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from tests.support.nginx import UNREACHABLE_API_ROUTES, nginx_frontend
from tests.support.paths import BAKED_IN_VERSION
from tests.support.servers import api_server, exchange, free_port, request_head, wait_for_store

PIXELS = [0] * 784


def test_page_and_assets_are_served_with_security_headers(frontend):
    page = httpx.get(f"{frontend.url}/")
    assert page.status_code == 200 and 'data-testid="canvas"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
    asset = httpx.get(f"{frontend.url}/assets/app.js?v=1.0.0")
    assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
    assert asset.headers["cache-control"] == "max-age=31536000"
    assert "content-security-policy" in asset.headers


def test_responses_are_gzipped(frontend):
    raw = httpx.get(f"{frontend.url}/assets/app.js", headers={"Accept-Encoding": "gzip"})
    assert raw.headers.get("content-encoding") == "gzip"
    with httpx.stream("GET", f"{frontend.url}/assets/app.js", headers={"Accept-Encoding": "gzip"}) as stream:
        compressed = b"".join(stream.iter_raw())
    assert b"preprocess" in gzip.decompress(compressed)


def test_predict_and_model_are_proxied(frontend):
    response = httpx.post(f"{frontend.url}/predict", json=PIXELS)
    assert response.status_code == 200
    assert response.headers["x-model-version"] == BAKED_IN_VERSION
    assert set(response.json()) >= {"prediction", "probability", "probabilities", "model_version"}
    assert "content-security-policy" in response.headers
    model = httpx.get(f"{frontend.url}/model")
    assert model.status_code == 200 and model.json()["version"] == BAKED_IN_VERSION
    bad = httpx.post(f"{frontend.url}/predict", json=[1, 2])
    assert bad.status_code == 422 and "expected 784 values" in bad.json()["detail"]


def test_feedback_is_proxied_with_its_own_body_limit(frontend, api):
    from tests.support.feedback import answer

    wait_for_store(api.url)
    saved = httpx.post(f"{frontend.url}/feedback", json=answer(client="browser-through-nginx-1"))
    assert saved.status_code == 201, saved.text
    assert "content-security-policy" in saved.headers
    # An answer is larger than /predict's 32 KB limit allows, and well within its own.
    strokes = [[[float(i % 280), float(i % 280), float(i)] for i in range(4000)]]
    large = answer(client="browser-through-nginx-1", drawing={"width": 280, "height": 280, "strokes": strokes})
    assert httpx.post(f"{frontend.url}/feedback", json=large).status_code == 201
    huge = httpx.post(
        f"{frontend.url}/feedback", content=b"[" + b"0," * 150_000 + b"0]", headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413 and huge.json() == {"detail": "request body is too large"}
    wrong_method = httpx.get(f"{frontend.url}/feedback")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"


@pytest.mark.parametrize(("method", "path"), UNREACHABLE_API_ROUTES)
def test_no_other_api_route_is_reachable(frontend, api, method, path):
    response = httpx.request(method, f"{frontend.url}{path}", json={"instances": [PIXELS]})
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"] in ("Not Found", "Method Not Allowed")


@pytest.mark.parametrize(
    ("request_bytes", "status", "allow"),
    [
        (b"NOT HTTP\r\n\r\n", 400, None),
        (b"GET / HTTP/1.1\r\nHost: \x01\r\n\r\n", 400, None),
        (request_head("GET", "/nope"), 404, None),
        (request_head("GET", "/predict/../metrics"), 404, None),
        (request_head("GET", "/predict"), 405, "POST"),
        (request_head("DELETE", "/predict"), 405, "POST"),
        (request_head("POST", "/model"), 405, "GET, HEAD"),
        (request_head("POST", "/"), 405, "GET, HEAD"),
        (request_head("GET", "/" + "a" * 10_000), 414, None),
        (request_head("GET", "/", "X-Large: " + "a" * 10_000 + "\r\n"), 431, None),
        (request_head("POST", "/predict", "Transfer-Encoding: gzip\r\n"), 501, None),
    ],
    ids=[
        "bad-request-line",
        "bad-header",
        "not-found",
        "dot-dot",
        "get-predict",
        "delete-predict",
        "post-model",
        "post-page",
        "uri-too-long",
        "header-too-large",
        "unknown-transfer-encoding",
    ],
)
def test_errors_nginx_answers_itself_are_json(frontend, request_bytes, status, allow):
    reply = exchange(frontend.url, request_bytes)
    assert reply.status == status, reply.data[:300]
    assert reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body)["detail"]
    assert reply.headers.get("allow") == allow
    assert "nosniff" in reply.headers["x-content-type-options"]


def test_nginx_liveness_is_its_own_and_readiness_is_the_apis(frontend):
    assert httpx.get(f"{frontend.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{frontend.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert httpx.post(f"{frontend.url}/readyz").status_code == 405


def test_oversized_body_is_413_json(frontend):
    response = httpx.post(
        f"{frontend.url}/predict", content=b"[" + b"0," * 40_000 + b"0]", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "request body is too large"}


def test_rate_limit_answers_429_json(tmp_path, api):
    with (
        nginx_frontend(tmp_path, api.url.removeprefix("http://"), rate="2r/s", burst="3") as limited,
        httpx.Client() as client,
    ):
        statuses = [client.post(f"{limited.url}/predict", json=PIXELS) for _ in range(12)]
    codes = [r.status_code for r in statuses]
    assert codes[:4] == [200] * 4
    assert codes.count(429) >= 6
    limited_response = next(r for r in statuses if r.status_code == 429)
    assert limited_response.json()["detail"].startswith("too many requests")
    assert limited_response.headers["retry-after"] == "1"


def test_the_apis_own_retry_after_passes_through_alone(tmp_path, baked_in_bundle):
    from tests.support.feedback import answer

    with (
        api_server(tmp_path, store_url="", model_path=str(baked_in_bundle)) as storeless,
        nginx_frontend(tmp_path, storeless.url.removeprefix("http://")) as frontend,
    ):
        response = httpx.post(f"{frontend.url}/feedback", json=answer(client="browser-no-store-0001"))
    assert response.status_code == 503 and "store" in response.json()["detail"]
    assert response.headers.get_list("retry-after") == ["5"]


def test_api_down_gives_json_error(tmp_path):
    with nginx_frontend(tmp_path, f"127.0.0.1:{free_port()}") as orphan:
        response = httpx.post(f"{orphan.url}/predict", json=PIXELS)
        assert response.status_code == 503
        assert response.json() == {"detail": "the prediction service is unavailable; retry shortly"}
        assert response.headers["retry-after"] == "5"
        assert httpx.get(f"{orphan.url}/model").status_code == 503
        assert httpx.get(f"{orphan.url}/readyz").status_code == 503  # not ready: no api to send drawings to
        assert httpx.get(f"{orphan.url}/healthz").status_code == 200  # yet alive: no restart would help
        assert httpx.get(f"{orphan.url}/").status_code == 200
