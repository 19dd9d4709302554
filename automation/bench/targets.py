"""The targets ``make bench`` checks, decided from one run's figures; no I/O.

Issue 11's "keep the hot path fast" are four: at least 2x KServe's and half the no-op FastAPI route's
single-prediction throughput (relative to servers measured in the same run with the same load generator),
p99 and batch throughput. The drift ratio is issue 13's; the last three are the earlier ones, kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.servers import CONNECTIONS, Result

API, KSERVE, NOOP_FASTAPI, NOOP_ASGI, BASELINE = "api", "kserve", "noop-fastapi", "noop-asgi", "baseline"
API_NO_DRIFT = "api-no-drift"
"""The servers' keys in a run's results."""

MIN_TIMES_KSERVE = 2.0
"""Single-prediction requests/s at least this many times KServe's, same model and load."""
MIN_SHARE_OF_NOOP_FASTAPI = 0.5
"""Single-prediction requests/s at least this share of a FastAPI route that does nothing."""
MAX_P99_MS = 20.0
"""99th percentile latency of single predictions at ``CONNECTIONS`` connections, in milliseconds."""
MIN_BATCH_IMAGES_PER_S = 8000.0
"""Images per second through the batch endpoint."""
MIN_SHARE_WITHOUT_DRIFT = 0.95
"""Single-prediction requests/s with drift scoring on at least this share of it with drift off (issue 13)."""
MIN_TIMES_BASELINE = 20.0
"""Single-prediction requests/s at least this many times the original serving style's."""
MAX_COLD_START_S = 2.0
"""Seconds from process start to /readyz 200."""
MAX_RSS_MB = 150.0
"""Resident memory after the load, in MiB."""


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    """The measured figure, with what it was computed from."""
    passed: bool


def _ratio(name: str, ours: float, theirs: float, minimum: float, as_share: bool = False) -> Target:
    ratio = ours / theirs if theirs > 0 else float("inf")
    shown = f"{ratio:.0%}" if as_share else f"{ratio:.2f}x"
    return Target(name, f"{shown} ({ours:,.0f} / {theirs:,.0f} req/s)", ratio >= minimum)


def evaluate_targets(results: Mapping[str, Result]) -> list[Target]:
    """Each target with its figure and whether it was met. Failed requests (from any server: a comparison
    against errors means nothing) are a target of their own."""
    api = results[API]
    targets = [
        _ratio(
            f"single throughput >= {MIN_TIMES_KSERVE:g}x KServe's",
            api.single.requests_per_s,
            results[KSERVE].single.requests_per_s,
            MIN_TIMES_KSERVE,
        ),
        _ratio(
            f"single throughput >= {MIN_SHARE_OF_NOOP_FASTAPI:.0%} of the no-op FastAPI route",
            api.single.requests_per_s,
            results[NOOP_FASTAPI].single.requests_per_s,
            MIN_SHARE_OF_NOOP_FASTAPI,
            as_share=True,
        ),
        _ratio(
            f"single throughput with drift on >= {MIN_SHARE_WITHOUT_DRIFT:.0%} of it with drift off",
            api.single.requests_per_s,
            results[API_NO_DRIFT].single.requests_per_s,
            MIN_SHARE_WITHOUT_DRIFT,
            as_share=True,
        ),
        Target(
            f"p99 <= {MAX_P99_MS:g} ms at {CONNECTIONS} connections",
            f"{api.single.p99_ms:.2f} ms",
            api.single.p99_ms <= MAX_P99_MS,
        ),
        Target(
            f"batch >= {MIN_BATCH_IMAGES_PER_S:,.0f} images/s",
            f"{api.batch_images_per_s or 0:,.0f} images/s",
            (api.batch_images_per_s or 0) >= MIN_BATCH_IMAGES_PER_S,
        ),
        _ratio(
            f"single throughput >= {MIN_TIMES_BASELINE:g}x the original serving style",
            api.single.requests_per_s,
            results[BASELINE].single.requests_per_s,
            MIN_TIMES_BASELINE,
        ),
        Target(
            f"cold start <= {MAX_COLD_START_S:g} s", f"{api.cold_start_s:.2f} s", api.cold_start_s <= MAX_COLD_START_S
        ),
        Target(f"RSS <= {MAX_RSS_MB:g} MB", f"{api.rss_mb:.0f} MB", api.rss_mb <= MAX_RSS_MB),
    ]
    failed = {r.name: r.single.errors + (r.batch.errors if r.batch else 0) for r in results.values()}
    failed = {name: errors for name, errors in failed.items() if errors}
    shown = ", ".join(f"{errors} from {name}" for name, errors in failed.items()) or "none"
    targets.append(Target("no failed requests", shown, not failed))
    return targets
