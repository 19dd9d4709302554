"""Reading request bodies within limits."""

from __future__ import annotations

from starlette.requests import Request

from digits_api.errors import BodyTooLarge, UnsupportedMediaType


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw JSON body, refused early when too large or of the wrong media type."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected Content-Type application/json, got {media_type or 'none'}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
