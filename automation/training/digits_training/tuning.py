"""Hyper-parameter search with Optuna: the pad-style augmentation's strengths, the network's width and the
learning rate. Each trial trains a network on MNIST and pad-style renderings; its objective is accuracy on a
drawn-digit tuning set (font digits drawn through the page's brush, with a seed of its own so the set the
manifest reports stays unseen), subject to a floor on MNIST test accuracy (a trial below it is infeasible).

The study lives beside the feedback store: in a schema ``optuna`` of the same PostgreSQL database, or in a
SQLite file next to the store's (Optuna keeps its own Alembic version table, which must not meet the store's),
so a search can be stopped and resumed. Its plots are written as self-contained HTML.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from sqlalchemy import make_url, text

from digits_bundle.mnist import Dataset
from digits_training.drawn_eval import make_drawn_eval_set
from digits_training.mixture import MixtureConfig, build_mixture
from digits_training.pad_renderings import PadStyle
from digits_training.train import TrainingConfig, train

TUNING_SEED = 20261205
"""Seed of the drawn-digit tuning set: not the evaluation set's (``drawn_eval.make_drawn_eval_set``'s default)."""
OPTUNA_SCHEMA = "optuna"


@dataclass(frozen=True)
class TuneConfig:
    trials: int
    timeout_s: float | None
    mnist_floor: float = 0.99
    study_name: str = "digits-cnn"
    pad_renderings: int = 30_000
    max_train_images: int | None = None
    epochs: int = 8
    augment: bool = True
    drawn_count: int = 1000
    widths: tuple[float, ...] = (0.75, 1.0, 1.25)
    seed: int = 20261125


QUICK = {
    "pad_renderings": 1000,
    "max_train_images": 6000,
    "epochs": 2,
    "augment": False,
    "drawn_count": 200,
    "mnist_floor": 0.9,
}
"""The short mode (``--quick``): a small sample, two epochs, a lower floor; a minute, not hours."""


def study_storage(store_url: str) -> str:
    """Where the study of the store at ``store_url`` lives (an SQLAlchemy URL Optuna can use)."""
    url = make_url(store_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("an in-memory SQLite store cannot keep a study: name a file")
        return str(url.set(database=str(Path(url.database).with_suffix(".optuna.sqlite3"))))
    if backend == "postgresql":
        from digits_store.engine import create_store_engine
        from digits_store.settings import StoreSettings

        engine = create_store_engine(StoreSettings(url=store_url))
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {OPTUNA_SCHEMA}"))
        password = engine.url.password
        engine.dispose()
        with_password = url.set(password=password) if password else url
        options = {**url.query, "options": f"-csearch_path={OPTUNA_SCHEMA}"}
        return with_password.set(query=options).render_as_string(hide_password=False)
    raise ValueError(f"unsupported store {backend!r}: use postgresql+psycopg:// or sqlite://")


def suggest(trial: optuna.Trial, config: TuneConfig) -> tuple[PadStyle, float, float]:
    """The trial's pad style, network width and learning rate."""
    style = PadStyle(
        elastic=trial.suggest_float("elastic", 0.0, 0.07),
        jitter=trial.suggest_float("jitter", 0.0, 0.025),
        max_rotation_deg=trial.suggest_float("max_rotation_deg", 0.0, 20.0),
        max_shear=trial.suggest_float("max_shear", 0.0, 0.4),
        min_brush=trial.suggest_float("min_brush", 8.0, 16.0),
    )
    width = trial.suggest_categorical("width", list(config.widths))
    learning_rate = trial.suggest_float("learning_rate", 3e-4, 1e-2, log=True)
    return style, float(width), learning_rate


def _accuracy(model: Any, images: np.ndarray, labels: np.ndarray) -> float:
    probabilities = model.predict((images.astype(np.float32) / 255.0)[..., None], batch_size=512, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def _constraint(trial: optuna.trial.FrozenTrial) -> tuple[float]:
    return (float(trial.user_attrs.get("constraint", 1.0)),)  # > 0: infeasible (below the floor, or failed)


def tune(dataset: Dataset, config: TuneConfig, storage: str, out: Path) -> optuna.Study:
    """Run the study (resuming it when it exists) and write its plots and best trial under ``out``."""
    drawn = make_drawn_eval_set(config.drawn_count, seed=TUNING_SEED)
    known = np.isin(drawn.labels, dataset.labels)
    index = {label: n for n, label in enumerate(dataset.labels)}
    drawn_images, drawn_targets = drawn.images[known], np.array([index[v] for v in drawn.labels[known]])

    def objective(trial: optuna.Trial) -> float:
        style, width, learning_rate = suggest(trial, config)
        mixture = build_mixture(
            dataset,
            MixtureConfig(
                seed=config.seed,
                pad_renderings=config.pad_renderings,
                max_train_images=config.max_train_images,
                style=style,
            ),
        )
        result = train(
            mixture,
            len(dataset.labels),
            TrainingConfig(
                epochs=config.epochs,
                learning_rate=learning_rate,
                width=width,
                augment=config.augment,
                seed=config.seed,
                verbose=0,
            ),
        )
        mnist = _accuracy(result.model, dataset.x_test, dataset.y_test)
        drawn_accuracy = _accuracy(result.model, drawn_images, drawn_targets)
        trial.set_user_attr("mnist_test_accuracy", mnist)
        trial.set_user_attr("epochs_run", result.epochs_run)
        trial.set_user_attr("constraint", config.mnist_floor - mnist)
        return drawn_accuracy

    sampler = optuna.samplers.TPESampler(seed=config.seed, constraints_func=_constraint)
    study = optuna.create_study(
        study_name=config.study_name, storage=storage, direction="maximize", sampler=sampler, load_if_exists=True
    )
    study.set_user_attr("config", json.loads(json.dumps(dataclasses.asdict(config))))
    study.optimize(objective, n_trials=config.trials, timeout=config.timeout_s, gc_after_trial=True)
    write_report(study, config, out)
    return study


def feasible_best(study: optuna.Study, floor: float) -> optuna.trial.FrozenTrial | None:
    """The completed trial with the best drawn-digit accuracy among those at or above the MNIST floor."""
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if t.user_attrs.get("mnist_test_accuracy", 0.0) >= floor and t.value is not None
    ]
    return max(done, key=lambda t: t.value or 0.0) if done else None


def write_report(study: optuna.Study, config: TuneConfig, out: Path) -> None:
    """``best.json`` and the study's plots (optimization history, parallel coordinates, and, once two trials
    are complete, the parameters' importances), as HTML with plotly's script inlined (no network to view)."""
    from optuna import visualization

    out.mkdir(parents=True, exist_ok=True)
    best = feasible_best(study, config.mnist_floor)
    summary = {
        "study": study.study_name,
        "trials": len(study.trials),
        "mnist_floor": config.mnist_floor,
        "best": None
        if best is None
        else {
            "number": best.number,
            "drawn_accuracy": best.value,
            "mnist_test_accuracy": best.user_attrs["mnist_test_accuracy"],
            "params": best.params,
        },
    }
    (out / "best.json").write_text(json.dumps(summary, indent=2) + "\n")
    plots: dict[str, Callable[[optuna.Study], Any]] = {
        "optimization-history.html": visualization.plot_optimization_history,
        "parallel-coordinate.html": visualization.plot_parallel_coordinate,
    }
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(completed) >= 2:
        plots["param-importances.html"] = visualization.plot_param_importances
    for name, plot in plots.items():
        plot(study).write_html(out / name, include_plotlyjs=True, full_html=True)
