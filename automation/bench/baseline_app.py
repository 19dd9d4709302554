"""The original system's serving style, for comparison only: a TensorFlow SavedModel called
once per request inside an async FastAPI handler. Serves the same bundle's ``saved_model/``.

    DIGITS_BASELINE_BUNDLE=api/models/default uvicorn bench.baseline_app:app
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from fastapi import FastAPI, Request

bundle = Path(os.environ.get("DIGITS_BASELINE_BUNDLE", "api/models/default"))
manifest = json.loads((bundle / "manifest.json").read_text())
model = tf.saved_model.load(str(bundle / "saved_model")).signatures["serving_default"]
(input_name,) = model.structured_input_signature[1].keys()
divisor = 255.0 if manifest["input"]["scale"] == 1 else 1.0
app = FastAPI()


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/predict")
async def predict(request: Request) -> dict[str, Any]:
    pixels = np.array(await request.json(), dtype=np.float32).reshape(1, 28, 28, 1) / divisor
    probabilities = next(iter(model(**{input_name: tf.constant(pixels)}).values())).numpy()[0]
    best = int(np.argmax(probabilities))
    return {"prediction": manifest["labels"][best], "probability": float(probabilities[best])}
