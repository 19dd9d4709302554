"""Turning request bodies into validated (n, 784) arrays of grey levels 0..255.

Accepted shapes: a bare array of 784 numbers (what the original frontend sent),
``{"pixels": [...]}`` (what its docs said), and ``{"instances": [[...], ...]}`` for batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from digits_api.errors import InvalidInput, MalformedBody
from digits_api.manifest import PIXELS

_NUMBER_TYPES = (int, float)
# Bytes of a JSON text made only of numbers and arrays: no strings, booleans, nulls or objects.
_NUMERIC_JSON = b"0123456789.eE+-,[] \t\r\n"


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise MalformedBody("request body is empty; expected JSON")
    try:
        # orjson rejects NaN and Infinity, which are not JSON.
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedBody(f"request body is not valid JSON: {error}") from error


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a nested list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _numeric_fast_path(body: bytes, shape: tuple[int, ...]) -> np.ndarray | None:
    """The common case, cheaply: a text of numbers and arrays that parses to exactly ``shape``, all in 0..255.

    Returns None whenever anything is off, so the precise path can say what.
    """
    if body.translate(None, _NUMERIC_JSON):
        return None
    try:
        values = np.array(orjson.loads(body), dtype=np.float64)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return None
    if values.shape != shape or values.min() < 0 or values.max() > 255:
        return None
    return values.astype(np.float32)


def to_row(values: Any, where: str) -> np.ndarray:
    """One image: a list of exactly 784 finite numbers in 0..255."""
    if not isinstance(values, list):
        raise InvalidInput(f"{where}: expected an array of {PIXELS} numbers, got {_describe(values)}")
    if len(values) != PIXELS:
        raise InvalidInput(f"{where}: expected {PIXELS} values, got {len(values)}")
    for index, value in enumerate(values):
        if type(value) not in _NUMBER_TYPES:
            raise InvalidInput(f"{where}[{index}]: expected a number, got {_describe(value)}")
    row = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(row)):
        index = int(np.flatnonzero(~np.isfinite(row))[0])
        raise InvalidInput(f"{where}[{index}]: value must be finite")
    low, high = row.min(), row.max()
    if low < 0 or high > 255:
        index = int(np.flatnonzero((row < 0) | (row > 255))[0])
        raise InvalidInput(f"{where}[{index}]: grey level {values[index]} is outside 0..255")
    return row.astype(np.float32)


def single_image(body: bytes) -> np.ndarray:
    """Shape (1, 784) from a bare array or ``{"pixels": [...]}``."""
    fast = _numeric_fast_path(body, (PIXELS,))
    if fast is not None:
        return fast[None, :]
    payload = parse_json(body)
    if isinstance(payload, dict):
        unknown = sorted(set(payload) - {"pixels"})
        if "pixels" not in payload:
            raise InvalidInput('expected a JSON array of 784 numbers or an object {"pixels": [...]}')
        if unknown:
            raise InvalidInput(f"unexpected fields: {', '.join(unknown)}")
        return to_row(payload["pixels"], "pixels")[None, :]
    if isinstance(payload, list):
        return to_row(payload, "body")[None, :]
    raise InvalidInput(
        f'expected a JSON array of 784 numbers or an object {{"pixels": [...]}}, got {_describe(payload)}'
    )


def image_batch(body: bytes, max_batch: int) -> np.ndarray:
    """Shape (n, 784) from ``{"instances": [[...], ...]}``, 1 <= n <= max_batch."""
    start, end = body.find(b"["), body.rfind(b"]")
    if 0 < start < end and body[:start].replace(b" ", b"") == b'{"instances":' and body[end + 1 :].strip() == b"}":
        inner = body[start : end + 1]
        count = inner.count(b"[") - 1
        if 1 <= count <= max_batch:
            fast = _numeric_fast_path(inner, (count, PIXELS))
            if fast is not None:
                return fast
    payload = parse_json(body)
    if not isinstance(payload, dict) or "instances" not in payload:
        raise InvalidInput('expected an object {"instances": [[784 numbers], ...]}')
    unknown = sorted(set(payload) - {"instances"})
    if unknown:
        raise InvalidInput(f"unexpected fields: {', '.join(unknown)}")
    instances = payload["instances"]
    if not isinstance(instances, list):
        raise InvalidInput(f"instances: expected an array of images, got {_describe(instances)}")
    if not instances:
        raise InvalidInput("instances: expected at least one image")
    if not isinstance(instances[0], list):
        raise InvalidInput(f"instances[0]: expected an array of {PIXELS} numbers, got {_describe(instances[0])}")
    if len(instances) > max_batch:
        raise InvalidInput(f"instances: at most {max_batch} images per request, got {len(instances)}")
    return np.stack([to_row(image, f"instances[{i}]") for i, image in enumerate(instances)])
