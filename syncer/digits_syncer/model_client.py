"""The ``DigitsModel`` resource through the ``kubernetes`` client: read it, replace its status (optimistic
concurrency), keep the syncer's state in that status, and watch it so a spec change acts at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kubernetes.client.exceptions import ApiException

from digits_syncer.kube import ConfigMapStateStore, call, retry_conflicts
from digits_syncer.model_resource import GROUP, PLURAL, VERSION
from digits_syncer.model_status import state_document, state_from_document
from digits_syncer.ports import KubernetesUnavailable
from digits_syncer.state import SyncerState
from kubernetes import client, watch

log = logging.getLogger("digits_syncer.model")
WATCH_FAILURES_REPORTED = 3
"""Watch failures in a row from which each is a warning (spec changes then wait for the next poll)."""
WATCH_S = 60
"""How long one watch request lasts before it is opened again."""


class ModelMissing(KubernetesUnavailable):
    """The ``DigitsModel`` the syncer follows does not exist (yet): tried again; nothing is done until it does."""


class DigitsModelClient:
    def __init__(self, api: Any, namespace: str, name: str, timeout_s: float) -> None:
        self._custom = client.CustomObjectsApi(api)
        self.namespace, self.name, self._timeout = namespace, name, timeout_s

    def read(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = call(
                self._custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                _request_timeout=self._timeout,
            )
        except ApiException as error:
            if error.status == 404:
                raise ModelMissing(
                    f"no DigitsModel {self.namespace}/{self.name}: create it (kubernetes/base)"
                ) from error
            raise
        return found

    def update_status(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Replace the status with ``change(current status)``, read afresh when another writer got there first."""

        def replace() -> None:
            current = self.read()
            current["status"] = change(dict(current.get("status") or {}))
            call(
                self._custom.replace_namespaced_custom_object_status,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                current,
                _request_timeout=self._timeout,
            )

        retry_conflicts(replace, "writing the DigitsModel status")

    def watch_generations(self, wake: threading.Event, stop: threading.Event) -> threading.Thread:
        """A thread that sets ``wake`` whenever the resource's spec changes (its generation), until ``stop``."""
        thread = threading.Thread(target=self._watch, args=(wake, stop), name="digitsmodel-watch", daemon=True)
        thread.start()
        return thread

    def _watch(self, wake: threading.Event, stop: threading.Event) -> None:
        seen: int | None = None
        failures = 0
        while not stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(
                    self._custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    field_selector=f"metadata.name={self.name}",
                    timeout_seconds=WATCH_S,
                    _request_timeout=WATCH_S + 10,
                ):
                    failures = 0
                    generation = ((event.get("object") or {}).get("metadata") or {}).get("generation")
                    if generation != seen:
                        seen = generation
                        wake.set()
                    if stop.is_set():
                        break
            except Exception as error:  # the API server restarts, the watch expires: watch again
                failures += 1
                level = logging.WARNING if failures >= WATCH_FAILURES_REPORTED else logging.DEBUG
                log.log(level, "watching the DigitsModel failed %d times in a row: %s", failures, error)
                stop.wait(5)
            finally:
                stream.stop()


class DigitsModelStateStore:
    """The syncer's state in the ``DigitsModel`` status. The first load of a resource whose status holds none
    takes the state ConfigMap of earlier versions (when there is one), so upgrading forgets nothing."""

    def __init__(self, model: DigitsModelClient, legacy: ConfigMapStateStore | None) -> None:
        self._model, self._legacy = model, legacy

    def load(self) -> SyncerState:
        status = self._model.read().get("status") or {}
        if "syncer" in status:
            return state_from_document(status.get("syncer"), status.get("history"))
        return self._migrated()

    def _migrated(self) -> SyncerState:
        if self._legacy is None:
            return SyncerState()
        try:
            state = self._legacy.load()
        except ApiException as error:
            if error.status in (403, 404):
                return SyncerState()
            raise
        # Only verdicts move: a rollout or pull request the ConfigMap names may be long over (it is read again
        # whenever a status holds no state, e.g. a DigitsModel made anew), and acting on it would roll back.
        log.info("the state ConfigMap of an earlier version is taken into the DigitsModel status (its verdicts)")
        return replace(state, pending=None, proposal=None, superseded=(), unrecorded=None)

    def save(self, state: SyncerState) -> None:
        memory, history = state_document(state)
        self._model.update_status(lambda status: {**status, "syncer": memory, "history": history})
