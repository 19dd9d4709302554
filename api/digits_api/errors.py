"""Domain errors of the API and the HTTP status each maps to (in one place), and how long a detail may be."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from starlette.responses import JSONResponse

from digits_bundle.runtime import ModelNotReady

# A detail says what was wrong, not everything that was: an object with 800,000 unknown keys once got a 3.9 MB
# detail. Messages are built short (see pixels.py); this cap holds whatever else reaches a response.
MAX_DETAIL_CHARS = 1000


def bounded(detail: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``detail`` cut to ``limit`` characters, saying so."""
    if len(detail) <= limit:
        return detail
    return detail[: limit - 40] + f"... ({len(detail) - limit + 40} more characters)"


class ApiError(Exception):
    status_code = 400
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers: Mapping[str, str] = {**self.default_headers, **(headers or {})}


def error_response(error: ApiError | ModelNotReady) -> JSONResponse:
    """The answer to ``error``: ``{"detail": ...}``, bounded, with the error's status and headers. The model
    runtime knows no HTTP: its ``ModelNotReady`` is answered as ``NotReady``."""
    if isinstance(error, ModelNotReady):
        error = NotReady(str(error))
    return JSONResponse({"detail": bounded(error.detail)}, status_code=error.status_code, headers=error.headers)


def server_error_response() -> JSONResponse:
    """The answer to an unexpected error: no detail of it leaves the server (it is logged)."""
    return JSONResponse({"detail": "internal server error"}, status_code=500)


ANSWERED = (ApiError, ModelNotReady)
"""The errors ``error_response`` answers; any other is a 500."""


class MalformedBody(ApiError):
    """The body is not JSON."""

    status_code = 400


class InvalidInput(ApiError):
    """JSON, but not what the endpoint accepts."""

    status_code = 422


class BodyTooLarge(ApiError):
    status_code = 413


class UnsupportedMediaType(ApiError):
    status_code = 415


class BodyTimeout(ApiError):
    """The client did not send the whole body in time. The rest may still come: the connection is closed."""

    status_code = 408
    default_headers: ClassVar[Mapping[str, str]] = {"Connection": "close"}


class ClientGone(ApiError):
    """The client closed the connection before sending the whole body: nobody reads the answer.

    499 is nginx's "client closed request": counted in the metrics as the client's doing, not as a 5xx.
    """

    status_code = 499


class NotReady(ApiError):
    """No model is ready to answer yet: one is being loaded (it takes seconds)."""

    status_code = 503
    default_headers: ClassVar[Mapping[str, str]] = {"Retry-After": "5"}


class StoreUnavailable(ApiError):
    """The feedback store cannot take an answer now (predictions are unaffected)."""

    status_code = 503
    default_headers: ClassVar[Mapping[str, str]] = {"Retry-After": "5"}


class Conflict(ApiError):
    status_code = 409


class TooManyRequests(ApiError):
    """Answer with the ``Retry-After`` header the limit computed."""

    status_code = 429
