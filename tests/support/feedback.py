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


def store_drawings(store_url: str, images: np.ndarray, labels: np.ndarray, clients: int, prefix: str) -> None:
    """Save drawings with their labels straight into the store at ``store_url`` (migrated first), as ``clients``
    browser ids ``<prefix>-000000``…: what the api's /feedback saves, without the HTTP round trips."""
    from digits_store.engine import create_store_engine
    from digits_store.feedback import FeedbackStore
    from digits_store.migrate import upgrade
    from digits_store.records import FeedbackRecord
    from digits_store.settings import StoreSettings

    settings = StoreSettings(url=store_url)
    engine = create_store_engine(settings)
    upgrade(engine)
    store = FeedbackStore(engine, settings)
    for n, (image, label) in enumerate(zip(images, labels, strict=True)):
        body = answer(label=int(label), predicted=int(label), client=f"{prefix}-{n % clients:06d}")
        store.add(
            FeedbackRecord(
                submission_id=body["submission_id"],
                client_id=body["client_id"],
                model_version=body["model_version"],
                predicted=body["predicted"],
                label=body["label"],
                probabilities=body["probabilities"],
                image=np.asarray(image, dtype=np.uint8).reshape(-1).tobytes(),
                strokes=body["drawing"]["strokes"],
                canvas_width=body["drawing"]["width"],
                canvas_height=body["drawing"]["height"],
            )
        )
    engine.dispose()
