"""Reading request bodies within limits: of media type, of size (declared, then streamed) and of time."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from digits_api.errors import BodyTimeout, BodyTooLarge, ClientGone, UnsupportedMediaType


async def read_json_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The raw JSON body, refused before reading when of the wrong media type or declared too large.

    Refused as soon as the bytes received pass ``limit`` (a chunked body declares no length), when the whole
    body has not arrived within ``timeout_s`` (408: a client sending half a body cannot hold the request open),
    and when the client goes away mid-body (499: nobody reads the answer, and it is no server error).
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected Content-Type application/json, got {media_type[:64] or 'none'}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise BodyTooLarge(f"request body of {declared[:24]} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"request body exceeds the limit of {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeout(f"request body not received within {timeout_s:g} s") from None
    except ClientDisconnect:
        raise ClientGone("the client closed the connection before sending the whole body") from None
    return b"".join(chunks)
