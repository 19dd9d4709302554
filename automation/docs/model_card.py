"""The model card of the baked-in model (``api/models/default``), generated from its bundle at build time.

The MNIST figures are the manifest's own. The drawn-digit figures are measured again here, with the
served runtime, on the drawn-digit set the manifest names (same format, seed and size), and must agree
with the accuracy the manifest recorded: a card that disagrees with its bundle fails the build. The
figures on digits people wrote (``digits_training.pen_digits``' held-out part and ``digits_training.map_digits``),
which the manifest does not record, are measured here only.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from digits_bundle.bundle import verify_directory
from digits_bundle.evaluation import compute_metrics, predict_indices
from digits_bundle.manifest import Manifest, Metrics
from digits_bundle.runtime import DigitModel, load_model, numeric_type
from digits_training.drawing_evaluations import DRAWN
from digits_training.drawn_eval import FORMAT, make_drawn_eval_set
from digits_training.drawn_sets import DrawnEvalSet
from digits_training.map_digits import make_map_eval_set
from digits_training.pen_digits import make_pen_eval_set
from digits_training.reports import write_reports

BAKED_IN = Path(__file__).resolve().parents[2] / "api" / "models" / "default"
EXAMPLES = 12
"""Misread drawings shown under known weaknesses."""


class CardError(ValueError):
    """The bundle and what the card measures disagree, or the bundle lacks what the card needs."""


def drawn_set_of(manifest: Manifest) -> DrawnEvalSet:
    """The drawn-digit set the manifest's ``drawn`` evaluation was measured on."""
    evaluation = (manifest.evaluations or {}).get(DRAWN)
    if evaluation is None:
        raise CardError(f"{manifest.version} has no '{DRAWN}' evaluation to describe")
    found = re.match(rf"{re.escape(FORMAT)} seed (\d+):", evaluation.dataset)
    if not found:
        raise CardError(f"cannot tell which drawn set {evaluation.dataset!r} is")
    return make_drawn_eval_set(evaluation.n, int(found.group(1)))


def _per_class_table(metrics: Metrics) -> str:
    rows = ["| digit | precision | recall | examples |", "|---|---|---|---|"]
    for label, figures in metrics.per_class.items():
        rows.append(f"| {label} | {figures.precision:.3f} | {figures.recall:.3f} | {figures.support} |")
    return "\n".join(rows)


