"""``POST /feedback`` bodies, validated as strictly as ``/predict``'s: every field typed and bounded, no
unknown field, the labels the served model's, and a 422 whose detail names the field."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from digits_api.errors import InvalidInput, MalformedBody
from digits_bundle.manifest import PIXELS, VERSION_PATTERN
from digits_store.records import FeedbackRecord

MAX_STROKES = 64
MAX_POINTS = 4096
"""Points in all strokes together: a digit drawn slowly with the mouse is a few hundred."""
MAX_CANVAS = 4096
MAX_DRAWING_MS = 10 * 60 * 1000
_ERRORS_LISTED = 3

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"

GreyLevel = Annotated[int, Field(ge=0, le=255)]
Coordinate = Annotated[float, Field(ge=-MAX_CANVAS, le=2 * MAX_CANVAS, allow_inf_nan=False)]
Milliseconds = Annotated[float, Field(ge=0, le=MAX_DRAWING_MS, allow_inf_nan=False)]
Point = tuple[Coordinate, Coordinate, Milliseconds]
Stroke = Annotated[list[Point], Field(min_length=1, max_length=MAX_POINTS)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Digit = Annotated[int, Field(ge=0, le=9)]


class Drawing(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    width: int = Field(ge=1, le=MAX_CANVAS, description="The canvas width in CSS pixels.")
    height: int = Field(ge=1, le=MAX_CANVAS, description="The canvas height in CSS pixels.")
    strokes: list[Stroke] = Field(
        min_length=1, max_length=MAX_STROKES, description="Each stroke: [x, y, milliseconds since the first point]."
    )

    @model_validator(mode="after")
    def _bounded(self) -> Drawing:
        points = sum(len(stroke) for stroke in self.strokes)
        if points > MAX_POINTS:
            raise ValueError(f"{points} points in all strokes; at most {MAX_POINTS}")
        return self


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    submission_id: str = Field(
        pattern=UUID_PATTERN, description="A fresh UUID (lower case) per answer: retries reuse it."
    )
    client_id: str = Field(pattern=CLIENT_ID_PATTERN, description="A random id this browser keeps: nothing else.")
    image: list[GreyLevel] = Field(
        min_length=PIXELS, max_length=PIXELS, description="The 784 grey levels sent to /predict."
    )
    drawing: Drawing
    predicted: Digit
    probabilities: dict[str, Probability] = Field(min_length=1, max_length=10)
    model_version: str = Field(pattern=f"^{VERSION_PATTERN}$", max_length=64)
    label: Digit = Field(description="The digit the person says it was.")


def parse_feedback(body: bytes, labels: list[int]) -> FeedbackRecord:
    """The record in ``body``; 400 when it is not JSON, 422 naming the field when it is not a valid answer
    about a prediction of a model with these ``labels``."""
    if not body.strip():
        raise MalformedBody("request body is empty; expected JSON")
    try:
        answer = FeedbackBody.model_validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)
        if problems and problems[0]["type"] == "json_invalid":
            raise MalformedBody(f"request body is not valid JSON: {problems[0]['msg']}") from None
        listed = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in problems[:_ERRORS_LISTED]
        )
        more = f" (and {len(problems) - _ERRORS_LISTED} more)" if len(problems) > _ERRORS_LISTED else ""
        raise InvalidInput(listed + more) from None
    names = {str(label) for label in labels}
    for field, value in (("label", answer.label), ("predicted", answer.predicted)):
        if value not in labels:
            raise InvalidInput(f"{field}: {value} is not one of the model's labels {labels}")
    if not set(answer.probabilities) <= names:
        raise InvalidInput(f"probabilities: keys must be among the model's labels {sorted(names)}")
    return FeedbackRecord(
        submission_id=answer.submission_id,
        client_id=answer.client_id,
        model_version=answer.model_version,
        predicted=answer.predicted,
        label=answer.label,
        probabilities=answer.probabilities,
        image=bytes(answer.image),
        strokes=[[list(point) for point in stroke] for stroke in answer.drawing.strokes],
        canvas_width=answer.drawing.width,
        canvas_height=answer.drawing.height,
    )
