"""nginx's limits on clients, with the project's configuration, in front of the real API: slow clients are cut
off and one client cannot hold many requests at once."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.nginx import nginx_frontend
from tests.support.servers import connect, drip, read_reply, request_head, wait_until

CLIENT_TIMEOUT_S = 2
CONN_LIMIT = 4
# Several times CLIENT_TIMEOUT_S, far below nginx's 60 s defaults.
PATIENCE_S = 10.0
STALLED_BODY = "Content-Type: application/json\r\nContent-Length: 3000\r\n"  # headers of a body never sent in full


@pytest.fixture(scope="module")
def strict(tmp_path_factory, api):
    """nginx with a short client timeout and a small per-client limit, so that hitting them is quick."""
    with nginx_frontend(
        tmp_path_factory.mktemp("nginx-strict"),
        api.url.removeprefix("http://"),
        client_timeout=f"{CLIENT_TIMEOUT_S}s",
        conn_limit=CONN_LIMIT,
    ) as server:
        yield server


def test_a_slow_drip_of_headers_is_cut_off(strict):
    with connect(strict.url) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n")
        reply = drip(sock, b"X-Drip: 1\r\n", PATIENCE_S)
    # nginx closes a connection whose headers are late without an answer (it logs 408).
    assert reply.closed and reply.status is None
    assert reply.seconds < CLIENT_TIMEOUT_S + 4


def test_a_body_that_stops_coming_is_cut_off(strict):
    with connect(strict.url) as sock:
        started = time.monotonic()
        sock.sendall(request_head("POST", "/predict", STALLED_BODY) + b"[0,")
        reply = read_reply(sock, PATIENCE_S, started)
    assert reply.closed and reply.status in (None, 408)
    assert reply.seconds < CLIENT_TIMEOUT_S + 4


def test_one_client_holds_at_most_the_limit_of_requests(strict):
    """Requests whose bodies are still coming count; one more gets 429 with Retry-After, in JSON."""
    held = [connect(strict.url) for _ in range(CONN_LIMIT)]
    responses: list[httpx.Response] = []

    def refused() -> bool:
        responses.append(httpx.post(f"{strict.url}/predict", json=[0] * 784))
        return responses[-1].status_code != 200

    try:
        for sock in held:
            sock.sendall(request_head("POST", "/predict", STALLED_BODY))
        wait_until(refused, 5, "nginx to refuse a request beyond the limit")  # once it has read the held ones
    finally:
        for sock in held:
            sock.close()
    response = responses[-1]
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"detail": "too many requests: slow down and retry"}
    assert httpx.post(f"{strict.url}/predict", json=[0] * 784).status_code == 200


def test_defaults_of_the_entrypoint_render_a_valid_configuration(tmp_path, api):
    """Without CLIENT_TIMEOUT and CLIENT_CONN_LIMIT (the image sets neither), the entrypoint's defaults apply."""
    with nginx_frontend(tmp_path, api.url.removeprefix("http://")) as server:
        assert httpx.post(f"{server.url}/predict", json=[0] * 784).status_code == 200
        rendered = next((server.prefix / "conf.d").glob("*.conf")).read_text()
    assert "client_body_timeout 10s;" in rendered and "limit_conn per_client 32;" in rendered
