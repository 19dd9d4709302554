"""The model currently served, and atomic replacement of it.

Handlers take ``registry.current`` once per request; a swap replaces that
reference, so requests in flight finish on the model they started with.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from digits_api.errors import NotReady
from digits_bundle.bundle import BundleError, unpack_bundle_zip, verify_directory
from digits_bundle.manifest import MANIFEST_FILE
from digits_bundle.runtime import DigitModel, load_model

log = logging.getLogger("digits_api.registry")


def bundle_fingerprint(path: Path) -> str:
    """Changes whenever the bundle at ``path`` is replaced (new target, new manifest, new zip)."""
    resolved = path.resolve()
    target = resolved / MANIFEST_FILE if resolved.is_dir() else resolved
    try:
        stat = target.stat()
    except FileNotFoundError:
        return f"{resolved}:missing"
    return f"{resolved}:{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}"


class ModelRegistry:
    """Holds the served ``DigitModel``; loads and swaps bundles."""

    def __init__(
        self,
        path: Path,
        threads: int = 1,
        on_swap: Callable[[DigitModel], None] | None = None,
        interpreters: int = 1,
    ) -> None:
        self.path = path
        self.threads = threads
        self.interpreters = interpreters
        self._on_swap = on_swap
        self._current: DigitModel | None = None
        self._fingerprint = ""
        self._swap_lock = threading.Lock()
        self._unpacked: tempfile.TemporaryDirectory[str] | None = None

    @property
    def current(self) -> DigitModel:
        model = self._current
        if model is None or not model.ready:
            raise NotReady("no model is loaded yet")
        return model

    @property
    def ready(self) -> bool:
        return self._current is not None and self._current.ready

    def _load(self) -> tuple[DigitModel, tempfile.TemporaryDirectory[str] | None]:
        if self.path.is_dir():
            return load_model(verify_directory(self.path.resolve()), self.threads, self.interpreters), None
        if not self.path.exists():
            raise BundleError(f"{self.path}: no such bundle")
        # A zip is unpacked once into a private directory that lives as long as the model.
        scratch = tempfile.TemporaryDirectory(prefix="served-bundle-")
        try:
            root = unpack_bundle_zip(self.path, Path(scratch.name) / "bundle")
            return load_model(verify_directory(root), self.threads, self.interpreters), scratch
        except BaseException:
            scratch.cleanup()
            raise

    def reload(self) -> bool:
        """Load the bundle at ``path`` if it changed; True when a new model is now served.

        A bundle that fails verification or its self-test is logged and the
        previous model keeps serving.
        """
        with self._swap_lock:
            fingerprint = bundle_fingerprint(self.path)
            if fingerprint == self._fingerprint:
                return False
            try:
                model, scratch = self._load()
            except (BundleError, OSError) as error:
                self._fingerprint = fingerprint
                if self._current is None:
                    raise
                log.error("keeping model %s: new bundle rejected: %s", self._current.version, error)
                return False
            previous_scratch = self._unpacked
            self._current, self._unpacked, self._fingerprint = model, scratch, fingerprint
            log.info("serving model %s from %s", model.version, self.path)
            if self._on_swap is not None:
                self._on_swap(model)
            if previous_scratch is not None:
                # In-flight requests hold the old interpreter, whose model file stays mapped until it goes.
                previous_scratch.cleanup()
            return True


class BundleWatcher:
    """Polls the registry's bundle path and reloads on change (local mode)."""

    def __init__(self, registry: ModelRegistry, interval_s: float) -> None:
        self._registry = registry
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bundle-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._registry.reload()
            except Exception:  # keep watching whatever goes wrong with one attempt
                log.exception("model reload failed")
