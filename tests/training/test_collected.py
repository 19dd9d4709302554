"""Collected drawings read back from a real feedback store: the held-out split, the per-browser bound, the
snapshot, and what is refused."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import update

from digits_store.engine import create_store_engine
from digits_store.feedback import FeedbackStore
from digits_store.migrate import upgrade
from digits_store.records import FeedbackRecord
from digits_store.schema import feedback
from digits_store.settings import StoreSettings
from digits_training.collected import bounded_per_client, hash_fraction, read_collected


def _record(n: int, label: int, client: str) -> FeedbackRecord:
    image = np.full(784, n % 256, dtype=np.uint8).tobytes()
    return FeedbackRecord(
        submission_id=f"00000000-0000-4000-8000-{n:012d}",
        client_id=client,
        model_version="v1.0.0",
        predicted=label,
        label=label,
        probabilities={str(label): 1.0},
        image=image,
        strokes=[[[1.0, 2.0, 0.0], [3.5, 4.0, 16.0]]],
        canvas_width=280,
        canvas_height=280,
    )


@pytest.fixture
def store(tmp_path):
    settings = StoreSettings(url=f"sqlite:///{tmp_path}/feedback.sqlite3")
    engine = create_store_engine(settings)
    upgrade(engine)
    yield FeedbackStore(engine, settings)
    engine.dispose()


def test_drawings_come_back_whole_with_their_labels_and_a_snapshot_that_names_them(store):
    for n in range(40):
        store.add(_record(n, label=n % 10, client=f"browser-{n % 4:012d}"))
    found = read_collected(store.engine, list(range(10)))
    assert found.count == 40 and found.snapshot.records == found.snapshot.used == 40
    assert found.images.shape == (40, 28, 28) and found.images.dtype == np.uint8
    by_id = dict(zip(found.ids, zip(found.labels, found.images[:, 0, 0], strict=True), strict=True))
    assert sorted((int(label), int(grey)) for label, grey in by_id.values()) == sorted((n % 10, n) for n in range(40))
    again = read_collected(store.engine, list(range(10)))
    assert again.snapshot == found.snapshot
    store.add(_record(99, label=1, client="browser-000000000001"))
    assert read_collected(store.engine, list(range(10))).snapshot.digest != found.snapshot.digest


def test_labels_outside_the_model_and_broken_images_are_left_out(store):
    for n in range(10):
        store.add(_record(n, label=n, client="browser-000000000000"))
    with store.engine.begin() as connection:
        connection.execute(update(feedback).where(feedback.c.label == 5).values(image=b"\x01" * 100))
    found = read_collected(store.engine, [2, 5, 7, 8])
    assert sorted(found.labels.tolist()) == [2, 7, 8]
    assert found.snapshot.records == 10 and found.snapshot.used == 3


def test_the_held_out_part_is_fixed_by_each_drawing_alone(store):
    for n in range(300):
        store.add(_record(n, label=n % 10, client=f"browser-{n % 7:012d}"))
    first = read_collected(store.engine, list(range(10)))
    held = {i for i, h in zip(first.ids, first.held_out(), strict=True) if h}
    assert 30 <= len(held) <= 90  # about a fifth of 300
    for n in range(300, 400):
        store.add(_record(n, label=n % 10, client="browser-000000000009"))
    later = read_collected(store.engine, list(range(10)))
    later_held = {i for i, h in zip(later.ids, later.held_out(), strict=True) if h}
    assert held <= later_held and held == later_held & set(first.ids)
    assert all(hash_fraction(i) < 0.2 for i in later_held)


def test_one_browser_contributes_at_most_its_bound(store):
    for n in range(120):
        store.add(_record(n, label=7, client="browser-flooding0000"))
    for n in range(120, 150):
        store.add(_record(n, label=n % 10, client=f"browser-{n:012d}"))
    found = read_collected(store.engine, list(range(10)))
    bounded = bounded_per_client(found, cap=10)
    clients = list(bounded.clients)
    assert clients.count("browser-flooding0000") == 10
    assert bounded.count == 10 + 30
    assert bounded_per_client(found, cap=10).ids == bounded.ids  # the same choice every time
    assert bounded_per_client(found, cap=0).count == 0
