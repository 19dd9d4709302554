"""JSON answers serialised with orjson (numpy-free, fast), without FastAPI's response-model pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


def json_response(content: Mapping[str, Any], status_code: int = 200, model_version: str | None = None) -> Response:
    """``content`` as JSON; ``model_version``, when given, in the ``X-Model-Version`` header."""
    headers = {"X-Model-Version": model_version} if model_version is not None else None
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json", headers=headers)
