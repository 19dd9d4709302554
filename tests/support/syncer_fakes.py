"""In-memory fakes of the syncer's ports (``digits_syncer.ports``): the releases, the gate, the
deployment repository, the cluster and the state store. With them the whole core (plan, state
transitions, the reconcile interpreter) runs in a test in milliseconds: no servers, no binaries.

Each fake keeps what a test asserts on (commits, pins applied, Events, saves) and fails on demand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digits_syncer.judge import judge, judge_labels
from digits_syncer.ports import Accepted, AssetError, Opened, Rejected, Review, ReviewState
from digits_syncer.reconcile import Outcome, Syncer
from digits_syncer.releases import Asset, Release, ReleaseFilter, ReleaseList
from digits_syncer.rollout import RolloutState, RolloutStatus
from digits_syncer.state import Pin, SyncerState

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
"""The fakes' clock: every history entry is stamped with it."""
BAKED_IN = Pin("baked-in")
"""What the api Deployment runs before the syncer changes anything."""
ALL_DIGITS = tuple(range(10))


@dataclass(frozen=True)
class FakeBundle:
    """What a release asset holds for ``InMemoryGate``: a model's manifest facts and its holdout accuracy."""

    version: str
    labels: tuple[int, ...] = ALL_DIGITS
    accuracy: float = 0.99
    model_bytes: int = 600_000

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()


class InMemorySource:
    """GitHub's releases of the training repository; each publication is newer than the one before."""

    def __init__(self, max_bytes: int = 1_000_000) -> None:
        self.releases: list[Release] = []
        self.assets: dict[int, bytes] = {}
        self.downloads: list[str] = []
        """The tag of each asset downloaded, in order."""
        self.list_errors: list[Exception] = []
        """Raised by the next ``list_releases`` calls, one each."""
        self.max_bytes = max_bytes
        self._ids = 0

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def publish(
        self, tag: str, content: FakeBundle | bytes | None = None, *, digest: str | None = "sha256", **flags: bool
    ) -> Release:
        """A release of ``tag`` whose asset is ``content`` (default: a good bundle of version ``tag``).
        ``digest``: "sha256" states the bytes' true digest, None none, anything else is stated as is."""
        release_id = self._next_id()
        when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=release_id)
        release = Release(release_id, tag, tag, False, False, when, when, (self._asset(tag, content, digest),))
        release = replace(release, **flags)
        self.releases.append(release)
        return release

    def republish(self, tag: str, content: FakeBundle | bytes) -> None:
        """Replace the asset of ``tag`` with other bytes (a new asset id), the release staying the same."""
        (index,) = [n for n, release in enumerate(self.releases) if release.tag == tag]
        release = self.releases[index]
        self.releases[index] = replace(release, assets=(self._asset(tag, content, "sha256"),))

    def _asset(self, tag: str, content: FakeBundle | bytes | None, digest: str | None) -> Asset:
        content = FakeBundle(tag) if content is None else content
        data = content.to_bytes() if isinstance(content, FakeBundle) else content
        asset_id = self._next_id()
        self.assets[asset_id] = data
        stated = "sha256:" + hashlib.sha256(data).hexdigest() if digest == "sha256" else digest
        return Asset(asset_id, f"mnist-cnn-{asset_id}.zip", len(data), f"https://api.example/assets/{asset_id}", stated)

    def list_releases(self) -> ReleaseList:
        if self.list_errors:
            raise self.list_errors.pop(0)
        return ReleaseList(list(self.releases), changed=True)

    def download(self, asset: Asset, target: Path) -> str:
        self.downloads.append(next(r.tag for r in self.releases if asset in r.assets))
        if asset.size > self.max_bytes:
            raise AssetError(f"the asset is {asset.size} bytes, more than the limit of {self.max_bytes}")
        data = self.assets[asset.id]
        actual = hashlib.sha256(data).hexdigest()
        if (asset.digest or "").startswith("sha256:") and asset.digest != f"sha256:{actual}":
            raise AssetError(f"the asset has sha256 {actual}, the release states {asset.digest}")
        target.write_bytes(data)
        return actual


