"""The syncer starts a training Job in a real control plane (kube-apiserver, its job controller, Pod Security
admission), acting as its own ServiceAccount: only once enough labelled drawings are in the store, one at a
time, from the kind overlay's PodTemplate with the serving pin and a fresh tag; the Job's pod is admitted under
the namespace's restricted profile."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from digits_store.engine import create_store_engine
from digits_store.feedback import FeedbackStore
from digits_store.settings import StoreSettings
from digits_syncer.api_client import serving_data_newest
from digits_syncer.kube import KubernetesApplier
from digits_syncer.pin_manifest import MODEL_SHA256, MODEL_URL
from digits_syncer.retrain_trigger import RetrainTrigger
from digits_syncer.retraining import RetrainRules
from digits_syncer.state import Pin
from digits_syncer.training_jobs import SOURCE_REPO_ENV, TAG_ENV, KubeTrainingJobs
from kubernetes import client
from tests.support.feedback import store_drawings
from tests.support.manifests import apply_project

SYNCER = "system:serviceaccount:digits:digits-syncer"
PIN = Pin("v1.4.0", "https://models.example/mnist-cnn-v1.4.0.zip", "c" * 64)


@pytest.fixture(scope="module")
def cluster(control_plane):
    apply_project(control_plane)
    return control_plane


def _drawings(store_url, count, prefix):
    store_drawings(store_url, np.zeros((count, 28, 28), np.uint8), np.arange(count) % 10, 10, prefix)


def test_a_training_job_starts_once_enough_drawings_arrived(cluster, tmp_path, api):
    as_syncer = cluster.api_client(impersonate=SYNCER)
    applier = KubernetesApplier(as_syncer, "digits", "digits-api", 10)
    applier.apply(PIN)
    store_url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    _drawings(store_url, 299, "browser-early")
    settings = StoreSettings(url=store_url)
    clock = [datetime(2026, 12, 5, 22, 0, tzinfo=UTC)]
    trigger = RetrainTrigger(
        rules=RetrainRules(after_drawings=300, min_interval=timedelta(hours=6)),
        tag_prefix="retrain-",
        jobs=KubeTrainingJobs(
            as_syncer, "digits", "digits-retrain", source_repo="o/t", deadline_s=1800, ttl_s=86400, timeout_s=10
        ),
        serving_data_newest=serving_data_newest(api.url, 10),  # the baked-in model: trained on no drawings
        drawings_after=FeedbackStore(create_store_engine(settings), settings).count,
        serving_pin=applier.running_pin,
        clock=lambda: clock[0],
    )
    batch = client.BatchV1Api(cluster.api_client())

    assert "299 new labelled drawings, fewer than 300" in trigger.tick().reason
    _drawings(store_url, 1, "browser-late")
    started = trigger.tick()
    assert started.start and "for retrain-20261205T220000Z: 300 new labelled drawings" in started.reason
    (job,) = batch.list_namespaced_job("digits", label_selector="app.kubernetes.io/component=retrain").items
    pod = job.spec.template.spec
    assert (job.spec.backoff_limit, job.spec.active_deadline_seconds, job.spec.ttl_seconds_after_finished) == (
        0,
        1800,
        86400,
    )
    assert pod.service_account_name == "digits-retrain" and pod.automount_service_account_token is False
    (fetch,) = pod.init_containers or []
    assert {e.name: e.value for e in fetch.env} == {
        MODEL_URL: PIN.url,
        MODEL_SHA256: PIN.sha256,
        TAG_ENV: job.metadata.annotations["digits.app/retrain-tag"],
        SOURCE_REPO_ENV: "o/t",
    }
    (train,) = pod.containers
    assert train.image == "digits-trainer:dev"
    env = {e.name: e.value for e in train.env}
    assert (env[TAG_ENV], env[SOURCE_REPO_ENV]) == ("retrain-20261205T220000Z", "o/t")

    clock[0] += timedelta(hours=7)  # past the interval, but the first Job has not finished
    assert "is still running" in trigger.tick().reason
    assert len(batch.list_namespaced_job("digits").items) == 1

    # the job controller creates the Job's pod, which Pod Security "restricted" admits
    core = client.CoreV1Api(cluster.api_client())
    deadline = time.monotonic() + 60
    while not (pods := core.list_namespaced_pod("digits", label_selector=f"job-name={job.metadata.name}").items):
        assert time.monotonic() < deadline, [e.message for e in core.list_namespaced_event("digits").items][-5:]
        time.sleep(0.5)
    assert pods[0].spec.security_context.run_as_non_root is True
