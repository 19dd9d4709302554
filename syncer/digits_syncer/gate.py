"""The gate a release passes before anything else sees it: safe unpacking, bundle validation
(or conversion of a foreign release), the manifest's version against the release tag, the
labels against the serving model's, evaluation on MNIST test digits of the model's labels and on
pad-style drawings of those digits, and comparison with the serving model on the same digits (overall
and per label) and, where a store is given, on the drawings people labelled that training never saw."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from digits_bundle.bundle import BundleError, ModelBundle, unpack_bundle_zip, verify_directory, zip_bundle
from digits_bundle.evaluation import evaluate_model
from digits_bundle.manifest import MANIFEST_FILE, Metrics
from digits_bundle.mnist import DataError, Dataset
from digits_bundle.runtime import DigitModel, load_model
from digits_syncer.judge import Verdict, judge, judge_drawings, judge_labels, judge_recalls
from digits_syncer.ports import Accepted, Rejected
from digits_syncer.state import clip

log = logging.getLogger("digits_syncer.gate")

# (labels, images uint8 (n, 28, 28), targets as label indices) -> the serving model's scores on them, or None.
ServingScore = Callable[[list[int], np.ndarray, np.ndarray], Metrics | None]
# () -> the labels of the model serving now (None: unknown).
ServingLabels = Callable[[], list[int] | None]
# (labels) -> the held-out collected drawings of those labels: images uint8 (n, 28, 28), targets as label indices.
HeldOutDrawings = Callable[[list[int]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class GateSettings:
    foreign_labels: list[int]
    foreign_scale: Literal[255, 1]
    min_accuracy: float
    max_regression: float
    holdout_size: int
    allow_narrower_labels: bool = False
    min_drawings: int = 50
    max_drawing_regression: float = 0.02
    max_class_regression: float = 0.05


PAD_HOLDOUT_SEED = 1205
"""Seed of the pad-style drawings of the holdout digits: every release is judged on the same drawings."""


@dataclass(frozen=True)
class Holdout:
    name: str
    images: np.ndarray
    """uint8 (n, 28, 28)"""
    targets: np.ndarray
    """indices into the model's labels"""


