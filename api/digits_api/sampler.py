"""A random share of the inputs, kept in the store with their drift features for reports.

On the prediction path: one random draw per input and, when drawn, a copy onto a bounded queue. A thread of
its own writes the queue to the store in batches. A full queue or an unavailable store drops samples (they
are counted), never slows or fails a prediction.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable

import numpy as np
from prometheus_client import CollectorRegistry, Counter

from digits_api.store_link import StoreLink
from digits_bundle import drift
from digits_bundle.runtime import DigitModel
from digits_store.records import InputSample, StoreUnavailable

log = logging.getLogger("digits_api.sampler")
_Item = tuple[np.ndarray, np.ndarray, str, tuple[int, ...]]


class InputSampler:
    def __init__(
        self,
        rate: float,
        link: StoreLink,
        registry: CollectorRegistry,
        *,
        max_queue: int = 1000,
        interval_s: float = 1.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.rate, self.link, self.interval_s, self.draw = rate, link, interval_s, draw
        self._random = np.random.default_rng()
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = Counter(
            "digits_input_samples_total",
            "Inputs sampled for drift reports, by outcome: stored, or dropped (queue full or store unavailable).",
            ["outcome"],
            registry=registry,
        )
        self._stored, self._dropped = self.samples.labels(outcome="stored"), self.samples.labels(outcome="dropped")

    def observe(self, images: np.ndarray, probabilities: np.ndarray, model: DigitModel) -> None:
        if self.rate <= 0:
            return
        if len(images) == 1:
            if self.draw() >= self.rate:
                return
            picked: list[int] = [0]
        else:
            picked = np.flatnonzero(self._random.random(len(images)) < self.rate).tolist()
        labels = tuple(model.labels)
        for index in picked:
            try:
                self._queue.put_nowait((images[index].copy(), probabilities[index].copy(), model.version, labels))
            except queue.Full:
                self._dropped.inc()

    def start(self) -> None:
        if self.rate > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="input-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> int:
        """Write what is queued; returns how many samples were stored."""
        items: list[_Item] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not items:
            return 0
        samples = self.link.samples
        if samples is None:
            self._dropped.inc(len(items))
            return 0
        try:
            samples.add([sample for group in _by_model(items) for sample in _sample(group)])
        except StoreUnavailable as error:
            log.warning("input samples dropped, the store is unavailable: %s", error)
            self._dropped.inc(len(items))
            return 0
        self._stored.inc(len(items))
        return len(items)


def _by_model(items: list[_Item]) -> list[list[_Item]]:
    groups: dict[tuple[str, tuple[int, ...]], list[_Item]] = {}
    for item in items:
        groups.setdefault((item[2], item[3]), []).append(item)
    return list(groups.values())


def _sample(group: list[_Item]) -> list[InputSample]:
    images = np.stack([item[0] for item in group])
    probabilities = np.stack([item[1] for item in group])
    version, labels = group[0][2], list(group[0][3])
    features = drift.all_features(images, probabilities, labels)
    return [
        InputSample(
            model_version=version,
            image=bytes(np.clip(np.rint(images[i]), 0, 255).astype(np.uint8)),
            features={name: round(float(values[i]), 4) for name, values in features.items()},
        )
        for i in range(len(group))
    ]
