"""Benchmark of the API against the original serving style, in one run, with the same load generator.

Prints requests/s and p50/p99 latency for single predictions at 16 connections,
images/s on the batch endpoint, cold start (process start -> /readyz 200) and
resident memory after 10,000+ requests, for both, and writes artifacts/bench.json.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "api" / "models" / "default"
CONNECTIONS = 16
DURATION_S = 10
BATCH = 256


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass
class Result:
    name: str
    cold_start_s: float
    single: Load
    batch_images_per_s: float | None
    rss_mb: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _start(command: list[str], env: dict[str, str], url: str) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    deadline = started + 120
    while not _ready(url):
        if process.poll() is not None or time.perf_counter() > deadline:
            raise RuntimeError(f"{command} did not become ready")
        time.sleep(0.005)
    return process, time.perf_counter() - started


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url: str, body: str, connections: int, duration_s: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[{body}]==]\n'
        )
    try:
        output = subprocess.run(
            ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration_s}s", "--latency", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration_s + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Load(
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"50%\s+(\S+)", output).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"99%\s+(\S+)", output).group(1)),  # type: ignore[union-attr]
        requests=requests,
        errors=(int(errors.group(1)) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    )


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _digit_body() -> tuple[str, str]:
    sys.path[:0] = [str(REPO / "automation" / "training")]
    from digits_training.data import load_mnist

    mnist = load_mnist()
    single = json.dumps(mnist.x_test[0].reshape(-1).tolist())
    batch = json.dumps({"instances": mnist.x_test[:BATCH].reshape(BATCH, -1).tolist()})
    return single, batch


def _measure(
    name: str, command: list[str], env: dict[str, str], url: str, *, single: str, batch_body: str | None
) -> Result:
    process, cold = _start(command, env, url)
    try:
        _wrk(f"{url}/predict", single, CONNECTIONS, 2)  # warm-up
        load = _wrk(f"{url}/predict", single, CONNECTIONS, DURATION_S)
        batch_rate = None
        if batch_body is not None:
            batch = _wrk(f"{url}/predict/batch", batch_body, 2, DURATION_S)
            batch_rate = batch.requests_per_s * BATCH
        rss = _rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return Result(name, cold, load, batch_rate, rss)


def main() -> int:
    single, batch = _digit_body()
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "api"), str(REPO / "automation")]), TF_CPP_MIN_LOG_LEVEL="2"
    )
    api_port, base_port = _free_port(), _free_port()
    api_url, base_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{base_port}"
    api_env = dict(
        env,
        DIGITS_API_PORT=str(api_port),
        DIGITS_API_MODEL_PATH=str(BUNDLE),
        DIGITS_API_LOG_LEVEL="warning",
        DIGITS_API_MAX_BATCH=str(BATCH),
    )
    ours = _measure(
        "api (TFLite)", [sys.executable, "-m", "digits_api"], api_env, api_url, single=single, batch_body=batch
    )
    base_env = dict(env, DIGITS_BASELINE_BUNDLE=str(BUNDLE))
    baseline = _measure(
        "baseline (TF per request)",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline_app:app",
            "--port",
            str(base_port),
            "--log-level",
            "warning",
            "--workers",
            "1",
        ],
        base_env,
        base_url,
        single=single,
        batch_body=None,
    )
    print(f"\n{'':28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'batch img/s':>13}{'cold s':>8}{'RSS MB':>8}")
    for r in (ours, baseline):
        batch_rate = f"{r.batch_images_per_s:,.0f}" if r.batch_images_per_s else "-"
        print(
            f"{r.name:28}{r.single.requests_per_s:>10,.0f}{r.single.p50_ms:>9.2f}{r.single.p99_ms:>9.2f}"
            f"{r.single.errors:>8}{batch_rate:>13}{r.cold_start_s:>8.2f}{r.rss_mb:>8.0f}"
        )
    speedup = ours.single.requests_per_s / baseline.single.requests_per_s
    print(
        f"\nthroughput: {speedup:.1f}x the baseline at {CONNECTIONS} connections"
        f" ({ours.single.requests} + {baseline.single.requests} requests measured)"
    )
    checks = {
        "throughput >= 20x baseline": speedup >= 20,
        "p99 <= 20 ms": ours.single.p99_ms <= 20,
        "batch >= 8,000 images/s": (ours.batch_images_per_s or 0) >= 8000,
        "cold start <= 2 s": ours.cold_start_s <= 2,
        "RSS <= 150 MB": ours.rss_mb <= 150,
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {name}")
    out = REPO / "artifacts" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"results": [asdict(ours), asdict(baseline)], "speedup": speedup, "checks": checks}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
