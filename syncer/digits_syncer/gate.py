"""The gate a release passes before anything else sees it: safe unpacking, bundle validation
(or conversion of a foreign release), evaluation on MNIST test digits of the model's labels,
and comparison with the serving model on the same digits."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from digits_api.bundle import BundleError, ModelBundle, unpack_bundle_zip, verify_directory, zip_bundle
from digits_api.manifest import MANIFEST_FILE
from digits_api.model import load_model
from digits_syncer.plan import judge
from digits_training.data import DataError, Dataset
from digits_training.evaluate import predict_indices

log = logging.getLogger("digits_syncer.gate")

# (labels, images uint8 (n, 28, 28), targets as label indices) -> accuracy of the serving model, or None.
ServingScore = Callable[[list[int], np.ndarray, np.ndarray], float | None]


class Rejected(ValueError):
    """The release failed the gate; the message is the reason recorded."""


@dataclass(frozen=True)
class GateSettings:
    foreign_labels: list[int]
    foreign_scale: Literal[255, 1]
    min_accuracy: float
    max_regression: float
    holdout_size: int


@dataclass(frozen=True)
class Accepted:
    bundle_zip: Path
    sha256: str
    version: str
    accuracy: float
    reason: str


def holdout(mnist: Dataset, labels: list[int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed sample of MNIST test digits of ``labels`` (targets are indices into ``labels``)."""
    subset = mnist.subset(labels)
    picks = np.sort(np.random.default_rng(0).permutation(len(subset.x_test))[:size])
    return subset.x_test[picks], subset.y_test[picks]


class Gate:
    def __init__(self, settings: GateSettings, mnist: Callable[[], Dataset], serving_score: ServingScore) -> None:
        self._settings = settings
        self._mnist = mnist
        self._serving_score = serving_score

    def check(self, archive: Path, tag: str, workdir: Path) -> Accepted:
        try:
            bundle = self._bundle(archive, tag, workdir)
            model = load_model(bundle)
            x, y = holdout(self._mnist(), bundle.manifest.labels, self._settings.holdout_size)
            accuracy = float(np.mean(predict_indices(model, x) == y))
        except (BundleError, DataError, OSError) as error:
            raise Rejected(str(error)) from error
        serving = self._serving_score(bundle.manifest.labels, x, y)
        verdict = judge(accuracy, serving, self._settings.min_accuracy, self._settings.max_regression)
        if not verdict.accepted:
            raise Rejected(verdict.reason)
        packed = zip_bundle(bundle.root, workdir / f"{bundle.manifest.name}-{tag}.zip")
        digest = hashlib.sha256(packed.read_bytes()).hexdigest()
        return Accepted(packed, digest, bundle.manifest.version, accuracy, verdict.reason)

    def _bundle(self, archive: Path, tag: str, workdir: Path) -> ModelBundle:
        root = unpack_bundle_zip(archive, workdir / "unpacked")  # already the bundle's root when it has one
        if (root / MANIFEST_FILE).exists():
            return verify_directory(root)
        log.info(
            "%s has no manifest: converting it as a foreign release with labels %s",
            archive.name,
            self._settings.foreign_labels,
        )
        from digits_training.foreign import ConversionError, convert_release

        try:
            return convert_release(
                archive,
                labels=self._settings.foreign_labels,
                scale=self._settings.foreign_scale,
                mnist=self._mnist(),
                destination=workdir / "converted",
                version=tag,
            )
        except ConversionError as error:
            raise Rejected(str(error)) from error
