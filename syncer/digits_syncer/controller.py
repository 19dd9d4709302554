"""Kubernetes mode with a ``DigitsModel``: each pass reads the resource, rebuilds the syncer when its spec changed,
reconciles (unless suspended) and writes the status, whatever the pass came to."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from digits_syncer.model_resource import settings_from_spec, spec_error
from digits_syncer.model_status import Report, model_status
from digits_syncer.ports import StateStore
from digits_syncer.reconcile import Outcome, Syncer, utc_now
from digits_syncer.settings import SyncerSettings
from digits_syncer.state import Pin, clip

log = logging.getLogger("digits_syncer")


class ModelResource(Protocol):
    def read(self) -> dict[str, Any]: ...
    def update_status(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None: ...


@dataclass
class Built:
    """What a spec is carried out with: the syncer and, when retraining is on, its check."""

    syncer: Syncer
    retrain: Callable[[], object] | None = None


def _retry_asked(model: dict[str, Any], generation: int) -> tuple[str, ...]:
    """The tags of ``spec.retry`` not yet acted on: once per generation, so a release gated again and refused
    again is not retried at every pass, nor after a restart (``status.retried`` remembers)."""
    tags = tuple(str(tag) for tag in (model.get("spec") or {}).get("retry") or ())
    done = ((model.get("status") or {}).get("retried") or {}).get("generation")
    return tags if tags and done != generation else ()


class ModelController:
    def __init__(
        self,
        resource: ModelResource,
        store: StateStore,
        base: SyncerSettings,
        build: Callable[[SyncerSettings], Built],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.resource, self.store, self.base = resource, store, base
        self._build, self._clock = build, clock
        self._built: Built | None = None
        self._generation: int | None = None
        self._suspended = False
        self.poll_interval_s = base.operation.poll_interval_s
        self.liveness_age_s = base.liveness_age_s()

    def reconcile_once(self, retry: frozenset[str] = frozenset()) -> Outcome:
        model = self.resource.read()
        generation = int((model.get("metadata") or {}).get("generation") or 0)
        spec = model.get("spec") or {}
        try:
            settings = settings_from_spec(spec, self.base)
        except (ValidationError, ValueError) as error:
            self._built, self._generation = None, None
            problem = spec_error(error)
            log.error("the DigitsModel's spec cannot be acted on: %s", problem)
            self._report(Report(generation, self.store.load(), invalid=problem))
            return Outcome.UP_TO_DATE
        if self._built is None or generation != self._generation:
            self._built, self._generation = self._build(settings), generation
            self.poll_interval_s = settings.operation.poll_interval_s
            self.liveness_age_s = settings.liveness_age_s()
            log.info("DigitsModel generation %d: acting on its spec", generation)
        syncer = self._built.syncer
        syncer.pin, self._suspended = str(spec.get("pin") or ""), bool(spec.get("suspend"))
        if self._suspended:
            running = syncer.applier.running_pin()
            self._report(Report(generation, self.store.load(), running, pin=syncer.pin, suspended=True))
            return Outcome.SUSPENDED
        asked = _retry_asked(model, generation)
        try:
            outcome = syncer.reconcile_once(retry | frozenset(asked))
        except Exception as error:
            self._report_failure(generation, syncer, clip(str(error) or type(error).__name__))
            raise
        seen = syncer.seen
        report = Report(
            generation,
            self.store.load(),
            syncer.applier.running_pin(),
            newest=seen.newest,
            pin=syncer.pin,
            polled=seen.polled,
            pin_refusal=seen.pin_refusal,
            retried=(generation, asked) if asked else None,
        )
        self._report(report)
        return outcome

    def retrain(self) -> object:
        """The retraining check of the spec in force (none while suspended or when retraining is off)."""
        if self._built is None or self._built.retrain is None or self._suspended:
            return None
        return self._built.retrain()

    def _report_failure(self, generation: int, syncer: Syncer, error: str) -> None:
        """Say in the status that the pass failed, when the API server lets us (the loop logs the error)."""
        try:
            running: Pin | None = syncer.applier.running_pin()
        except Exception:  # the API server may be what failed
            running = None
        try:
            self._report(Report(generation, self.store.load(), running, pin=syncer.pin, error=error))
        except Exception as failure:
            log.warning("could not write the DigitsModel status: %s", failure)

    def _report(self, report: Report) -> None:
        now = self._clock()
        self.resource.update_status(lambda previous: model_status(report, previous, now))
