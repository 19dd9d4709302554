"""``python -m digits_syncer run|once`` (local mode) against a local GitHub that misbehaves.

After every hostile answer: the previous model still serves, no partial file is left, nothing is
written outside the syncer's own folders, the loop keeps polling (no crash, no busy loop, no
sleeping for ever), a release-specific problem is recorded once, and the token appears nowhere.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from digits_bundle.bundle import zip_bundle
from digits_bundle.fetch import main as fetch_main
from tests.support.bundles import copy_bundle
from tests.support.github_server import FakeGitHub, Fault
from tests.support.paths import FOREIGN_RELEASE
from tests.support.servers import wait_until
from tests.support.syncer_cli import TOKEN, syncer_once, syncer_running

LIST = r"/releases$"
ALLOWED_NEW = {"state.json", "syncer.log", "token", "scratch"}
"""What a syncer may add to its working folder (besides the models it installs)."""


def _install_baked_in(tmp_path, baked_in_bundle) -> str:
    assert fetch_main(["--models", str(tmp_path / "models"), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    return _served(tmp_path)


def _served(tmp_path) -> str:
    return json.loads((tmp_path / "models" / "current" / "manifest.json").read_text())["version"]


def _files(tmp_path) -> set[str]:
    return {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.parts[len(tmp_path.parts)] != "github"}


def _state(tmp_path) -> dict[str, Any]:
    path = tmp_path / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _list_requests(hub) -> int:
    return sum(1 for _, path, _ in hub.requests if path.split("?")[0].endswith("/releases"))


def _downloads(hub) -> int:
    return sum(1 for _, path, _ in hub.requests if "/releases/assets/" in path)


def _bundle(tmp_path, baked_in_bundle, tag, **changes) -> bytes:
    copy = copy_bundle(baked_in_bundle, tmp_path / "bundles" / tag.encode().hex()[:40], **{"version": tag, **changes})
    return zip_bundle(copy, tmp_path / "bundles" / f"{tag.encode().hex()[:40]}.zip").read_bytes()


def _assert_clean(tmp_path, before_files, served, log):
    assert _served(tmp_path) == served, "the previous model must still be serving"
    assert list((tmp_path / "scratch").iterdir()) == [], "no scratch folder or partial file may be left"
    added = {path.split("/")[0] for path in _files(tmp_path) - before_files}
    assert added <= ALLOWED_NEW, f"written outside the syncer's folders: {added - ALLOWED_NEW}"
    assert not list(tmp_path.rglob("*pwned*")), "a file named by the server was written"
    assert TOKEN not in log
    assert "Traceback" not in log
    assert all(len(line) < 5000 for line in log.splitlines()), "log lines must stay bounded"


# -- run mode: one hostile answer each, the loop goes on -------------------------------------------


@dataclass
class Hostile:
    setup: Callable[[FakeGitHub, Path, Path], None]
    rejected: str | None = None
    """Recorded rejection expected (substring of its reason); None: a temporary error, nothing recorded."""
    settings: dict[str, str] = field(default_factory=dict)
    downloads: bool = True
    """Whether the asset may be requested at all."""


def _release(tag="v2.0.0", name="mnist-cnn-v2.0.0.zip", data=b"PK\x03\x04 this is no zip"):
    return lambda hub, tmp, bundle: hub.publish(tag, name, data)


def _valid_release(tag):
    return lambda hub, tmp, bundle: hub.publish(tag, "mnist-cnn.zip", _bundle(tmp, bundle, "v2.0.0"))


def _faults(route, *faults, release=False):
    def setup(hub, tmp, bundle):
        if release:
            hub.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", b"never downloaded")
        hub.fail_next(route, *faults)

    return setup


def _list_body(change):
    def setup(hub, tmp, bundle):
        release = hub.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", b"never downloaded")
        mangled = change(json.loads(json.dumps(release)))
        hub.releases.clear()  # the well-formed answer lists nothing to deploy
        hub.fail_next(LIST, *[Fault(200, body=json.dumps(mangled).encode())] * 3)

    return setup


def _absolute_name(hub, tmp, bundle):
    hub.publish("v2.0.0", str(tmp / "pwned.zip"), b"PK\x03\x04 this is no zip")


def _redirect_loop(hub, tmp, bundle):
    release = hub.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", b"never downloaded")
    path = f"/repos/{hub.owner}/{hub.source}/releases/assets/{release['assets'][0]['id']}"
    hub.fail_next(r"/releases/assets/", *[Fault(302, headers={"Location": hub.url + path})] * 10_000)


TRICKLE = Fault(200, body=b"x" * 16, repeat=None, interval_s=0.5)
CASES = {
    # 1. names the server sends never become paths
    "asset-name-relative": Hostile(_release(name="../../pwned.zip"), rejected=""),
    "asset-name-absolute": Hostile(_absolute_name, rejected=""),
    # 5. tags that cannot be versions are refused once, without a download
    "tag-slash": Hostile(_valid_release("v2/../../pwned"), rejected="not a plain version", downloads=False),
    "tag-control": Hostile(_valid_release("v2\n\x1b[31m\r\nkind: x"), rejected="not a plain version", downloads=False),
    "tag-long": Hostile(_valid_release("v" + "1" * 300), rejected="more than 250", downloads=False),
    # 4. malformed answers: temporary errors, bounded waits
    "download-redirect-loop": Hostile(_redirect_loop),
    "download-redirect-file": Hostile(
        _faults(r"/releases/assets/", *[Fault(302, headers={"Location": "file:///etc/passwd"})] * 10_000, release=True)
    ),
    "list-301-loop": Hostile(_faults(LIST, *[Fault(301, headers={"Location": "/repos/x/y/releases"})] * 10_000)),
    "retry-after-date": Hostile(
        _faults(LIST, *[Fault(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})] * 3)
    ),
    "ratelimit-reset-garbage": Hostile(
        _faults(LIST, *[Fault(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"})] * 3)
    ),
    "retry-after-1e12": Hostile(_faults(LIST, *[Fault(429, headers={"Retry-After": "1e12"})] * 3)),
    "retry-after-inf": Hostile(_faults(LIST, *[Fault(429, headers={"Retry-After": "inf"})] * 3)),
    "retry-after-nan": Hostile(_faults(LIST, *[Fault(429, headers={"Retry-After": "nan"})] * 3)),
    "list-items-strings-and-null": Hostile(_faults(LIST, *[Fault(200, body=b'["v2.0.0", null]')] * 3)),
    "list-published-at-number": Hostile(_list_body(lambda r: [{**r, "published_at": 1767225600}])),
    "list-tag-name-number": Hostile(_list_body(lambda r: [{**r, "tag_name": 2}])),
    # 2./3. bodies bounded in size and time as they arrive
    "download-trickle": Hostile(
        _faults(r"/downloads/", *[TRICKLE] * 100, release=True),
        settings={"request_timeout_s": "5", "download_timeout_s": "2"},
    ),
    "download-endless": Hostile(
        _faults(r"/downloads/", Fault(200, body=b"\0" * 65536, repeat=None), release=True),
        rejected="exceeds the limit of 1000000 bytes",
        settings={"max_download_bytes": "1000000"},
    ),
    "download-oversized": Hostile(
        _faults(r"/downloads/", Fault(200, body=b"\0" * 65536, repeat=1024), release=True),
        rejected="exceeds the limit of 1000000 bytes",
        settings={"max_download_bytes": "1000000"},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_loop_survives_a_hostile_answer(tmp_path, github, baked_in_bundle, case):
    served = _install_baked_in(tmp_path, baked_in_bundle)
    case.setup(github, tmp_path, baked_in_bundle)
    before_files = _files(tmp_path)
    with syncer_running(github, tmp_path, **case.settings) as syncer:
        if case.rejected is not None:
            wait_until(lambda: bool(_state(tmp_path).get("rejected")), 60, "the rejection to be recorded")
        else:  # a second attempt failed too: the loop came back after the bad answer
            wait_until(lambda: "attempt #2 failed" in syncer.output(), 60, "a second attempt")
        mark = _list_requests(github)
        wait_until(lambda: _list_requests(github) >= mark + 2, 30, "the loop to keep polling")
        assert syncer.process.poll() is None, syncer.output()[-3000:]
        assert syncer.stop() == 0 and syncer.stopped_in_s < 10
    log = syncer.output()
    _assert_clean(tmp_path, before_files, served, log)
    state = _state(tmp_path)
    if case.rejected is None:
        assert not state.get("rejected"), state
        assert "will retry in" in log
    else:
        ((key, reason),) = state["rejected"].items()
        assert case.rejected in reason
        assert key.isascii() and key.isprintable() and len(key) <= 250
        assert [h["event"] for h in state["history"]].count("rejected") == 1, "rejected once, not retried"
    if not case.downloads:
        assert _downloads(github) == 0


def test_nan_retry_after_does_not_make_a_busy_loop(tmp_path, github):
    (tmp_path / "models").mkdir()
    github.fail_next(LIST, *[Fault(429, headers={"Retry-After": "nan"})] * 1000)
    with syncer_running(github, tmp_path) as syncer:
        wait_until(lambda: _list_requests(github) >= 1, 60, "the first poll")
        first = _list_requests(github)
        time.sleep(4)
        answered = _list_requests(github) - first
        assert syncer.process.poll() is None, syncer.output()[-3000:]
    assert 2 <= answered <= 6, f"{answered} requests in 4 s: every wait must last at least a second"


# -- 3. SIGTERM during a download, and the deadline in once mode ------------------------------------------


def test_sigterm_during_a_download_stops_at_once_and_cleans_up(tmp_path, github, baked_in_bundle):
    served = _install_baked_in(tmp_path, baked_in_bundle)
    github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", b"never downloaded")
    github.fail_next(r"/downloads/", Fault(200, body=b"x" * 16, repeat=None, interval_s=2.0))
    before_files = _files(tmp_path)
    with syncer_running(github, tmp_path, request_timeout_s="5", download_timeout_s="600") as syncer:
        wait_until(lambda: not github.faults[r"/downloads/"], 60, "the download to start")
        time.sleep(1)
        assert syncer.stop(timeout_s=15) == 0
        assert syncer.stopped_in_s < 5, f"took {syncer.stopped_in_s:.1f} s to stop"
    _assert_clean(tmp_path, before_files, served, syncer.output())


def test_once_gives_up_a_trickled_download_at_its_deadline(tmp_path, github, baked_in_bundle):
    served = _install_baked_in(tmp_path, baked_in_bundle)
    github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", b"never downloaded")
    github.fail_next(r"/downloads/", Fault(200, body=b"x" * 16, repeat=None, interval_s=2.0))
    before_files = _files(tmp_path)
    started = time.monotonic()
    result = syncer_once(github, tmp_path, "", request_timeout_s="5", download_timeout_s="3")
    assert result.returncode == 1, result.stderr[-3000:]
    assert time.monotonic() - started < 30
    assert "deadline" in result.stderr
    _assert_clean(tmp_path, before_files, served, result.stdout + result.stderr)


# -- 4. GitHub's CDN: another origin, and the token stays home -----------------------------------------


def test_a_download_from_another_origin_is_deployed_without_sending_it_the_token(tmp_path, github, baked_in_bundle):
    _install_baked_in(tmp_path, baked_in_bundle)
    cdn_port = int(github.serve_downloads_elsewhere().rsplit(":", 1)[1])
    github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", _bundle(tmp_path, baked_in_bundle, "v2.0.0"))
    result = syncer_once(github, tmp_path, "")
    assert (result.returncode, result.stdout.strip()) == (0, "deployed"), result.stderr[-3000:]
    assert _served(tmp_path) == "v2.0.0"
    assert any("/downloads/" in path for _, path, _ in github.requests)
    assert [path for port, path in github.authorized if port == cdn_port] == []
    assert TOKEN not in result.stderr + result.stdout


# -- 6. reasons, logs and state stay bounded ---------------------------------------------------------------


def _unlisted_files_zip(tmp_path, baked_in_bundle):
    """A bundle zip with thousands of long-named files its manifest does not list."""
    source = _bundle(tmp_path, baked_in_bundle, "v2.0.0")
    archive = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive, "w") as target, zipfile.ZipFile(io.BytesIO(source)) as original:
        for item in original.infolist():
            target.writestr(item, original.read(item))
        for n in range(3000):
            target.writestr(f"extra-{n:05d}-" + "y" * 200, b"")
    return archive.read_bytes()


@pytest.mark.parametrize("kind", ["huge-digest", "huge-zip-reason"])
def test_rejection_reasons_logs_and_state_stay_bounded(tmp_path, github, baked_in_bundle, kind):
    served = _install_baked_in(tmp_path, baked_in_bundle)
    if kind == "huge-digest":
        github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", b"whatever", digest="sha256:" + "0" * 2_000_000)
    else:
        github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", _unlisted_files_zip(tmp_path, baked_in_bundle))
    before_files = _files(tmp_path)
    result = syncer_once(github, tmp_path, "")
    assert result.returncode == 3, result.stderr[-3000:]
    _assert_clean(tmp_path, before_files, served, result.stdout + result.stderr)
    assert (tmp_path / "state.json").stat().st_size < 64 * 1024
    state = _state(tmp_path)
    assert len(state["rejected"]["v2.0.0"]) <= 1000
    assert all(len(entry["detail"]) <= 1000 for entry in state["history"])


# -- 7. a release never narrows the labels silently -------------------------------------------------------


def test_the_original_three_label_release_does_not_replace_the_ten_label_model(tmp_path, github, baked_in_bundle):
    served = _install_baked_in(tmp_path, baked_in_bundle)
    github.publish("model-v1", "mnist-model-1.zip", FOREIGN_RELEASE.read_bytes())
    before_files = _files(tmp_path)
    result = syncer_once(github, tmp_path, "")
    assert (result.returncode, result.stdout.strip()) == (3, "rejected"), result.stderr[-3000:]
    reason = _state(tmp_path)["rejected"]["model-v1"]
    assert "labels [2, 7, 8] do not cover the serving model's [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in reason
    assert "model-v1 rejected" in result.stderr and "do not cover" in result.stderr
    _assert_clean(tmp_path, before_files, served, result.stdout + result.stderr)


# -- 8. digests and versions told honestly -----------------------------------------------------------------


@pytest.mark.parametrize(("digest", "said"), [(None, "states no digest"), ("md5:0123", "algorithm 'md5'")])
def test_an_unchecked_digest_is_logged_and_recorded(tmp_path, github, baked_in_bundle, digest, said):
    _install_baked_in(tmp_path, baked_in_bundle)
    github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", _bundle(tmp_path, baked_in_bundle, "v2.0.0"), digest=digest)
    result = syncer_once(github, tmp_path, "")
    assert (result.returncode, result.stdout.strip()) == (0, "deployed"), result.stderr[-3000:]
    assert said in result.stderr
    (note,) = [h for h in _state(tmp_path)["history"] if h["event"] == "unchecked-digest"]
    assert note["tag"] == "v2.0.0" and said in note["detail"]


def test_a_checked_digest_can_be_required(tmp_path, github, baked_in_bundle):
    served = _install_baked_in(tmp_path, baked_in_bundle)
    github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", _bundle(tmp_path, baked_in_bundle, "v2.0.0"), digest=None)
    result = syncer_once(github, tmp_path, "", require_digest="true")
    assert (result.returncode, result.stdout.strip()) == (3, "rejected"), result.stderr[-3000:]
    assert "a checked digest is required" in _state(tmp_path)["rejected"]["v2.0.0"]
    assert _downloads(github) == 0 and _served(tmp_path) == served


def test_a_bundle_whose_version_is_not_its_tag_is_refused(tmp_path, github, baked_in_bundle):
    served = _install_baked_in(tmp_path, baked_in_bundle)
    github.publish("v9.9.9", "mnist-cnn-v9.9.9.zip", _bundle(tmp_path, baked_in_bundle, "v1.0.0"))
    result = syncer_once(github, tmp_path, "")
    assert (result.returncode, result.stdout.strip()) == (3, "rejected"), result.stderr[-3000:]
    assert "its manifest says version 'v1.0.0', the release tag is 'v9.9.9'" in _state(tmp_path)["rejected"]["v9.9.9"]
    assert _served(tmp_path) == served


def test_a_tag_republished_with_other_bytes_is_reported_once_and_changes_nothing(tmp_path, github, baked_in_bundle):
    _install_baked_in(tmp_path, baked_in_bundle)
    release = github.publish("v2.0.0", "mnist-cnn-v2.0.0.zip", _bundle(tmp_path, baked_in_bundle, "v2.0.0"))
    assert syncer_once(github, tmp_path, "").stdout.strip() == "deployed"
    pin = (tmp_path / "models" / ".pin.json").read_text()
    other = _bundle(tmp_path / "other", baked_in_bundle, "v2.0.0", created="2030-01-01T00:00:00Z")
    github.replace_asset(release, other)
    first = syncer_once(github, tmp_path, "")
    assert (first.returncode, first.stdout.strip()) == (0, "up-to-date"), first.stderr[-3000:]
    assert "release v2.0.0 was republished with other bytes" in first.stderr
    second = syncer_once(github, tmp_path, "")
    assert second.stdout.strip() == "up-to-date" and "republished" not in second.stderr
    events = [h["event"] for h in _state(tmp_path)["history"]]
    assert events.count("republished") == 1
    assert (tmp_path / "models" / ".pin.json").read_text() == pin and _served(tmp_path) == "v2.0.0"
