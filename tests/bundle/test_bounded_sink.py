"""The download bounds shared by the fetcher and the syncer's release source, without any HTTP."""

from __future__ import annotations

import hashlib
import io
import threading
import time

import pytest

from digits_bundle.bounded_sink import BoundedSink, DeadlinePassed, Stopped, TooLarge, declared_length


def _sink(limit=10, deadline_s=60.0, stop=None):
    file = io.BytesIO()
    return file, BoundedSink(file, limit=limit, deadline=time.monotonic() + deadline_s, stop=stop)


def test_chunks_are_written_counted_and_digested():
    file, sink = _sink()
    for chunk in (b"abc", b"", b"defghij"):
        sink.check()
        sink.write(chunk)
    assert file.getvalue() == b"abcdefghij" and sink.size == 10
    assert sink.sha256 == hashlib.sha256(b"abcdefghij").hexdigest()


def test_the_limit_is_enforced_as_bytes_arrive_and_nothing_past_it_is_written():
    file, sink = _sink(limit=10)
    sink.write(b"123456")
    with pytest.raises(TooLarge) as error:
        sink.write(b"78901")
    assert error.value.size == 11 and file.getvalue() == b"123456"


@pytest.mark.parametrize(("declared", "refused"), [(None, False), (10, False), (11, True)])
def test_a_declared_length_past_the_limit_is_refused_up_front(declared, refused):
    _, sink = _sink(limit=10)
    if refused:
        with pytest.raises(TooLarge):
            sink.expect(declared)
    else:
        sink.expect(declared)


def test_the_deadline_and_the_stop_flag_end_the_download():
    _, late = _sink(deadline_s=-1)
    with pytest.raises(DeadlinePassed):
        late.check()
    stop = threading.Event()
    _, sink = _sink(stop=stop)
    sink.check()
    stop.set()
    with pytest.raises(Stopped):
        sink.check()


@pytest.mark.parametrize(
    ("header", "length"),
    [(None, None), ("", None), (" 42 ", 42), ("-1", None), ("1e3", None), ("\u00b2", None), ("9" * 21, None)],
)
def test_only_a_plain_decimal_content_length_counts(header, length):
    assert declared_length(header) == length
