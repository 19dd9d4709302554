"""The body readers' fast paths give exactly what a plain parse gives, for any spelling of the numbers, and
leave anything unusual to the precise checks."""

from __future__ import annotations

import json
import re

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digits_api.errors import InvalidInput
from digits_api.pixels import image_batch, single_image
from digits_bundle.manifest import PIXELS

grey_levels = st.lists(st.integers(0, 255), min_size=PIXELS, max_size=PIXELS)
spacing = st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")])


@settings(max_examples=40, deadline=None)
@given(images=st.lists(grey_levels, min_size=1, max_size=4), separators=spacing)
def test_a_batch_of_whole_numbers_reads_as_a_plain_parse_does(images, separators):
    body = json.dumps({"instances": images}, separators=separators).encode()
    expected = np.array(orjson.loads(body)["instances"], dtype=np.float32)
    read = image_batch(body, max_batch=8)
    assert read.dtype == np.float32 and np.array_equal(read, expected)


@settings(max_examples=40, deadline=None)
@given(image=grey_levels, separators=spacing)
def test_a_single_image_of_whole_numbers_reads_as_a_plain_parse_does(image, separators):
    body = json.dumps(image, separators=separators).encode()
    assert np.array_equal(single_image(body), np.array([image], dtype=np.float32))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1000", "grey level 1000 is outside 0..255"),
        ("256", "grey level 256 is outside 0..255"),
        ("99999999999999999999999", "grey level 1e+23 is outside 0..255"),
        ("-1", "grey level -1 is outside 0..255"),
    ],
)
def test_numbers_out_of_range_get_the_precise_message_in_batches_and_alone(value, message):
    image = ["7"] * PIXELS
    image[500] = value
    batch = b'{"instances": [[' + ",".join(["0"] * PIXELS).encode() + b"], [" + ",".join(image).encode() + b"]]}"
    with pytest.raises(InvalidInput, match=re.escape(f"instances[1][500]: {message}")):
        image_batch(batch, max_batch=8)
    with pytest.raises(InvalidInput, match=re.escape(f"body[500]: {message}")):
        single_image(("[" + ",".join(image) + "]").encode())


def test_fractions_mixed_with_whole_numbers_are_read_exactly():
    image = [0] * PIXELS
    image[3] = 12.5  # type: ignore[call-overload]
    batch = json.dumps({"instances": [[1] * PIXELS, image]}).encode()
    assert image_batch(batch, max_batch=8)[1][3] == np.float32(12.5)
    assert single_image(json.dumps(image).encode())[0][3] == np.float32(12.5)
