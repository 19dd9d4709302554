"""The served model: a verified bundle's ``model.tflite`` behind the small TFLite runtime.

Knows only arrays; the HTTP layer lives elsewhere. ``load()`` checks the model's
tensors against the manifest, runs a self-test prediction and only then sets
``ready``. ``predict`` is thread-safe: each call takes one of the model's interpreters (TFLite's are not
thread-safe, and ``invoke`` releases the GIL), so as many predictions run at once as there are interpreters.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from digits_bundle.bundle import BundleError, ModelBundle
from digits_bundle.manifest import PIXELS

MAX_GREY = 255.0
CHUNK = 64
"""Most images one interpreter call takes: a larger batch runs in equal chunks of at most this many, so an
interpreter's tensors (sized for its last call) stay small. Per image, a call of 16 or more costs the same
as one of hundreds (measured with the int8 network: about 29 microseconds an image from 8 up)."""


class ModelNotReady(RuntimeError):
    """No model is loaded yet."""


class _Runner:
    """One TFLite interpreter and the batch size its tensors are allocated for; used by one thread at a time."""

    def __init__(self, model_path: Path, threads: int, input_shape: tuple[int, ...]) -> None:
        try:
            self.interpreter: Any = Interpreter(model_path=str(model_path), num_threads=threads)
        except (ValueError, RuntimeError) as error:
            raise BundleError(f"{model_path}: not a loadable TFLite model: {error}") from error
        # Tensor indices, read once here rather than per prediction.
        self._input_index = self.interpreter.get_input_details()[0]["index"]
        self._output_index = self.interpreter.get_output_details()[0]["index"]
        self._input_shape = input_shape
        self._batch_size = 0

    def invoke(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self._batch_size:
            self.interpreter.resize_tensor_input(self._input_index, [batch.shape[0], *self._input_shape])
            self.interpreter.allocate_tensors()
            self._batch_size = batch.shape[0]
        self.interpreter.set_tensor(self._input_index, batch)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self._output_index))


class DigitModel:
    """One loaded bundle. ``predict`` takes grey levels 0..255, white on black, shape (n, 784).

    ``threads``: TFLite threads per prediction; ``interpreters``: predictions that may run at once (each
    interpreter holds its own tensors, sized for at most ``CHUNK`` images).
    """

    def __init__(self, bundle: ModelBundle, threads: int = 1, interpreters: int = 1) -> None:
        self.bundle = bundle
        self.labels = list(bundle.manifest.labels)
        self.label_names = [str(label) for label in self.labels]
        """The labels as the answers' and metrics' keys."""
        self._scale = 1.0 / MAX_GREY if bundle.manifest.input.scale == 1 else 1.0
        self._threads = threads
        self._interpreters = interpreters
        self._idle: queue.SimpleQueue[_Runner] = queue.SimpleQueue()  # in C: cheaper than LifoQueue per call
        self.ready = False
        self.loaded_at: float | None = None

    @property
    def version(self) -> str:
        return self.bundle.version

    def load(self) -> DigitModel:
        shape = tuple(self.bundle.manifest.input.shape)
        first = _Runner(self.bundle.model_path, self._threads, shape)
        self._check_signature(first.interpreter)
        self._idle.put(first)
        for _ in range(self._interpreters - 1):
            self._idle.put(_Runner(self.bundle.model_path, self._threads, shape))
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
        runner = self._idle.get()
        try:
            if len(batch) <= CHUNK:
                return runner.invoke(batch)
            # Equal chunks: a batch of 100 runs as 50 and 50, one tensor size, not as 64 and 36.
            chunks = np.array_split(batch, -(-len(batch) // CHUNK))
            return np.concatenate([runner.invoke(chunk) for chunk in chunks])
        finally:
            self._idle.put(runner)


def load_model(bundle: ModelBundle, threads: int = 1, interpreters: int = 1) -> DigitModel:
    return DigitModel(bundle, threads, interpreters).load()


def numeric_type(model_path: Path) -> str:
    """How a TFLite model computes: "int8" when any of its tensors is int8 (a quantised model), else "float32"."""
    details = Interpreter(model_path=str(model_path)).get_tensor_details()
    return "int8" if any(np.dtype(detail["dtype"]) == np.int8 for detail in details) else "float32"
