"""The served model's runtime: several interpreters, each used by one thread at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from digits_bundle.bundle import verify_directory
from digits_bundle.runtime import CHUNK, load_model, numeric_type


def test_concurrent_predictions_of_mixed_sizes_match_one_at_a_time(baked_in_bundle, mnist):
    """Threads predicting at once, batches of different sizes interleaved (each interpreter resizes its tensors
    per call), get exactly what one interpreter answers alone: no interpreter is shared mid-prediction."""
    images = mnist.x_test[:600].reshape(600, -1)
    sizes = [1, 256, 3, 64, 1, 200, 7, 1, 50, 18]
    starts = np.cumsum([0, *sizes[:-1]])
    batches = [images[start : start + size] for start, size in zip(starts, sizes, strict=True)]
    alone = load_model(verify_directory(baked_in_bundle))
    expected = [alone.predict(batch) for batch in batches]

    pooled = load_model(verify_directory(baked_in_bundle), interpreters=3)
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(5):
            answers = list(pool.map(pooled.predict, batches))
            for got, want in zip(answers, expected, strict=True):
                np.testing.assert_array_equal(got, want)


def test_a_batch_larger_than_a_chunk_gets_what_each_image_gets_alone(baked_in_bundle, mnist):
    """Batches beyond ``CHUNK`` run in pieces (an interpreter's tensors stay sized for ``CHUNK`` images)."""
    count = 2 * CHUNK + 5
    images = mnist.x_test[:count].reshape(count, -1)
    model = load_model(verify_directory(baked_in_bundle))
    together = model.predict(images)
    runner = model._idle.get()
    assert 0 < runner._batch_size <= CHUNK, "the interpreter was sized for the whole batch"
    model._idle.put(runner)
    alone = np.concatenate([model.predict(images[index : index + 1]) for index in range(count)])
    assert together.shape == (count, len(model.labels))
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_the_baked_in_model_is_int8(baked_in_bundle):
    assert numeric_type(verify_directory(baked_in_bundle).model_path) == "int8"
