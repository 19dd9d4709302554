"""Every endpoint through real HTTP against the real server process."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from tests.support.bundles import copy_bundle
from tests.support.paths import BAKED_IN_VERSION
from tests.support.servers import api_server


@pytest.fixture(scope="module")
def digits(mnist):
    """The first test image of every digit, as lists of grey levels."""
    return {d: mnist.x_test[np.flatnonzero(mnist.y_test == d)[0]].reshape(-1).tolist() for d in range(10)}


def test_predict_accepts_the_original_bare_array(api, digits):
    response = httpx.post(f"{api.url}/predict", json=digits[7])
    assert response.status_code == 200
    body = response.json()
    assert body["prediction"] == 7
    assert 0.5 < body["probability"] <= 1
    assert set(body["probabilities"]) == {str(d) for d in range(10)}
    assert sum(body["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    assert body["model_version"] == response.headers["x-model-version"] == BAKED_IN_VERSION


def test_predict_accepts_pixels_object(api, digits):
    for digit, pixels in digits.items():
        response = httpx.post(f"{api.url}/predict", json={"pixels": pixels})
        assert response.status_code == 200
        assert response.json()["prediction"] == digit


def test_batch_predicts_in_order(api, digits):
    response = httpx.post(f"{api.url}/predict/batch", json={"instances": [digits[d] for d in range(10)]})
    assert response.status_code == 200
    body = response.json()
    assert [p["prediction"] for p in body["predictions"]] == list(range(10))
    assert body["model_version"] == BAKED_IN_VERSION


def test_model_describes_the_served_bundle(api, baked_in_bundle):
    response = httpx.get(f"{api.url}/model")
    assert response.status_code == 200
    body = response.json()
    manifest = verify_directory(baked_in_bundle).manifest
    assert body["version"] == manifest.version and body["labels"] == manifest.labels
    assert body["metrics"]["test_accuracy"] == pytest.approx(manifest.metrics.test_accuracy)
    assert body["loaded_at"].endswith("Z")


def test_health_readiness_and_docs(api):
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok", "model_version": None}
    assert httpx.get(f"{api.url}/readyz").json() == {"status": "ready", "model_version": BAKED_IN_VERSION}
    spec = httpx.get(f"{api.url}/openapi.json").json()
    assert {"/predict", "/predict/batch", "/model", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert httpx.get(f"{api.url}/api-docs").status_code == 200


def test_metrics_count_requests_predictions_and_version(api, digits):
    httpx.post(f"{api.url}/predict", json=digits[3])
    httpx.post(f"{api.url}/predict", json=[1, 2])
    text = httpx.get(f"{api.url}/metrics").text
    assert f'digits_model_info{{model_version="{BAKED_IN_VERSION}"}} 1.0' in text
    assert f'digits_predictions_total{{label="3",model_version="{BAKED_IN_VERSION}"}}' in text
    assert 'digits_http_requests_total{method="POST",route="/predict",status="422"}' in text
    assert 'digits_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/predict"}' in text


def test_labels_come_from_the_manifest(tmp_path, baked_in_bundle, digits):
    reversed_labels = list(range(9, -1, -1))
    bundle = copy_bundle(baked_in_bundle, tmp_path / "reversed", labels=reversed_labels, version="v-reversed")
    with api_server(tmp_path, model_path=str(bundle)) as server:
        body = httpx.post(f"{server.url}/predict", json=digits[7]).json()
    assert body["prediction"] == 2  # output index 7 is labelled 2 by this manifest
    assert body["model_version"] == "v-reversed"


def test_an_invalid_bundle_stops_the_server_with_the_reason(tmp_path, baked_in_bundle):
    bundle = copy_bundle(baked_in_bundle, tmp_path / "bad", labels=[2, 7, 8])
    with (
        pytest.raises(RuntimeError, match="10 outputs but the manifest names 3 labels"),
        api_server(tmp_path, model_path=str(bundle)),
    ):
        pass


def test_root_without_frontend_says_so(api):
    response = httpx.get(f"{api.url}/")
    assert response.status_code == 200 and "No frontend" in response.text
