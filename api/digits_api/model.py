"""The served model: a verified bundle's ``model.tflite`` behind the small TFLite runtime.

Knows only arrays; the HTTP layer lives elsewhere. ``load()`` checks the model's
tensors against the manifest, runs a self-test prediction and only then sets
``ready``. ``predict`` is thread-safe.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from digits_api.bundle import BundleError, ModelBundle
from digits_api.manifest import PIXELS

MAX_GREY = 255.0


class ModelNotReady(RuntimeError):
    """No model is loaded yet."""


class DigitModel:
    """One loaded bundle. ``predict`` takes grey levels 0..255, white on black, shape (n, 784)."""

    def __init__(self, bundle: ModelBundle, threads: int = 1) -> None:
        self.bundle = bundle
        self.labels = list(bundle.manifest.labels)
        self._scale = 1.0 / MAX_GREY if bundle.manifest.input.scale == 1 else 1.0
        self._threads = threads
        self._lock = threading.Lock()
        self._interpreter: Any = None
        self._input_index = self._output_index = 0  # tensor indices, read once at load (not per prediction)
        self._batch_size = 0
        self.ready = False
        self.loaded_at: float | None = None

    @property
    def version(self) -> str:
        return self.bundle.version

    def load(self) -> DigitModel:
        try:
            interpreter = Interpreter(model_path=str(self.bundle.model_path), num_threads=self._threads)
        except (ValueError, RuntimeError) as error:
            raise BundleError(f"{self.bundle.model_path}: not a loadable TFLite model: {error}") from error
        self._check_signature(interpreter)
        self._interpreter = interpreter
        self._input_index = interpreter.get_input_details()[0]["index"]
        self._output_index = interpreter.get_output_details()[0]["index"]
        self._resize(1)
        self._self_test()
        self.loaded_at = time.time()
        self.ready = True
        return self

    def _check_signature(self, interpreter: Any) -> None:
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        name = self.bundle.model_path
        if len(inputs) != 1 or len(outputs) != 1:
            raise BundleError(f"{name}: expected one input and one output, got {len(inputs)} and {len(outputs)}")
        expected_in = list(self.bundle.manifest.input.shape)
        in_shape = [int(d) for d in inputs[0]["shape"]][1:]
        if in_shape != expected_in:
            raise BundleError(f"{name}: model input shape {in_shape} does not match manifest input {expected_in}")
        if inputs[0]["dtype"] != np.float32:
            raise BundleError(f"{name}: model input must be float32, got {np.dtype(inputs[0]['dtype']).name}")
        out_shape = [int(d) for d in outputs[0]["shape"]]
        if len(out_shape) != 2 or out_shape[1] != len(self.labels):
            raise BundleError(
                f"{name}: model has {out_shape[-1]} outputs but the manifest names {len(self.labels)} labels"
                f" {self.labels}"
            )

    def _resize(self, batch_size: int) -> None:
        if batch_size == self._batch_size:
            return
        self._interpreter.resize_tensor_input(self._input_index, [batch_size, *self.bundle.manifest.input.shape])
        self._interpreter.allocate_tensors()
        self._batch_size = batch_size

    def _self_test(self) -> None:
        blank = np.zeros((1, PIXELS), dtype=np.float32)
        bar = blank.copy().reshape(1, 28, 28)
        bar[0, 4:24, 13:16] = MAX_GREY
        probabilities = self._invoke(np.concatenate([blank, bar.reshape(1, PIXELS)]))
        sums = probabilities.sum(axis=1)
        # An int8 softmax sums to 1 within a few 1/256 steps.
        if not np.all(np.isfinite(probabilities)) or not np.allclose(sums, 1.0, atol=0.02):
            raise BundleError(f"{self.bundle.model_path}: self-test output is not a probability distribution: {sums}")

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        """Probabilities per label, shape (n, len(labels)), for grey levels of shape (n, 784)."""
        if not self.ready:
            raise ModelNotReady("model is not loaded")
        probabilities = self._invoke(pixels)
        normalised: np.ndarray = probabilities / probabilities.sum(axis=1, keepdims=True)
        return normalised

    def _invoke(self, pixels: np.ndarray) -> np.ndarray:
        batch = np.asarray(pixels, dtype=np.float32).reshape(-1, *self.bundle.manifest.input.shape)
        if self._scale != 1.0:
            batch = batch * np.float32(self._scale)
        with self._lock:
            self._resize(batch.shape[0])
            interpreter = self._interpreter
            interpreter.set_tensor(self._input_index, batch)
            interpreter.invoke()
            return np.array(interpreter.get_tensor(self._output_index))


def load_model(bundle: ModelBundle, threads: int = 1) -> DigitModel:
    return DigitModel(bundle, threads).load()