def holdout(mnist: Dataset, labels: list[int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed sample of MNIST test digits of ``labels`` (targets are indices into ``labels``)."""
    subset = mnist.subset(labels)
    picks = np.sort(np.random.default_rng(0).permutation(len(subset.x_test))[:size])
    return subset.x_test[picks], subset.y_test[picks]


def holdouts(mnist: Dataset, labels: list[int], size: int) -> tuple[Holdout, Holdout]:
    """The digits every release is judged on: MNIST test digits, and the same digits redrawn as the page's
    drawing pad would produce them (never trained on, and out of reach of anyone who sends feedback)."""
    from digits_training.mixture import render_cached  # scikit-image: only once a release gets this far
    from digits_training.pad_renderings import PadStyle

    images, targets = holdout(mnist, labels, size)
    drawn = render_cached(images, PAD_HOLDOUT_SEED, PadStyle(), workers=1)
    return Holdout("holdout", images, targets), Holdout("pad-style holdout", drawn, targets)


class Gate:
    def __init__(
        self,
        settings: GateSettings,
        mnist: Callable[[], Dataset],
        serving_score: ServingScore,
        serving_labels: ServingLabels = lambda: None,
        held_out_drawings: HeldOutDrawings | None = None,
    ) -> None:
        self._settings = settings
        self._mnist = mnist
        self._serving_score = serving_score
        self._serving_labels = serving_labels
        self._held_out_drawings = held_out_drawings
        self._holdout_cache: dict[tuple[int, ...], tuple[Holdout, Holdout]] = {}

    def check(self, archive: Path, tag: str, workdir: Path) -> Accepted:
        try:
            bundle, labels_verdict = self._bundle(archive, tag, workdir)
            model = load_model(bundle)
            mnist, drawn = self._holdouts(bundle.manifest.labels)
            scores = [evaluate_model(model, h.images, h.targets, h.name) for h in (mnist, drawn)]
        except Rejected:
            raise
        except (BundleError, DataError, OSError) as error:
            raise Rejected(str(error)) from error
        except Exception as error:  # whatever a hostile archive provokes is about this release only
            log.warning("the gate failed on release %s", tag, exc_info=True)
            raise Rejected(f"the release could not be evaluated: {type(error).__name__}: {error}") from error
        labels = bundle.manifest.labels
        serving = [self._serving_score(labels, h.images, h.targets) for h in (mnist, drawn)]
        rules = self._settings
        verdicts = [
            judge(scores[0].test_accuracy, _accuracy(serving[0]), rules.min_accuracy, rules.max_regression, mnist.name),
            # no floor of its own: foreign releases were never trained for a drawing pad
            judge(scores[1].test_accuracy, _accuracy(serving[1]), 0.0, rules.max_regression, drawn.name),
            judge_recalls(scores[0], serving[0], mnist.name, rules.max_class_regression),
            judge_recalls(scores[1], serving[1], drawn.name, rules.max_class_regression),
        ]
        if refusals := [verdict.reason for verdict in verdicts if not verdict.accepted]:
            raise Rejected("; ".join(refusals))
        drawings_verdict = self._drawings(model, labels)
        if not drawings_verdict.accepted:
            raise Rejected(drawings_verdict.reason)
        packed = zip_bundle(bundle.root, workdir / f"{bundle.manifest.name}-{tag}.zip")
        digest = hashlib.sha256(packed.read_bytes()).hexdigest()
        reason = "; ".join(verdict.reason for verdict in [*verdicts, labels_verdict, drawings_verdict])
        return Accepted(
            packed,
            digest,
            bundle.manifest.version,
            scores[0].test_accuracy,
            reason,
            tuple(labels),
            serving_accuracy=_accuracy(serving[0]),
            bundle_bytes=packed.stat().st_size,
            model_bytes=bundle.model_path.stat().st_size,
        )

    def _holdouts(self, labels: list[int]) -> tuple[Holdout, Holdout]:
        key = tuple(labels)
        if key not in self._holdout_cache:
            self._holdout_cache[key] = holdouts(self._mnist(), labels, self._settings.holdout_size)
        return self._holdout_cache[key]

    def _drawings(self, model: DigitModel, labels: list[int]) -> Verdict:
        """The candidate against the serving model on the held-out drawings (not compared when the store
        cannot be read now: that says nothing about this release)."""
        if self._held_out_drawings is None:
            return Verdict(True, "held-out drawings not compared: no store")
        try:
            x, y = self._held_out_drawings(labels)
        except Exception as error:  # the store is down or unreadable: log it, decide on the rest
            log.warning("could not read the held-out drawings: %s: %s", type(error).__name__, clip(str(error), 300))
            return Verdict(True, "held-out drawings not compared: the store could not be read")
        rules = self._settings
        if len(y) < rules.min_drawings:  # too few to compare: neither model need be run
            return judge_drawings(0.0, None, len(y), rules.min_drawings, rules.max_drawing_regression)
        accuracy = evaluate_model(model, x, y, "held-out drawings").test_accuracy
        serving = _accuracy(self._serving_score(labels, x, y))
        return judge_drawings(accuracy, serving, len(y), rules.min_drawings, rules.max_drawing_regression)

    def _labels(self, labels: list[int]) -> Verdict:
        """Refuse labels that do not cover the serving model's (checked before any expensive step)."""
        verdict = judge_labels(labels, self._serving_labels(), self._settings.allow_narrower_labels)
        if not verdict.accepted:
            raise Rejected(verdict.reason)
        return verdict

    def _bundle(self, archive: Path, tag: str, workdir: Path) -> tuple[ModelBundle, Verdict]:
        root = unpack_bundle_zip(archive, workdir / "unpacked")  # already the bundle's root when it has one
        if (root / MANIFEST_FILE).exists():
            bundle = verify_directory(root)
            if bundle.manifest.version != tag:
                # What was evaluated must be what the pin names (the publisher refuses this too).
                raise Rejected(f"its manifest says version {bundle.manifest.version!r}, the release tag is {tag!r}")
            return bundle, self._labels(bundle.manifest.labels)
        labels = self._settings.foreign_labels
        verdict = self._labels(labels)
        log.info("release %s has no manifest: converting it as a foreign release with labels %s", tag, labels)
        from digits_training.foreign import ConversionError, convert_release

        try:
            converted = convert_release(
                archive,
                labels=labels,
                scale=self._settings.foreign_scale,
                mnist=self._mnist(),
                destination=workdir / "converted",
                version=tag,
            )
        except ConversionError as error:
            raise Rejected(str(error)) from error
        return converted, verdict


def _accuracy(score: Metrics | None) -> float | None:
    return None if score is None else score.test_accuracy
