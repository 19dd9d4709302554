"""The release source against a local GitHub that misbehaves: every answer it can send ends as a
``SourceError`` (try later, within bounds) or an ``AssetError`` (refuse this asset), downloads are
bounded in size, time and redirects as bytes arrive, and the token never leaves GitHub's origin."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from digits_syncer.github_source import GitHubReleaseSource
from digits_syncer.ports import AssetError, Interrupted, SourceError
from tests.support.github_server import Fault
from tests.support.servers import wait_until

MAX_WAIT = 900.0  # the source's default bound on a wait GitHub asks for


def _source(hub, max_bytes=10_000_000, timeout_s=5.0, **limits):
    return GitHubReleaseSource(hub.url, f"{hub.owner}/{hub.source}", "t0ken", timeout_s, max_bytes, **limits)


def _asset(hub, source, data=b"payload" * 100, name="m.zip"):
    hub.publish("v1.0.0", name, data)
    return source.list_releases().releases[0].assets[0]


def _asset_path(hub, asset):
    return f"/repos/{hub.owner}/{hub.source}/releases/assets/{asset.id}"


# -- redirects ------------------------------------------------------------------------------------


def test_a_download_redirected_to_another_origin_works_without_the_token(github, tmp_path):
    cdn = github.serve_downloads_elsewhere()
    source = _source(github)
    asset = _asset(github, source)
    source.download(asset, tmp_path / "m.zip")
    assert (tmp_path / "m.zip").read_bytes() == b"payload" * 100
    cdn_port = int(cdn.rsplit(":", 1)[1])
    assert [path for port, path in github.authorized if port == cdn_port] == []
    assert (github.servers[0].server_address[1], _asset_path(github, asset)) in github.authorized


@pytest.mark.parametrize(
    "location",
    ["{hub.url}{path}", "{hub.url}/redirect-elsewhere", "file:///etc/passwd", "gopher://127.0.0.1:1/x", ""],
    ids=["loop", "endless-chain", "file-scheme", "other-scheme", "no-location"],
)
def test_redirect_loops_and_odd_targets_are_temporary_errors(github, tmp_path, location):
    source = _source(github)
    asset = _asset(github, source)
    url = location.format(hub=github, path=_asset_path(github, asset))
    github.fail_next(r"/releases/assets/|/redirect-elsewhere", *[Fault(302, headers={"Location": url})] * 50)
    with pytest.raises(SourceError):
        source.download(asset, tmp_path / "m.zip")
    assert not (tmp_path / "m.zip").exists()
    assert 1 <= 50 - len(github.faults[r"/releases/assets/|/redirect-elsewhere"]) <= 6  # bounded hops


def test_a_moved_release_list_is_followed_and_a_loop_is_a_temporary_error(github):
    github.publish("v1.0.0", "m.zip", b"data")
    moved = f"{github.url}/repos/{github.owner}/{github.source}/releases?per_page=100&moved=1"
    github.fail_next(r"/releases$", Fault(301, headers={"Location": moved}))
    assert [r.tag for r in _source(github).list_releases().releases] == ["v1.0.0"]
    github.fail_next(r"/releases$", *[Fault(301, headers={"Location": moved})] * 20)
    with pytest.raises(SourceError, match="more than 5 redirects"):
        _source(github).list_releases()


# -- bodies: size as bytes arrive, deadline, stop -----------------------------------------------------


def _sent_to_downloads(hub):
    wait_until(lambda: any("/downloads/" in path for path, _ in hub.sent_bytes), 20, "the server to stop sending")
    return max(sent for path, sent in hub.sent_bytes if "/downloads/" in path)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(200, body=b"\0" * 65536, repeat=2048),  # 128 MiB declared
        Fault(200, body=b"\0" * 65536, repeat=2048, declare_length=False),  # 128 MiB, length unknown
        Fault(200, body=b"\0" * 65536, repeat=None),  # never ends
    ],
    ids=["declared", "undeclared", "endless"],
)
def test_an_oversized_body_is_refused_as_it_arrives(github, tmp_path, fault):
    source = _source(github, max_bytes=1_000_000)
    asset = _asset(github, source, data=b"small")  # the release states 5 bytes
    github.fail_next(r"/downloads/", fault)
    with pytest.raises(AssetError, match="exceeds the limit of 1000000 bytes"):
        source.download(asset, tmp_path / "m.zip")
    assert not (tmp_path / "m.zip").exists()
    assert _sent_to_downloads(github) < 32 * 1024 * 1024  # it stopped reading long before 128 MiB


def test_a_trickled_body_ends_at_the_download_deadline(github, tmp_path):
    # 16 bytes every 0.5 s: every read succeeds within the 5 s timeout, the whole never ends.
    source = _source(github, timeout_s=5.0, download_timeout_s=2.0)
    asset = _asset(github, source)
    github.fail_next(r"/downloads/", Fault(200, body=b"x" * 16, repeat=None, interval_s=0.5))
    started = time.monotonic()
    with pytest.raises(SourceError, match="deadline"):
        source.download(asset, tmp_path / "m.zip")
    assert time.monotonic() - started < 5
    assert not (tmp_path / "m.zip").exists()


def test_a_stop_request_ends_a_download_within_a_read(github, tmp_path):
    stop = threading.Event()
    source = _source(github, timeout_s=5.0, stop=stop)
    asset = _asset(github, source)
    github.fail_next(r"/downloads/", Fault(200, body=b"x" * 16, repeat=None, interval_s=0.5))
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        source.download(asset, tmp_path / "m.zip")
    assert time.monotonic() - started < 3
    assert not (tmp_path / "m.zip").exists()


# -- rate limits with odd headers ---------------------------------------------------------------------


def _http_date(seconds_from_now):
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "in 120 s"}, 120),  # an HTTP date two minutes ahead, made when the test runs
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1),  # a date in the past
        ({"Retry-After": "1e12"}, MAX_WAIT),
        ({"Retry-After": "inf"}, MAX_WAIT),
        ({"Retry-After": "-30"}, 1),
        ({"Retry-After": "nan"}, 60),
        ({"Retry-After": "soon"}, 60),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"}, 60),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1e400"}, MAX_WAIT),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "nan"}, 60),
    ],
    ids=["date", "past-date", "1e12", "inf", "negative", "nan", "garbage", "reset-garbage", "reset-inf", "reset-nan"],
)
def test_odd_rate_limit_headers_give_a_bounded_wait(github, headers, wait):
    if headers.get("Retry-After") == "in 120 s":
        headers = {"Retry-After": _http_date(120)}
    github.fail_next(r"/releases$", Fault(429, headers=headers))
    with pytest.raises(SourceError, match="rate limit") as raised:
        _source(github).list_releases()
    assert raised.value.retry_after_s == pytest.approx(wait, abs=3)


# -- release lists of the wrong shape -----------------------------------------------------------------


def _mangled(change):
    def mangle(releases):
        releases = json.loads(json.dumps(releases))
        return change(releases) or releases

    return mangle


MANGLED = {
    "strings-and-null": lambda rs: ["v1.0.0", None],
    "published-at-number": _mangled(lambda rs: rs[0].update(published_at=1767225600)),
    "published-at-garbage": _mangled(lambda rs: rs[0].update(published_at="yesterday")),
    "tag-name-number": _mangled(lambda rs: rs[0].update(tag_name=2)),
    "id-string": _mangled(lambda rs: rs[0].update(id="1001")),
    "draft-string": _mangled(lambda rs: rs[0].update(draft="false")),
    "assets-object": _mangled(lambda rs: rs[0].update(assets={"id": 1})),
    "asset-null": _mangled(lambda rs: rs[0]["assets"].append(None)),
    "asset-size-negative": _mangled(lambda rs: rs[0]["assets"][0].update(size=-1)),
    "asset-name-list": _mangled(lambda rs: rs[0]["assets"][0].update(name=["m.zip"])),
}


@pytest.mark.parametrize("mangle", MANGLED.values(), ids=MANGLED.keys())
def test_malformed_release_lists_are_temporary_errors(github, mangle):
    github.publish("v1.0.0", "m.zip", b"data")
    github.fail_next(r"/releases$", Fault(200, body=json.dumps(mangle(github.releases)).encode()))
    source = _source(github)
    with pytest.raises(SourceError, match="malformed"):
        source.list_releases()
    assert [r.tag for r in source.list_releases().releases] == ["v1.0.0"]  # the next good answer is read


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b"[" + b"{}," * 6_000_000 + b"{}]"], ids=["deep", "oversized"]
)
def test_pathological_list_bodies_are_temporary_errors(github, body):
    github.fail_next(r"/releases$", Fault(200, body=body))
    with pytest.raises(SourceError, match=r"malformed|larger than"):
        _source(github).list_releases()
