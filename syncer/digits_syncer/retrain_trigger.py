"""One look at whether to retrain, after each reconcile: the training Jobs in the cluster, the labelled
drawings saved since the newest one the serving model was trained on (or since the last Job started, when
that is later: a refused release is not retried on the same drawings), and the rules; a Job is started when
they say so. Whatever fails here is logged and tried again at the next poll: it never stops the loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from digits_syncer.retraining import Decision, RetrainRules, TrainingJobs, retrain_decision, retrain_tag
from digits_syncer.state import Pin

log = logging.getLogger("digits_syncer.retrain")


class Jobs(Protocol):
    def observe(self) -> TrainingJobs: ...

    def start(self, tag: str, pin: Pin, now: datetime) -> str: ...


class RetrainTrigger:
    def __init__(
        self,
        *,
        rules: RetrainRules,
        tag_prefix: str,
        jobs: Jobs,
        serving_data_newest: Callable[[], datetime | None],
        drawings_after: Callable[[datetime | None], int],
        serving_pin: Callable[[], Pin],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._rules, self._prefix, self._jobs = rules, tag_prefix, jobs
        self._serving_data_newest, self._drawings_after = serving_data_newest, drawings_after
        self._serving_pin, self._clock = serving_pin, clock

    def tick(self) -> Decision:
        jobs = self._jobs.observe()
        now = self._clock()
        if jobs.running:  # no need to count drawings
            decision = retrain_decision(0, jobs, now, self._rules)
        else:
            since = [t for t in (self._serving_data_newest(), jobs.last_started) if t is not None]
            decision = retrain_decision(self._drawings_after(max(since, default=None)), jobs, now, self._rules)
        if not decision.start:
            log.debug("no training Job: %s", decision.reason)
            return decision
        tag = retrain_tag(self._prefix, now)
        name = self._jobs.start(tag, self._serving_pin(), now)
        log.info("started training Job %s to publish %s: %s", name, tag, decision.reason)
        return Decision(True, f"started training Job {name} for {tag}: {decision.reason}")
