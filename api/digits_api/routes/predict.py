"""``POST /predict`` and ``POST /predict/batch``."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from digits_api.deps import JsonBody, MetricsDep, RegistryDep, SettingsDep
from digits_api.metrics import ApiMetrics
from digits_api.model import DigitModel
from digits_api.pixels import image_batch, parse_json, single_image
from digits_api.schemas import ERRORS, PREDICT_BODY, BatchPrediction, Prediction, batch_body

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


def predict_router(max_batch: int) -> APIRouter:
    """The prediction routes; ``max_batch`` is documented in the OpenAPI description."""
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
    async def predict(body: JsonBody, registry: RegistryDep, metrics: MetricsDep) -> Response:
        pixels = single_image(parse_json(body))
        model = registry.current
        (result,) = _labelled(model, model.predict(pixels), metrics)
        return _json({**result, "model_version": model.version}, model)


    @router.post(
        "/batch",
        summary="Predict a batch of digits",
        response_model=BatchPrediction,
        responses=ERRORS,
        openapi_extra={"requestBody": batch_body(max_batch)},
    )
    async def predict_batch(
        body: JsonBody, registry: RegistryDep, settings: SettingsDep, metrics: MetricsDep
    ) -> Response:
        pixels = image_batch(parse_json(body), settings.max_batch)
        model = registry.current
        if len(pixels) <= _INLINE_BATCH:
            probabilities = model.predict(pixels)
        else:
            probabilities = await run_in_threadpool(model.predict, pixels)
        return _json({"predictions": _labelled(model, probabilities, metrics), "model_version": model.version}, model)

    return router
