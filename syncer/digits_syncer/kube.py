"""The Kubernetes side of the syncer (the ``kubernetes`` client): the api Deployment's pin, rollouts,
Events, the state ConfigMap and the Lease that keeps a second replica passive."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from digits_syncer.pin_manifest import parse_pin, pin_patch
from digits_syncer.ports import KubernetesUnavailable
from digits_syncer.rollout import RolloutStatus, rollout_status
from digits_syncer.state import Pin, SyncerState
from kubernetes import client, watch

log = logging.getLogger("digits_syncer.kube")
STATE_KEY = "state.json"
CONFLICT_ATTEMPTS = 5


def _transient(error: ApiException) -> bool:
    return error.status in (0, 429) or error.status >= 500


def call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the Kubernetes API; unreachable servers, 429 and 5xx become ``KubernetesUnavailable``."""
    try:
        return method(*args, **kwargs)
    except ApiException as error:
        if _transient(error):
            raise KubernetesUnavailable(f"Kubernetes API: HTTP {error.status} {error.reason}") from error
        raise
    except (HTTPError, OSError) as error:  # connection refused, timeouts
        raise KubernetesUnavailable(f"Kubernetes API unreachable: {error}") from error


def retry_conflicts(read_and_replace: Callable[[], None], what: str) -> None:
    """Run ``read_and_replace`` again (reading afresh) when another writer replaced the object first (409)."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            read_and_replace()
            return
        except ApiException as error:
            if error.status != 409 or attempt == CONFLICT_ATTEMPTS:
                raise
            log.info("%s: attempt #%d/%d conflicted; retrying", what, attempt, CONFLICT_ATTEMPTS)


def wait_for_rollout(apps: Any, namespace: str, name: str, timeout_s: float, poll_s: float = 1.0) -> RolloutStatus:
    """Watch ``namespace/name`` until its rollout completes or fails; PROGRESSING if ``timeout_s`` passes first.

    Watches are re-opened when they end (server timeouts, 410 Gone) by reading the object afresh.
    """
    deadline = time.monotonic() + timeout_s
    status = rollout_status(apps.read_namespaced_deployment(name, namespace))
    while not status.done and time.monotonic() < deadline:
        remaining = max(1, int(deadline - time.monotonic()))
        stream = watch.Watch()
        try:
            for event in stream.stream(
                apps.list_namespaced_deployment,
                namespace,
                field_selector=f"metadata.name={name}",
                # The server ends the watch after this; we then re-read and watch again.
                timeout_seconds=min(remaining, 30),
                _request_timeout=min(remaining, 30) + 5,
            ):
                status = rollout_status(event["object"])
                if status.done or time.monotonic() >= deadline:
                    break
        except ApiException as error:
            if error.status != 410:
                raise
        finally:
            stream.stop()
        if not status.done:
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
            status = rollout_status(apps.read_namespaced_deployment(name, namespace))
    return status


class KubernetesApplier:
    """Reads and patches the pin on the api Deployment's pod template."""

    def __init__(self, api: Any, namespace: str, deployment: str, timeout_s: float) -> None:
        self._apps = client.AppsV1Api(api)
        self._core = client.CoreV1Api(api)
        self._namespace, self._name, self._timeout = namespace, deployment, timeout_s

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        return call(method, *args, _request_timeout=self._timeout, **kwargs)

    def running_pin(self) -> Pin:
        deployment = self._call(self._apps.read_namespaced_deployment, self._name, self._namespace)
        return parse_pin(self._apps.api_client.sanitize_for_serialization(deployment))

    def apply(self, pin: Pin) -> None:
        """Start a rolling update to ``pin``: the pin's strategic merge patch of the Deployment."""
        self._call(self._apps.patch_namespaced_deployment, self._name, self._namespace, pin_patch(pin, self._name))

    def wait(self, timeout_s: float) -> RolloutStatus:
        status: RolloutStatus = call(wait_for_rollout, self._apps, self._namespace, self._name, timeout_s)
        return status

    def event(self, reason: str, message: str, warning: bool = False) -> None:
        """An Event on the api Deployment (best effort: reporting never stops a rollout)."""
        now = datetime.now(UTC)
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{self._name}.", namespace=self._namespace),
            involved_object=client.V1ObjectReference(
                api_version="apps/v1", kind="Deployment", name=self._name, namespace=self._namespace
            ),
            reason=reason,
            message=message[:1024],
            type="Warning" if warning else "Normal",
            source=client.V1EventSource(component="digits-syncer"),
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        try:
            self._call(self._core.create_namespaced_event, self._namespace, body)
        except (ApiException, KubernetesUnavailable) as error:
            log.warning("could not record event %s: %s", reason, error)


class ConfigMapStateStore:
    """The state in a ConfigMap the syncer may only get and update (optimistic concurrency)."""

    def __init__(self, api: Any, namespace: str, name: str, timeout_s: float) -> None:
        self._core = client.CoreV1Api(api)
        self._namespace, self._name, self._timeout = namespace, name, timeout_s

    def load(self) -> SyncerState:
        config_map = call(
            self._core.read_namespaced_config_map, self._name, self._namespace, _request_timeout=self._timeout
        )
        return SyncerState.from_json((config_map.data or {}).get(STATE_KEY))

    def save(self, state: SyncerState) -> None:
        def replace() -> None:
            current = call(
                self._core.read_namespaced_config_map, self._name, self._namespace, _request_timeout=self._timeout
            )
            current.data = {**(current.data or {}), STATE_KEY: state.to_json()}
            call(
                self._core.replace_namespaced_config_map,
                self._name,
                self._namespace,
                current,
                _request_timeout=self._timeout,
            )

        retry_conflicts(replace, "saving the state")


class LeaseElector:
    """Holds the Lease while this replica is the active syncer; another replica stays passive."""

    def __init__(
        self, api: Any, namespace: str, name: str, *, identity: str, duration_s: int, timeout_s: float
    ) -> None:
        self._coordination = client.CoordinationV1Api(api)
        self._namespace, self._name, self._identity = namespace, name, identity
        self._duration, self._timeout = duration_s, timeout_s

    def acquire(self) -> bool:
        """Take or renew the Lease; False when another live holder has it (or someone won the race)."""
        lease = call(
            self._coordination.read_namespaced_lease, self._name, self._namespace, _request_timeout=self._timeout
        )
        spec = lease.spec or client.V1LeaseSpec()
        now = datetime.now(UTC)
        renewed = spec.renew_time
        expired = renewed is None or now - renewed > timedelta(seconds=spec.lease_duration_seconds or self._duration)
        if spec.holder_identity not in (None, "", self._identity) and not expired:
            return False
        if spec.holder_identity != self._identity:
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
        spec.holder_identity, spec.renew_time, spec.lease_duration_seconds = self._identity, now, self._duration
        lease.spec = spec
        try:
            call(
                self._coordination.replace_namespaced_lease,
                self._name,
                self._namespace,
                lease,
                _request_timeout=self._timeout,
            )
        except ApiException as error:
            if error.status == 409:  # another replica renewed or took it first
                return False
            raise
        return True
