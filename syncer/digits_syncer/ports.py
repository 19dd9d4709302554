"""The ports the reconciler acts through, and the values and errors that cross them.

The core (``plan``, ``state``, ``reconcile``) imports this module, never an adapter: GitHub
(``github_source``, ``repo_writer``), Kubernetes (``kube``), the gate (TFLite, numpy) and the
local applier implement these protocols, and tests drive the core with in-memory fakes of them.
No import here may reach I/O or a heavy library (an import-linter contract says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from digits_syncer.releases import Asset, ReleaseList
from digits_syncer.rollout import RolloutStatus
from digits_syncer.state import Pin, SyncerState, clip

GENERIC_RETRY_S = 30.0
"""When to try again after a source error that names no wait of its own (the loop bounds it too)."""


# -- the release source ----------------------------------------------------------------------------


class SourceError(RuntimeError):
    """The releases could not be read now; worth trying again later (``retry_after_s`` says when)."""

    def __init__(self, message: str, retry_after_s: float = GENERIC_RETRY_S) -> None:
        super().__init__(clip(message))
        self.retry_after_s = retry_after_s


class Interrupted(SourceError):
    """A stop was requested (SIGTERM) while the releases were being read."""


class AssetError(ValueError):
    """The asset is not what it claims to be (too large, wrong digest): a permanent rejection."""


class Source(Protocol):
    def list_releases(self) -> ReleaseList:
        """``SourceError`` when the list cannot be read now."""
        ...

    def download(self, asset: Asset, target: Path) -> str:
        """Write the asset's bytes to ``target``; returns their sha256. ``AssetError``: refuse it for good;
        ``SourceError``: try again later (no file is left then)."""
        ...


# -- the gate --------------------------------------------------------------------------------------


class Rejected(ValueError):
    """The release failed the gate; the message is the reason recorded."""


@dataclass(frozen=True)
class Accepted:
    """A release that passed the gate, as the bundle zip to record (in the reconcile's scratch folder)."""

    bundle_zip: Path
    sha256: str
    version: str
    accuracy: float
    reason: str
    labels: tuple[int, ...] = ()


class GatePort(Protocol):
    def check(self, archive: Path, tag: str, workdir: Path) -> Accepted:
        """``Rejected`` when the release may not be served; ``workdir`` is scratch space for this release."""
        ...


# -- the deployment repository ---------------------------------------------------------------------


class RecordError(RuntimeError):
    """The deployment repository could not be written now."""


class Recorder(Protocol):
    """Where accepted bundles are recorded and given a URL the api pods can fetch (``RecordError``: try again)."""

    def record(self, tag: str, accepted: Accepted) -> tuple[str, str]:
        """Returns (bundle URL, commit; "" when everything was recorded already)."""
        ...

    def restore_pin(self, pin: Pin, reason: str) -> None: ...


# -- the cluster -----------------------------------------------------------------------------------


class KubernetesUnavailable(RuntimeError):
    """The API server could not be reached or answered 5xx: try again later."""


class Applier(Protocol):
    def running_pin(self) -> Pin: ...
    def apply(self, pin: Pin) -> None: ...
    def wait(self, timeout_s: float) -> RolloutStatus: ...
    def event(self, reason: str, message: str, warning: bool = False) -> None: ...


class StateStore(Protocol):
    def load(self) -> SyncerState: ...
    def save(self, state: SyncerState) -> None: ...
