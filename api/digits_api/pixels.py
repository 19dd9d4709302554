"""Turning request bodies into validated (n, 784) arrays of grey levels 0..255.

Accepted shapes: a bare array of 784 numbers (what the original frontend sent),
``{"pixels": [...]}`` (what its docs said), and ``{"instances": [[...], ...]}`` for batches.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import orjson

from digits_api.errors import InvalidInput, MalformedBody
from digits_bundle.manifest import PIXELS

_NUMBER_TYPES = (int, float)
# Bytes of a JSON text made only of numbers and arrays: no strings, booleans, nulls or objects.
_NUMERIC_JSON = b"0123456789.eE+-,[] \t\r\n"
# Bytes of a JSON text made only of whole non-negative numbers and arrays.
_INTEGER_JSON = b"0123456789,[] \t\r\n"
_ZERO, _NINE = ord("0"), ord("9")
# Images (and fields) a body may have beyond the limit and still be parsed, for the precise message.
_STRUCTURE_SLACK = 16
# An error lists this many unexpected fields at most, each cut to this many characters.
_LISTED_FIELDS = 10
_FIELD_CHARS = 40


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


def _grey_levels(payload: Any, shape: tuple[int, ...], integers: bool = False) -> np.ndarray | None:
    """The common case, cheaply: ``payload``, parsed from a text of only numbers and arrays, as exactly ``shape``
    grey levels in 0..255. ``integers``: the text has whole numbers only (numpy converts those faster).

    Returns None whenever anything is off, so the precise checks can say what.
    """
    try:
        values = np.array(payload, dtype=np.int64 if integers else np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    if values.shape != shape or values.min() < 0 or values.max() > 255:
        return None
    return values.astype(np.float32)


def _small_integers(text: bytes, count: int) -> np.ndarray | None:
    """The ``count`` numbers of ``text`` in order, each of at most three digits (what a page sends: grey levels
    as integers); else None.

    ``text`` must be valid JSON (orjson parsed it) of whole numbers and arrays only (``_is_whole_numbers``):
    this only reads it, from the bytes in a few vectorised passes, several times faster than numpy converting
    the parsed Python integers one by one.
    """
    raw = np.frombuffer(text + b"  ", dtype=np.uint8)  # two spare bytes: a number's third digit is an index
    digit = (raw >= _ZERO) & (raw <= _NINE)
    if digit[0]:
        return None
    # Where bytes turn from digits to others and back: a number starts at every other turn, ends at the next.
    turns = np.flatnonzero(digit[1:] != digit[:-1]) + 1
    starts, ends = turns[0::2], turns[1::2]
    if len(starts) != count:
        return None
    lengths = ends - starts
    if count and lengths.max() > 3:  # 1000 and more are out of range anyway: the precise path says so
        return None
    first, second, third = (raw[starts + k].astype(np.int32) - _ZERO for k in range(3))
    return np.where(lengths == 1, first, np.where(lengths == 2, first * 10 + second, first * 100 + second * 10 + third))


def _batch_grey_levels(instances: list[Any], text: bytes) -> np.ndarray | None:
    """``_grey_levels`` for a batch, a third faster for hundreds of images: ``instances`` parsed from ``text``
    (the JSON array holding them), flattened into numpy in one pass.

    Only numbers and arrays in ``text``, one array per image plus the one around them, and each image an
    array of 784 values: then every value is a number.
    """
    whole = _is_whole_numbers(text)
    if text.count(b"[") != len(instances) + 1 or not (whole or _is_numeric(text)):
        return None
    if not all(type(image) is list and len(image) == PIXELS for image in instances):
        return None
    count = len(instances) * PIXELS
    values = _small_integers(text, count) if whole else None
    if values is None:
        values = np.fromiter(itertools.chain.from_iterable(instances), dtype=np.float64, count=count)
    if values.min() < 0 or values.max() > 255:
        return None
    return values.astype(np.float32).reshape(len(instances), PIXELS)


def _is_numeric(text: bytes) -> bool:
    """Only numbers and arrays: no strings, booleans or nulls (which numpy would turn into numbers)."""
    return not text.translate(None, _NUMERIC_JSON)


def _is_whole_numbers(text: bytes) -> bool:
    """Only whole non-negative numbers and arrays: a narrower ``_is_numeric``."""
    return not text.translate(None, _INTEGER_JSON)


def _unexpected_fields(names: set[str]) -> InvalidInput:
    shown = sorted(names)[:_LISTED_FIELDS]
    listed = ", ".join(name if len(name) <= _FIELD_CHARS else name[: _FIELD_CHARS - 3] + "..." for name in shown)
    more = f" and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
    return InvalidInput(f"unexpected fields: {listed}{more}")


def _bound_batch_structure(body: bytes, max_batch: int) -> None:
    """Refuse, before parsing, a body with far more arrays, values or fields than a batch can have.

    A valid batch has at most ``max_batch + 1`` arrays, ``max_batch * 785`` values and one field. Counting bytes
    takes microseconds, where parsing (then describing) an 8 MB body of millions of empty arrays, numbers or keys
    holds the interpreter, threads and all, for seconds. Bodies a little over those counts are parsed, so that
    they get the precise message.
    """
    arrays = body.count(b"[")
    if arrays > max_batch + 1 + _STRUCTURE_SLACK:
        raise InvalidInput(f"instances: at most {max_batch} images per request; the body has {arrays} arrays")
    fields = body.count(b":")
    if fields > 1 + _STRUCTURE_SLACK:
        raise InvalidInput(f'unexpected fields: the body has {fields}, expected only "instances"')
    values = body.count(b",") + 1
    if values > (max_batch + _STRUCTURE_SLACK) * (PIXELS + 1):
        raise InvalidInput(
            f"instances: at most {max_batch} images of {PIXELS} values per request; the body has {values} values"
        )


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
    # Bounded like a batch (see _bound_batch_structure); an array of 784 arrays still gets the precise message.
    arrays = body.count(b"[")
    if arrays > PIXELS + 1 + _STRUCTURE_SLACK:
        raise InvalidInput(f"body: expected an array of {PIXELS} numbers; the body has {arrays} arrays")
    payload = parse_json(body)
    if isinstance(payload, list):
        whole = _is_whole_numbers(body)
        fast = _grey_levels(payload, (PIXELS,), integers=whole) if whole or _is_numeric(body) else None
        if fast is not None:
            return fast[None, :]
    if isinstance(payload, dict):
        if "pixels" not in payload:
            raise InvalidInput('expected a JSON array of 784 numbers or an object {"pixels": [...]}')
        unknown = set(payload) - {"pixels"}
        if unknown:
            raise _unexpected_fields(unknown)
        return to_row(payload["pixels"], "pixels")[None, :]
    if isinstance(payload, list):
        return to_row(payload, "body")[None, :]
    raise InvalidInput(
        f'expected a JSON array of 784 numbers or an object {{"pixels": [...]}}, got {_describe(payload)}'
    )


def image_batch(body: bytes, max_batch: int) -> np.ndarray:
    """Shape (n, 784) from ``{"instances": [[...], ...]}``, 1 <= n <= max_batch.

    Parses once; bodies of up to 8 MB, so the route calls it in a worker thread for all but small ones.
    """
    _bound_batch_structure(body, max_batch)
    payload = parse_json(body)
    if not isinstance(payload, dict) or "instances" not in payload:
        raise InvalidInput('expected an object {"instances": [[784 numbers], ...]}')
    unknown = set(payload) - {"instances"}
    if unknown:
        raise _unexpected_fields(unknown)
    instances = payload["instances"]
    if not isinstance(instances, list):
        raise InvalidInput(f"instances: expected an array of images, got {_describe(instances)}")
    if not instances:
        raise InvalidInput("instances: expected at least one image")
    if not isinstance(instances[0], list):
        raise InvalidInput(f"instances[0]: expected an array of {PIXELS} numbers, got {_describe(instances[0])}")
    if len(instances) > max_batch:
        raise InvalidInput(f"instances: at most {max_batch} images per request, got {len(instances)}")
    # The only field is "instances", whose value is an array: it runs from the first "[" to the last "]".
    fast = _batch_grey_levels(instances, body[body.find(b"[") : body.rfind(b"]") + 1])
    if fast is not None:
        return fast
    return np.stack([to_row(image, f"instances[{i}]") for i, image in enumerate(instances)])
