"""``POST /predict`` and ``POST /predict/batch``."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import numpy as np
from anyio import CapacityLimiter
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from digits_api.body import read_json_body
from digits_api.json_response import json_response
from digits_api.metrics import ApiMetrics
from digits_api.micro_batch import MicroBatcher, Observer
from digits_api.pixels import image_batch, single_image
from digits_api.registry import ModelRegistry
from digits_api.schemas import ERRORS, PREDICT_BODY, BatchPrediction, Prediction, batch_body
from digits_api.settings import ApiSettings
from digits_bundle.runtime import DigitModel

# Batches up to this size run on the event loop: cheaper than a thread hop.
_INLINE_BATCH = 8
# Bodies up to this size are parsed on the event loop: one image is 2 to 16 KB, parsed in well under a
# millisecond, less than a thread hop costs. Larger (batch) bodies, up to max_batch_body_bytes, are parsed in a
# worker thread, so that /healthz and every other request keep being answered meanwhile.
_INLINE_PARSE_BYTES = 64 * 1024


def _labelled(model: DigitModel, probabilities: np.ndarray, metrics: ApiMetrics) -> list[dict[str, Any]]:
    names, labels = model.label_names, model.labels
    best = probabilities.argmax(axis=1)
    counts = np.bincount(best, minlength=len(labels))
    metrics.count_predictions(model.version, {names[i]: int(n) for i, n in enumerate(counts.tolist()) if n})
    return [
        {"prediction": labels[index], "probability": row[index], "probabilities": dict(zip(names, row, strict=True))}
        for row, index in zip(probabilities.tolist(), best.tolist(), strict=True)
    ]


class PredictRoutes:
    """The prediction routes, bound to the app's registry when the app is built.

    The handlers take the raw request: no per-request dependency resolution. ``predict`` is also what
    ``fast_path.PredictFastPath`` calls for ``POST /predict``, ahead of the router.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        metrics: ApiMetrics,
        settings: ApiSettings,
        observe: Observer,
    ) -> None:
        """``observe(images, probabilities, model)`` sees every input and answer (drift, sampling): once per
        batch, single predictions that ran together included."""
        self.registry, self.metrics, self.settings, self.observe = registry, metrics, settings, observe
        # One large body parsed at a time: the GIL serialises parsing anyway, and this bounds the memory that
        # parsed bodies take however many clients send them at once.
        self._parse_limiter = CapacityLimiter(1)
        self._batcher = MicroBatcher(settings.micro_batch, metrics.inference_batch, observe)
        self.router = APIRouter(prefix="/predict", tags=["predict"])
        self.router.add_api_route(
            "",
            self.predict,
            methods=["POST"],
            summary="Predict one digit",
            description="Body: a bare JSON array of 784 grey levels 0..255 (row by row, white digit on black), "
            'or {"pixels": [...]}.',
            response_model=Prediction,
            responses=ERRORS,
            openapi_extra={"requestBody": PREDICT_BODY},
        )
        self.router.add_api_route(
            "/batch",
            self.predict_batch,
            methods=["POST"],
            summary="Predict a batch of digits",
            response_model=BatchPrediction,
            responses=ERRORS,
            openapi_extra={"requestBody": batch_body(settings.max_batch)},
        )

    async def predict(self, request: Request) -> Response:
        settings = self.settings
        body = await read_json_body(request, settings.max_predict_body_bytes, settings.body_timeout_s)
        if len(body) <= _INLINE_PARSE_BYTES:
            pixels = single_image(body)
        else:
            pixels = await anyio.to_thread.run_sync(single_image, body, limiter=self._parse_limiter)
        model = self.registry.current
        probabilities = await self._batcher.predict(model, pixels)
        (result,) = _labelled(model, probabilities, self.metrics)
        return json_response({**result, "model_version": model.version}, model_version=model.version)

    async def predict_batch(self, request: Request) -> Response:
        settings = self.settings
        body = await read_json_body(request, settings.max_batch_body_bytes, settings.body_timeout_s)
        if len(body) <= _INLINE_PARSE_BYTES:
            pixels = image_batch(body, settings.max_batch)
        else:
            pixels = await anyio.to_thread.run_sync(image_batch, body, settings.max_batch, limiter=self._parse_limiter)
        model = self.registry.current
        if len(pixels) <= _INLINE_BATCH:
            probabilities = model.predict(pixels)
        else:
            probabilities = await run_in_threadpool(model.predict, pixels)
        self.observe(pixels, probabilities, model)
        return json_response(
            {"predictions": _labelled(model, probabilities, self.metrics), "model_version": model.version},
            model_version=model.version,
        )
