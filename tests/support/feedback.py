"""A person's answer to a prediction, as the page sends it to ``POST /feedback``."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from tests.support.paths import BAKED_IN_VERSION


def answer(label: int = 3, predicted: int = 3, client: str = "browser-0123456789ab", **changes) -> dict[str, Any]:
    body = {
        "submission_id": str(uuid.uuid4()),
        "client_id": client,
        "image": [int(v) for v in np.arange(784) % 256],
        "drawing": {"width": 280, "height": 280, "strokes": [[[10, 12, 0], [40, 80.5, 16.7], [41, 120, 33]]]},
        "predicted": predicted,
        "probabilities": {str(predicted): 0.8, str(label): 0.2} if label != predicted else {str(label): 1.0},
        "model_version": BAKED_IN_VERSION,
        "label": label,
    }
    body.update(changes)
    return body
