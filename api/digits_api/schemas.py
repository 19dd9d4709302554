"""Response bodies of the API (documented in OpenAPI; built with orjson for speed)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from digits_bundle.manifest import PIXELS


class LabelledPrediction(BaseModel):
    prediction: int = Field(description="The most likely digit.")
    probability: float = Field(ge=0, le=1, description="Its probability.")
    probabilities: dict[str, float] = Field(description="Probability of every label the model knows.")


class Prediction(LabelledPrediction):
    model_version: str


class BatchPrediction(BaseModel):
    predictions: list[LabelledPrediction]
    model_version: str


class ErrorDetail(BaseModel):
    detail: str = Field(description="What was wrong with the request.")


class FeedbackSaved(BaseModel):
    id: str = Field(description="The store's id of the answer.")
    created: bool = Field(description="False when this submission had been saved before (a retry).")


class VersionAccuracyBody(BaseModel):
    model_version: str
    count: int
    correct: int
    accuracy: float
    ci95: tuple[float, float] = Field(description="Wilson score interval of the accuracy, 95 %.")


class FeedbackStatsBody(BaseModel):
    total: int
    correct: int
    versions: list[VersionAccuracyBody] = Field(description="Accuracy per model version, most answered first.")
    labels: list[int]
    confusion: list[list[int]] = Field(description="confusion[i][j]: given labels[i], predicted labels[j].")


class Health(BaseModel):
    status: str
    model_version: str | None = None


_GREY = {"type": "number", "minimum": 0, "maximum": 255}
_IMAGE = {"type": "array", "items": _GREY, "minItems": PIXELS, "maxItems": PIXELS}

PREDICT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {**_IMAGE, "title": "Pixels", "description": "784 grey levels, row by row, white on black."},
                    {
                        "type": "object",
                        "title": "PixelsObject",
                        "properties": {"pixels": _IMAGE},
                        "required": ["pixels"],
                        "additionalProperties": False,
                    },
                ]
            }
        }
    },
}


def batch_body(max_batch: int) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "instances": {"type": "array", "items": _IMAGE, "minItems": 1, "maxItems": max_batch}
                    },
                    "required": ["instances"],
                    "additionalProperties": False,
                }
            }
        },
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorDetail, "description": text}
    for code, text in {
        400: "The body is not JSON.",
        408: "The body did not arrive within the server's body timeout.",
        413: "The body is too large.",
        415: "The body is not application/json.",
        422: "JSON, but not valid input (the detail says which value and why).",
        503: "No model is loaded yet (for /feedback: the feedback store is unavailable; see Retry-After).",
    }.items()
}
