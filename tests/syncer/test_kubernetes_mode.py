"""The syncer end to end against a real API server, the local GitHub-compatible server and real git.

The adapters run as the syncer's ServiceAccount (impersonated), so the RBAC rules are
exercised by the real code path too.
"""

from __future__ import annotations

import pytest

from digits_syncer.gate import Gate, GateSettings
from digits_syncer.github_source import GitHubReleaseSource
from digits_syncer.kube import ConfigMapStateStore, KubernetesApplier, LeaseElector
from digits_syncer.pin_manifest import MODEL_SHA256, MODEL_URL, VERSION_ANNOTATION
from digits_syncer.ports import KubernetesUnavailable, RecordError, SourceError
from digits_syncer.reconcile import Outcome, Syncer
from digits_syncer.releases import ReleaseFilter
from digits_syncer.repo_writer import GitHubRepoWriter, RepoSettings
from digits_syncer.state import Pin
from kubernetes import client
from tests.support.bundles import publish_bundle
from tests.support.control_plane import NodeSimulator
from tests.support.github_server import Fault
from tests.support.manifests import apply_project

SYNCER = "system:serviceaccount:digits:digits-syncer"
STALLING = "v-stalls"


@pytest.fixture(scope="module")
def cluster(control_plane):
    apply_project(control_plane)
    control_plane.kubectl(
        "-n", "digits", "patch", "deployment", "digits-api", "-p", '{"spec":{"progressDeadlineSeconds":6}}'
    )
    simulator = NodeSimulator(
        control_plane,
        never_ready=lambda pod: (pod.metadata.annotations or {}).get(VERSION_ANNOTATION, "").startswith(STALLING),
    ).start()
    yield control_plane
    simulator.stop()
    assert simulator.errors == []


def _syncer(plane, hub, mnist, *, api=None, rollout_timeout_s=60.0, dry_run=False):
    api = api or plane.api_client(impersonate=SYNCER)
    source = GitHubReleaseSource(hub.url, f"{hub.owner}/{hub.source}", "t0ken", 5, 50_000_000)
    gate = Gate(GateSettings([2, 7, 8], 255, 0.9, 0.02, 500), lambda: mnist, lambda labels, x, y: None)
    writer = GitHubRepoWriter(
        hub.url,
        "t0ken",
        5,
        RepoSettings(f"{hub.owner}/{hub.deploy}", "main", "models", "kubernetes/base/model-pin.yaml", "digits-api"),
    )
    return Syncer(
        source,
        gate,
        writer,
        KubernetesApplier(api, "digits", "digits-api", 10),
        ConfigMapStateStore(api, "digits", "digits-syncer-state", 10),
        ReleaseFilter(),
        rollout_timeout_s,
        dry_run,
    )


def _deployment(plane):
    return client.AppsV1Api(plane.api_client()).read_namespaced_deployment("digits-api", "digits")


def _events(plane):
    events = client.CoreV1Api(plane.api_client()).list_namespaced_event("digits").items
    return [(e.reason, e.message) for e in events if e.involved_object.name == "digits-api"]


def _reset_state(plane):
    plane.kubectl(
        "-n",
        "digits",
        "patch",
        "configmap",
        "digits-syncer-state",
        "--type=merge",
        "-p",
        '{"data":{"state.json":"{}"}}',
    )


def test_a_new_release_is_gated_recorded_and_rolled_out(cluster, github, tmp_path, baked_in_bundle, mnist):
    _reset_state(cluster)
    publish_bundle(github, baked_in_bundle, tmp_path, "v2.0.0")
    syncer = _syncer(cluster, github, mnist)
    assert syncer.reconcile_once() is Outcome.DEPLOYED
    template = _deployment(cluster).spec.template
    assert template.metadata.annotations[VERSION_ANNOTATION] == "v2.0.0"
    env = {e.name: e.value for e in template.spec.init_containers[0].env}
    bundle = github.file_at("main", "models/mnist-cnn-v2.0.0.zip")
    assert env[MODEL_URL].endswith("/models/mnist-cnn-v2.0.0.zip")
    import hashlib

    assert env[MODEL_SHA256] == hashlib.sha256(bundle).hexdigest()
    pin = github.file_at("main", "kubernetes/base/model-pin.yaml").decode()
    assert f'{VERSION_ANNOTATION}: "v2.0.0"' in pin and env[MODEL_SHA256] in pin
    commits = github.commits()
    assert [c.split(" ", 1)[1] for c in commits[:2]] == [
        "model v2.0.0: pin the api to mnist-cnn-v2.0.0.zip",
        "model v2.0.0: bundle mnist-cnn-v2.0.0.zip",
    ]
    assert ("RolloutComplete", "model v2.0.0 is serving: 2 replicas updated and available") in _events(cluster)
    # Level-based: a second reconcile with nothing new does nothing, and commits nothing.
    assert syncer.reconcile_once() is Outcome.UP_TO_DATE
    assert github.commits() == commits


