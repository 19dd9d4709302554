"""The HTTP stack's ceilings on this machine, for ``make bench``: servers that predict nothing.

    python -m bench.noop_apps fastapi --port 8001   # a FastAPI route
    python -m bench.noop_apps asgi --port 8002      # a raw ASGI app, no framework

Both read the request body (any server has to receive it) and answer a constant prediction of the
API's shape and size without parsing anything. They run under uvicorn exactly as the API does:
``digits_api.server.uvicorn_options`` (its request-limiting HTTP protocol, one worker, access log off),
with the API's default settings. Every path answers, so ``/readyz`` does too.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

from digits_api.server import uvicorn_options
from digits_api.settings import ApiSettings

ANSWER = json.dumps(
    {
        "prediction": 7,
        "probability": 0.99609375,
        "probabilities": {str(label): 0.99609375 if label == 7 else 0.00043402777777777775 for label in range(10)},
        "model_version": "v1.0.0",
    },
    separators=(",", ":"),
).encode()
"""What the API answers for a 7, byte for byte in size."""

fastapi_app = FastAPI()


@fastapi_app.api_route("/{path:path}", methods=["GET", "POST"])
async def answer(request: Request) -> Response:
    await request.body()
    return Response(ANSWER, media_type="application/json")


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def asgi_app(
    scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    more_body = True
    while more_body:
        more_body = (await receive()).get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": ANSWER})


APPS: dict[str, Any] = {"fastapi": fastapi_app, "asgi": asgi_app}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(APPS[args.app], **uvicorn_options(ApiSettings(port=args.port, log_level="warning")))


if __name__ == "__main__":
    main()
