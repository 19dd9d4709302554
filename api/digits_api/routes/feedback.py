"""``POST /feedback`` (what people say about a prediction) and ``GET /feedback/stats`` (live accuracy)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Request, Response

from digits_api.body import read_json_body
from digits_api.errors import Conflict, StoreUnavailable, TooManyRequests
from digits_api.feedback_body import FeedbackBody, parse_feedback
from digits_api.json_response import json_response
from digits_api.metrics import ApiMetrics
from digits_api.rate_limit import RateLimiter
from digits_api.registry import ModelRegistry
from digits_api.schemas import ERRORS, FeedbackSaved, FeedbackStatsBody
from digits_api.settings import ApiSettings
from digits_api.store_link import StoreLink
from digits_store import records

if TYPE_CHECKING:
    from digits_store.feedback import FeedbackStore


class FeedbackRoutes:
    def __init__(self, registry: ModelRegistry, metrics: ApiMetrics, settings: ApiSettings, link: StoreLink) -> None:
        self.registry, self.metrics, self.settings, self.link = registry, metrics, settings, link
        self.limiter = RateLimiter(settings.feedback_per_minute, settings.feedback_burst)
        # As many store calls at once as the store has connections: the rest wait here, not in the pool.
        self._database = CapacityLimiter(link.settings.pool_size)
        self.router = APIRouter(prefix="/feedback", tags=["feedback"])
        self.router.add_api_route(
            "",
            self.save,
            methods=["POST"],
            status_code=201,
            summary="Say whether a prediction was right",
            description="Saved once per submission_id: a retry with the same content answers 200 and the first"
            " id, the same id with other content 409. 503 with Retry-After while the store is unavailable.",
            response_model=FeedbackSaved,
            responses={
                **ERRORS,
                409: ERRORS[422] | {"description": "The submission id was used for other content."},
                429: ERRORS[422] | {"description": "Too many answers from this browser; see Retry-After."},
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": FeedbackBody.model_json_schema()}},
                }
            },
        )
        self.router.add_api_route(
            "/stats",
            self.stats,
            methods=["GET"],
            summary="Live accuracy from feedback",
            response_model=FeedbackStatsBody,
            responses={503: ERRORS[503]},
        )

    def _store(self) -> FeedbackStore:
        if self.link.store is None:
            raise StoreUnavailable(f"the feedback store is unavailable: {self.link.problem}")
        return self.link.store

    async def save(self, request: Request) -> Response:
        settings = self.settings
        body = await read_json_body(request, settings.max_feedback_body_bytes, settings.body_timeout_s)
        record = await anyio.to_thread.run_sync(parse_feedback, body, self.registry.current.labels)
        wait = self.limiter.take(record.client_id)
        if wait:
            raise TooManyRequests(
                "too many answers from this browser: try again later", {"Retry-After": RateLimiter.retry_after(wait)}
            )
        store = self._store()
        try:
            saved = await anyio.to_thread.run_sync(store.add, record, limiter=self._database)
        except records.Replayed as error:
            raise Conflict(str(error)) from None
        except records.StoreUnavailable as error:
            raise StoreUnavailable(f"the feedback store is unavailable: {error}") from None
        if saved.created:
            self.metrics.count_feedback(record.model_version, record.label == record.predicted)
        return json_response({"id": saved.id, "created": saved.created}, 201 if saved.created else 200)

    async def stats(self) -> Response:
        store = self._store()
        try:
            stats = await anyio.to_thread.run_sync(store.stats, limiter=self._database)
        except records.StoreUnavailable as error:
            raise StoreUnavailable(f"the feedback store is unavailable: {error}") from None
        return json_response(asdict(stats))
