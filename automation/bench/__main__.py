"""``make bench``: the API against KServe's model server, the HTTP stack's ceilings and the original
serving style, in one run, with the same load generator (``wrk``) and the same 28x28 MNIST digit.

    python -m bench --kserve-python $(DIGITS_CACHE)/bench-kserve-venv/bin/python

Servers on loopback, all started (one at a time, for their cold starts) and then loaded in turn, in
interleaved rounds (their figures are medians over the rounds):

- ``api``: the API (``python -m digits_api``) serving ``api/models/default``;
- ``kserve``: KServe's Python model server, V1 ``:predict``, the same ``model.tflite`` (``kserve_server``);
- ``noop-fastapi`` and ``noop-asgi``: a FastAPI route and a raw ASGI app that predict nothing, under
  uvicorn with the API's settings: the most this machine's HTTP stack can answer (``noop_apps``);
- ``baseline``: the original serving style, a TensorFlow SavedModel call per request (``baseline_app``).

Prints requests/s, p50/p99 latency and server CPU time per request of single predictions at 16
connections, batch images/s (256 images a request, 2 connections), cold start (process start -> ready)
and resident memory after the load, then the targets (``targets``) as PASS/FAIL with their figures;
writes ``artifacts/bench.json`` and each server's output to ``artifacts/bench/``. Exits 1 when a target
is missed, so that a regression cannot pass unnoticed; the figures are written either way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench import servers as bench_servers
from bench.servers import Result, Running, Server
from bench.targets import API, API_NO_DRIFT, BASELINE, KSERVE, NOOP_ASGI, NOOP_FASTAPI, evaluate_targets
from digits_bundle.mnist import cache_dir, load_mnist

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "api" / "models" / "default"
ARTIFACTS = REPO / "artifacts"
KSERVE_REQUIREMENTS = Path(__file__).with_name("kserve-requirements.txt")
BATCH = 256
"""Images per batch request."""
DIGIT = 0
"""The MNIST test digit every single prediction sends (a 7)."""
KSERVE_MODEL = "digits"
"""The model's name in KServe's routes."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu() -> str:
    """The CPU's model name and whether it has VNNI, on which int8 inference depends (Linux; else "?")."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "?"
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    flags = sorted(set(re.findall(r"\b(avx512_vnni|avx_vnni)\b", info)))
    vnni = f"VNNI ({', '.join(flags)})" if flags else "no VNNI"
    return f"{name.group(1).strip() if name else '?'}, {vnni}"


def _kserve_version() -> str:
    pinned = re.search(r"^kserve==(\S+)$", KSERVE_REQUIREMENTS.read_text(), re.MULTILINE)
    return pinned.group(1) if pinned else "?"


def _servers(kserve_python: Path, images: np.ndarray, store_dir: Path) -> dict[str, Server]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(REPO / p) for p in ("bundle", "store", "api", "automation")))
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    single = json.dumps(images[DIGIT].reshape(-1).tolist()).encode()
    single_instance = json.dumps({"instances": [images[DIGIT].reshape(-1).tolist()]}).encode()
    batch = json.dumps({"instances": images.reshape(len(images), -1).tolist()}).encode()

    def their_prediction(answer: Any) -> int:
        return int(answer["prediction"])

    def kserve_prediction(answer: Any) -> int:
        return int(np.argmax(answer["predictions"][0]))

    api_port, kserve_port, fastapi_port, asgi_port, baseline_port, plain_port = (_free_port() for _ in range(6))
    kserve_path = f"/v1/models/{KSERVE_MODEL}"

    def api_server(name: str, port: int, **settings: str) -> Server:
        """The api as deployed: drift scoring and input sampling on unless ``settings`` turn them off."""
        with_batches = "DIGITS_API_MAX_BATCH" in settings
        return Server(
            name=name,
            command=[sys.executable, "-m", "digits_api"],
            env=dict(
                env,
                DIGITS_API_PORT=str(port),
                DIGITS_API_MODEL_PATH=str(BUNDLE),
                DIGITS_API_LOG_LEVEL="warning",
                DIGITS_STORE_URL=f"sqlite:///{store_dir}/feedback-{port}.sqlite3",
                **settings,
            ),
            url=f"http://127.0.0.1:{port}",
            ready_path="/readyz",
            predict_path="/predict",
            single_body=single,
            predicted_label=their_prediction,
            batch_path="/predict/batch" if with_batches else None,
            batch_body=batch if with_batches else None,
        )

    return {
        API: api_server("api (TFLite)", api_port, DIGITS_API_MAX_BATCH=str(BATCH)),
        API_NO_DRIFT: api_server(
            "api, drift and sampling off", plain_port, DIGITS_API_DRIFT="false", DIGITS_API_SAMPLE_RATE="0"
        ),
        KSERVE: Server(
            name=f"kserve {_kserve_version()} (TFLite)",
            command=[
                str(kserve_python),
                "-m",
                "bench.kserve_server",
                "--http_port",
                str(kserve_port),
                "--model_name",
                KSERVE_MODEL,
                "--bundle",
                str(BUNDLE),
            ],
            env=env,
            url=f"http://127.0.0.1:{kserve_port}",
            ready_path=kserve_path,
            predict_path=f"{kserve_path}:predict",
            single_body=single_instance,
            predicted_label=kserve_prediction,
            batch_path=f"{kserve_path}:predict",
            batch_body=batch,
        ),
        NOOP_FASTAPI: Server(
            name="no-op FastAPI route",
            command=[sys.executable, "-m", "bench.noop_apps", "fastapi", "--port", str(fastapi_port)],
            env=env,
            url=f"http://127.0.0.1:{fastapi_port}",
            ready_path="/readyz",
            predict_path="/predict",
            single_body=single,
            predicted_label=None,
        ),
        NOOP_ASGI: Server(
            name="no-op raw ASGI",
            command=[sys.executable, "-m", "bench.noop_apps", "asgi", "--port", str(asgi_port)],
            env=env,
            url=f"http://127.0.0.1:{asgi_port}",
            ready_path="/readyz",
            predict_path="/predict",
            single_body=single,
            predicted_label=None,
        ),
        BASELINE: Server(
            name="baseline (TF per request)",
            command=[
                sys.executable,
                "-m",
                "uvicorn",
                "bench.baseline_app:app",
                "--port",
                str(baseline_port),
                "--log-level",
                "warning",
                "--workers",
                "1",
            ],
            env=dict(env, DIGITS_BASELINE_BUNDLE=str(BUNDLE)),
            url=f"http://127.0.0.1:{baseline_port}",
            ready_path="/readyz",
            predict_path="/predict",
            single_body=single,
            predicted_label=their_prediction,
        ),
    }


def _table(results: dict[str, Result]) -> str:
    rows = [
        f"{'':30}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'errors':>8}{'batch img/s':>13}"
        f"{'cold s':>8}{'RSS MB':>8}"
    ]
    for r in results.values():
        batch = f"{r.batch_images_per_s:,.0f}" if r.batch_images_per_s else "-"
        errors = r.single.errors + (r.batch.errors if r.batch else 0)
        rows.append(
            f"{r.name:30}{r.single.requests_per_s:>10,.0f}{r.single.p50_ms:>9.2f}{r.single.p99_ms:>9.2f}"
            f"{r.cpu_ms_per_request:>12.3f}{errors:>8}{batch:>13}{r.cold_start_s:>8.2f}{r.rss_mb:>8.0f}"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    default_cache = cache_dir()
    parser.add_argument(
        "--kserve-python",
        type=Path,
        default=default_cache / "bench-kserve-venv" / "bin" / "python",
        help="The Python of the virtualenv with kserve-requirements.txt installed (made by `make bench`).",
    )
    args = parser.parse_args()
    if not args.kserve_python.exists():
        parser.error(f"{args.kserve_python} does not exist: `make bench` makes it")

    load_before = os.getloadavg()[0]
    cpu = _cpu()
    mnist = load_mnist()
    logs = ARTIFACTS / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, Result] = {}
    expected_label = int(mnist.y_test[DIGIT])
    with tempfile.TemporaryDirectory(prefix="bench-store-") as store_dir, contextlib.ExitStack() as stack:
        running: dict[str, Running] = {}
        # Started one at a time (cold starts alone); then idle while the others are loaded.
        for key, server in _servers(args.kserve_python, mnist.x_test[:BATCH], Path(store_dir)).items():
            print(f"starting {server.name} ...", flush=True)
            running[key] = stack.enter_context(Running(server, logs / f"{key}.log"))
            running[key].check(expected_label)
        for number in range(1, bench_servers.ROUNDS + 1):
            print(f"round {number} of {bench_servers.ROUNDS}: single predictions", flush=True)
            for instance in running.values():
                instance.load_round(bench_servers.DURATION_S)
        print("batches", flush=True)
        for key, instance in running.items():
            instance.load_batches(bench_servers.DURATION_S)
            results[key] = instance.result(BATCH)

    print(
        f"\nsingle predictions: {bench_servers.CONNECTIONS} connections, median of {bench_servers.ROUNDS} interleaved"
        f" rounds of {bench_servers.DURATION_S} s;"
        f" batch: {BATCH} images a request, {bench_servers.BATCH_CONNECTIONS} connections; wrk, one thread;"
        f" {os.cpu_count()} CPUs ({cpu}), load average {load_before:.1f} before the run,"
        f" {os.getloadavg()[0]:.1f} after\n"
    )
    print(_table(results))
    ceiling = results[NOOP_ASGI].single.requests_per_s
    print(f"\nthe API answers {results[API].single.requests_per_s / ceiling:.0%} of the raw ASGI ceiling's requests/s")
    targets = evaluate_targets(results)
    print("\ntargets")
    width = max(len(t.name) for t in targets)
    for target in targets:
        print(f"  {'PASS' if target.passed else 'FAIL'}  {target.name:{width}}  {target.figure}")
    passed = all(t.passed for t in targets)
    (ARTIFACTS / "bench.json").write_text(
        json.dumps(
            {
                "cpu": cpu,
                "cpus": os.cpu_count(),
                "results": {key: asdict(r) for key, r in results.items()},
                "targets": [asdict(t) for t in targets],
                "passed": passed,
            },
            indent=2,
        )
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
