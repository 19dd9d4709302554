"""A client of the api: the labels of the model it serves and the newest collected drawing it was trained on
(``GET /model``), and that model's scores on the gate's holdouts, measured through the batch endpoint."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from digits_bundle.evaluation import compute_metrics
from digits_bundle.manifest import Metrics
from digits_syncer.gate import ServingLabels, ServingScore
from digits_syncer.ports import GateUnavailable

log = logging.getLogger("digits_syncer.api_client")
BATCH = 64
"""Images per /predict/batch request: well under any max_batch an api is likely to be run with."""
MAX_MODEL_BYTES = 4 * 1024 * 1024
"""Largest ``GET /model`` answer read (a manifest is a few KiB)."""


def _labels(value: object) -> list[int] | None:
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return None


def _served_model(api_url: str, timeout_s: float) -> dict[str, Any]:
    """``GET /model``, read bounded; ``ValueError`` for an answer that is not a JSON object (the network's
    and the parser's errors pass through to the caller, which knows what not knowing means for it)."""
    with urllib.request.urlopen(f"{api_url}/model", timeout=timeout_s) as response:
        served = json.loads(response.read(MAX_MODEL_BYTES))
    if not isinstance(served, dict):
        raise ValueError("GET /model did not answer a JSON object")
    return served


def serving_labels(api_url: str | None, timeout_s: float) -> ServingLabels:
    """The labels of the model the api serves now (None when there is no api or it cannot tell)."""

    def labels() -> list[int] | None:
        if not api_url:
            return None
        try:
            served = _served_model(api_url, timeout_s)
        except (urllib.error.URLError, OSError, ValueError, RecursionError) as error:
            log.warning("could not read the serving model's labels at %s: %s", api_url, error)
            return None
        found = _labels(served.get("labels"))
        if found is None:
            log.warning("the api at %s reports no labels for its model", api_url)
        return found

    return labels


class ServingUnknown(RuntimeError):
    """The api could not say what its model was trained on."""


def serving_data_newest(api_url: str, timeout_s: float) -> Callable[[], datetime | None]:
    """When the newest collected drawing the serving model was trained on was saved (its manifest's
    ``training.data.store.newest``); None for a model trained on no collected drawings."""

    def newest() -> datetime | None:
        try:
            served = _served_model(api_url, timeout_s)
        except (urllib.error.URLError, OSError, ValueError, RecursionError) as error:
            raise ServingUnknown(f"could not read the serving model at {api_url}: {error}") from error
        store = _path(served, "training", "data", "store")
        if store is None:
            return None
        try:
            when = datetime.fromisoformat(store["newest"]) if store.get("newest") else None
        except (TypeError, ValueError) as error:
            raise ServingUnknown(f"the serving model's store snapshot has no readable time: {error}") from error
        if when is not None and when.tzinfo is None:  # SQLite keeps no zone; the store writes UTC
            when = when.replace(tzinfo=UTC)
        return when

    return newest


def _path(value: object, *keys: str) -> dict[str, Any] | None:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None


def serving_score(api_url: str | None, timeout_s: float) -> ServingScore:
    """The serving model's scores on the gate's digits, through the api. None when there is nothing to compare
    with (no api configured, or a model of other labels); ``GateUnavailable`` when the api cannot say now."""

    def score(labels: list[int], images: np.ndarray, targets: np.ndarray) -> Metrics | None:
        if not api_url:
            return None
        try:
            served = _served_model(api_url, timeout_s)
            if served.get("labels") != labels:
                log.info("serving model has labels %s, candidate %s: no comparison", served.get("labels"), labels)
                return None
            predicted = [p for start in range(0, len(images), BATCH) for p in _batch(api_url, images, start, timeout_s)]
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError, RecursionError) as error:
            raise GateUnavailable(
                f"could not score the serving model at {api_url}: {type(error).__name__}: {error}"
            ) from error
        index = {label: n for n, label in enumerate(labels)}
        found = [index.get(p, -1) if type(p) is int else -1 for p in predicted]
        if len(found) != len(targets) or -1 in found:
            raise GateUnavailable(f"the api at {api_url} answered predictions that do not match the digits sent")
        return compute_metrics(targets, np.array(found), labels, "serving")

    return score


def _batch(api_url: str, images: np.ndarray, start: int, timeout_s: float) -> list[object]:
    """The api's predicted labels for ``images[start:start + BATCH]`` (``ValueError``: an answer of another shape)."""
    body = json.dumps({"instances": images[start : start + BATCH].reshape(-1, 784).tolist()}).encode()
    request = urllib.request.Request(
        f"{api_url}/predict/batch", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        answer = json.loads(response.read(MAX_MODEL_BYTES))
    predictions = answer.get("predictions") if isinstance(answer, dict) else None
    if not isinstance(predictions, list) or not all(isinstance(p, dict) for p in predictions):
        raise ValueError("POST /predict/batch did not answer a list of predictions")
    return [p.get("prediction") for p in predictions]
