"""Drift of live inputs against the served bundle's reference: the last inputs and answers are kept (copied,
bounded by count) on the prediction path, and scored only when someone asks (``/metrics``, ``GET /drift``)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from digits_bundle import drift
from digits_bundle.runtime import DigitModel


class DriftMonitor:
    def __init__(self, window: int, enabled: bool = True) -> None:
        self.window, self.enabled = window, enabled
        self._chunks: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._rows = 0
        self._lock = threading.Lock()

    def observe(self, images: np.ndarray, probabilities: np.ndarray) -> None:
        """Keep copies of the newest ``window`` inputs (n, 784) and their answers."""
        if not self.enabled:
            return
        keep = min(len(images), self.window)
        chunk = (images[-keep:].copy(), probabilities[-keep:].copy())
        with self._lock:
            self._chunks.append(chunk)
            self._rows += keep
            while self._rows - len(self._chunks[0][0]) >= self.window:
                self._rows -= len(self._chunks.popleft()[0])

    def reset(self) -> None:
        """A new model: its answers, and the reference they are compared with, start afresh."""
        with self._lock:
            self._chunks.clear()
            self._rows = 0

    def _window(self) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            chunks = list(self._chunks)
        if not chunks:
            return None
        images = np.concatenate([c[0] for c in chunks])[-self.window :]
        probabilities = np.concatenate([c[1] for c in chunks])[-self.window :]
        return images, probabilities

    def report(self, model: DigitModel) -> dict[str, Any]:
        """Per feature: live proportions, the reference's, the PSI and its reading ("unknown" without one)."""
        reference = model.bundle.manifest.drift_reference
        window = self._window()
        live = drift.all_features(window[0], window[1], model.labels) if window is not None else None
        features = {
            scored.name: {
                "description": drift.DESCRIPTIONS[scored.name],
                "edges": scored.edges,
                "reference": scored.reference,
                "live": scored.live,
                "psi": scored.psi,
                "status": scored.status,
            }
            for scored in drift.compare(reference, live)
        }
        return {
            "model_version": model.version,
            "enabled": self.enabled,
            "window": 0 if window is None else len(window[0]),
            "window_limit": self.window,
            "reference": None if reference is None else {"dataset": reference.dataset, "n": reference.n},
            "thresholds": {"moderate": drift.PSI_MODERATE, "significant": drift.PSI_SIGNIFICANT},
            "features": features,
        }


class DriftCollector(Collector):
    """``digits_drift_psi{feature}`` and the window's size, computed at each scrape."""

    def __init__(self, monitor: DriftMonitor, current_model: Any) -> None:
        self.monitor, self.current_model = monitor, current_model

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        model = self.current_model()
        if model is None:
            return
        report = self.monitor.report(model)
        scores = GaugeMetricFamily(
            "digits_drift_psi",
            "Population stability index of each input feature over the recent window against the served bundle's"
            " training reference (above 0.1 moderate, above 0.25 significant); absent without a reference.",
            labels=["feature"],
        )
        for name, feature in report["features"].items():
            if feature["psi"] is not None:
                scores.add_metric([name], feature["psi"])
        yield scores
        yield GaugeMetricFamily(
            "digits_drift_window_inputs",
            "Inputs in the window the drift scores are computed on.",
            value=report["window"],
        )
        yield GaugeMetricFamily(
            "digits_drift_reference",
            "1 when the served bundle records reference distributions (drift can be scored), else 0.",
            value=0 if report["reference"] is None else 1,
        )
