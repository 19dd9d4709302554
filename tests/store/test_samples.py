"""The sample of inputs kept for drift reports, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from digits_store.engine import create_store_engine
from digits_store.migrate import upgrade
from digits_store.records import InputSample
from digits_store.samples import SampleStore


def sample(n: int) -> InputSample:
    return InputSample(model_version="v1.0.0", image=bytes([n % 256]) * 784, features={"ink_mass": float(n)})


def test_samples_are_kept_newest_first_within_their_bound(store_settings):
    engine = create_store_engine(store_settings)
    upgrade(engine)
    samples = SampleStore(engine, max_samples=50)
    samples.add([sample(n) for n in range(30)])
    samples.add([sample(n) for n in range(30, 70)])
    assert samples.count() == 50
    newest = samples.recent(3)
    assert [row["features"]["ink_mass"] for row in newest] == [69.0, 68.0, 67.0]
    assert bytes(newest[0]["image"]) == bytes([69]) * 784
    assert samples.recent(100)[-1]["features"]["ink_mass"] == 20.0
    samples.add([])
    assert samples.count() == 50