@dataclass
class InMemoryGate:
    """The gate's rules over a ``FakeBundle`` (its own decisions, ``judge.judge`` and ``judge.judge_labels``);
    bytes that are no ``FakeBundle`` are rejected as no bundle."""

    serving_labels: list[int] | None = field(default_factory=lambda: list(ALL_DIGITS))
    serving_accuracy: float | None = None
    allow_narrower_labels: bool = False
    min_accuracy: float = 0.9
    max_regression: float = 0.02
    checked: list[str] = field(default_factory=list)

    def check(self, archive: Path, tag: str, workdir: Path) -> Accepted:
        self.checked.append(tag)
        try:
            bundle = FakeBundle(**json.loads(archive.read_bytes()))
        except (ValueError, TypeError) as error:
            raise Rejected(f"the release is not a bundle: {type(error).__name__}") from error
        if bundle.version != tag:
            raise Rejected(f"its manifest says version {bundle.version!r}, the release tag is {tag!r}")
        labels = judge_labels(list(bundle.labels), self.serving_labels, self.allow_narrower_labels)
        if not labels.accepted:
            raise Rejected(labels.reason)
        verdict = judge(bundle.accuracy, self.serving_accuracy, self.min_accuracy, self.max_regression)
        if not verdict.accepted:
            raise Rejected(verdict.reason)
        packed = workdir / f"mnist-cnn-{tag}.zip"
        packed.write_bytes(archive.read_bytes())
        digest = hashlib.sha256(packed.read_bytes()).hexdigest()
        reason = f"{verdict.reason}; {labels.reason}"
        return Accepted(
            packed,
            digest,
            tag,
            bundle.accuracy,
            reason,
            bundle.labels,
            serving_accuracy=self.serving_accuracy,
            bundle_bytes=packed.stat().st_size,
            model_bytes=bundle.model_bytes,
        )


@dataclass
class FakePull:
    """A pull request into the deployment branch; ``pin`` is what its branch's pin file names."""

    number: int
    branch: str
    title: str
    body: str
    pin: Pin
    state: ReviewState = ReviewState.OPEN
    merge_commit: str = ""
    comments: list[str] = field(default_factory=list)


class InMemoryRecorder:
    """The deployment repository: a commit per file that changes, none when the content is there already.
    In pull-request mode (``Proposals``) changes go to branches and pull requests that a test merges
    (``merge``, after editing the branch's pin if it likes) or closes (``close``) as a reviewer would."""

    def __init__(self) -> None:
        self.bundles: dict[str, bytes] = {}
        self.pin: Pin | None = None
        """What the pin file on the deployment branch names (None: never written by the syncer)."""
        self.commits: list[str] = []
        """Commit messages on the deployment branch, oldest first."""
        self.restored: list[tuple[Pin, str]] = []
        self.restore_errors: list[Exception] = []
        """Raised by the next ``restore_pin`` calls, one each (git down during a roll back)."""
        self.pulls: list[FakePull] = []
        self.withdraw_errors: list[BaseException] = []
        """Raised by the next ``withdraw`` calls, one each, before anything is closed."""

    def _commit(self, message: str) -> str:
        self.commits.append(message)
        return f"commit-{len(self.commits)}"

    def record(self, tag: str, accepted: Accepted) -> tuple[str, str]:
        name, data = accepted.bundle_zip.name, accepted.bundle_zip.read_bytes()
        url, commit = f"https://git.example/deploy/models/{name}", ""
        if self.bundles.get(name) != data:
            self.bundles[name] = data
            commit = self._commit(f"model {tag}: bundle {name}")
        pin = Pin(tag, url, accepted.sha256)
        if self.pin != pin:
            self.pin = pin
            commit = self._commit(f"model {tag}: pin the api to {name}")
        return url, commit

    def restore_pin(self, pin: Pin, reason: str) -> None:
        if self.restore_errors:
            raise self.restore_errors.pop(0)
        self.restored.append((pin, reason))
        if self.pin != pin:
            self.pin = pin
            self._commit(f"model {pin.version}: roll back ({reason})")

    # -- pull-request mode ------------------------------------------------------------------------

    def propose(self, tag: str, accepted: Accepted, title: str, body: str) -> Opened:
        url = f"https://git.example/deploy/models/{accepted.bundle_zip.name}"
        pull = self._open(f"digits-syncer/{tag}", title, body, Pin(tag, url, accepted.sha256))
        self.bundles.setdefault(f"{pull.branch}:{accepted.bundle_zip.name}", accepted.bundle_zip.read_bytes())
        return Opened(pull.number, pull.branch, f"head-of-{pull.branch}", url)

    def propose_pin(self, pin: Pin, title: str, body: str) -> Opened | None:
        if self.pin == pin:
            return None
        pull = self._open(f"digits-syncer/restore-{pin.version}", title, body, pin)
        return Opened(pull.number, pull.branch, f"head-of-{pull.branch}")

    def _open(self, branch: str, title: str, body: str, pin: Pin) -> FakePull:
        """The pull request open from ``branch``, or a new one (GitHub allows one open per branch and base)."""
        for pull in self.open_pulls():
            if pull.branch == branch:
                return pull
        pull = FakePull(len(self.pulls) + 1, branch, title, body, pin)
        self.pulls.append(pull)
        return pull

    def review(self, number: int) -> Review:
        pull = self.pulls[number - 1]
        return Review(pull.state, pull.merge_commit, pull.pin if pull.state is ReviewState.MERGED else None)

    def withdraw(self, number: int, comment: str) -> bool:
        if self.withdraw_errors:
            raise self.withdraw_errors.pop(0)
        pull = self.pulls[number - 1]
        if pull.state is not ReviewState.OPEN:
            return False
        pull.comments.append(comment)
        pull.state = ReviewState.CLOSED
        return True

    def open_pulls(self) -> list[FakePull]:
        return [pull for pull in self.pulls if pull.state is ReviewState.OPEN]

    def merge(self, number: int, pin: Pin | None = None) -> None:
        """A reviewer merges pull request ``number``, after setting its branch's pin to ``pin`` if given."""
        pull = self.pulls[number - 1]
        pull.pin = pin or pull.pin
        pull.state, pull.merge_commit = ReviewState.MERGED, self._commit(f"Merge pull request #{number}")
        self.pin = pull.pin

    def close(self, number: int) -> None:
        """A reviewer closes pull request ``number`` without merging it."""
        self.pulls[number - 1].state = ReviewState.CLOSED


