"""The API server's own limits, through real HTTP (raw sockets where a client must misbehave) against the real
process: no client can stall the event loop or hold a connection, and every refusal is JSON.

The server under test has short timeouts (1 to 2 s) so that each wait here is short; the bounds asserted are
several times those, to hold on two loaded cores, and still far below what the server without limits took.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.support.paths import FRONTEND_STATIC
from tests.support.servers import (
    api_server,
    connect,
    drip,
    exchange,
    read_reply,
    request_head,
    requests_served,
    wait_until,
)

HEADER_TIMEOUT_S = 1
BODY_TIMEOUT_S = 1
KEEP_ALIVE_TIMEOUT_S = 2
LIMIT_CONCURRENCY = 8
# Several times any timeout above: what a limited server answers within, where an unlimited one never does.
PATIENCE_S = 8.0
BIG_BODY = 8 * 1024 * 1024 - 64  # within the batch route's 8 MiB: read in full, as the attack was


@pytest.fixture(scope="module")
def server(tmp_path_factory, baked_in_bundle):
    with api_server(
        tmp_path_factory.mktemp("limited-api"),
        model_path=str(baked_in_bundle),
        header_timeout_s=str(HEADER_TIMEOUT_S),
        body_timeout_s=str(BODY_TIMEOUT_S),
        keep_alive_timeout_s=str(KEEP_ALIVE_TIMEOUT_S),
        limit_concurrency=str(LIMIT_CONCURRENCY),
        static_dir=str(FRONTEND_STATIC),
    ) as running:
        yield running


def _assert_json_refusal(reply, status):
    assert reply.status == status, reply.data[:300]
    assert reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body)["detail"]
    assert reply.closed, "a refusal closes the connection"


def _post_head(path, length):
    return request_head("POST", path, f"Content-Type: application/json\r\nContent-Length: {length}\r\n")


# Item 12: one client cannot stall the event loop.


def test_clients_posting_8_mb_of_empty_arrays_do_not_delay_health_checks(server):
    empty_arrays = b"[" + b"[]," * ((BIG_BODY - 32) // 3) + b"[]]"
    bodies = {"/predict": empty_arrays, "/predict/batch": b'{"instances":' + empty_arrays + b"}"}
    assert all(len(body) <= BIG_BODY for body in bodies.values())
    statuses: list[int] = []
    until = time.monotonic() + 4

    def attack(path):
        with httpx.Client(timeout=60, headers={"content-type": "application/json"}) as client:
            while True:
                statuses.append(client.post(f"{server.url}{path}", content=bodies[path]).status_code)
                if time.monotonic() > until:
                    return

    attackers = [threading.Thread(target=attack, args=(path,)) for path in bodies]
    for thread in attackers:
        thread.start()
    probes = []
    with httpx.Client(timeout=30) as probe:
        while any(thread.is_alive() for thread in attackers):
            started = time.monotonic()
            assert probe.get(f"{server.url}/healthz").status_code == 200
            probes.append(time.monotonic() - started)
            time.sleep(0.1)
    for thread in attackers:
        thread.join()
    assert len(statuses) >= 2 and set(statuses) <= {413, 422}, statuses
    assert max(probes) < 1.0, f"slowest of {len(probes)} /healthz probes took {max(probes):.2f} s"


# Item 13: a client that disconnects mid-body is not a 500.


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_client_that_leaves_mid_body_is_no_server_error(server, path):
    before = requests_served(server.url)
    for _ in range(3):
        with connect(server.url) as sock:
            sock.sendall(_post_head(path, 5000) + b"[0," * 300)

    def posts_counted() -> int:
        counted = requests_served(server.url) - before
        return sum(count for (method, route, _), count in counted.items() if (method, route) == ("POST", path))

    wait_until(lambda: posts_counted() >= 3, 10, f"the server to count the abandoned POST {path} requests")
    counted = requests_served(server.url) - before
    assert [key for key in counted if key[2].startswith("5")] == [], counted
    assert counted[("POST", path, "499")] == 3, counted
    assert "Traceback" not in server.output()


# Item 14: limits on the server itself.


def test_64_mb_of_headers_are_refused_at_once(server):
    sock = connect(server.url)
    sent = threading.Event()

    def send_headers():
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
            for index in range(64):
                sock.sendall(b"X-Padding-%d: %s\r\n" % (index, b"a" * (1024 * 1024)))
            sock.sendall(b"\r\n")
        except OSError:
            pass  # the server closed the connection: what is asserted below
        sent.set()

    started = time.monotonic()
    sender = threading.Thread(target=send_headers)
    sender.start()
    with sock:
        reply = read_reply(sock, 30, started)
    sender.join()
    # The 431 may be lost to the reset of a connection closed with unread bytes; either way, nothing was served.
    assert reply.status in (431, None), reply.data[:300]
    assert reply.closed and reply.seconds < 5
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_too_many_header_fields_get_431(server):
    fields = b"".join(b"X-Field-%d: 1\r\n" % index for index in range(200))
    _assert_json_refusal(exchange(server.url, b"GET /healthz HTTP/1.1\r\nHost: test\r\n" + fields + b"\r\n"), 431)


def test_a_request_line_over_the_limit_gets_414(server):
    _assert_json_refusal(exchange(server.url, b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: test\r\n\r\n"), 414)


def test_a_slow_drip_of_headers_is_cut_off(server):
    with connect(server.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        reply = drip(sock, b"X-Drip: 1\r\n", PATIENCE_S)
    _assert_json_refusal(reply, 408)
    assert reply.seconds < HEADER_TIMEOUT_S + 3


def test_a_connection_that_sends_nothing_is_closed(server):
    with connect(server.url) as sock:
        reply = read_reply(sock, PATIENCE_S)
    assert reply.closed and reply.data == b""
    assert reply.seconds < KEEP_ALIVE_TIMEOUT_S + 3


def test_a_connection_that_sends_only_blank_lines_is_closed(server):
    with connect(server.url) as sock:
        reply = drip(sock, b"\r\n", PATIENCE_S)
    assert reply.closed and reply.data == b""
    assert reply.seconds < KEEP_ALIVE_TIMEOUT_S + 3


def test_a_body_that_stops_coming_gets_408(server):
    with connect(server.url) as sock:
        started = time.monotonic()
        sock.sendall(_post_head("/predict", 3000) + b"[0,0,0,")
        reply = read_reply(sock, PATIENCE_S, started)
    _assert_json_refusal(reply, 408)
    assert reply.seconds < BODY_TIMEOUT_S + 3


def test_over_the_concurrency_limit_a_request_gets_503_json(server):
    held = [connect(server.url) for _ in range(LIMIT_CONCURRENCY)]
    try:
        refused = httpx.post(f"{server.url}/predict", json=[0] * 784)
        not_ready = httpx.get(f"{server.url}/readyz")
        alive = httpx.get(f"{server.url}/healthz")
    finally:
        for sock in held:
            sock.close()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {"detail": "the server is at its concurrency limit; retry shortly"}
    assert not_ready.status_code == 503, "a full pod is not ready for more"
    assert alive.status_code == 200, "but it is alive: liveness answers over the limit"
    wait_until(lambda: httpx.get(f"{server.url}/readyz").status_code == 200, 10, "the server to serve again")


# Item 15: errors are JSON everywhere.


@pytest.mark.parametrize(
    "request_bytes",
    [b"NOT HTTP AT ALL\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost: \x01\r\n\r\n", b"GET /healthz HTTP/9.9\r\n\r\n"],
    ids=["garbage", "control-character-in-header", "bad-version"],
)
def test_requests_that_cannot_be_parsed_get_json_400(server, request_bytes):
    _assert_json_refusal(exchange(server.url, request_bytes), 400)


def test_get_predict_is_405_with_allow_post_even_beside_static_files(server):
    response = httpx.get(f"{server.url}/predict")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"detail": "Method Not Allowed"}
    assert httpx.get(f"{server.url}/predict/batch").headers["allow"] == "POST"
    assert 'data-testid="canvas"' in httpx.get(f"{server.url}/").text
    assert httpx.get(f"{server.url}/nope").json() == {"detail": "Not Found"}


def test_an_upgrade_request_is_served_as_plain_http(server):
    reply = exchange(
        server.url, b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close, Upgrade\r\nUpgrade: websocket\r\n\r\n"
    )
    assert reply.status == 200 and json.loads(reply.body)["status"] == "ok"


def test_limits_do_not_touch_ordinary_keep_alive_traffic(server):
    with httpx.Client() as client:
        for _ in range(20):
            assert client.post(f"{server.url}/predict", json=[0] * 784).status_code == 200
