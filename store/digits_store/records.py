"""What goes into the store and the errors it raises: plain values, so that a process can hold them without
loading the database libraries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or did not answer in time: try again later."""


class Replayed(ValueError):
    """A submission id already saved with other content."""


@dataclass(frozen=True)
class FeedbackRecord:
    """What the page says about one prediction (validated by the api before it gets here)."""

    submission_id: str
    client_id: str
    model_version: str
    predicted: int
    label: int
    probabilities: dict[str, float]
    image: bytes
    """784 grey levels, row by row, as sent to the model."""
    strokes: list[list[list[float]]]
    canvas_width: int
    canvas_height: int

    def content_sha256(self) -> str:
        content = {**asdict(self), "image": self.image.hex()}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Saved:
    id: str
    created: bool
    """False when this submission had been saved before (a retry): nothing new was stored."""


@dataclass(frozen=True)
class InputSample:
    model_version: str
    image: bytes
    """784 grey levels, row by row."""
    features: dict[str, float]


def reason(error: Exception) -> str:
    """One bounded line for ``error`` (the driver's own error when SQLAlchemy wraps one): never the statement or
    its parameters (a drawing is 784 numbers)."""
    original = getattr(error, "orig", None) or error
    return f"{type(original).__name__}: {str(original).splitlines()[0][:300] if str(original) else ''}"
