"""Recording an accepted bundle and its pin in the deployment repository (GitHub contents API, PyGithub).

Writes ``<bundle_dir>/<name>-<tag>.zip`` and the pin file; a file whose content is
already there is not written again, so recording twice makes no second commit.
A rejected write (409: the branch moved) is retried against the fresh file.

Push mode (``Recorder``) commits to the deployment branch. Pull-request mode (``Proposals``) commits
to the syncer's own branches, ``<branch_prefix><tag>`` for a release and ``<branch_prefix>roll-back/
<version>`` for a roll back, and opens a pull request from each (or finds the one open from it, so a
restart opens no second). It closes only pull requests from branches under ``branch_prefix``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import yaml
from github import Auth, Github, GithubException, UnknownObjectException

from digits_syncer.pin_manifest import parse_pin, render_pin
from digits_syncer.ports import Accepted, Opened, RecordError, Review, ReviewState
from digits_syncer.state import Pin

log = logging.getLogger("digits_syncer.repo")
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class Recorded:
    bundle_url: str
    commit: str
    """The last commit made ("" when everything was already recorded)."""


def git_blob_sha(content: bytes) -> str:
    """The object id git (and GitHub's contents API) gives a file with this content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RepoSettings:
    repo: str
    branch: str
    bundle_dir: str
    pin_path: str
    deployment: str
    """The api Deployment the committed pin patches (``DIGITS_SYNCER_DEPLOYMENT``)."""
    branch_prefix: str = "digits-syncer/"
    """Pull-request mode: the syncer's branches start with it; it closes pull requests from these only."""


class GitHubRepoWriter:
    def __init__(self, api_url: str, token: str | None, timeout_s: float, settings: RepoSettings) -> None:
        self._github = Github(
            base_url=api_url, auth=Auth.Token(token) if token else None, timeout=int(timeout_s), retry=None
        )
        self._settings = settings

    def record(self, tag: str, accepted: Accepted) -> tuple[str, str]:
        """Commit the accepted bundle and the pin naming it; returns (bundle URL, last commit)."""
        recorded = self.record_bundle(tag, accepted.bundle_zip.name, accepted.bundle_zip.read_bytes(), accepted.sha256)
        return recorded.bundle_url, recorded.commit

    def record_bundle(self, tag: str, bundle_name: str, bundle: bytes, sha256: str) -> Recorded:
        """Commit the bundle and the pin naming it to the deployment branch."""
        try:
            repo = self._github.get_repo(self._settings.repo)
            return self._record_on(
                repo, self._settings.branch, tag=tag, bundle_name=bundle_name, bundle=bundle, sha256=sha256
            )
        except GithubException as error:
            raise _record_error(self._settings.repo, error) from error

    def _record_on(self, repo: Any, branch: str, *, tag: str, bundle_name: str, bundle: bytes, sha256: str) -> Recorded:
        path = f"{self._settings.bundle_dir}/{bundle_name}"
        bundle_commit, content = self._write(repo, branch, path, bundle, f"model {tag}: bundle {bundle_name}")
        url = self._on_deployment_branch(str(content["download_url"]), branch, path)
        pin = Pin(version=tag, url=url, sha256=sha256)
        pin_commit, _ = self._write(
            repo,
            branch,
            self._settings.pin_path,
            render_pin(pin, self._settings.deployment).encode(),
            f"model {tag}: pin the api to {bundle_name}",
        )
        return Recorded(bundle_url=url, commit=pin_commit or bundle_commit)

    def _on_deployment_branch(self, url: str, branch: str, path: str) -> str:
        """The bundle's URL once merged: on the deployment branch, not on a pull request's branch that
        may be deleted after the merge. (GitHub's raw URLs end with ``/<ref>/<path>``.)"""
        written_on, merged_into = f"/{branch}/{path}", f"/{self._settings.branch}/{path}"
        if branch == self._settings.branch or not url.endswith(written_on):
            if branch != self._settings.branch:
                log.warning("the bundle's URL %s does not name its branch: pinned as it is", url)
            return url
        return url.removesuffix(written_on) + merged_into

    def restore_pin(self, pin: Pin, reason: str) -> None:
        """Commit ``pin`` back (after a roll back), so git agrees with the cluster again."""
        try:
            repo = self._github.get_repo(self._settings.repo)
            commit, _ = self._write(
                repo,
                self._settings.branch,
                self._settings.pin_path,
                render_pin(pin, self._settings.deployment).encode(),
                f"model {pin.version}: roll back ({reason})",
            )
        except GithubException as error:
            raise _record_error(self._settings.repo, error) from error
        log.info("pin restored to %s in %s (%s)", pin.version, self._settings.repo, commit or "unchanged")

    def _write(self, repo: Any, branch: str, path: str, content: bytes, message: str) -> tuple[str, dict[str, Any]]:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                existing = repo.get_contents(path, ref=branch)
            except UnknownObjectException:
                existing = None
            if existing is not None and existing.sha == git_blob_sha(content):
                log.debug("%s on %s is unchanged: not writing it", path, branch)
                return "", {"download_url": existing.download_url}
            try:
                if existing is None:
                    result = repo.create_file(path, message, content, branch=branch)
                else:
                    result = repo.update_file(path, message, content, existing.sha, branch=branch)
            except GithubException as error:
                if error.status in (409, 422) and attempt < WRITE_ATTEMPTS:
                    log.warning(
                        "writing %s: attempt #%d/%d conflicted; re-reading the branch", path, attempt, WRITE_ATTEMPTS
                    )
                    continue
                raise
            return str(result["commit"].sha), {"download_url": result["content"].download_url}
        raise RecordError(f"writing {path} kept conflicting")

    # -- pull-request mode (``ports.Proposals``) ---------------------------------------------------

    def propose(self, tag: str, accepted: Accepted, title: str, body: str) -> Opened:
        """Commit the bundle and its pin to ``<branch_prefix><tag>`` and open a pull request from it (the
        one open from it already, after a restart); the pinned URL is the bundle's on the deployment branch."""
        branch = f"{self._settings.branch_prefix}{tag}"
        try:
            repo = self._github.get_repo(self._settings.repo)
            pull = self._open_pull(repo, branch)
            if pull is None:
                self._branch_from_base(repo, branch)
            recorded = self._record_on(
                repo,
                branch,
                tag=tag,
                bundle_name=accepted.bundle_zip.name,
                bundle=accepted.bundle_zip.read_bytes(),
                sha256=accepted.sha256,
            )
            pull = pull or repo.create_pull(title=title, body=body, head=branch, base=self._settings.branch)
            head = repo.get_git_ref(f"heads/{branch}").object.sha
        except GithubException as error:
            raise _record_error(self._settings.repo, error) from error
        log.info("release %s proposed in pull request #%d from %s", tag, pull.number, branch)
        return Opened(int(pull.number), branch, str(head), recorded.bundle_url)

    def propose_pin(self, pin: Pin, title: str, body: str) -> Opened | None:
        """Open a pull request from ``<branch_prefix>roll-back/<version>`` setting the pin file to ``pin``
        (None when the deployment branch names it already)."""
        branch = f"{self._settings.branch_prefix}roll-back/{pin.version or 'baked-in'}"
        content = render_pin(pin, self._settings.deployment).encode()
        try:
            repo = self._github.get_repo(self._settings.repo)
            if self._blob_sha(repo, self._settings.branch, self._settings.pin_path) == git_blob_sha(content):
                return None
            pull = self._open_pull(repo, branch)
            if pull is None:
                self._branch_from_base(repo, branch)
            message = f"model {pin.version}: roll back"
            self._write(repo, branch, self._settings.pin_path, content, message)
            pull = pull or repo.create_pull(title=title, body=body, head=branch, base=self._settings.branch)
            head = repo.get_git_ref(f"heads/{branch}").object.sha
        except GithubException as error:
            raise _record_error(self._settings.repo, error) from error
        return Opened(int(pull.number), branch, str(head))

    def review(self, number: int) -> Review:
        """Open, closed unmerged, or merged with the pin its merge commit names."""
        try:
            repo = self._github.get_repo(self._settings.repo)
            pull = repo.get_pull(number)
            if pull.merged:
                commit = str(pull.merge_commit_sha or "")
                return Review(ReviewState.MERGED, commit, self._pin_at(repo, commit) if commit else None)
        except GithubException as error:
            raise _record_error(self._settings.repo, error) from error
        return Review(ReviewState.CLOSED if pull.state == "closed" else ReviewState.OPEN)

    def withdraw(self, number: int, comment: str) -> bool:
        """Comment on and close pull request ``number`` when it is open and from one of the syncer's branches."""
        try:
            pull = self._github.get_repo(self._settings.repo).get_pull(number)
            if pull.state != "open":
                return False
            if not str(pull.head.ref).startswith(self._settings.branch_prefix):
                log.warning("pull request #%d is not from a branch of the syncer's: left open", number)
                return False
            pull.create_issue_comment(comment)
            pull.edit(state="closed")
        except GithubException as error:
            raise _record_error(self._settings.repo, error) from error
        return True

    def _open_pull(self, repo: Any, branch: str) -> Any:
        owner = self._settings.repo.split("/")[0]
        for pull in repo.get_pulls(state="open", head=f"{owner}:{branch}", base=self._settings.branch):
            return pull
        return None

    def _branch_from_base(self, repo: Any, branch: str) -> None:
        """``branch`` at the deployment branch's head: created, or moved there when no pull request is open
        from it (left from an earlier proposal that was merged or closed)."""
        base = repo.get_git_ref(f"heads/{self._settings.branch}").object.sha
        try:
            ref = repo.get_git_ref(f"heads/{branch}")
        except UnknownObjectException:
            repo.create_git_ref(f"refs/heads/{branch}", base)
            return
        if ref.object.sha != base:
            ref.edit(base, force=True)

    def _blob_sha(self, repo: Any, branch: str, path: str) -> str:
        try:
            return str(repo.get_contents(path, ref=branch).sha)
        except UnknownObjectException:
            return ""

    def _pin_at(self, repo: Any, commit: str) -> Pin | None:
        """The pin the pin file names at ``commit`` (None: no file there, or none the syncer can read)."""
        try:
            document = yaml.safe_load(repo.get_contents(self._settings.pin_path, ref=commit).decoded_content)
        except UnknownObjectException:
            return None
        except yaml.YAMLError:
            log.warning("the pin file at %s is not YAML", commit)
            return None
        pin = parse_pin(document) if isinstance(document, dict) else None
        return pin if pin and pin.version else None


def _record_error(repo: str, error: GithubException) -> RecordError:
    return RecordError(f"writing to {repo} failed: HTTP {error.status} {error.data}")
