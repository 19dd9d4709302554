"""The rollout helper: a table of Deployment states, then real rollouts through a real API server."""

from __future__ import annotations

import pytest

from digits_syncer.kube import wait_for_rollout
from digits_syncer.rollout import RolloutState, rollout_status
from kubernetes import client
from tests.support.control_plane import NodeSimulator
from tests.support.manifests import apply_project


def _deployment(generation=2, observed=2, replicas=2, updated=2, total=2, available=2, conditions=()):
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
            "conditions": list(conditions),
        },
    }


DEADLINE = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}


@pytest.mark.parametrize(
    ("deployment", "state", "message"),
    [
        (_deployment(), RolloutState.COMPLETE, "2 replicas updated and available"),
        (_deployment(generation=3), RolloutState.PROGRESSING, "spec update to be observed"),
        (_deployment(updated=1, total=3), RolloutState.PROGRESSING, "1 of 2 new replicas have been updated"),
        (_deployment(total=3), RolloutState.PROGRESSING, "1 old replicas are pending termination"),
        (_deployment(available=1), RolloutState.PROGRESSING, "1 of 2 updated replicas are available"),
        (_deployment(updated=1, conditions=[DEADLINE]), RolloutState.FAILED, "progress deadline exceeded: too slow"),
        (_deployment(replicas=0, updated=0, total=0, available=0), RolloutState.COMPLETE, "0 replicas"),
    ],
)
def test_rollout_status_table(deployment, state, message):
    status = rollout_status(deployment)
    assert status.state is state
    assert message in status.message


@pytest.fixture(scope="module")
def cluster(control_plane):
    apply_project(control_plane)
    stalled_version = "never-ready"
    simulator = NodeSimulator(
        control_plane,
        never_ready=lambda pod: (pod.metadata.annotations or {}).get("digits.app/model-version") == stalled_version,
    ).start()
    yield control_plane, client.AppsV1Api(control_plane.api_client())
    simulator.stop()
    assert simulator.errors == []


def _pin(apps, version, deadline_s=None):
    patch = {"spec": {"template": {"metadata": {"annotations": {"digits.app/model-version": version}}}}}
    if deadline_s is not None:
        patch["spec"]["progressDeadlineSeconds"] = deadline_s
    apps.patch_namespaced_deployment("digits-api", "digits", patch)


def test_rollout_progresses_to_complete(cluster):
    plane, apps = cluster
    assert wait_for_rollout(apps, "digits", "digits-api", timeout_s=60).state is RolloutState.COMPLETE
    _pin(apps, "v2")
    assert rollout_status(apps.read_namespaced_deployment("digits-api", "digits")).state is RolloutState.PROGRESSING
    status = wait_for_rollout(apps, "digits", "digits-api", timeout_s=60)
    assert status.state is RolloutState.COMPLETE, status.message
    core = client.CoreV1Api(plane.api_client())

    def serving_versions():
        pods = core.list_namespaced_pod("digits", label_selector="app.kubernetes.io/name=digits-api").items
        return [p.metadata.annotations["digits.app/model-version"] for p in pods if not p.metadata.deletion_timestamp]

    assert serving_versions() == ["v2", "v2"]


def test_a_rollout_that_never_becomes_ready_exceeds_its_deadline(cluster):
    _, apps = cluster
    _pin(apps, "never-ready", deadline_s=5)
    status = wait_for_rollout(apps, "digits", "digits-api", timeout_s=90)
    assert status.state is RolloutState.FAILED, status.message
    assert "progress deadline exceeded" in status.message
    deployment = apps.read_namespaced_deployment("digits-api", "digits")
    assert deployment.status.available_replicas == 2, "maxUnavailable 0 kept the old pods serving"
    _pin(apps, "v2", deadline_s=180)  # what the syncer's roll back does
    assert wait_for_rollout(apps, "digits", "digits-api", timeout_s=60).state is RolloutState.COMPLETE


def test_waiting_gives_up_at_the_callers_timeout(cluster):
    _, apps = cluster
    _pin(apps, "never-ready", deadline_s=600)
    status = wait_for_rollout(apps, "digits", "digits-api", timeout_s=3)
    assert status.state is RolloutState.PROGRESSING
    _pin(apps, "v2", deadline_s=180)
    assert wait_for_rollout(apps, "digits", "digits-api", timeout_s=60).state is RolloutState.COMPLETE
