"""A share of the inputs lands in the store with its drift features; when the store is down, predictions
carry on and the samples are counted as dropped."""

from __future__ import annotations

import re

import httpx

from digits_store.engine import create_store_engine
from digits_store.samples import SampleStore
from digits_store.settings import StoreSettings
from tests.support.paths import BAKED_IN_VERSION
from tests.support.servers import api_server, wait_for_store, wait_until


def counted(url: str, outcome: str) -> float:
    found = re.search(
        rf'^digits_input_samples_total\{{outcome="{outcome}"\}} (\S+)$', httpx.get(f"{url}/metrics").text, re.M
    )
    return float(found.group(1)) if found else 0.0


def test_sampled_inputs_are_stored_with_their_features(tmp_path, baked_in_bundle, mnist):
    store = f"sqlite:///{tmp_path}/feedback.sqlite3"
    with api_server(tmp_path, model_path=str(baked_in_bundle), store_url=store, sample_rate="1") as server:
        wait_for_store(server.url)
        for image in mnist.x_test[:5]:
            assert httpx.post(f"{server.url}/predict", json=image.reshape(-1).tolist()).status_code == 200
        batch = mnist.x_test[5:20].reshape(-1, 784).tolist()
        assert httpx.post(f"{server.url}/predict/batch", json={"instances": batch}).status_code == 200
        wait_until(lambda: counted(server.url, "stored") == 20, 15, "the samples to be written")
    samples = SampleStore(create_store_engine(StoreSettings(url=store)), max_samples=100)
    rows = samples.recent(100)
    assert len(rows) == 20
    first = min(rows, key=lambda row: row["id"])
    assert bytes(first["image"]) == bytes(mnist.x_test[0].reshape(-1))
    assert first["model_version"] == BAKED_IN_VERSION
    assert first["features"]["predicted_label"] == 7.0 and first["features"]["box_height"] > 10


def test_samples_are_dropped_not_waited_for_when_the_store_is_down(tmp_path, baked_in_bundle, postgres, mnist):
    env = {"DIGITS_STORE_PASSWORD_FILE": str(postgres.password_file), "DIGITS_STORE_CONNECT_TIMEOUT_S": "1"}
    try:
        with api_server(
            tmp_path, model_path=str(baked_in_bundle), store_url=postgres.url, env_extra=env, sample_rate="1"
        ) as server:
            wait_for_store(server.url)
            postgres.stop()
            for image in mnist.x_test[:10]:
                response = httpx.post(f"{server.url}/predict", json=image.reshape(-1).tolist(), timeout=5)
                assert response.status_code == 200
            wait_until(lambda: counted(server.url, "dropped") >= 10, 30, "the samples to be dropped")
            assert httpx.get(f"{server.url}/readyz").status_code == 200
    finally:
        postgres.start()
