"""Domain errors of the API and the HTTP status each maps to (in one place)."""

from __future__ import annotations


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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


class NotReady(ApiError):
    status_code = 503
