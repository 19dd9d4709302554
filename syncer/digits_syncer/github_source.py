"""The GitHub Releases of the training repository, through PyGithub.

Polls with ``If-None-Match`` so an unchanged release list costs no rate limit
(when authorised), honours ``retry-after`` and ``x-ratelimit-reset``, and
downloads assets bounded in size, checking the digest GitHub states.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from github import Auth, Github, GithubException
from github.GitRelease import GitRelease
from github.GitReleaseAsset import GitReleaseAsset
from requests.exceptions import RequestException

from digits_syncer.releases import Asset, Release, ReleaseList

log = logging.getLogger("digits_syncer.github")
MIN_RATE_LIMIT_WAIT_S = 60.0


class SourceError(RuntimeError):
    """GitHub could not be read now; worth trying again later (``retry_after_s`` says when)."""

    def __init__(self, message: str, retry_after_s: float = MIN_RATE_LIMIT_WAIT_S) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AssetError(ValueError):
    """The asset is not what it claims to be (too large, wrong digest): a permanent rejection."""


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _rate_limit_wait(status: int, headers: dict[str, Any], now: float) -> float:
    """Seconds to wait after a 403/429, per GitHub's documented rules."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after" in lowered:
        return max(float(lowered["retry-after"]), 1.0)
    if str(lowered.get("x-ratelimit-remaining")) == "0" and "x-ratelimit-reset" in lowered:
        return max(float(lowered["x-ratelimit-reset"]) - now, 1.0)
    return MIN_RATE_LIMIT_WAIT_S


class GitHubReleaseSource:
    def __init__(self, api_url: str, repo: str, token: str | None, timeout_s: float, max_download_bytes: int) -> None:
        self._github = Github(
            base_url=api_url,
            auth=Auth.Token(token) if token else None,
            timeout=int(timeout_s),
            retry=None,  # retries are the reconcile loop's, with GitHub's own wait times
            per_page=100,
        )
        self._repo = repo
        self._max_bytes = max_download_bytes
        self._etag: str | None = None
        self._releases: list[Release] = []
        self._raw: dict[int, dict[str, Any]] = {}

    def list_releases(self) -> ReleaseList:
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            status, response_headers, body = self._github.requester.requestJson(
                "GET", f"/repos/{self._repo}/releases", parameters={"per_page": 100}, headers=headers
            )
        except (RequestException, OSError) as error:
            raise SourceError(f"GitHub unreachable: {error}", retry_after_s=30) from error
        if status == 304:
            return ReleaseList(self._releases, changed=False)
        if status in (403, 429):
            wait = _rate_limit_wait(status, response_headers, time.time())
            raise SourceError(f"GitHub rate limit (HTTP {status}); waiting {wait:.0f} s", retry_after_s=wait)
        if status >= 400:
            raise SourceError(f"GitHub answered HTTP {status} listing releases of {self._repo}", retry_after_s=30)
        try:
            items = json.loads(body)
            if not isinstance(items, list):
                raise TypeError(f"expected a list, got {type(items).__name__}")
            releases = [self._release(item, response_headers) for item in items]
        except (ValueError, TypeError, KeyError) as error:
            raise SourceError(f"GitHub sent a malformed release list: {error}", retry_after_s=30) from error
        self._releases, self._etag = releases, response_headers.get("etag") or response_headers.get("ETag")
        return ReleaseList(releases, changed=True)

    def _release(self, item: dict[str, Any], headers: dict[str, Any]) -> Release:
        release = GitRelease(self._github.requester, headers, item, completed=True)
        self._raw.update({asset["id"]: asset for asset in item.get("assets", [])})
        return Release(
            id=int(release.id),
            tag=str(release.tag_name),
            name=str(release.title or release.tag_name),
            draft=bool(release.draft),
            prerelease=bool(release.prerelease),
            published_at=_parse_time(item.get("published_at")),
            created_at=_parse_time(item.get("created_at")),
            assets=tuple(
                Asset(
                    id=int(a["id"]),
                    name=str(a["name"]),
                    size=int(a.get("size") or 0),
                    url=str(a["url"]),
                    digest=a.get("digest"),
                )
                for a in item.get("assets", [])
            ),
        )

    def download(self, asset: Asset, target: Path) -> str:
        """Stream the asset to ``target``; returns its sha256. Refuses oversize and digest mismatches."""
        if asset.size > self._max_bytes:
            raise AssetError(f"asset {asset.name} is {asset.size} bytes, more than the limit of {self._max_bytes}")
        model = GitReleaseAsset(
            self._github.requester, {}, self._raw.get(asset.id, {"url": asset.url, "id": asset.id}), completed=True
        )
        digest, size = hashlib.sha256(), 0
        try:
            result = model.download_asset(chunk_size=1024 * 1024)
            assert result is not None
            _, _, chunks = result
            with open(target, "wb") as sink:
                for chunk in chunks:
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise AssetError(f"asset {asset.name} exceeds the limit of {self._max_bytes} bytes")
                    digest.update(chunk)
                    sink.write(chunk)
        except (RequestException, GithubException, OSError) as error:
            raise SourceError(f"downloading {asset.name} failed: {error}", retry_after_s=30) from error
        actual = digest.hexdigest()
        if asset.digest and asset.digest.startswith("sha256:") and asset.digest.removeprefix("sha256:") != actual:
            raise AssetError(f"asset {asset.name} has sha256 {actual}, the release states {asset.digest}")
        return actual
