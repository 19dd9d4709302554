"""The local applier (``make run``): accepted bundles go into the local API's model directory,
whose ``current`` link the API watches. State lives in a JSON file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from digits_bundle.bundle import BundleError, read_manifest, verify_directory
from digits_bundle.fetch import CURRENT_LINK, FetchError, FetchRequest, fetch_bundle
from digits_syncer.ports import Accepted
from digits_syncer.rollout import RolloutState, RolloutStatus
from digits_syncer.state import Pin, SyncerState

PIN_FILE = ".pin.json"
ARCHIVE_DIR = ".bundles"


class LocalApplier:
    def __init__(self, models_dir: Path) -> None:
        self._models = models_dir
        self._failure = ""

    def running_pin(self) -> Pin:
        pin_file = self._models / PIN_FILE
        if pin_file.is_file():
            return Pin(**json.loads(pin_file.read_text()))
        try:
            return Pin(version=verify_directory(self._models / CURRENT_LINK).version)
        except BundleError:
            return Pin(version="")

    def serving_labels(self) -> list[int] | None:
        """The labels of the installed bundle (None when none is installed or it is unreadable)."""
        try:
            return list(read_manifest(self._models / CURRENT_LINK).labels)
        except (BundleError, OSError):
            return None

    def record(self, tag: str, accepted: Accepted) -> tuple[str, str]:
        """Keep the accepted zip where the pin's file:// URL reaches it (local mode has no deploy repo)."""
        archive = self._models / ARCHIVE_DIR
        archive.mkdir(parents=True, exist_ok=True)
        kept = shutil.copy(accepted.bundle_zip, archive / accepted.bundle_zip.name)
        return Path(kept).resolve().as_uri(), ""

    def restore_pin(self, pin: Pin, reason: str) -> None:
        """Nothing to restore: the pin file follows ``apply``."""

    def apply(self, pin: Pin) -> None:
        try:
            fetch_bundle(FetchRequest(pin.url, pin.sha256), self._models)
        except (FetchError, BundleError) as error:
            self._failure = str(error)
            return
        self._failure = ""
        (self._models / PIN_FILE).write_text(json.dumps(pin.__dict__))

    def wait(self, timeout_s: float) -> RolloutStatus:
        if self._failure:
            return RolloutStatus(RolloutState.FAILED, self._failure)
        return RolloutStatus(RolloutState.COMPLETE, "installed in the local model directory")

    def event(self, reason: str, message: str, warning: bool = False) -> None:
        """Local mode reports through the log only."""


class FileStateStore:
    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> SyncerState:
        return SyncerState.from_json(self._path.read_text() if self._path.is_file() else None)

    def save(self, state: SyncerState) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_suffix(".partial")
        partial.write_text(state.to_json())
        partial.replace(self._path)
