"""Recording an accepted bundle and its pin in the deployment repository (GitHub contents API, PyGithub).

Writes ``<bundle_dir>/<name>-<tag>.zip`` and the pin file; a file whose content is
already there is not written again, so recording twice makes no second commit.
A rejected write (409: the branch moved) is retried against the fresh file.
In pull-request mode the commits go to ``digits-syncer/<tag>`` and a pull request is opened.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from github import Auth, Github, GithubException, UnknownObjectException

from digits_syncer.pin_manifest import render_pin
from digits_syncer.ports import Accepted, RecordError
from digits_syncer.state import Pin

log = logging.getLogger("digits_syncer.repo")
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class Recorded:
    bundle_url: str
    commit: str
    """The last commit made ("" when everything was already recorded)."""
    pull_request: int | None = None


def git_blob_sha(content: bytes) -> str:
    """The object id git (and GitHub's contents API) gives a file with this content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RepoSettings:
    repo: str
    branch: str
    bundle_dir: str
    pin_path: str
    pull_request: bool
    deployment: str
    """The api Deployment the committed pin patches (``DIGITS_SYNCER_DEPLOYMENT``)."""


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
        try:
            repo = self._github.get_repo(self._settings.repo)
            branch = self._branch(repo, tag)
            path = f"{self._settings.bundle_dir}/{bundle_name}"
            bundle_commit, content = self._write(repo, branch, path, bundle, f"model {tag}: bundle {bundle_name}")
            url = str(content["download_url"])
            pin = Pin(version=tag, url=url, sha256=sha256)
            pin_commit, _ = self._write(
                repo,
                branch,
                self._settings.pin_path,
                render_pin(pin, self._settings.deployment).encode(),
                f"model {tag}: pin the api to {bundle_name}",
            )
            number = self._pull_request(repo, branch, tag) if self._settings.pull_request else None
        except GithubException as error:
            raise RecordError(f"writing to {self._settings.repo} failed: HTTP {error.status} {error.data}") from error
        return Recorded(bundle_url=url, commit=pin_commit or bundle_commit, pull_request=number)

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
            raise RecordError(f"writing to {self._settings.repo} failed: HTTP {error.status} {error.data}") from error
        log.info("pin restored to %s in %s (%s)", pin.version, self._settings.repo, commit or "unchanged")

    def _branch(self, repo: Any, tag: str) -> str:
        if not self._settings.pull_request:
            return self._settings.branch
        branch = f"digits-syncer/{tag}"
        try:
            repo.get_git_ref(f"heads/{branch}")
        except UnknownObjectException:
            base = repo.get_git_ref(f"heads/{self._settings.branch}")
            repo.create_git_ref(f"refs/heads/{branch}", base.object.sha)
        return branch

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

    def _pull_request(self, repo: Any, branch: str, tag: str) -> int:
        owner = self._settings.repo.split("/")[0]
        for pull in repo.get_pulls(state="open", head=f"{owner}:{branch}"):
            return int(pull.number)
        pull = repo.create_pull(
            title=f"Roll out model {tag}",
            body=f"Gated and recorded by the digits syncer: {tag}.",
            head=branch,
            base=self._settings.branch,
        )
        return int(pull.number)
