"""Property-based requests generated from the service's own OpenAPI description: no 5xx, no schema violation."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.support.servers import requests_served

# The fuzzer decides how many cases it draws (the count differs between machines and with their load: 672
# to 1127 in all seen, and as few as 80 for POST /predict once the feedback and drift routes joined), so the
# floor only proves that each body-taking operation was really exercised against the server.
MIN_REQUESTS_PER_PREDICT_ROUTE = 50
PREDICT_ROUTES = ("/predict", "/predict/batch")


def _requests(url: str) -> Counter[tuple[str, str, str]]:
    """Requests the server has answered so far, by (method, route, status class)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for (method, route, status), count in requests_served(url).items():
        counts[(method, route, f"{status[0]}xx")] += count
    return counts


def test_schemathesis_finds_no_server_errors(api, tmp_path):
    before = _requests(api.url)
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
    sent = _requests(api.url) - before
    assert result.returncode == 0, result.stdout[-6000:]
    assert not [key for key in sent if key[2] == "5xx"], sent
    for route in PREDICT_ROUTES:
        answered = sum(count for (method, path, _), count in sent.items() if (method, path) == ("POST", route))
        assert answered >= MIN_REQUESTS_PER_PREDICT_ROUTE, (
            f"only {answered} requests reached POST {route}: {dict(sent)}\n{result.stdout[-3000:]}"
        )
