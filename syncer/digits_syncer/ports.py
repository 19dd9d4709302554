"""The ports the reconciler acts through, and the values and errors that cross them.

The core (``plan``, ``state``, ``reconcile``) imports this module, never an adapter: GitHub
(``github_source``, ``repo_writer``), Kubernetes (``kube``), the gate (TFLite, numpy) and the
local applier implement these protocols, and tests drive the core with in-memory fakes of them.
No import here may reach I/O or a heavy library (an import-linter contract says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
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


class GateUnavailable(RuntimeError):
    """The gate could not compare the release with the serving model now (the api did not answer, or answered
    nonsense): neither accepted nor refused; tried again at the next poll. A gate that skipped the comparison
    instead would let anyone who can slow the api down get a worse model past it."""


@dataclass(frozen=True)
class Accepted:
    """A release that passed the gate, as the bundle zip to record (in the reconcile's scratch folder)."""

    bundle_zip: Path
    sha256: str
    version: str
    accuracy: float
    reason: str
    labels: tuple[int, ...] = ()
    serving_accuracy: float | None = None
    """The serving model's holdout accuracy on the same digits (None: not compared)."""
    bundle_bytes: int = 0
    """The size of ``bundle_zip``."""
    model_bytes: int = 0
    """The size of the model file the api serves (``model.tflite``)."""


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


class ReviewState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"
    """Closed without being merged."""


@dataclass(frozen=True)
class Review:
    """Where a pull request stands."""

    state: ReviewState
    merge_commit: str = ""
    merged_pin: Pin | None = None
    """The pin file as the merge commit has it (None: not merged, or no pin could be read there)."""


@dataclass(frozen=True)
class Opened:
    """A pull request the syncer opened, or found open from the same branch."""

    number: int
    branch: str
    head: str
    """The branch's head commit."""
    bundle_url: str = ""
    """Where the pinned bundle will be fetched from once merged (release proposals)."""


class Proposals(Protocol):
    """Pull-request mode: what the syncer records in the deployment repository goes through review.
    Only pull requests from the syncer's own branches are touched (``RecordError``: try again)."""

    def propose(self, tag: str, accepted: Accepted, title: str, body: str) -> Opened:
        """Commit the bundle and the pin naming it to the release's own branch and open a pull request
        into the deployment branch; the one open from that branch already when there is one."""
        ...

    def propose_pin(self, pin: Pin, title: str, body: str) -> Opened | None:
        """Open a pull request setting the pin file to ``pin`` (None: the deployment branch names it already)."""
        ...

    def review(self, number: int) -> Review: ...

    def withdraw(self, number: int, comment: str) -> bool:
        """Comment on the pull request and close it; False when it was no longer open (left as it is)."""
        ...


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
