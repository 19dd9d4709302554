"""Property-based requests generated from the service's own OpenAPI description: no 5xx, no schema violation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

MIN_REQUESTS = 1000


def _requests_and_5xx(url: str) -> tuple[float, float]:
    total = errors = 0.0
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        match = re.match(r'digits_http_requests_total\{.*status="(\d+)"\} ([0-9.e+]+)', line)
        if match:
            total += float(match.group(2))
            errors += float(match.group(2)) if match.group(1).startswith("5") else 0
    return total, errors


def test_schemathesis_finds_no_server_errors(api, tmp_path):
    before, _ = _requests_and_5xx(api.url)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{api.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "500",
            "--seed",
            "1",
            "--no-color",
            "--workers",
            "2",
            "--exclude-checks",
            "positive_data_acceptance",
            "--suppress-health-check",
            "all",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    after, server_errors = _requests_and_5xx(api.url)
    assert result.returncode == 0, result.stdout[-6000:]
    assert server_errors == 0
    assert after - before >= MIN_REQUESTS, f"only {after - before:.0f} requests were generated"
