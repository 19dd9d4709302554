"""The ``DigitsModel`` resource against a real API server: its schema and validation rules, and the syncer that
follows its spec (release, refusal, pin, suspend) and writes its status, as the syncer's ServiceAccount."""

from __future__ import annotations

import json

import pytest

from digits_syncer.controller import Built, ModelController
from digits_syncer.gate import Gate, GateSettings
from digits_syncer.github_source import GitHubReleaseSource
from digits_syncer.kube import ConfigMapStateStore, KubernetesApplier
from digits_syncer.model_client import DigitsModelClient, DigitsModelStateStore
from digits_syncer.model_resource import crd_yaml
from digits_syncer.pin_manifest import VERSION_ANNOTATION
from digits_syncer.reconcile import Outcome, Syncer
from digits_syncer.repo_writer import GitHubRepoWriter, RepoSettings
from digits_syncer.settings import GitHubSourceSettings, RolloutSettings, SyncerSettings
from digits_syncer.state import PendingRollout, Pin, SyncerState
from kubernetes import client
from tests.support.bundles import publish_bundle
from tests.support.control_plane import NodeSimulator
from tests.support.paths import REPO
from tests.support.rollouts import ARTIFACTS

SYNCER = "system:serviceaccount:digits:digits-syncer"
MODEL = "digits"


@pytest.fixture(scope="module")
def cluster(control_plane):
    from tests.support.manifests import apply_project

    apply_project(control_plane)
    simulator = NodeSimulator(control_plane).start()
    yield control_plane
    simulator.stop()
    assert simulator.errors == []


def _spec(plane, hub, **changes):
    """Point the DigitsModel at the local GitHub (its spec, as an operator would: kubectl patch)."""
    spec = {
        "source": {"repo": f"{hub.owner}/{hub.source}", "pollIntervalSeconds": 5},
        "record": {"repo": f"{hub.owner}/{hub.deploy}"},
        "gate": {"holdoutSize": 500, "servingApiUrl": ""},
        "pin": None,
        "suspend": False,
        "retry": None,
        **changes,
    }
    plane.kubectl("-n", "digits", "patch", "digitsmodel", MODEL, "--type=merge", "-p", json.dumps({"spec": spec}))


def _reset(plane, legacy_state: str = "{}"):
    plane.kubectl(
        "-n", "digits", "patch", "digitsmodel", MODEL, "--subresource=status", "--type=merge", "-p", '{"status":null}'
    )
    plane.kubectl(
        "-n", "digits", "patch", "configmap", "digits-syncer-state", "--type=merge", "-p",
        json.dumps({"data": {"state.json": legacy_state}}),
    )  # fmt: skip


def _controller(plane, hub, mnist, rollout_timeout_s=60.0):
    api = plane.api_client(impersonate=SYNCER)
    model = DigitsModelClient(api, "digits", MODEL, 10)
    store = DigitsModelStateStore(model, ConfigMapStateStore(api, "digits", "digits-syncer-state", 10))

    def carry_out(settings: SyncerSettings) -> Built:
        source, record = settings.source, settings.record
        gate = Gate(GateSettings([2, 7, 8], 255, settings.gate.min_accuracy, 0.02, 500), lambda: mnist, lambda *_: None)
        repo = RepoSettings(record.deploy_repo, record.deploy_branch, "models", record.deploy_pin_path, "digits-api")
        syncer = Syncer(
            GitHubReleaseSource(source.github_api_url, source.source_repo, "t0ken", 5, 50_000_000),
            gate,
            GitHubRepoWriter(source.github_api_url, "t0ken", 5, repo),
            KubernetesApplier(api, "digits", settings.rollout.deployment, 10),
            store,
            source.release_filter(),
            rollout_timeout_s,
        )
        return Built(syncer)

    # Where the token goes is the process's setting, not the resource's.
    base = SyncerSettings(source=GitHubSourceSettings(github_api_url=hub.url), rollout=RolloutSettings(model=MODEL))
    return ModelController(model, store, base, carry_out)


def _status(plane):
    found = client.CustomObjectsApi(plane.api_client()).get_namespaced_custom_object(
        "digits.app", "v1alpha1", "digits", "digitsmodels", MODEL
    )
    return found.get("status") or {}


def _conditions(status):
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


def _served(plane):
    deployment = client.AppsV1Api(plane.api_client()).read_namespaced_deployment("digits-api", "digits")
    return deployment.spec.template.metadata.annotations[VERSION_ANNOTATION]


def _table(plane):
    return plane.kubectl("-n", "digits", "get", "digitsmodels").stdout


