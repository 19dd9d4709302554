"""Local mode: a new bundle at the watched path is swapped in while requests keep flowing."""

from __future__ import annotations

import threading
from collections import Counter

import httpx

from digits_bundle.fetch import switch_current
from tests.support.bundles import copy_bundle
from tests.support.servers import api_server, wait_until


def test_swap_under_concurrent_requests_loses_none(tmp_path, baked_in_bundle, mnist):
    models = tmp_path / "models"
    models.mkdir()
    copy_bundle(baked_in_bundle, models / "v1", version="v1")
    copy_bundle(baked_in_bundle, models / "v2", version="v2")
    copy_bundle(baked_in_bundle, models / "broken", version="v3", labels=[1, 2])
    switch_current(models, models / "v1")
    pixels = mnist.x_test[0].reshape(-1).tolist()
    seen: Counter[str] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.post(f"{server.url}/predict", json=pixels)
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")
                else:
                    seen[response.json()["model_version"]] += 1

    with api_server(tmp_path, model_path=str(models / "current"), watch="true", watch_interval_s="0.1") as server:
        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: seen["v1"] > 50, 30, "requests served by v1")
            switch_current(models, models / "v2")
            wait_until(lambda: seen["v2"] > 50, 30, "requests served by v2")
            switch_current(models, models / "broken")
            before = seen["v2"]
            wait_until(lambda: "new bundle rejected" in server.output(), 30, "the broken bundle to be rejected")
            wait_until(lambda: seen["v2"] > before + 50, 30, "v2 to keep serving")
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert httpx.get(f"{server.url}/model").json()["version"] == "v2"
    assert failures == []
    assert seen["v1"] > 50 and seen["v2"] > 100 and set(seen) == {"v1", "v2"}
