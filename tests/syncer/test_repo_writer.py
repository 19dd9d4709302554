"""Recording in the deployment repository: real git behind the local GitHub server, through PyGithub."""

from __future__ import annotations

import hashlib

import yaml

from digits_syncer.pin_manifest import MODEL_SHA256, MODEL_URL, VERSION_ANNOTATION, render_pin
from digits_syncer.repo_writer import GitHubRepoWriter, RepoSettings, git_blob_sha
from digits_syncer.settings import RolloutSettings
from digits_syncer.state import Pin
from tests.support.github_server import Fault
from tests.support.paths import REPO

BUNDLE = b"PK\x03\x04 pretend this is a bundle zip"
SHA = hashlib.sha256(BUNDLE).hexdigest()


def _writer(hub, pull_request=False, deployment="digits-api"):
    settings = RepoSettings(
        f"{hub.owner}/{hub.deploy}", "main", "models", "kubernetes/base/model-pin.yaml", pull_request, deployment
    )
    return GitHubRepoWriter(hub.url, "t0ken", 5, settings)


def test_git_blob_sha_matches_git(github, tmp_path):
    (tmp_path / "f").write_bytes(BUNDLE)
    assert git_blob_sha(BUNDLE) == github.git("hash-object", str(tmp_path / "f"))


def test_recording_twice_commits_once(github):
    writer = _writer(github)
    first = writer.record_bundle("v1", "mnist-cnn-v1.zip", BUNDLE, SHA)
    commits = github.commits()
    assert len(commits) == 3 and first.commit == commits[0].split()[0]
    assert github.file_at("main", "models/mnist-cnn-v1.zip") == BUNDLE
    assert first.bundle_url.endswith("/raw/digits-lab/deploy/main/models/mnist-cnn-v1.zip")
    second = writer.record_bundle("v1", "mnist-cnn-v1.zip", BUNDLE, SHA)
    assert second.commit == "" and github.commits() == commits


def test_a_conflicting_write_is_retried_against_the_fresh_file(github):
    github.fail_next(r"/contents/models/", Fault(409, body=b'{"message": "is at abc but expected def"}', method="PUT"))
    recorded = _writer(github).record_bundle("v1", "mnist-cnn-v1.zip", BUNDLE, SHA)
    assert recorded.commit
    assert [s for m, p, s in github.requests if m == "PUT" and "/models/" in p] == [409, 201]


def test_pull_request_mode_leaves_the_branch_alone(github):
    main_before = github.commits()
    recorded = _writer(github, pull_request=True).record_bundle("v2", "mnist-cnn-v2.zip", BUNDLE, SHA)
    assert github.commits() == main_before
    assert github.file_at("digits-syncer/v2", "models/mnist-cnn-v2.zip") == BUNDLE
    assert recorded.pull_request == 1
    assert github.pulls[0]["head"]["ref"] == "digits-syncer/v2" and github.pulls[0]["base"]["ref"] == "main"
    again = _writer(github, pull_request=True).record_bundle("v2", "mnist-cnn-v2.zip", BUNDLE, SHA)
    assert again.pull_request == 1 and len(github.pulls) == 1


def test_the_pin_is_valid_yaml_whatever_its_values_hold():
    hostile = Pin(version='v2\n        evil: "x"\r\n\x1b[31m\u2028\\', url="https://h/a b#c: d", sha256="")
    pin = yaml.safe_load(render_pin(hostile, "digits-api\n  namespace: kube-system"))
    assert pin["metadata"] == {"name": "digits-api\n  namespace: kube-system"}
    template = pin["spec"]["template"]
    assert template["metadata"]["annotations"] == {VERSION_ANNOTATION: hostile.version}
    env = {e["name"]: e["value"] for e in template["spec"]["initContainers"][0]["env"]}
    assert env == {MODEL_URL: hostile.url, MODEL_SHA256: ""}


def test_the_pin_rendered_for_the_default_deployment_is_the_one_in_the_manifests():
    committed = (REPO / "kubernetes/base/model-pin.yaml").read_text()
    assert render_pin(Pin("baked-in"), RolloutSettings.model_fields["deployment"].default) == committed


def test_the_committed_pin_patches_the_deployment_named_in_the_settings(github):
    """DIGITS_SYNCER_DEPLOYMENT names the Deployment the syncer patches; the pin it commits (on recording
    a release and on restoring one after a roll back) must patch that Deployment, not a fixed name."""
    writer = _writer(github, deployment="digits-api-canary")
    writer.record_bundle("v1", "mnist-cnn-v1.zip", BUNDLE, SHA)
    recorded = yaml.safe_load(github.file_at("main", "kubernetes/base/model-pin.yaml"))
    assert (recorded["kind"], recorded["metadata"]["name"]) == ("Deployment", "digits-api-canary")
    writer.restore_pin(Pin("v0", "https://h/v0.zip", "0" * 64), "after a failed rollout")
    restored = yaml.safe_load(github.file_at("main", "kubernetes/base/model-pin.yaml"))
    assert restored["metadata"]["name"] == "digits-api-canary"
    assert restored["spec"]["template"]["metadata"]["annotations"] == {VERSION_ANNOTATION: "v0"}
