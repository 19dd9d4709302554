"""``make bench``'s reading of wrk and its targets: pure functions, as tables."""

from __future__ import annotations

import pytest

from bench.load_generator import Load, parse_wrk
from bench.servers import Result
from bench.targets import API, API_NO_DRIFT, BASELINE, KSERVE, NOOP_ASGI, NOOP_FASTAPI, evaluate_targets

# wrk 4.1's report; the thread stats' "+/- Stdev" of 83.50% once read as the 50th percentile.
WRK_REPORT = """Running 10s test @ http://127.0.0.1:8000/predict
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.10ms    3.21ms  41.02ms   83.50%
    Req/Sec     1.14k    61.33     1.25k    71.00%
  Latency Distribution
     50%   13.74ms
     75%   15.02ms
     90%   17.66ms
     99%   25.89ms
  11343 requests in 10.00s, 2.51MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1134.21
Transfer/sec:    256.83KB
"""


def test_parse_wrk_reads_the_percentiles_not_the_stdev_column():
    load = parse_wrk(WRK_REPORT)
    assert load == Load(requests_per_s=1134.21, p50_ms=13.74, p99_ms=25.89, requests=11343, errors=7)


@pytest.mark.parametrize(("text", "ms"), [("850.00us", 0.85), ("1.20s", 1200.0), ("2.00m", 120_000.0)])
def test_parse_wrk_converts_units(text, ms):
    load = parse_wrk(WRK_REPORT.replace("99%   25.89ms", f"99%   {text}"))
    assert load.p99_ms == pytest.approx(ms)


def test_parse_wrk_refuses_a_report_without_figures():
    with pytest.raises(RuntimeError, match="Requests/sec"):
        parse_wrk("unable to connect to 127.0.0.1:8000 Connection refused")


def _result(name: str, rps: float, p99_ms: float = 10.0, batch: float | None = None, errors: int = 0) -> Result:
    single = Load(requests_per_s=rps, p50_ms=p99_ms / 2, p99_ms=p99_ms, requests=int(rps * 10), errors=errors)
    return Result(name, 1.0, single, 1.0, None, batch, 100.0)


def _verdicts(
    api_rps: float, p99_ms: float, batch: float, kserve_rps: float, errors: int = 0, no_drift_rps: float = 0
) -> dict[str, bool]:
    results = {
        API: _result("api", api_rps, p99_ms, batch),
        API_NO_DRIFT: _result("api-no-drift", no_drift_rps or api_rps),
        KSERVE: _result("kserve", kserve_rps, errors=errors),
        NOOP_FASTAPI: _result("noop-fastapi", 3000.0),
        NOOP_ASGI: _result("noop-asgi", 8000.0),
        BASELINE: _result("baseline", 50.0),
    }
    return {target.name: target.passed for target in evaluate_targets(results)}


@pytest.mark.parametrize(
    ("api_rps", "p99_ms", "batch", "kserve_rps", "errors", "failed"),
    [
        (2000.0, 15.0, 9000.0, 1000.0, 0, set()),
        (1999.0, 15.0, 9000.0, 1000.0, 0, {"single throughput >= 2x KServe's"}),
        (1400.0, 15.0, 9000.0, 600.0, 0, {"single throughput >= 50% of the no-op FastAPI route"}),
        (2000.0, 20.5, 9000.0, 1000.0, 0, {"p99 <= 20 ms at 16 connections"}),
        (2000.0, 15.0, 7999.0, 1000.0, 0, {"batch >= 8,000 images/s"}),
        (2000.0, 15.0, 9000.0, 1000.0, 3, {"no failed requests"}),
    ],
)
def test_each_target_fails_on_its_own_figure(api_rps, p99_ms, batch, kserve_rps, errors, failed):
    verdicts = _verdicts(api_rps, p99_ms, batch, kserve_rps, errors)
    assert {name for name, passed in verdicts.items() if not passed} == failed


def test_drift_scoring_may_cost_at_most_five_percent():
    assert all(_verdicts(2000.0, 15.0, 9000.0, 1000.0, no_drift_rps=2100.0).values())
    verdicts = _verdicts(2000.0, 15.0, 9000.0, 1000.0, no_drift_rps=2110.0)
    assert {name for name, passed in verdicts.items() if not passed} == {
        "single throughput with drift on >= 95% of it with drift off"
    }
