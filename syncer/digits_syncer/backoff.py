"""How long to wait before trying again (pure functions: no I/O, no clock of their own).

Every wait the syncer takes after a temporary error goes through ``bounded_wait``, so a
server that answers ``Retry-After: nan``, ``inf``, ``1e12``, a date in the past or
garbage can neither make the loop spin nor put it to sleep for ever.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime

MIN_WAIT_S = 1.0
"""Never retry sooner than this, whatever the server says (no busy loop)."""
RATE_LIMIT_WAIT_S = 60.0
"""GitHub's advice when a 403/429 names no wait of its own (secondary rate limits)."""


def bounded_wait(seconds: float | None, max_s: float, default_s: float = RATE_LIMIT_WAIT_S) -> float:
    """``seconds`` within [MIN_WAIT_S, max_s]; ``default_s`` (bounded too) when it is None or not a number."""
    if seconds is None or math.isnan(seconds):
        seconds = default_s
    return min(max(seconds, MIN_WAIT_S), max(max_s, MIN_WAIT_S))


def backoff(failures: int, steps: Sequence[float], max_s: float) -> float:
    """The wait after ``failures`` consecutive temporary failures (1 for the first): the matching one of
    ``steps`` (the setting ``retry_backoff_s``; the last repeats), within [MIN_WAIT_S, max_s]."""
    return bounded_wait(steps[min(max(failures, 1), len(steps)) - 1], max_s)


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return None if math.isnan(value) else value


def retry_after_s(headers: Mapping[str, str], now: float, max_s: float) -> float:
    """Seconds to wait after a 403/429, per GitHub's documented rules, always within [1 s, max_s].

    ``retry-after`` (delta seconds or an HTTP date) wins; else, when ``x-ratelimit-remaining`` is 0,
    until ``x-ratelimit-reset`` (epoch seconds); else at least a minute. A header that is not a number
    or a date counts as absent.
    """
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    if "retry-after" in lowered:
        text = lowered["retry-after"]
        seconds = _number(text)
        if seconds is None:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError, OverflowError):
                when = None
            if when is not None:
                seconds = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() - now
        if seconds is not None:
            return bounded_wait(seconds, max_s)
    if lowered.get("x-ratelimit-remaining", "").strip() == "0":
        reset = _number(lowered.get("x-ratelimit-reset", ""))
        if reset is not None:
            return bounded_wait(reset - now, max_s)
    return bounded_wait(RATE_LIMIT_WAIT_S, max_s)
