"""``POST /predict`` and ``POST /predict/batch``."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from digits_api.body import read_json_body
from digits_api.metrics import ApiMetrics
from digits_api.model import DigitModel
from digits_api.pixels import image_batch, single_image
from digits_api.registry import ModelRegistry
from digits_api.schemas import ERRORS, PREDICT_BODY, BatchPrediction, Prediction, batch_body
from digits_api.settings import ApiSettings

# Batches up to this size run on the event loop: cheaper than a thread hop.
_INLINE_BATCH = 8


def _labelled(model: DigitModel, probabilities: np.ndarray, metrics: ApiMetrics) -> list[dict[str, Any]]:
    labels = model.labels
    best = probabilities.argmax(axis=1)
    results = []
    for row, index in zip(probabilities.tolist(), best.tolist(), strict=True):
        label = labels[index]
        metrics.predictions.labels(label=str(label), model_version=model.version).inc()
        results.append(
            {
                "prediction": label,
                "probability": row[index],
                "probabilities": {str(lab): p for lab, p in zip(labels, row, strict=True)},
            }
        )
    return results


def _json(content: dict[str, Any], model: DigitModel) -> Response:
    return Response(orjson.dumps(content), media_type="application/json", headers={"X-Model-Version": model.version})


def predict_router(registry: ModelRegistry, metrics: ApiMetrics, settings: ApiSettings) -> APIRouter:
    """The prediction routes, bound to the app's registry when the app is built.

    The hot path takes the raw request: no per-request dependency resolution.
    """
    router = APIRouter(prefix="/predict", tags=["predict"])

    @router.post(
        "",
        summary="Predict one digit",
        description="Body: a bare JSON array of 784 grey levels 0..255 (row by row, white digit on black), "
        'or {"pixels": [...]}.',
        response_model=Prediction,
        responses=ERRORS,
        openapi_extra={"requestBody": PREDICT_BODY},
    )
    async def predict(request: Request) -> Response:
        pixels = single_image(await read_json_body(request, settings.max_body_bytes))
        model = registry.current
        (result,) = _labelled(model, model.predict(pixels), metrics)
        return _json({**result, "model_version": model.version}, model)

    @router.post(
        "/batch",
        summary="Predict a batch of digits",
        response_model=BatchPrediction,
        responses=ERRORS,
        openapi_extra={"requestBody": batch_body(settings.max_batch)},
    )
    async def predict_batch(request: Request) -> Response:
        pixels = image_batch(await read_json_body(request, settings.max_body_bytes), settings.max_batch)
        model = registry.current
        if len(pixels) <= _INLINE_BATCH:
            probabilities = model.predict(pixels)
        else:
            probabilities = await run_in_threadpool(model.predict, pixels)
        return _json({"predictions": _labelled(model, probabilities, metrics), "model_version": model.version}, model)

    return router