@dataclass
class InMemoryCluster:
    """The api Deployment: the pin on its pod template, the rollouts patched into it, its Events."""

    running: Pin = BAKED_IN
    stalling: set[str] = field(default_factory=set)
    """Versions whose pods never become ready: their rollouts exceed the progress deadline."""
    slow: set[str] = field(default_factory=set)
    """Versions whose rollouts are still progressing when the wait times out."""
    applied: list[Pin] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    events: list[tuple[str, str, bool]] = field(default_factory=list)
    """(reason, message, warning) of each Event, oldest first."""
    apply_errors: list[BaseException] = field(default_factory=list)
    """Raised by the next ``apply`` calls, one each (before patching)."""
    wait_errors: list[BaseException] = field(default_factory=list)
    """Raised by the next ``wait`` calls, one each (the pin is patched, its rollout never confirmed)."""

    def running_pin(self) -> Pin:
        return self.running

    def apply(self, pin: Pin) -> None:
        if self.apply_errors:
            raise self.apply_errors.pop(0)
        self.applied.append(pin)
        self.running = pin

    def wait(self, timeout_s: float) -> RolloutStatus:
        if self.wait_errors:
            raise self.wait_errors.pop(0)
        self.waits.append(timeout_s)
        if self.running.version in self.stalling:
            return RolloutStatus(RolloutState.FAILED, "progress deadline exceeded: ReplicaSet has timed out")
        if self.running.version in self.slow:
            return RolloutStatus(RolloutState.PROGRESSING, "1 of 2 updated replicas are available")
        return RolloutStatus(RolloutState.COMPLETE, "2 replicas updated and available")

    def event(self, reason: str, message: str, warning: bool = False) -> None:
        self.events.append((reason, message, warning))

    def reasons(self) -> list[str]:
        return [reason for reason, _, _ in self.events]


class InMemoryStateStore:
    """The state ConfigMap: kept as the JSON the real stores write, so every save round-trips."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text
        self.saves = 0
        self.save_errors: list[BaseException] = []
        """Raised by the next ``save`` calls, one each, before anything is kept (the syncer killed)."""

    def load(self) -> SyncerState:
        return SyncerState.from_json(self.text)

    def save(self, state: SyncerState) -> None:
        if self.save_errors:
            raise self.save_errors.pop(0)
        self.text = state.to_json()
        self.saves += 1

    @property
    def state(self) -> SyncerState:
        return self.load()

    def history(self) -> list[str]:
        return [entry["event"] for entry in self.state.history]


@dataclass
class SyncerFakes:
    """One fake of each port; ``syncer()`` wires a ``Syncer`` to them as ``__main__`` wires the real ones.
    A new ``Syncer`` over the same fakes is a restarted syncer: it keeps only what the store kept."""

    source: InMemorySource = field(default_factory=InMemorySource)
    gate: InMemoryGate = field(default_factory=InMemoryGate)
    recorder: InMemoryRecorder = field(default_factory=InMemoryRecorder)
    cluster: InMemoryCluster = field(default_factory=InMemoryCluster)
    store: InMemoryStateStore = field(default_factory=InMemoryStateStore)
    pull_requests: bool = False
    """Pull-request mode: the recorder's ``Proposals`` are wired in."""

    def syncer(
        self, *, dry_run: bool = False, require_digest: bool = False, rules: ReleaseFilter | None = None
    ) -> Syncer:
        return Syncer(
            self.source,
            self.gate,
            self.recorder,
            self.cluster,
            self.store,
            rules or ReleaseFilter(),
            rollout_timeout_s=60.0,
            dry_run=dry_run,
            require_digest=require_digest,
            clock=lambda: NOW,
            proposals=self.recorder if self.pull_requests else None,
        )

    def once(self, retry: Iterable[str] = (), **options: bool) -> Outcome:
        return self.syncer(**options).reconcile_once(frozenset(retry))

    def deployed_pin(self, tag: str) -> Pin:
        """The pin a deployment of ``tag`` (published with its default bundle) ends with."""
        (release,) = [r for r in self.source.releases if r.tag == tag]
        data = self.source.assets[release.assets[0].id]
        url = f"https://git.example/deploy/models/mnist-cnn-{tag}.zip"
        return Pin(tag, url, hashlib.sha256(data).hexdigest())
