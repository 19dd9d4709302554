"""Single predictions that arrive together, run as one batch.

Under load, several ``POST /predict`` requests are read in the same turn of the event loop. Each handler
hands its image to ``MicroBatcher.predict`` and waits; at the end of the turn the images collected so far
run through the model in one call, which costs little more than one image does (the interpreter's
per-call overhead and the weights' trip through the CPU's cache are paid once), and so is what watches the
answers (drift, sampling: ``observe``). Nothing waits for a batch to fill: an image alone is predicted at the
end of the turn it arrived in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import Histogram

from digits_bundle.runtime import DigitModel


@dataclass
class _Pending:
    model: DigitModel
    images: list[np.ndarray] = field(default_factory=list)
    waiting: list[asyncio.Future[np.ndarray]] = field(default_factory=list)


Observer = Callable[[np.ndarray, np.ndarray, DigitModel], None]
"""``observe(images, probabilities, model)``: sees every input and answer; must not raise (the app's, from
``app._watching``, does not)."""


class MicroBatcher:
    def __init__(self, max_batch: int, sizes: Histogram, observe: Observer) -> None:
        self.max_batch = max_batch
        self.sizes = sizes
        self.observe = observe
        self._pending: _Pending | None = None

    async def predict(self, model: DigitModel, image: np.ndarray) -> np.ndarray:
        """Probabilities for ``image`` (shape (1, 784)) from ``model``, shape (1, len(labels))."""
        if self.max_batch <= 1:
            self.sizes.observe(1)
            probabilities = model.predict(image)
            self.observe(image, probabilities, model)
            return probabilities
        pending = self._pending
        if pending is None or pending.model is not model or len(pending.images) >= self.max_batch:
            # A model swapped in mid-turn starts a batch of its own; the earlier one still runs.
            pending = self._pending = _Pending(model)
            asyncio.get_running_loop().call_soon(self._run, pending)
        waiting: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        pending.images.append(image)
        pending.waiting.append(waiting)
        return await waiting

    def _run(self, pending: _Pending) -> None:
        if self._pending is pending:
            self._pending = None
        self.sizes.observe(len(pending.images))
        try:
            images = np.concatenate(pending.images)
            probabilities = pending.model.predict(images)
        except Exception as error:  # each waiting request answers it as its own (e.g. 503 model not ready)
            for waiting in pending.waiting:
                if not waiting.done():
                    waiting.set_exception(error)
            return
        for index, waiting in enumerate(pending.waiting):
            if not waiting.done():  # its client went away meanwhile
                waiting.set_result(probabilities[index : index + 1])
        self.observe(images, probabilities, pending.model)