def test_the_committed_crd_is_generated_from_the_settings():
    committed = (REPO / "kubernetes" / "crds" / "digitsmodels.yaml").read_text()
    assert committed == crd_yaml(), "the CRD drifted from the settings: run make docs"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"gate": {"minAccuracy": 1.5}}, "spec.gate.minAccuracy in body should be less than or equal to 1"),
        ({"source": {"policy": "latest"}}, 'spec.source.policy: Unsupported value: "latest"'),
        ({"pin": "../../etc"}, "spec.pin in body should match"),
        ({"retrain": {"afterDrawings": 10}, "gate": {"servingApiUrl": ""}}, "set gate.servingApiUrl"),
        ({"retrain": {"ttlSeconds": 60, "minIntervalSeconds": 3600}}, "ttlSeconds must be at least"),
        ({"rollout": {"timeoutSeconds": 0}}, "spec.rollout.timeoutSeconds in body should be greater than 0"),
    ],
    ids=["accuracy-above-1", "unknown-policy", "pin-not-a-version", "retrain-no-store", "short-ttl", "zero-timeout"],
)  # fmt: skip
def test_the_schema_refuses_a_bad_spec_and_says_why(cluster, patch, message):
    done = cluster.kubectl(
        "-n", "digits", "patch", "digitsmodel", MODEL, "--type=merge", "--dry-run=server",
        "-p", json.dumps({"spec": patch}), check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr, done.stderr


def test_kubectl_explain_reads_like_documentation(cluster):
    explained = cluster.kubectl("explain", "digitsmodel.spec.pin").stdout
    assert "Serve exactly this release" in explained
    explained = cluster.kubectl("explain", "digitsmodel.spec.gate.maxClassRegression").stdout
    assert "recall of any one label" in explained


def test_the_syncer_may_write_the_status_but_not_the_spec(cluster):
    custom = client.CustomObjectsApi(cluster.api_client(impersonate=SYNCER))
    with pytest.raises(client.ApiException) as refused:
        custom.patch_namespaced_custom_object(
            "digits.app", "v1alpha1", "digits", "digitsmodels", MODEL, {"spec": {"suspend": True}}
        )
    assert refused.value.status == 403


@pytest.mark.slow
def test_release_refusal_pin_and_suspend_show_in_the_status(cluster, github, tmp_path, baked_in_bundle, mnist):
    _reset(cluster)
    _spec(cluster, github)
    publish_bundle(github, baked_in_bundle, tmp_path, "v7.0.0")
    controller = _controller(cluster, github, mnist)
    tables = {}

    assert controller.reconcile_once() is Outcome.DEPLOYED
    status = _status(cluster)
    assert (status["state"], status["serving"]["version"], status["latest"]) == (
        "Synced",
        "v7.0.0",
        {"tag": "v7.0.0", "verdict": "Serving", "reason": ""},
    )
    assert _conditions(status)["Ready"][:2] == ("True", "Synced")
    assert _conditions(status)["Degraded"][:2] == ("False", "AsExpected")
    assert status["observedGeneration"] >= 1 and status["lastPollTime"]
    tables["after a release"] = _table(cluster)

    github.publish("v7.1.0", "mnist-cnn-v7.1.0.zip", b"PK\x03\x04 truncated")
    assert controller.reconcile_once() is Outcome.REJECTED
    status = _status(cluster)
    assert status["serving"]["version"] == "v7.0.0"
    assert (status["latest"]["tag"], status["latest"]["verdict"]) == ("v7.1.0", "Rejected")
    degraded = _conditions(status)["Degraded"]
    assert degraded[:2] == ("True", "ReleaseRejected") and "not a valid zip" in degraded[2]
    tables["after a refused release"] = _table(cluster)

    publish_bundle(github, baked_in_bundle, tmp_path, "v7.2.0")
    assert controller.reconcile_once() is Outcome.DEPLOYED
    assert _served(cluster) == "v7.2.0"

    # Roll back by hand: pin the earlier accepted release; it is served again without a second gate.
    _spec(cluster, github, pin="v7.0.0")
    assert controller.reconcile_once() is Outcome.DEPLOYED
    assert _served(cluster) == "v7.0.0"
    assert 'model-version: "v7.0.0"' in github.file_at("main", "kubernetes/base/model-pin.yaml").decode()
    assert controller.reconcile_once() is Outcome.UP_TO_DATE  # the newer release is not taken while pinned
    status = _status(cluster)
    assert (status["state"], status["serving"]["version"]) == ("Pinned", "v7.0.0")
    assert (status["latest"]["tag"], status["latest"]["verdict"]) == ("v7.2.0", "Accepted")
    tables["after a pin"] = _table(cluster)

    for tag, why in (("v7.1.0", "release v7.1.0 was rejected"), ("v9.9.9", "no release is tagged v9.9.9")):
        _spec(cluster, github, pin=tag)
        assert controller.reconcile_once() is Outcome.PIN_REFUSED
        status = _status(cluster)
        assert _served(cluster) == "v7.0.0" and status["state"] == "PinRefused"
        degraded = _conditions(status)["Degraded"]
        assert degraded[:2] == ("True", "PinRefused") and why in degraded[2]

    # Suspended: nothing is read or changed, the status still says what serves.
    _spec(cluster, github, suspend=True)
    commits = github.commits()
    publish_bundle(github, baked_in_bundle, tmp_path, "v8.0.0")
    assert controller.reconcile_once() is Outcome.SUSPENDED
    assert _served(cluster) == "v7.0.0" and github.commits() == commits
    status = _status(cluster)
    assert status["state"] == "Suspended" and status["serving"]["version"] == "v7.0.0"
    assert _conditions(status)["Progressing"][:2] == ("False", "Suspended")
    tables["after a suspend"] = _table(cluster)

    _spec(cluster, github)  # resumed, unpinned: the policy's newest release goes out
    assert controller.reconcile_once() is Outcome.DEPLOYED
    assert _served(cluster) == "v8.0.0"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = "\n".join(f"## {when}\n{table}" for when, table in tables.items())
    (ARTIFACTS / "control-plane-digitsmodels.txt").write_text(report)


def _generation(plane):
    return int(
        plane.kubectl("-n", "digits", "get", "digitsmodel", MODEL, "-o", "jsonpath={.metadata.generation}").stdout
    )


def test_spec_retry_gates_a_refused_release_again_once_per_change(cluster, github, tmp_path, baked_in_bundle, mnist):
    strict = {"holdoutSize": 2000, "servingApiUrl": "", "minAccuracy": 1.0}
    _reset(cluster)
    _spec(cluster, github, gate=strict)
    publish_bundle(github, baked_in_bundle, tmp_path, "v7.5.0")
    controller = _controller(cluster, github, mnist)
    assert controller.reconcile_once() is Outcome.REJECTED
    assert controller.reconcile_once() is Outcome.UP_TO_DATE  # a verdict stands until someone asks

    # Asked with the gate unchanged: gated again and refused again, then left alone, also by a restarted syncer.
    _spec(cluster, github, gate=strict, retry=["v7.5.0"])
    asked = _generation(cluster)
    assert controller.reconcile_once() is Outcome.REJECTED
    assert _status(cluster)["retried"] == {"generation": asked, "tags": ["v7.5.0"]}
    assert controller.reconcile_once() is Outcome.UP_TO_DATE
    assert _controller(cluster, github, mnist).reconcile_once() is Outcome.UP_TO_DATE
    assert [entry["event"] for entry in _status(cluster)["history"]].count("rejected") == 2

    # The gate's floor put back, and the retry asked in the same change: the release goes out.
    _spec(cluster, github, gate={**strict, "minAccuracy": None}, retry=["v7.5.0"])
    assert controller.reconcile_once() is Outcome.DEPLOYED
    assert _served(cluster) == "v7.5.0"
    assert _status(cluster)["retried"]["generation"] == _generation(cluster)


def test_an_invalid_spec_is_reported_not_acted_on(cluster, github, mnist):
    _reset(cluster)
    _spec(cluster, github, record={"repo": ""})
    before = _served(cluster)
    assert _controller(cluster, github, mnist).reconcile_once() is Outcome.UP_TO_DATE
    status = _status(cluster)
    assert status["state"] == "Invalid" and _served(cluster) == before
    assert "spec.record.repo is empty" in _conditions(status)["Degraded"][2]


def test_the_state_of_an_earlier_version_moves_into_the_status(cluster, github, mnist):
    stale = PendingRollout("v0.8.0", Pin("v0.8.0", "https://old.test/b.zip", "b" * 64), Pin("v0.7.0"))
    legacy = SyncerState(pending=stale).with_rejection("v0.9.0", "accuracy 0.5 below the minimum 0.9", at=_now())
    _reset(cluster, legacy.to_json())
    _spec(cluster, github, pin="v0.9.0")
    assert _controller(cluster, github, mnist).reconcile_once() is Outcome.PIN_REFUSED
    status = _status(cluster)
    assert status["syncer"]["rejected"] == {"v0.9.0": "accuracy 0.5 below the minimum 0.9"}
    assert status["syncer"]["pending"] is None  # a rollout the old state names is not resumed: only verdicts move
    assert status["history"][-1]["event"] == "rejected"
    assert "accuracy 0.5" in _conditions(status)["Degraded"][2]


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)
