"""Training Jobs in the cluster (the ``kubernetes`` client). A Job is made from a PodTemplate the operator
keeps beside the syncer (``kubernetes/base/retrain.yaml``: image, command, limits, where the store and the
store is): the syncer adds the training repository its DigitsModel names, the release tag to publish and
the serving model's pin, in the same env its api init container reads, and bounds the Job (no retries, a
deadline, a TTL)."""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from typing import Any

from digits_syncer.kube import call
from digits_syncer.pin_manifest import FETCH_CONTAINER, MODEL_SHA256, MODEL_URL
from digits_syncer.ports import KubernetesUnavailable
from digits_syncer.retraining import TrainingJobs
from digits_syncer.state import Pin
from kubernetes import client

log = logging.getLogger("digits_syncer.training_jobs")
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "retrain"
MANAGED_BY = {"app.kubernetes.io/managed-by": "digits-syncer"}
TAG_ENV = "DIGITS_RETRAIN_TAG"
"""The release tag the Job publishes (its bundle's version), in every container's env."""
SOURCE_REPO_ENV = "DIGITS_RETRAIN_SOURCE_REPO"
"""The training repository the Job publishes to (the syncer's source), in every container's env."""
TAG_ANNOTATION = "digits.app/retrain-tag"


def job_manifest(
    template: dict[str, Any], name: str, tag: str, pin: Pin, *, source_repo: str, deadline_s: int, ttl_s: int
) -> dict[str, Any]:
    """The Job that runs ``template`` (a PodTemplate as the API serves it, camelCase) once to publish ``tag`` to
    ``source_repo``, starting from the model ``pin`` names."""
    pod = copy.deepcopy(template.get("template") or {})
    spec = pod.setdefault("spec", {})
    spec["restartPolicy"] = "Never"
    labels = {**((pod.get("metadata") or {}).get("labels") or {}), COMPONENT_LABEL: COMPONENT, **MANAGED_BY}
    pod["metadata"] = {**(pod.get("metadata") or {}), "labels": labels}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        values = {TAG_ENV: tag, SOURCE_REPO_ENV: source_repo}
        if container.get("name") == FETCH_CONTAINER:
            values |= {MODEL_URL: pin.url, MODEL_SHA256: pin.sha256}
        kept = [e for e in container.get("env") or [] if e.get("name") not in values]
        container["env"] = kept + [{"name": key, "value": value} for key, value in values.items()]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": {TAG_ANNOTATION: tag}},
        "spec": {
            "backoffLimit": 0,  # a failed run waits for the next interval, not for retries
            "activeDeadlineSeconds": deadline_s,
            "ttlSecondsAfterFinished": ttl_s,
            "template": pod,
        },
    }


def _finished(job: Any) -> bool:
    conditions = (job.status.conditions if job.status else None) or []
    return any(c.type in ("Complete", "Failed") and c.status == "True" for c in conditions)


class KubeTrainingJobs:
    """Lists and starts the training Jobs of one namespace."""

    def __init__(
        self,
        api: Any,
        namespace: str,
        pod_template: str,
        *,
        source_repo: str,
        deadline_s: int,
        ttl_s: int,
        timeout_s: float,
    ):
        self._batch = client.BatchV1Api(api)
        self._core = client.CoreV1Api(api)
        self._namespace, self._pod_template, self._source_repo = namespace, pod_template, source_repo
        self._deadline_s, self._ttl_s, self._timeout = deadline_s, ttl_s, timeout_s

    def observe(self) -> TrainingJobs:
        jobs = call(
            self._batch.list_namespaced_job,
            self._namespace,
            label_selector=f"{COMPONENT_LABEL}={COMPONENT}",
            limit=100,
            _request_timeout=self._timeout,
        ).items
        running = tuple(sorted(j.metadata.name for j in jobs if not _finished(j)))
        started = [j.metadata.creation_timestamp for j in jobs if j.metadata.creation_timestamp]
        return TrainingJobs(running, max(started) if started else None)

    def start(self, tag: str, pin: Pin, now: datetime) -> str:
        """Create the Job that publishes ``tag``; returns its name."""
        template = call(
            self._core.read_namespaced_pod_template, self._pod_template, self._namespace, _request_timeout=self._timeout
        )
        raw = self._core.api_client.sanitize_for_serialization(template)
        name = f"{self._pod_template}-{now:%Y%m%d-%H%M%S}".lower()
        body = job_manifest(
            raw, name, tag, pin, source_repo=self._source_repo, deadline_s=self._deadline_s, ttl_s=self._ttl_s
        )
        try:
            call(self._batch.create_namespaced_job, self._namespace, body, _request_timeout=self._timeout)
        except client.exceptions.ApiException as error:
            if error.status == 409:  # this second's Job exists already (another replica, a retry)
                raise KubernetesUnavailable(f"training Job {name} exists already") from error
            raise
        return name
