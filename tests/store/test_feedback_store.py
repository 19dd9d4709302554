"""The feedback store on SQLite and on a real PostgreSQL server: migrations, saving once, replays,
pruning, live accuracy, and failing fast when the database is down."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from digits_store.engine import create_store_engine
from digits_store.feedback import FeedbackStore
from digits_store.migrate import current_revision, head_revision, upgrade
from digits_store.records import FeedbackRecord, Replayed, StoreUnavailable
from digits_store.schema import feedback, metadata
from digits_store.settings import StoreSettings
from digits_store.stats import wilson_interval
from tests.support.servers import python_env


def record(n: int = 0, label: int = 3, predicted: int = 3, version: str = "v1.0.0") -> FeedbackRecord:
    return FeedbackRecord(
        submission_id=f"00000000-0000-4000-8000-{n:012d}",
        client_id="client-abcdefghijkl",
        model_version=version,
        predicted=predicted,
        label=label,
        probabilities={str(predicted): 0.9, str(label): 0.1} if label != predicted else {str(label): 1.0},
        image=bytes(range(256)) * 3 + bytes(16),
        strokes=[[[1.0, 2.0, 0.0], [3.5, 4.0, 16.0]]],
        canvas_width=280,
        canvas_height=280,
    )


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(store_settings):
    engine = create_store_engine(store_settings)
    upgrade(engine)
    yield FeedbackStore(engine, store_settings)
    engine.dispose()


def test_the_migrations_build_exactly_the_schema_the_code_declares(store_settings):
    engine = create_store_engine(store_settings)
    assert upgrade(engine) == head_revision() == "0002"
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == []
        assert current_revision(connection) == "0002"


def test_a_record_is_saved_once_and_a_retry_gets_the_same_id(store):
    first = store.add(record(1))
    again = store.add(record(1))
    assert first.created and not again.created
    assert again.id == first.id
    assert store.count() == 1
    with store.engine.connect() as connection:
        row = connection.execute(select(feedback).where(feedback.c.id == first.id)).one()
    assert bytes(row.image) == record(1).image
    assert row.strokes == [[[1.0, 2.0, 0.0], [3.5, 4.0, 16.0]]]
    assert row.correct is True


def test_the_same_submission_id_with_other_content_is_refused(store):
    store.add(record(1, label=3))
    with pytest.raises(Replayed, match="other content"):
        store.add(record(1, label=8))
    assert store.count() == 1


def test_stats_give_accuracy_per_version_with_an_interval_and_the_confusion_matrix(store):
    for n in range(6):
        store.add(record(n, label=3, predicted=3, version="v1.0.0"))
    for n in range(6, 8):
        store.add(record(n, label=8, predicted=3, version="v1.0.0"))
    store.add(record(8, label=7, predicted=7, version="v1.1.0"))
    stats = store.stats()
    assert (stats.total, stats.correct) == (9, 7)
    first, second = stats.versions
    assert (first.model_version, first.count, first.correct, first.accuracy) == ("v1.0.0", 8, 6, 0.75)
    assert first.ci95 == pytest.approx(wilson_interval(6, 8))
    assert first.ci95[0] < 0.75 < first.ci95[1]
    assert (second.model_version, second.count, second.accuracy) == ("v1.1.0", 1, 1.0)
    assert stats.labels == [3, 7, 8]
    assert stats.confusion == [[6, 0, 0], [0, 1, 0], [2, 0, 0]]


def test_wilson_interval_is_sound_at_the_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(10, 10)
    assert 0.69 < low < 0.73 and high == 1.0
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.27 < high < 0.31


def test_pruning_keeps_the_newest_within_the_count_and_the_age(store_settings):
    settings = store_settings.model_copy(update={"max_records": 100, "retention_days": 30, "prune_every": 1000})
    engine = create_store_engine(settings)
    upgrade(engine)
    clock = Clock()
    store = FeedbackStore(engine, settings, clock)
    for n in range(130):
        clock.now += timedelta(hours=1)
        store.add(record(n))
    assert store.prune() == 30
    with engine.connect() as connection:
        oldest = connection.execute(select(func.min(feedback.c.submission_id))).scalar_one()
    assert oldest == record(30).submission_id
    clock.now += timedelta(days=30, hours=-49, minutes=-30)  # records made before hour 80.5 are too old
    assert store.prune() == 50
    assert store.count() == 50
    with engine.connect() as connection:
        assert connection.execute(select(func.min(feedback.c.submission_id))).scalar_one() == record(80).submission_id


def test_pruning_runs_by_itself_every_so_many_records(store_settings):
    settings = store_settings.model_copy(update={"max_records": 100, "prune_every": 20})
    store = FeedbackStore(create_store_engine(settings), settings)
    upgrade(store.engine)
    for n in range(119):
        store.add(record(n))
    assert store.count() == 119
    store.add(record(119))
    assert store.count() == 100


def test_replicas_starting_together_migrate_once(store_settings):
    """Four processes upgrade the same empty database at the same moment: all succeed, one applies it."""
    script = (
        "import logging, sys, time\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from digits_store.engine import create_store_engine\n"
        "from digits_store.migrate import upgrade\n"
        "from digits_store.settings import StoreSettings\n"
        "settings = StoreSettings(url=sys.argv[1], password_file=sys.argv[2] or None)\n"
        "engine = create_store_engine(settings)\n"
        "time.sleep(max(0, float(sys.argv[3]) - time.time()))\n"
        "print(upgrade(engine))\n"
    )
    start = str(time.time() + 3)
    password = str(store_settings.password_file or "")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, store_settings.url, password, start],
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, [err for _, err in results]
    assert [out.strip() for out, _ in results] == ["0002"] * 4
    applied = [err for _, err in results if "Running upgrade" in err]
    assert len(applied) == 1, [err for _, err in results]
    assert applied[0].count("Running upgrade") == 2, "0001 then 0002, by one process"


def test_a_database_that_is_down_fails_fast_with_store_unavailable(postgres):
    url = postgres.fresh_database("database_down")
    settings = StoreSettings(url=url, password_file=postgres.password_file, connect_timeout_s=2)
    store = FeedbackStore(create_store_engine(settings), settings)
    upgrade(store.engine)
    store.add(record(1))
    postgres.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.add(record(2))
        with pytest.raises(StoreUnavailable):
            store.stats()
        assert time.monotonic() - started < 10
    finally:
        postgres.start()
    assert store.add(record(2)).created, "the store works again once the database is back"
    assert store.count() == 2


def test_the_password_is_read_from_its_file_and_never_shown(postgres):
    settings = StoreSettings(url=postgres.url, password_file=postgres.password_file)
    engine = create_store_engine(settings)
    assert "not-a-real-secret" not in repr(engine.url) and "not-a-real-secret" not in str(engine)
    with engine.connect() as connection:
        assert connection.execute(select(1)).scalar_one() == 1
    wrong = StoreSettings(url=postgres.url)
    with pytest.raises(Exception, match="password") as failure:
        create_store_engine(wrong).connect()
    assert "not-a-real-secret" not in str(failure.value)
