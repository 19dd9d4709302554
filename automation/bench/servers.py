"""Starting one server at a time and measuring it: cold start, a checked answer, load, resident memory."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load_generator import Load, wrk

CONNECTIONS = 16
"""Keep-alive connections for single predictions: the targets' p99 is at 16."""
BATCH_CONNECTIONS = 2
"""Connections for batch requests: one per core of the reference machine."""
DURATION_S = 10
"""Seconds of load per measurement."""
WARM_UP_S = 2
"""Seconds of load, not counted, before the single-prediction measurement."""
READY_TIMEOUT_S = 120.0
"""How long a server may take from process start to ready (TensorFlow's import alone takes seconds)."""
STOP_TIMEOUT_S = 30.0
"""How long a server may take to exit after SIGTERM (KServe waits for its servers' shutdown)."""
PROBE_TIMEOUT_S = 10.0
"""Timeout of the single checked request before the load, and of each readiness poll (loopback)."""


@dataclass(frozen=True)
class Server:
    """One server under test: how to start it, when it is ready, and what to send it."""

    name: str
    command: list[str]
    env: dict[str, str]
    url: str
    ready_path: str
    predict_path: str
    single_body: bytes
    predicted_label: Callable[[Any], int] | None
    """Reads the predicted label from an answer, to check it before the load; None for the no-op servers."""
    batch_path: str | None = None
    batch_body: bytes | None = None


@dataclass(frozen=True)
class Result:
    name: str
    cold_start_s: float
    single: Load
    cpu_ms_per_request: float
    """Server CPU time (user + system, all threads) per single prediction: steadier than requests/s when
    other work shares the machine."""
    batch: Load | None
    batch_images_per_s: float | None
    rss_mb: float


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _post_json(url: str, body: bytes) -> Any:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:
        return json.loads(response.read())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server: Server, log: Path, *, expected_label: int, batch_size: int) -> Result:
    """Start ``server``, check one answer, load it with single predictions (then batches), stop it."""
    started = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(server.command, env=server.env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        while not _ready(server.url + server.ready_path):
            if process.poll() is not None or time.perf_counter() - started > READY_TIMEOUT_S:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{server.name} did not become ready ({' '.join(server.command)}):\n{tail}")
            time.sleep(0.005)
        cold_start_s = time.perf_counter() - started
        if server.predicted_label is not None:
            answer = _post_json(server.url + server.predict_path, server.single_body)
            if server.predicted_label(answer) != expected_label:
                raise RuntimeError(f"{server.name} did not predict {expected_label}: {answer}")
        wrk(server.url + server.predict_path, server.single_body, CONNECTIONS, WARM_UP_S)
        cpu_before = _cpu_s(process.pid)
        single = wrk(server.url + server.predict_path, server.single_body, CONNECTIONS, DURATION_S)
        cpu_ms_per_request = (_cpu_s(process.pid) - cpu_before) * 1000 / max(single.requests, 1)
        batch = None
        if server.batch_path is not None and server.batch_body is not None:
            batch = wrk(server.url + server.batch_path, server.batch_body, BATCH_CONNECTIONS, DURATION_S)
        rss_mb = _rss_mb(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return Result(
        name=server.name,
        cold_start_s=cold_start_s,
        single=single,
        cpu_ms_per_request=cpu_ms_per_request,
        batch=batch,
        batch_images_per_s=batch.requests_per_s * batch_size if batch else None,
        rss_mb=rss_mb,
    )
