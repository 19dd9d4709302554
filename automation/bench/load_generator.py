"""The one load generator every server in ``make bench`` gets: ``wrk``, one thread, keep-alive connections."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    """What ``wrk`` measured: requests/s, latency percentiles in milliseconds, and the requests that failed."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _field(pattern: str, output: str) -> str:
    found = re.search(pattern, output, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk's output has no {pattern!r}:\n{output}")
    return found.group(1)


def parse_wrk(output: str) -> Load:
    """The figures in ``wrk --latency``'s report; non-2xx answers and socket errors both count as errors."""
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Load(
        requests_per_s=float(_field(r"Requests/sec:\s+([\d.]+)", output)),
        # At the start of a line: the thread stats' "+/- Stdev" column can end in "50%" too ("83.50%").
        p50_ms=_ms(_field(r"^\s*50%\s+(\S+)", output)),
        p99_ms=_ms(_field(r"^\s*99%\s+(\S+)", output)),
        requests=int(_field(r"(\d+) requests in", output)),
        errors=(int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    )


def wrk(url: str, body: bytes, connections: int, duration_s: int) -> Load:
    """POST ``body`` as JSON to ``url`` over ``connections`` keep-alive connections for ``duration_s``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [==[{body.decode()}]==]\n"
        )
    try:
        output = subprocess.run(
            ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration_s}s", "--latency", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
            # wrk stops itself after duration_s; the margin covers its start and a slow last answer.
            timeout=duration_s + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(output)
