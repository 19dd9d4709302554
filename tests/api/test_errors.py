"""Errors of the model runtime are answered like the API's own, over real HTTP (the app in a real uvicorn
server): ``ModelNotReady`` is a 503 with Retry-After and a JSON detail, whether a route or the ``/predict``
fast path meets it; an unexpected error in the fast path is a JSON 500, counted, its traceback logged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from digits_api.app import create_app
from digits_api.fast_path import PredictFastPath
from digits_api.metrics import MetricsMiddleware
from digits_api.server import uvicorn_options
from digits_api.settings import ApiSettings
from digits_bundle.bundle import verify_directory
from digits_bundle.runtime import DigitModel
from tests.support.servers import free_port, wait_until


@contextmanager
def _served(app: FastAPI, settings: ApiSettings) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 30, "the server to start")
        yield f"http://{settings.host}:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def api_with_an_unloaded_model(baked_in_bundle):
    """The real app, plus a route and a ``/predict`` fast path that ask a model that was never loaded."""
    settings = ApiSettings(model_path=baked_in_bundle, port=free_port(), log_level="warning")
    unloaded = DigitModel(verify_directory(baked_in_bundle))
    app = create_app(settings)

    def predict_unloaded() -> list[float]:
        return unloaded.predict(np.zeros((1, 784), dtype=np.float32)).tolist()

    async def predict_unloaded_fast(request: Request) -> Response:
        predict_unloaded()
        raise AssertionError("an unloaded model answered")

    app.add_api_route("/unloaded", predict_unloaded)
    app.outer_layers = lambda stack: PredictFastPath(stack, predict_unloaded_fast)
    with _served(app, settings) as url:
        yield url


@pytest.mark.parametrize(("method", "path"), [("GET", "/unloaded"), ("POST", "/predict")])
def test_a_model_that_is_not_ready_is_a_503_to_retry(api_with_an_unloaded_model, method, path):
    response = httpx.request(method, f"{api_with_an_unloaded_model}{path}", json=[0] * 784)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"detail": "model is not loaded"}


def test_the_served_model_still_answers(api_with_an_unloaded_model):
    assert httpx.get(f"{api_with_an_unloaded_model}/readyz").status_code == 200


def test_an_unexpected_error_in_the_fast_path_is_a_json_500_counted_and_logged(baked_in_bundle, caplog):
    settings = ApiSettings(model_path=baked_in_bundle, port=free_port(), log_level="warning")
    app = create_app(settings)

    async def broken(request: Request) -> Response:
        raise RuntimeError("secret internals")

    app.outer_layers = lambda stack: MetricsMiddleware(PredictFastPath(stack, broken), app.state.metrics)
    with _served(app, settings) as url:
        response = httpx.post(f"{url}/predict", json=[0] * 784)
        metrics = httpx.get(f"{url}/metrics").text
    assert response.status_code == 500 and response.json() == {"detail": "internal server error"}
    assert 'digits_http_requests_total{method="POST",route="/predict",status="500"} 1.0' in metrics
    assert any("secret internals" in str(record.exc_info) for record in caplog.records)