def test_a_rollout_that_stalls_is_rolled_back(cluster, github, tmp_path, baked_in_bundle, mnist):
    _reset_state(cluster)
    publish_bundle(github, baked_in_bundle, tmp_path, "v2.1.0")
    assert _syncer(cluster, github, mnist).reconcile_once() is Outcome.DEPLOYED
    publish_bundle(github, baked_in_bundle, tmp_path, STALLING)
    syncer = _syncer(cluster, github, mnist, rollout_timeout_s=45)
    assert syncer.reconcile_once() is Outcome.ROLLED_BACK
    assert _deployment(cluster).spec.template.metadata.annotations[VERSION_ANNOTATION] == "v2.1.0"
    state = ConfigMapStateStore(cluster.api_client(), "digits", "digits-syncer-state", 10).load()
    assert "progress deadline exceeded" in state.failed[STALLING]
    assert 'model-version: "v2.1.0"' in github.file_at("main", "kubernetes/base/model-pin.yaml").decode()
    assert any(reason == "RolledBack" and STALLING in message for reason, message in _events(cluster))
    # Never retried unless asked.
    assert syncer.reconcile_once() is Outcome.UP_TO_DATE


class _CrashAfterRecord(KubernetesApplier):
    def apply(self, pin: Pin) -> None:
        raise KeyboardInterrupt("killed between commit and patch")


def test_a_syncer_killed_between_commit_and_patch_converges_without_a_second_commit(
    cluster, github, tmp_path, baked_in_bundle, mnist
):
    _reset_state(cluster)
    publish_bundle(github, baked_in_bundle, tmp_path, "v3.0.0")
    crashing = _syncer(cluster, github, mnist)
    crashing.applier = _CrashAfterRecord(cluster.api_client(impersonate=SYNCER), "digits", "digits-api", 10)
    with pytest.raises(KeyboardInterrupt):
        crashing.reconcile_once()
    commits = github.commits()
    assert commits[0].endswith("pin the api to mnist-cnn-v3.0.0.zip")
    restarted = _syncer(cluster, github, mnist)
    assert restarted.reconcile_once() is Outcome.DEPLOYED
    assert _deployment(cluster).spec.template.metadata.annotations[VERSION_ANNOTATION] == "v3.0.0"
    assert github.commits() == commits


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda hub, tmp: hub.publish("v-bad", "m.zip", b"PK\x03\x04 truncated"), "not a valid zip"),
        (
            lambda hub, tmp: hub.publish("v-digest", "m.zip", b"whatever", digest="sha256:" + "0" * 64),
            "the release states sha256:0000",
        ),
    ],
    ids=["truncated-zip", "digest-mismatch"],
)
def test_a_rejected_release_changes_nothing_and_says_why(cluster, github, tmp_path, mnist, make, reason):
    _reset_state(cluster)
    before = _deployment(cluster).spec.template
    commits = github.commits()
    make(github, tmp_path)
    assert _syncer(cluster, github, mnist).reconcile_once() is Outcome.REJECTED
    assert _deployment(cluster).spec.template == before
    assert github.commits() == commits
    state = ConfigMapStateStore(cluster.api_client(), "digits", "digits-syncer-state", 10).load()
    (tag,) = state.rejected
    assert reason in state.rejected[tag]
    assert any(r == "ReleaseRejected" and reason in m for r, m in _events(cluster))
    assert _syncer(cluster, github, mnist).reconcile_once() is Outcome.UP_TO_DATE  # not retried


def test_github_errors_change_nothing(cluster, github, tmp_path, baked_in_bundle, mnist):
    _reset_state(cluster)
    publish_bundle(github, baked_in_bundle, tmp_path, "v4.0.0")
    before = _deployment(cluster).spec.template
    github.fail_next(r"/releases$", Fault(502))
    with pytest.raises(SourceError):
        _syncer(cluster, github, mnist).reconcile_once()
    assert _deployment(cluster).spec.template == before


def test_kubernetes_unavailable_is_temporary(github, mnist):
    from tests.support.servers import free_port

    configuration = client.Configuration()
    configuration.host = f"https://127.0.0.1:{free_port()}"
    configuration.verify_ssl = False
    with pytest.raises(KubernetesUnavailable):
        _syncer(None, github, mnist, api=client.ApiClient(configuration)).reconcile_once()


def test_dry_run_changes_nothing(cluster, github, tmp_path, baked_in_bundle, mnist):
    _reset_state(cluster)
    publish_bundle(github, baked_in_bundle, tmp_path, "v5.0.0")
    before, commits = _deployment(cluster).spec.template, github.commits()
    assert _syncer(cluster, github, mnist, dry_run=True).reconcile_once() is Outcome.PLANNED
    assert _deployment(cluster).spec.template == before and github.commits() == commits


