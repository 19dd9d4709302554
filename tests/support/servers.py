"""Starting real servers as subprocesses and waiting on conditions with deadlines (no bare sleeps)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.paths import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def answers(url: str, status: int = 200) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == status
        except httpx.HTTPError:
            return False

    return check


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def managed_process(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess with its output in ``log``, terminated (then killed) on exit."""
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def python_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        str(REPO / p) for p in ("bundle", "store", "api", "automation/training", "automation", "syncer")
    )
    env.update(extra)
    return env


@contextmanager
def api_server(
    tmp_path: Path,
    ready_timeout_s: float = 30.0,
    store_url: str | None = None,
    env_extra: dict[str, str] | None = None,
    port: int | None = None,
    **settings: str,
) -> Iterator[RunningServer]:
    """The real API (``python -m digits_api``) on a free loopback port, ready when /readyz answers 200. Its
    feedback store: ``store_url``, by default an SQLite file of its own in ``tmp_path``."""
    port = port or free_port()
    env = python_env(DIGITS_API_HOST="127.0.0.1", DIGITS_API_PORT=str(port), DIGITS_API_LOG_LEVEL="warning")
    env["DIGITS_STORE_URL"] = f"sqlite:///{tmp_path}/feedback-{port}.sqlite3" if store_url is None else store_url
    env.update({f"DIGITS_API_{key.upper()}": value for key, value in settings.items()})
    env.update(env_extra or {})
    log = tmp_path / f"api-{port}.log"
    with managed_process([sys.executable, "-m", "digits_api"], log, env) as process:
        server = RunningServer(f"http://127.0.0.1:{port}", process, log)
        wait_until(
            lambda: process.poll() is not None or answers(f"{server.url}/readyz")(),
            ready_timeout_s,
            "the API to become ready",
        )
        if process.poll() is not None:
            raise RuntimeError(f"API exited with {process.returncode}:\n{server.output()}")
        yield server


def wait_for_store(api_url: str, timeout_s: float = 20.0) -> None:
    """Until the api has connected to its feedback store (it does so in the background, after it is ready)."""
    wait_until(lambda: httpx.get(f"{api_url}/feedback/stats").status_code == 200, timeout_s, "the feedback store")


@dataclass
class RawReply:
    """What a server sent on one connection until it closed it, or until the deadline."""

    data: bytes
    closed: bool
    seconds: float
    status: int | None = field(init=False)
    headers: dict[str, str] = field(init=False)
    body: bytes = field(init=False)

    def __post_init__(self) -> None:
        head, _, self.body = self.data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else None
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}


def connect(url: str) -> socket.socket:
    host, _, port = url.removeprefix("http://").partition(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_reply(sock: socket.socket, timeout_s: float, started: float | None = None) -> RawReply:
    """Everything ``sock`` receives until the server closes the connection, or for ``timeout_s``."""
    started = time.monotonic() if started is None else started
    deadline = time.monotonic() + timeout_s
    data, closed = b"", False
    while not closed and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionError:
            chunk = b""
        data += chunk
        closed = not chunk
    return RawReply(data, closed, time.monotonic() - started)


def drip(sock: socket.socket, line: bytes, timeout_s: float, every_s: float = 0.25) -> RawReply:
    """Send ``line`` every ``every_s``, as a slow client would, until the server closes the connection (or for
    ``timeout_s``); what it sent back meanwhile."""
    started, data = time.monotonic(), b""
    while time.monotonic() - started < timeout_s:
        try:
            sock.sendall(line)
        except OSError:
            break  # closed by the server: read what it sent before
        reply = read_reply(sock, every_s, started)
        data += reply.data
        if reply.closed:
            return RawReply(data, True, reply.seconds)
    rest = read_reply(sock, 1, started)
    return RawReply(data + rest.data, rest.closed, rest.seconds)


def request_head(method: str, path: str, extra: str = "") -> bytes:
    """A request's line and headers, ``extra`` header lines included, asking the server to close afterwards."""
    return f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{extra}\r\n".encode()


def exchange(url: str, request: bytes, timeout_s: float = 10.0) -> RawReply:
    """Send ``request`` bytes as they are on a new connection; the reply, read until the server closes it."""
    with connect(url) as sock:
        started = time.monotonic()
        sock.sendall(request)
        return read_reply(sock, timeout_s, started)


def requests_served(url: str) -> Counter[tuple[str, str, str]]:
    """The API's requests so far by (method, route, status), from its /metrics."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        for sample in family.samples:
            if sample.name == "digits_http_requests_total":
                labels = sample.labels
                counts[(labels["method"], labels["route"], labels["status"])] += int(sample.value)
    return counts
