"""Recording in the deployment repository: real git behind the local GitHub server, through PyGithub."""

from __future__ import annotations

import hashlib

import httpx
import yaml
from github import Auth, Github

from digits_syncer.pin_manifest import MODEL_SHA256, MODEL_URL, VERSION_ANNOTATION, parse_pin, render_pin
from digits_syncer.ports import Accepted, Review, ReviewState
from digits_syncer.repo_writer import GitHubRepoWriter, RepoSettings, git_blob_sha
from digits_syncer.settings import RolloutSettings
from digits_syncer.state import Pin
from tests.support.github_server import Fault
from tests.support.paths import REPO

BUNDLE = b"PK\x03\x04 pretend this is a bundle zip"
SHA = hashlib.sha256(BUNDLE).hexdigest()


def _writer(hub, deployment="digits-api"):
    settings = RepoSettings(f"{hub.owner}/{hub.deploy}", "main", "models", "kubernetes/base/model-pin.yaml", deployment)
    return GitHubRepoWriter(hub.url, "t0ken", 5, settings)


def _accepted(tmp_path, tag="v2"):
    bundle_zip = tmp_path / f"mnist-cnn-{tag}.zip"
    bundle_zip.write_bytes(BUNDLE)
    return Accepted(bundle_zip, SHA, tag, 0.99, "holdout accuracy 0.9900")


def _pinned(hub, ref):
    return parse_pin(yaml.safe_load(hub.file_at(ref, "kubernetes/base/model-pin.yaml")))


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


def test_a_release_is_proposed_from_its_own_branch_and_main_is_left_alone(github, tmp_path):
    main_before = github.commits()
    opened = _writer(github).propose("v2", _accepted(tmp_path), "Roll out model v2", "the gate's evidence")
    assert github.commits() == main_before
    assert github.file_at("digits-syncer/v2", "models/mnist-cnn-v2.zip") == BUNDLE
    assert (opened.number, opened.branch, opened.head) == (
        1,
        "digits-syncer/v2",
        github.git("rev-parse", "digits-syncer/v2"),
    )
    (pull,) = github.pulls
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["title"], pull["body"]) == (
        "digits-syncer/v2",
        "main",
        "Roll out model v2",
        "the gate's evidence",
    )
    # The pin names the bundle where it will be once merged: on main, not on a branch that may be deleted.
    assert opened.bundle_url == f"{github.url}/raw/digits-lab/deploy/main/models/mnist-cnn-v2.zip"
    assert _pinned(github, "digits-syncer/v2") == Pin("v2", opened.bundle_url, SHA)
    # A restart proposing it again finds the open pull request by its branch: no second one, no new commit.
    head = github.git("rev-parse", "digits-syncer/v2")
    again = _writer(github).propose("v2", _accepted(tmp_path), "Roll out model v2", "the gate's evidence")
    assert (again.number, len(github.pulls), github.git("rev-parse", "digits-syncer/v2")) == (1, 1, head)
    assert _writer(github).review(1) == Review(ReviewState.OPEN)


def test_a_merged_proposal_reviews_as_the_pin_its_merge_commit_names(github, tmp_path):
    writer = _writer(github)
    opened = writer.propose("v2", _accepted(tmp_path), "Roll out model v2", "evidence")
    edited = Pin("v2", "https://mirror.example/mnist-cnn-v2.zip", SHA)  # the reviewer changes the pin first
    github.commit_file(
        "digits-syncer/v2", "kubernetes/base/model-pin.yaml", render_pin(edited, "digits-api").encode(), "mirror"
    )
    merge = github.merge(opened.number)
    assert writer.review(opened.number) == Review(ReviewState.MERGED, merge, edited)
    assert _pinned(github, "main") == edited
    with httpx.Client() as http:  # the bundle is on main now, where the proposed pin named it
        assert http.get(opened.bundle_url).content == BUNDLE


def test_a_superseded_proposal_is_closed_with_a_comment_and_only_the_syncers_own(github, tmp_path):
    writer = _writer(github)
    opened = writer.propose("v2", _accepted(tmp_path), "Roll out model v2", "evidence")
    assert writer.withdraw(opened.number, "Superseded by #2") is True
    assert (github.pull(1)["state"], github.comments[1]) == ("closed", ["Superseded by #2"])
    assert writer.review(opened.number) == Review(ReviewState.CLOSED)
    assert writer.withdraw(opened.number, "again") is False and github.comments[1] == ["Superseded by #2"]
    # A pull request from someone else's branch is never closed by the syncer.
    github.git("branch", "feature", "main")
    repo = Github(base_url=github.url, auth=Auth.Token("t0ken")).get_repo(f"{github.owner}/{github.deploy}")
    foreign = repo.create_pull(title="a person's change", body="", head="feature", base="main")
    assert writer.withdraw(foreign.number, "Superseded") is False
    assert github.pull(foreign.number)["state"] == "open" and foreign.number not in github.comments


def test_a_release_proposed_again_after_its_pull_request_was_closed_starts_from_main(github, tmp_path):
    writer = _writer(github)
    writer.propose("v2", _accepted(tmp_path), "Roll out model v2", "evidence")
    github.close(1)
    moved = github.commit_file("main", "README.md", b"main moved on\n", "a person's commit")
    opened = writer.propose("v2", _accepted(tmp_path), "Roll out model v2", "evidence")
    assert opened.number == 2 and github.pull(2)["state"] == "open"
    assert github.git("merge-base", "main", "digits-syncer/v2") == moved  # the branch was moved to main's head
    assert github.file_at("digits-syncer/v2", "models/mnist-cnn-v2.zip") == BUNDLE


def test_a_roll_back_is_proposed_in_a_pull_request_unless_main_names_the_pin_already(github):
    writer = _writer(github)
    writer.record_bundle("v1", "mnist-cnn-v1.zip", BUNDLE, SHA)
    main_before, v1 = github.commits(), _pinned(github, "main")
    v0 = Pin("v0", "https://h/v0.zip", "0" * 64)
    opened = writer.propose_pin(v0, "Roll back the model pin to v0", "after a failed rollout")
    assert (opened.number, opened.branch) == (1, "digits-syncer/roll-back/v0")
    assert github.commits() == main_before and _pinned(github, opened.branch) == v0
    assert writer.propose_pin(v0, "Roll back", "again").number == 1 and len(github.pulls) == 1
    assert writer.propose_pin(v1, "Roll back", "main names it") is None
    github.merge(1)
    assert _pinned(github, "main") == v0


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
