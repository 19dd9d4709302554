"""Starting one server at a time and measuring it: cold start, a checked answer, load, resident memory."""

from __future__ import annotations

import json
import os
import statistics
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
ROUNDS = 3
"""Rounds of single-prediction load; in each, every server is loaded in turn. A server's figures are its
medians over the rounds, so a machine that slows down for a while (a shared one does) slows all alike."""
DURATION_S = 6
"""Seconds of load per server and round, and of batch load per server."""
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


class Running:
    """A started server: check its answer once, load it in rounds, then stop it (a context manager)."""

    def __init__(self, server: Server, log: Path) -> None:
        self.server = server
        self.log = log
        self.rounds: list[Load] = []
        self.cpu_s = 0.0
        self.batch: Load | None = None
        started = time.perf_counter()
        with log.open("wb") as sink:
            self.process = subprocess.Popen(server.command, env=server.env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            while not _ready(server.url + server.ready_path):
                if self.process.poll() is not None or time.perf_counter() - started > READY_TIMEOUT_S:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{server.name} did not become ready ({' '.join(server.command)}):\n{tail}")
                time.sleep(0.005)
        except BaseException:
            self.stop()
            raise
        self.cold_start_s = time.perf_counter() - started

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check(self, expected_label: int) -> None:
        """One checked answer, then a warm-up load that is not counted."""
        server = self.server
        if server.predicted_label is not None:
            answer = _post_json(server.url + server.predict_path, server.single_body)
            if server.predicted_label(answer) != expected_label:
                raise RuntimeError(f"{server.name} did not predict {expected_label}: {answer}")
        wrk(server.url + server.predict_path, server.single_body, CONNECTIONS, WARM_UP_S)

    def load_round(self, duration_s: int) -> None:
        """One round of single predictions, its CPU time counted."""
        cpu_before = _cpu_s(self.process.pid)
        self.rounds.append(
            wrk(self.server.url + self.server.predict_path, self.server.single_body, CONNECTIONS, duration_s)
        )
        self.cpu_s += _cpu_s(self.process.pid) - cpu_before

    def load_batches(self, duration_s: int) -> None:
        if self.server.batch_path is not None and self.server.batch_body is not None:
            self.batch = wrk(
                self.server.url + self.server.batch_path, self.server.batch_body, BATCH_CONNECTIONS, duration_s
            )

    def result(self, batch_size: int) -> Result:
        requests = sum(load.requests for load in self.rounds)
        return Result(
            name=self.server.name,
            cold_start_s=self.cold_start_s,
            single=Load(
                requests_per_s=statistics.median(load.requests_per_s for load in self.rounds),
                p50_ms=statistics.median(load.p50_ms for load in self.rounds),
                p99_ms=statistics.median(load.p99_ms for load in self.rounds),
                requests=requests,
                errors=sum(load.errors for load in self.rounds),
            ),
            cpu_ms_per_request=self.cpu_s * 1000 / max(requests, 1),
            batch=self.batch,
            batch_images_per_s=self.batch.requests_per_s * batch_size if self.batch else None,
            rss_mb=_rss_mb(self.process.pid),
        )

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