def _confusions(metrics: Metrics, labels: list[int], top: int = 5) -> list[tuple[int, int, int]]:
    """The most frequent (true, predicted, count) mistakes."""
    matrix = np.array(metrics.confusion_matrix)
    np.fill_diagonal(matrix, 0)
    order = np.argsort(matrix, axis=None)[::-1][:top]
    found = [(labels[i // len(labels)], labels[i % len(labels)], int(matrix.flat[i])) for i in order]
    return [entry for entry in found if entry[2] > 0]


def _font_accuracy(drawn: DrawnEvalSet, correct: np.ndarray) -> str:
    rows = ["| font | accuracy | drawings |", "|---|---|---|"]
    for index, name in enumerate(drawn.font_names):
        chosen = drawn.fonts == index
        rows.append(f"| {name} | {correct[chosen].mean():.3f} | {int(chosen.sum())} |")
    return "\n".join(rows)


def _examples_image(drawn: DrawnEvalSet, predicted: np.ndarray, labels: list[int], path: Path) -> int:
    """A grid of misread drawings, each titled ``true → predicted``; returns how many it shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    guesses = np.array(labels)[predicted]
    wrong: list[int] = []
    per_mistake: Counter[tuple[int, int]] = Counter()
    for found in np.flatnonzero(guesses != drawn.labels):  # at most two of each mistake, for variety
        mistake = (int(drawn.labels[found]), int(guesses[found]))
        if per_mistake[mistake] < 2 and len(wrong) < EXAMPLES:
            per_mistake[mistake] += 1
            wrong.append(int(found))
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.3, rows * 1.5))
    for slot, axis in enumerate(np.atleast_1d(axes).flat):
        axis.axis("off")
        if slot < len(wrong):
            index = wrong[slot]
            axis.imshow(drawn.images[index], cmap="gray", vmin=0, vmax=255)
            axis.set_title(f"{drawn.labels[index]} → {labels[predicted[index]]}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return len(wrong)


def _contents(manifest: Manifest) -> str:
    """What the bundle carries besides the served model, for people."""
    kinds = {"model.keras": "the Keras model (what retraining starts from)", "saved_model/": "a TensorFlow SavedModel"}
    found = [text for prefix, text in kinds.items() if any(name.startswith(prefix) for name in manifest.files)]
    return " and ".join(found) if found else "nothing besides it"


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def page(
    manifest: Manifest, drawn_metrics: Metrics, fonts: str, shown: int, *, pen: Metrics, maps: Metrics, numbers: str
) -> str:
    mnist, labels = manifest.metrics, manifest.labels
    data = manifest.training.data
    trained_on = (
        f"{data.base} MNIST training digits, {data.pad_renderings} renderings of MNIST digits as the drawing pad "
        "produces them (thick round strokes, re-centred by the page's preprocessing), "
        + (f"{data.pen_renderings} renderings of pen digits (below) " if data.pen_renderings else "")
        + f"and {data.collected} drawings collected from people"
        if data
        else f"the {manifest.training.dataset} training set"
    )
    pen_training = (
        "It was trained on renderings of the other 8,992, and the data does not say who wrote which, so these"
        " writers are not strangers to it."
        if data and data.pen_renderings
        else "It was trained on none of the 10,992."
    )
    weakest = min(drawn_metrics.per_class.items(), key=lambda item: item[1].recall)
    confusions = _confusions(drawn_metrics, labels)
    mistakes = ", ".join(f"{true} read as {guess} ({count}×)" for true, guess, count in confusions)
    misread = drawn_metrics.n_test - round(drawn_metrics.test_accuracy * drawn_metrics.n_test)
    reference = manifest.drift_reference.dataset if manifest.drift_reference else "nowhere: this bundle has none"
    label_list, label_count = ", ".join(map(str, labels)), len(labels)
    contents = _contents(manifest)
    evaluations = "\n".join(
        f"- `{name}`: accuracy {_pct(evaluation.accuracy)} on {evaluation.n} — {evaluation.dataset}"
        for name, evaluation in (manifest.evaluations or {}).items()
    )
    return f"""# Model card: {manifest.name} {manifest.version}

The model every install serves until the syncer installs a newer release: the bundle in
`api/models/default`, created {manifest.created:%Y-%m-%d}. This page is generated from that bundle when
the site is built; the figures on drawn digits are measured again with the serving runtime.

## What it is for

Reading one handwritten digit ({label_list}), drawn on the page's pad with a mouse, finger or pen, and
saying how sure it is (a probability for each label). It is a demonstration of a model that keeps itself up to
date; it is not for reading digits where a mistake costs money or safety (cheques, forms, addresses)
without a person checking.

## Model

- A small convolutional network, converted to TensorFlow Lite (`model.tflite`, computing in {numbers}) and
  served by the LiteRT interpreter. The bundle holds {contents}.
- Input: {manifest.input.shape[0]}×{manifest.input.shape[1]} grey levels, {manifest.input.foreground}
  (the page centres and scales a drawing the way MNIST's digits are, see
  [Architecture](architecture.md)). Labels: {", ".join(map(str, labels))}.
- Every file is listed in the manifest with its sha256 ({len(manifest.files)} files).

## Data and provenance

- Trained on {trained_on}; dataset `{manifest.training.dataset}` (sha256 `{manifest.training.dataset_sha256[:16]}…`).
- {manifest.training.epochs} epochs, seed {manifest.training.seed}, code revision
  `{manifest.training.code_revision}`, {manifest.training.duration_s or 0:.0f} s of training.
- scikit-learn's 8×8 digits were kept out of its training, tuning and selection: the project reserves
  them as an independent check.
- The drift reference (what inputs looked like in training) comes from {reference}.

## How well it does

On MNIST's test set ({mnist.n_test} digits): accuracy **{_pct(mnist.test_accuracy)}**.

{_per_class_table(mnist)}

![Confusion matrix on MNIST's test set](model-card/mnist/confusion_matrix.png)

On drawn digits — {drawn_metrics.n_test} font digits drawn through the page's brush and preprocessing,
never seen in training: accuracy **{_pct(drawn_metrics.test_accuracy)}**.

{_per_class_table(drawn_metrics)}

![Confusion matrix on drawn digits](model-card/drawn/confusion_matrix.png)

Every evaluation the bundle records:

{evaluations}

## Known weaknesses

- Drawings are harder than MNIST: {100 * (mnist.test_accuracy - drawn_metrics.test_accuracy):.1f} percentage points
  less accurate.
  The weakest digit on drawings is **{weakest[0]}** (recall {weakest[1].recall:.3f}).
- The most frequent mistakes on drawings: {mistakes or "none"}.
- Accuracy depends on the style of the digits (each font's digits, drawn):

{fonts}

Misread drawings ({shown} of {misread}), as the model receives them, titled *true → predicted*:

![Misread drawings](model-card/drawn/misread.png)

- Digits people wrote are harder than font digits.
  - On {maps.n_test} digits written on Dutch public-utility maps, which no model here was trained or tuned on
    (UCI's `mfeat-pix`, 15x16 scans whose skeletons are traced and redrawn through the page's brush and
    preprocessing; `python -m digits_training drawn-eval --source maps`), it gets **{_pct(maps.test_accuracy)}**
    right. The weakest digits there: {_weakest(maps)}.
  - On the {pen.n_test} held-out digits of 44 people who wrote with a pen on a tablet (UCI's pen-based digits,
    redrawn from the 8 points along each pen path that the data keeps, so a pen lift is drawn as a line;
    `drawn-eval --source pen`), it gets **{_pct(pen.test_accuracy)}** right. {pen_training} The weakest digits
    there: {_weakest(pen)}.
  - Writing styles that none of its data has are read worse; the drawings people correct on the page are
    how a retrained model learns them.

## Limits

- One digit per drawing: two digits or a letter still get one of its {label_count} labels, often with a
  high probability (the page sends nothing for a blank pad; an API client's blank image gets a label
  too). The page's "was it right?" answers and the drift report are how such inputs are noticed
  ([drift runbook](runbooks/drift-report.md)).
- The probabilities are the network's softmax, not calibrated frequencies.
- A release replaces this model only when the syncer's gate finds it above the accuracy floor and within
  the allowed margins of this model on every check, overall and per label (see
  [a release was refused](runbooks/release-refused.md)); its own card is its manifest.
"""


def _weakest(metrics: Metrics, count: int = 3) -> str:
    ranked = sorted(metrics.per_class.items(), key=lambda item: item[1].recall)[:count]
    return ", ".join(f"{label} (recall {scores.recall:.2f})" for label, scores in ranked)


def _measured(model: DigitModel, data: DrawnEvalSet, labels: list[int], name: str) -> tuple[Metrics, np.ndarray]:
    indices = {label: index for index, label in enumerate(labels)}
    predicted = predict_indices(model, data.images)
    targets = np.array([indices[int(label)] for label in data.labels])
    return compute_metrics(targets, predicted, labels, name), predicted


def write(directory: Path, bundle_dir: Path = BAKED_IN) -> None:
    """``model-card.md`` and its images under ``model-card/`` in the site's sources."""
    bundle = verify_directory(bundle_dir)
    manifest = bundle.manifest
    drawn = drawn_set_of(manifest)
    model = load_model(bundle)
    drawn_metrics, predicted = _measured(model, drawn, manifest.labels, "drawn")
    pen_metrics, _ = _measured(model, make_pen_eval_set(), manifest.labels, "pen")
    map_metrics, _ = _measured(model, make_map_eval_set(), manifest.labels, "maps")
    recorded = manifest.evaluations[DRAWN].accuracy  # type: ignore[index]  # drawn_set_of checked it
    if abs(drawn_metrics.test_accuracy - recorded) > 1e-4:
        raise CardError(
            f"drawn-digit accuracy measured {drawn_metrics.test_accuracy:.5f}, the manifest says {recorded:.5f}"
        )
    images = directory / "model-card"
    write_reports(manifest.metrics, manifest.labels, images / "mnist")
    write_reports(drawn_metrics, manifest.labels, images / "drawn")
    shown = _examples_image(drawn, predicted, manifest.labels, images / "drawn" / "misread.png")
    fonts = _font_accuracy(drawn, np.array(manifest.labels)[predicted] == drawn.labels)
    numbers = numeric_type(bundle.model_path)
    (directory / "model-card.md").write_text(
        page(manifest, drawn_metrics, fonts, shown, pen=pen_metrics, maps=map_metrics, numbers=numbers)
    )
