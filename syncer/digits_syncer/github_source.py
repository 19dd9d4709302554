"""The GitHub Releases of the training repository, through ``requests``.

Polls with ``If-None-Match`` so an unchanged release list costs no rate limit (when
authorised), honours ``retry-after`` and ``x-ratelimit-reset`` (within bounds), and
downloads assets as a stream: the size limit is enforced as bytes arrive, the whole
download has a deadline, a stop request ends it between two reads, and the digest
GitHub states is checked.

Everything a server may send is untrusted. Whatever it answers (redirect loops, other
origins, odd headers, bodies that trickle or never end, lists of the wrong shape) ends
here as ``SourceError`` (try again later) or ``AssetError`` (this asset is refused);
nothing else escapes. Redirects are followed by hand: at most ``MAX_REDIRECTS``, only to
http(s) URLs, never from https down to http, and the token is sent only to the API's origin.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from digits_bundle.bounded_sink import BoundedSink, DeadlinePassed, Stopped, TooLarge, declared_length
from digits_syncer.backoff import retry_after_s
from digits_syncer.ports import AssetError, Interrupted, SourceError
from digits_syncer.releases import Asset, Release, ReleaseList
from digits_syncer.state import clip

log = logging.getLogger("digits_syncer.github")
CHUNK_BYTES = 64 * 1024
MAX_REDIRECTS = 5
"""GitHub answers an asset download with one redirect; a few more is generous, a loop is an error."""
MAX_LIST_BYTES = 16 * 1024 * 1024
"""Largest release list read (100 releases of GitHub's are well under 1 MiB)."""
LIST_DEADLINE_TIMEOUTS = 3
"""The whole release list must arrive within this many request timeouts."""
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ETAG = re.compile(r'(W/)?"[\x21\x23-\x7e]{0,200}"')


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _problem(error: BaseException) -> str:
    return clip(f"{type(error).__name__}: {error}", 300)


@contextmanager
def _bounds(what: str) -> Iterator[None]:
    """A transfer's stop request and deadline, as the port's errors."""
    try:
        yield
    except Stopped:
        raise Interrupted(f"{what}: stopped") from None
    except DeadlinePassed:
        raise SourceError(f"{what}: not complete within its deadline") from None


# -- the release list, validated field by field ----------------------------------------------------


class MalformedRelease(ValueError):
    """An item of the release list does not have the shape GitHub documents."""


def _field(item: dict[str, Any], key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
    value = item.get(key)
    if value is None and optional:
        return None
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise MalformedRelease(f"{key} is {type(value).__name__}, not {getattr(kind, '__name__', kind)}")
    return value


def _time(item: dict[str, Any], key: str) -> datetime | None:
    value = _field(item, key, str, optional=True)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise MalformedRelease(f"{key} is not a timestamp: {clip(repr(value), 60)}") from error


def _asset(item: Any) -> Asset:
    if not isinstance(item, dict):
        raise MalformedRelease(f"an asset is {type(item).__name__}, not an object")
    size = _field(item, "size", int)
    if size < 0:
        raise MalformedRelease(f"an asset's size is negative: {size}")
    return Asset(
        id=_field(item, "id", int),
        name=_field(item, "name", str),
        size=size,
        url=_field(item, "url", str),
        digest=_field(item, "digest", str, optional=True),
    )


def parse_release(item: Any) -> Release:
    """One item of ``GET /repos/{owner}/{repo}/releases``; ``MalformedRelease`` when it has the wrong shape."""
    if not isinstance(item, dict):
        raise MalformedRelease(f"a release is {type(item).__name__}, not an object")
    tag = _field(item, "tag_name", str)
    assets = _field(item, "assets", list, optional=True) or []
    return Release(
        id=_field(item, "id", int),
        tag=tag,
        name=_field(item, "name", str, optional=True) or tag,
        draft=bool(_field(item, "draft", bool, optional=True)),
        prerelease=bool(_field(item, "prerelease", bool, optional=True)),
        published_at=_time(item, "published_at"),
        created_at=_time(item, "created_at"),
        assets=tuple(_asset(asset) for asset in assets),
    )


def parse_releases(body: bytes) -> list[Release]:
    """The release list; ``MalformedRelease`` when any part of it is not what GitHub documents."""
    try:
        items = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise MalformedRelease(f"not JSON: {_problem(error)}") from error
    if not isinstance(items, list):
        raise MalformedRelease(f"expected a list, got {type(items).__name__}")
    releases = []
    for index, item in enumerate(items):
        try:
            releases.append(parse_release(item))
        except MalformedRelease as error:
            raise MalformedRelease(f"item {index}: {error}") from error
    return releases


class GitHubReleaseSource:
    def __init__(
        self,
        api_url: str,
        repo: str,
        token: str | None,
        timeout_s: float,
        max_download_bytes: int,
        *,
        download_timeout_s: float = 600.0,
        max_wait_s: float = 900.0,
        stop: threading.Event | None = None,
    ) -> None:
        """``timeout_s``: connecting, and each read of the socket; ``download_timeout_s``: a whole asset
        download, redirects included; ``max_wait_s``: the longest rate-limit wait accepted from GitHub;
        ``stop``: when set, a download in progress ends at its next read."""
        self._api_url = api_url.rstrip("/")
        self._api_origin = _origin(self._api_url)
        self._repo = repo
        self._token = token
        self._timeout = timeout_s
        self._max_bytes = max_download_bytes
        self._download_timeout = download_timeout_s
        self._max_wait = max_wait_s
        self._stop = stop
        self._session = requests.Session()
        self._etag: str | None = None
        self._releases: list[Release] = []

    # -- HTTP, with every limit -----------------------------------------------------------------

    def _open(self, url: str, accept: str, headers: dict[str, str], sink: BoundedSink, what: str) -> requests.Response:
        """GET ``url``, following redirects by hand, within ``sink``'s deadline; the body is not read yet."""
        for _ in range(MAX_REDIRECTS + 1):
            sink.check()
            scheme = urlsplit(url).scheme
            if scheme not in ("http", "https"):
                raise SourceError(f"{what}: redirected to a {clip(scheme, 20)!r} URL; only http(s) is followed")
            sent = {
                "Accept": accept,
                "Accept-Encoding": "identity",  # the bytes counted and digested are the bytes sent
                "User-Agent": "digits-syncer",
                "X-GitHub-Api-Version": "2022-11-28",
                **headers,
            }
            if self._token and _origin(url) == self._api_origin:
                sent["Authorization"] = f"Bearer {self._token}"
            try:
                # Connecting and each socket read are bounded by the request timeout; the whole
                # transfer by the sink's deadline, checked between reads.
                response = self._session.get(
                    url, headers=sent, stream=True, allow_redirects=False, timeout=(self._timeout, self._timeout)
                )
            except (requests.RequestException, Urllib3Error, OSError, ValueError) as error:
                raise SourceError(f"{what}: GitHub unreachable: {_problem(error)}") from error
            if response.status_code not in _REDIRECTS:
                return response
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                raise SourceError(f"{what}: HTTP {response.status_code} without a Location")
            following = urljoin(url, location)
            if scheme == "https" and urlsplit(following).scheme == "http":
                raise SourceError(f"{what}: redirected from https down to http; not followed")
            url, headers = following, {}
        raise SourceError(f"{what}: more than {MAX_REDIRECTS} redirects")

    def _read(self, response: requests.Response, sink: BoundedSink, what: str) -> None:
        """The body into ``sink`` as it arrives (each read returns what one socket read gave)."""
        sink.expect(declared_length(response.headers.get("Content-Length")))
        while True:
            sink.check()
            try:
                chunk = response.raw.read1(CHUNK_BYTES, decode_content=False)
            except (requests.RequestException, Urllib3Error, OSError) as error:
                raise SourceError(f"{what}: reading the answer failed: {_problem(error)}") from error
            if not chunk:
                return
            sink.write(chunk)

    def _status_error(self, response: requests.Response, what: str) -> SourceError:
        status = response.status_code
        if status in (403, 429):
            wait = retry_after_s(response.headers, time.time(), self._max_wait)
            return SourceError(f"{what}: GitHub rate limit (HTTP {status}); waiting {wait:.0f} s", retry_after_s=wait)
        return SourceError(f"{what}: GitHub answered HTTP {status}")

    # -- the port the reconciler uses -------------------------------------------------------------

    def list_releases(self) -> ReleaseList:
        what = f"listing releases of {self._repo}"
        deadline = time.monotonic() + LIST_DEADLINE_TIMEOUTS * self._timeout
        body = io.BytesIO()
        sink = BoundedSink(body, limit=MAX_LIST_BYTES, deadline=deadline, stop=self._stop)
        headers = {"If-None-Match": self._etag} if self._etag else {}
        url = f"{self._api_url}/repos/{self._repo}/releases?per_page=100"
        with _bounds(what), self._open(url, "application/vnd.github+json", headers, sink, what) as response:
            if response.status_code == 304:
                return ReleaseList(self._releases, changed=False)
            if response.status_code != 200:
                raise self._status_error(response, what)
            try:
                self._read(response, sink, what)
            except TooLarge as error:
                raise SourceError(f"{what}: the answer is larger than {MAX_LIST_BYTES} bytes") from error
            etag = response.headers.get("ETag", "")
        try:
            releases = parse_releases(body.getvalue())
        except MalformedRelease as error:
            raise SourceError(f"{what}: GitHub sent a malformed release list: {error}") from error
        self._releases, self._etag = releases, etag if _ETAG.fullmatch(etag) else None
        return ReleaseList(releases, changed=True)

    def download(self, asset: Asset, target: Path) -> str:
        """Stream the asset to ``target`` (a path the caller chose); returns its sha256.

        ``AssetError`` when it is larger than the limit or its bytes do not match the sha256 the
        release states; ``SourceError`` when it cannot be read now (the file is removed then too).
        """
        if asset.size > self._max_bytes:
            raise AssetError(f"the asset is {asset.size} bytes, more than the limit of {self._max_bytes}")
        what = f"downloading asset {asset.id}"
        deadline = time.monotonic() + self._download_timeout
        # The documented endpoint, built from the asset's numeric id (not from a URL the list states).
        url = f"{self._api_url}/repos/{self._repo}/releases/assets/{asset.id}"
        try:
            with open(target, "wb") as file, _bounds(what):
                sink = BoundedSink(file, limit=self._max_bytes, deadline=deadline, stop=self._stop)
                with self._open(url, "application/octet-stream", {}, sink, what) as response:
                    if response.status_code != 200:
                        raise self._status_error(response, what)
                    self._read(response, sink, what)
        except TooLarge as error:
            target.unlink(missing_ok=True)
            raise AssetError(f"the asset exceeds the limit of {self._max_bytes} bytes") from error
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        actual = sink.sha256
        stated = (asset.digest or "").lower()
        if stated.startswith("sha256:") and stated.removeprefix("sha256:") != actual:
            raise AssetError(f"the asset has sha256 {actual}, the release states {clip(asset.digest or '', 80)}")
        return actual
