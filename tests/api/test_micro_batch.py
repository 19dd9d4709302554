"""Single predictions arriving together run as one batch in the real server, and each request still gets
the answer for its own image."""

from __future__ import annotations

import asyncio
import re

import httpx
import numpy as np
import pytest

from tests.support.servers import api_server

CLIENTS = 24
ROUNDS = 5


def _batched_calls(metrics: str) -> tuple[float, float]:
    """(model calls, images) of single predictions, from digits_inference_batch_images."""
    calls = re.search(r"^digits_inference_batch_images_count (\S+)$", metrics, re.MULTILINE)
    images = re.search(r"^digits_inference_batch_images_sum (\S+)$", metrics, re.MULTILINE)
    assert calls and images, metrics
    return float(calls.group(1)), float(images.group(1))


async def _all_at_once(url: str, images: np.ndarray) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CLIENTS)) as http:
        return await asyncio.gather(*(http.post(f"{url}/predict", json=image.tolist()) for image in images))


@pytest.mark.parametrize("micro_batch", ["32", "1"])
def test_predictions_sent_together_each_get_their_own_answer(tmp_path, baked_in_bundle, mnist, micro_batch):
    rng = np.random.default_rng(11)
    picks = rng.choice(len(mnist.x_test), size=CLIENTS * ROUNDS, replace=False)
    images = mnist.x_test[picks].reshape(len(picks), -1).astype(int)
    with api_server(tmp_path, model_path=str(baked_in_bundle), micro_batch=micro_batch) as server:
        alone = {}
        with httpx.Client(timeout=30) as http:
            for index in range(CLIENTS):  # one at a time: each is a batch of one
                alone[index] = http.post(f"{server.url}/predict", json=images[index].tolist()).json()
        answers = []
        for start in range(0, len(images), CLIENTS):
            answers += asyncio.run(_all_at_once(server.url, images[start : start + CLIENTS]))
        calls, batched = _batched_calls(httpx.get(f"{server.url}/metrics").text)
        drift_window = httpx.get(f"{server.url}/drift").json()["window"]
    assert all(response.status_code == 200 for response in answers)
    predicted = np.array([response.json()["prediction"] for response in answers])
    assert (predicted == mnist.y_test[picks]).mean() >= 0.97
    for index in range(CLIENTS):  # a batch gives each image the answer it gets alone
        together = answers[index].json()
        assert together["prediction"] == alone[index]["prediction"]
        for label, probability in alone[index]["probabilities"].items():
            assert together["probabilities"][label] == pytest.approx(probability, abs=1e-6)
    assert batched == CLIENTS + len(images)
    assert drift_window == batched, "drift must see each input once, whether it ran alone or in a batch"
    if micro_batch == "1":
        assert calls == batched
    else:
        assert calls < batched, "requests sent together were never batched"