def test_the_entry_point_wires_kubernetes_mode_from_its_settings(cluster, github, tmp_path, baked_in_bundle):
    """``python -m digits_syncer`` in kubernetes mode: each adapter takes its names from its group of settings."""
    import subprocess
    import sys

    from tests.support.servers import python_env

    _reset_state(cluster)
    publish_bundle(github, baked_in_bundle, tmp_path, "v5.0.0")
    coordination = client.CoordinationV1Api(cluster.api_client())
    lease = client.V1Lease(metadata=client.V1ObjectMeta(name="digits-syncer-wiring"), spec=client.V1LeaseSpec())
    coordination.create_namespaced_lease("digits", lease)
    env = python_env(
        KUBECONFIG=str(cluster.kubeconfig),
        DIGITS_SYNCER_GITHUB_API_URL=github.url,
        DIGITS_SYNCER_SOURCE_REPO=f"{github.owner}/{github.source}",
        DIGITS_SYNCER_DEPLOY_REPO=f"{github.owner}/{github.deploy}",
        DIGITS_SYNCER_NAMESPACE="digits",
        DIGITS_SYNCER_DEPLOYMENT="digits-api",
        DIGITS_SYNCER_STATE_CONFIGMAP="digits-syncer-state",
        DIGITS_SYNCER_LEASE="digits-syncer-wiring",
        DIGITS_SYNCER_IDENTITY="wired-replica",
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "digits_syncer", "once", "--dry-run"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode, done.stdout.strip()) == (0, "planned"), done.stderr[-2000:]
        assert "v5.0.0" in done.stderr
        held = coordination.read_namespaced_lease("digits-syncer-wiring", "digits")
        assert held.spec.holder_identity == "wired-replica"
    finally:
        coordination.delete_namespaced_lease("digits-syncer-wiring", "digits")


def test_only_one_syncer_holds_the_lease(cluster):
    def elector(identity):
        return LeaseElector(
            cluster.api_client(impersonate=SYNCER),
            "digits",
            "digits-syncer",
            identity=identity,
            duration_s=5,
            timeout_s=10,
        )

    first, second = elector("syncer-a"), elector("syncer-b")
    assert first.acquire() is True
    assert second.acquire() is False
    assert first.acquire() is True  # renewal
    import time

    time.sleep(5.5)  # the holder stopped renewing: its claim lapses
    assert second.acquire() is True
    assert first.acquire() is False


@pytest.mark.slow
def test_the_original_release_goes_through_the_whole_path(cluster, github, mnist):
    from tests.support.paths import FOREIGN_RELEASE

    _reset_state(cluster)
    github.publish("model-v1", "mnist-model-1.zip", FOREIGN_RELEASE.read_bytes())
    assert _syncer(cluster, github, mnist).reconcile_once() is Outcome.DEPLOYED
    assert _deployment(cluster).spec.template.metadata.annotations[VERSION_ANNOTATION] == "model-v1"
    import io
    import json
    import zipfile

    bundle = github.file_at("main", "models/mnist-cnn-model-v1.zip")
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(bundle)).read("manifest.json"))
    assert manifest["labels"] == [2, 7, 8] and manifest["input"]["scale"] == 255
    assert manifest["conversion"]["tflite_savedmodel_agreement"] >= 0.999


def test_git_is_brought_back_in_step_when_it_was_down_during_a_roll_back(
    cluster, github, tmp_path, baked_in_bundle, mnist
):
    _reset_state(cluster)
    publish_bundle(github, baked_in_bundle, tmp_path, "v6.0.0")
    assert _syncer(cluster, github, mnist).reconcile_once() is Outcome.DEPLOYED
    publish_bundle(github, baked_in_bundle, tmp_path, STALLING + "-again")
    # The pin file can be written when recording the release, but not when rolling back.
    github.fail_next(r"/contents/kubernetes/base/model-pin.yaml", Fault(503, method="PUT"), after=1)
    syncer = _syncer(cluster, github, mnist, rollout_timeout_s=45)
    with pytest.raises(RecordError):
        syncer.reconcile_once()
    assert _deployment(cluster).spec.template.metadata.annotations[VERSION_ANNOTATION] == "v6.0.0"
    state = ConfigMapStateStore(cluster.api_client(), "digits", "digits-syncer-state", 10).load()
    assert state.unrecorded is not None and state.unrecorded.version == "v6.0.0"
    assert syncer.reconcile_once() is Outcome.UP_TO_DATE  # git is written first, then nothing is left to do
    assert 'model-version: "v6.0.0"' in github.file_at("main", "kubernetes/base/model-pin.yaml").decode()
