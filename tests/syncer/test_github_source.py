"""The release source through PyGithub against the local GitHub-compatible server."""

from __future__ import annotations

import time

import pytest

from digits_syncer.github_source import GitHubReleaseSource
from digits_syncer.ports import AssetError, SourceError
from tests.support.github_server import Fault


def _source(hub, token="t0ken", max_bytes=10_000_000, timeout_s=5.0):
    return GitHubReleaseSource(hub.url, f"{hub.owner}/{hub.source}", token, timeout_s, max_bytes)


def test_lists_releases_and_polls_conditionally(github):
    github.publish("v1.0.0", "mnist-cnn-v1.0.0.zip", b"zip-one")
    source = _source(github)
    first = source.list_releases()
    assert first.changed and [r.tag for r in first.releases] == ["v1.0.0"]
    asset = first.releases[0].assets[0]
    assert asset.name == "mnist-cnn-v1.0.0.zip" and asset.digest.startswith("sha256:")
    second = source.list_releases()
    assert not second.changed and second.releases == first.releases
    assert [s for m, p, s in github.requests if "/releases" in p] == [200, 304]
    github.publish("v1.1.0", "mnist-cnn-v1.1.0.zip", b"zip-two")
    assert [r.tag for r in source.list_releases().releases] == ["v1.1.0", "v1.0.0"]


def test_downloads_follow_the_redirect_and_check_the_digest(github, tmp_path):
    github.publish("v1.0.0", "m.zip", b"payload" * 100)
    source = _source(github)
    asset = source.list_releases().releases[0].assets[0]
    digest = source.download(asset, tmp_path / "m.zip")
    assert (tmp_path / "m.zip").read_bytes() == b"payload" * 100
    assert asset.digest == f"sha256:{digest}"
    assert any(status == 302 for _, path, status in github.requests if "/releases/assets/" in path)


def test_a_digest_mismatch_is_refused(github, tmp_path):
    github.publish("v1.0.0", "m.zip", b"payload", digest="sha256:" + "0" * 64)
    source = _source(github)
    with pytest.raises(AssetError, match="the release states sha256:0000"):
        source.download(source.list_releases().releases[0].assets[0], tmp_path / "m.zip")


def test_an_oversized_asset_is_refused(github, tmp_path):
    github.publish("v1.0.0", "m.zip", b"x" * 5000)
    source = _source(github, max_bytes=1000)
    with pytest.raises(AssetError, match="more than the limit of 1000"):
        source.download(source.list_releases().releases[0].assets[0], tmp_path / "m.zip")


@pytest.mark.parametrize(
    ("fault", "wait", "message"),
    [
        (Fault(503), 30, "HTTP 503"),
        (Fault(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "+120"}), 120, "rate limit"),
        (Fault(429, headers={"Retry-After": "7"}), 7, "rate limit"),
        (Fault(403, body=b'{"message": "secondary rate limit"}'), 60, "rate limit"),
        (Fault(200, body=b'[{"tag_name": "v1", "assets": [{"id": }]'), 30, "malformed"),
        (Fault(200, body=b'{"not": "a list"}'), 30, "malformed"),
    ],
    ids=["5xx", "403-reset", "429-retry-after", "403-secondary", "broken-json", "not-a-list"],
)
def test_temporary_failures_say_when_to_retry(github, fault, wait, message):
    if fault.headers.get("X-RateLimit-Reset", "").startswith("+"):  # relative to now, when the test runs
        fault.headers["X-RateLimit-Reset"] = str(int(time.time()) + int(fault.headers["X-RateLimit-Reset"][1:]))
    github.fail_next(r"/releases$", fault)
    with pytest.raises(SourceError, match=message) as raised:
        _source(github).list_releases()
    assert raised.value.retry_after_s == pytest.approx(wait, abs=3)


def test_a_timeout_is_a_temporary_failure(github):
    github.fail_next(r"/releases$", Fault(200, body=b"[]", delay_s=3))
    with pytest.raises(SourceError, match="unreachable"):
        _source(github, timeout_s=1).list_releases()
