"""``GET /drift`` and the drift gauges, through real HTTP against the real server: stable for MNIST test
digits, significant for digits drawn small and thick, unknown for a bundle that records no reference."""

from __future__ import annotations

import re

import httpx
import numpy as np
import pytest

from tests.support.bundles import copy_bundle
from tests.support.paths import BAKED_IN_VERSION
from tests.support.servers import api_server
from tests.support.shifted_digits import tiny_thick


def send(url: str, images: np.ndarray) -> None:
    for start in range(0, len(images), 64):
        batch = images[start : start + 64].reshape(-1, 784).tolist()
        assert httpx.post(f"{url}/predict/batch", json={"instances": batch}, timeout=30).status_code == 200


def psi_gauges(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics").text
    return {
        name: float(value) for name, value in re.findall(r'^digits_drift_psi\{feature="(\w+)"\} (\S+)$', text, re.M)
    }


@pytest.fixture
def api_server_with_drift(tmp_path, baked_in_bundle):
    with api_server(tmp_path, model_path=str(baked_in_bundle), max_batch="64", drift_window="500") as server:
        yield server


def test_mnist_digits_are_stable_and_small_thick_digits_drift(api_server_with_drift, mnist):
    url = api_server_with_drift.url
    empty = httpx.get(f"{url}/drift").json()
    assert empty["window"] == 0 and empty["reference"] == {"dataset": "mnist train", "n": 60000}
    assert all(feature["status"] == "unknown" for feature in empty["features"].values())

    send(url, mnist.x_test[:500])
    report = httpx.get(f"{url}/drift").json()
    assert report["window"] == 500 and report["model_version"] == BAKED_IN_VERSION
    statuses = {name: feature["status"] for name, feature in report["features"].items()}
    assert set(statuses.values()) == {"stable"}, report["features"]
    box = report["features"]["box_height"]
    assert len(box["live"]) == len(box["reference"]) == len(box["edges"]) - 1
    assert sum(box["live"]) == pytest.approx(1)
    assert max(psi_gauges(url).values()) < 0.1

    send(url, tiny_thick(mnist.x_test[500:1000]))  # fills the window: the MNIST digits are out of it
    shifted = httpx.get(f"{url}/drift").json()
    assert shifted["window"] == 500
    for name in ("box_height", "box_width", "ink_mass"):
        assert shifted["features"][name]["status"] == "significant", shifted["features"][name]
    gauges = psi_gauges(url)
    assert gauges["box_height"] > 0.25 and set(gauges) == set(report["features"])
    assert "digits_drift_window_inputs 500.0" in httpx.get(f"{url}/metrics").text


def test_a_bundle_without_a_reference_serves_as_before_with_drift_unknown(tmp_path, baked_in_bundle, mnist):
    older = copy_bundle(baked_in_bundle, tmp_path / "older", drift_reference=None)
    with api_server(tmp_path, model_path=str(older)) as server:
        send(server.url, mnist.x_test[:64])
        report = httpx.get(f"{server.url}/drift").json()
        assert report["reference"] is None and report["window"] == 64
        assert {feature["status"] for feature in report["features"].values()} == {"unknown"}
        assert all(feature["live"] is not None for feature in report["features"].values())
        metrics = httpx.get(f"{server.url}/metrics").text
        assert "digits_drift_reference 0.0" in metrics and psi_gauges(server.url) == {}


def test_drift_can_be_switched_off(tmp_path, baked_in_bundle, mnist):
    with api_server(tmp_path, model_path=str(baked_in_bundle), drift="false") as server:
        send(server.url, mnist.x_test[:64])
        report = httpx.get(f"{server.url}/drift").json()
        assert report["enabled"] is False and report["window"] == 0
