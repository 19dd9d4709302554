"""``POST /predict`` dispatched straight to its handler, ahead of the framework.

FastAPI's machinery (its middleware stack, router matching, the per-route exception wrapper, dependency
resolution and the request/response adapters) costs about as much per request as the prediction itself.
The hot path skips all of it: this is the outermost layer but one of the app (only the metrics middleware
is outside it, see ``app.DigitsApp``), and answers ``POST /predict`` by calling the very handler the route
declares (so the OpenAPI document still describes what runs), answering errors as the app's handlers
would, an unexpected one included (a JSON 500, its traceback logged). Every other request, ``/predict``
with another method included, goes through the framework.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from digits_api.errors import ANSWERED, error_response, server_error_response

PATH = "/predict"
log = logging.getLogger("digits_api.fast_path")


class PredictFastPath:
    def __init__(self, app: ASGIApp, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            response = await self.handler(Request(scope, receive, send))
        except ANSWERED as error:
            response = error_response(error)
        except Exception:
            log.exception("POST %s failed", PATH)
            response = server_error_response()
        await response(scope, receive, send)
