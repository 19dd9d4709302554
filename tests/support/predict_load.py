"""A client sending /predict through the kind cluster's NodePort while something happens to the system."""

from __future__ import annotations

import threading

import httpx

from tests.support.kind import NODE_PORT_URL
from tests.support.servers import wait_until

REQUEST_INTERVAL_S = 0.1  # 10 requests a second: under the frontend's per-client rate limit (20 r/s)


class PredictLoad(threading.Thread):
    """A client sending /predict through the frontend without pause, counting every answer that is not 200."""

    def __init__(self, pixels: list[int]) -> None:
        super().__init__(name="predict-load", daemon=True)
        self.pixels = pixels
        self.sent = 0
        self.failures: list[str] = []
        self.versions: dict[str, int] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._halt.is_set():
                try:
                    response = http.post(f"{NODE_PORT_URL}/predict", json=self.pixels)
                    if response.status_code == 200:
                        version = response.headers["x-model-version"]
                        self.versions[version] = self.versions.get(version, 0) + 1
                    else:
                        self.failures.append(f"{response.status_code}: {response.text[:200]}")
                except httpx.HTTPError as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                self.sent += 1
                self._halt.wait(REQUEST_INTERVAL_S)

    def __enter__(self) -> PredictLoad:
        self.start()
        wait_until(lambda: self.sent >= 10, 30, "the first answers to /predict")
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        self.join(timeout=30)
