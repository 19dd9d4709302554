"""``python -m digits_training tune``: an Optuna study of augmentation, width and learning rate, kept beside
the feedback store (resumed when run again), with its best trial and plots written out; and the study's
storage next to a real PostgreSQL store, where Optuna's tables must not touch the store's own."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pytest
from sqlalchemy import create_engine, text

from digits_store.engine import create_store_engine
from digits_store.migrate import head_revision, upgrade
from digits_store.settings import StoreSettings
from digits_training.tuning import study_storage
from tests.support.servers import python_env


def _tune(tmp_path, store_url, *arguments):
    command = [sys.executable, "-m", "digits_training", "tune", "--quick", "--store-url", store_url]
    return subprocess.run(
        [*command, "--out", str(tmp_path / "tune"), *arguments],
        env=python_env(TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_a_short_study_finds_a_feasible_trial_writes_its_plots_and_resumes(tmp_path):
    store_url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    first = _tune(tmp_path, store_url, "--trials", "2")
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    best = json.loads((tmp_path / "tune" / "best.json").read_text())
    assert best["trials"] == 2 and best["mnist_floor"] == 0.9
    assert best["best"]["mnist_test_accuracy"] >= 0.9 and 0 < best["best"]["drawn_accuracy"] <= 1
    assert set(best["best"]["params"]) == {
        "elastic", "jitter", "max_rotation_deg", "max_shear", "min_brush", "width", "learning_rate",
    }  # fmt: skip
    for plot in ("optimization-history.html", "parallel-coordinate.html", "param-importances.html"):
        html = (tmp_path / "tune" / plot).read_text()
        assert "Plotly.newPlot" in html and '<script src="http' not in html  # viewable with no network

    again = _tune(tmp_path, store_url, "--trials", "1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "3 trials in study digits-cnn" in again.stdout  # resumed, not started over
    assert (tmp_path / "feedback.optuna.sqlite3").is_file()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--trials", "0"], "--trials must be 1 or more"),
        (["--trials", "1", "--timeout", "-5"], "--timeout must be more than 0"),
        (["--trials", "1", "--mnist-floor", "1.5"], "--mnist-floor must be within (0, 1]"),
    ],
)
def test_bad_arguments_stop_with_one_line(tmp_path, arguments, message):
    result = _tune(tmp_path, f"sqlite:///{tmp_path}/feedback.sqlite3", *arguments)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_the_study_lives_in_its_own_schema_of_the_postgresql_store(postgres, monkeypatch):
    url = postgres.fresh_database("tuning")
    monkeypatch.setenv("DIGITS_STORE_PASSWORD_FILE", str(postgres.password_file))
    store = create_store_engine(StoreSettings(url=url))
    upgrade(store)
    storage = study_storage(url)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 3
    with store.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM public.alembic_version")).scalar_one() == head_revision()
        )
        tables = connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'optuna'")).scalars().all()
    assert {"studies", "trials", "alembic_version"} <= set(tables)
    upgrade(store)  # the store's migrations still find their own revision
    create_engine(storage).dispose()
