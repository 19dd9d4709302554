"""KServe's Python model server (``kserve`` from PyPI) serving the bundle's ``model.tflite``, for ``make bench``.

Runs in its own virtualenv: kserve's dependencies are not ours (see ``kserve-requirements.txt``)::

    $(DIGITS_CACHE)/bench-kserve-venv/bin/python -m bench.kserve_server \\
        --http_port 8080 --model_name digits --bundle api/models/default

V1 protocol: ``POST /v1/models/digits:predict`` with ``{"instances": [[784 grey levels 0..255], ...]}``
answers ``{"predictions": [[one probability per label], ...]}``; ``GET /v1/models/digits`` answers 200
once the model is loaded. The model is what a KServe user would write: the TFLite interpreter called
inline in ``predict``, the same scaling and normalisation as the API's runtime. The server is set up
like the API for the comparison: one uvicorn worker, no access log, no per-request latency log, no gRPC
server; everything else is KServe's default (its middleware, metrics, routes and event loop).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from kserve import Model, ModelServer, model_server
from kserve.errors import InvalidInput

from digits_bundle.bundle import verify_directory

MAX_GREY = 255.0


class DigitsModel(Model):
    """The bundle's TFLite model behind KServe's model interface; ``ready`` once loaded."""

    def __init__(self, name: str, bundle_dir: Path) -> None:
        super().__init__(name)
        self.bundle_dir = bundle_dir
        self._interpreter: Any = None
        self._shape: tuple[int, ...] = ()
        self._scale = 1.0
        self._batch_size = 0

    def load(self) -> bool:
        bundle = verify_directory(self.bundle_dir.resolve())
        self._shape = tuple(bundle.manifest.input.shape)
        self._scale = 1.0 / MAX_GREY if bundle.manifest.input.scale == 1 else 1.0
        self._interpreter = Interpreter(model_path=str(bundle.model_path), num_threads=1)
        self._resize(1)
        self.ready = True
        return bool(self.ready)

    def _resize(self, batch_size: int) -> None:
        if batch_size != self._batch_size:
            index = self._interpreter.get_input_details()[0]["index"]
            self._interpreter.resize_tensor_input(index, [batch_size, *self._shape])
            self._interpreter.allocate_tensors()
            self._batch_size = batch_size

    def predict(self, payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            batch = np.asarray(payload["instances"], dtype=np.float32).reshape(-1, *self._shape)
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(f'expected {{"instances": [[784 grey levels], ...]}}: {error}') from error
        if self._scale != 1.0:
            batch *= np.float32(self._scale)
        interpreter = self._interpreter
        self._resize(batch.shape[0])
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
        interpreter.invoke()
        probabilities = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        return {"predictions": (probabilities / probabilities.sum(axis=1, keepdims=True)).tolist()}


def main() -> None:
    # kserve parses its own flags (--http_port, ...) from sys.argv when imported; this adds the bundle.
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--bundle", type=Path, required=True, help="The model bundle directory.")
    args, _ = parser.parse_known_args()
    model = DigitsModel(args.model_name, args.bundle)
    model.load()
    server = ModelServer(http_port=args.http_port, workers=1, enable_grpc=False, enable_latency_logging=False)
    # The API runs with uvicorn's access log off; KServe logs every request at INFO through these two.
    for name in ("uvicorn.access", "kserve.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server.start([model])


if __name__ == "__main__":
    main()
