"""The init container's fetcher: real HTTP downloads, digest checks, safe extraction, atomic switch."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import stat
import threading
from pathlib import Path

import pytest

from digits_api.bundle import BundleError, zip_bundle
from digits_api.fetch import CURRENT_LINK, FetchError, FetchRequest, fetch_bundle, main
from tests.support.archives import write_zip
from tests.support.bundles import copy_bundle


class _Handler(http.server.SimpleHTTPRequestHandler):
    seen_authorization: list[str | None] = []

    def do_GET(self) -> None:
        _Handler.seen_authorization.append(self.headers.get("Authorization"))
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect"))
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen_authorization = []
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def v2_zip(tmp_path, baked_in_bundle, served):
    root, _ = served
    bundle = copy_bundle(baked_in_bundle, tmp_path / "v2", version="v2")
    return zip_bundle(bundle, root / "mnist-cnn-v2.zip")


def _current_version(models: Path) -> str:
    return (models / CURRENT_LINK / "manifest.json").read_text().split('"version": "')[1].split('"')[0]


def test_fetches_verifies_and_switches(tmp_path, served, v2_zip):
    _, url = served
    models = tmp_path / "models"
    bundle = fetch_bundle(FetchRequest(f"{url}/mnist-cnn-v2.zip", _sha(v2_zip), token="s3cret"), models)
    assert bundle.version == "v2"
    assert (models / CURRENT_LINK).resolve() == bundle.root
    assert _current_version(models) == "v2"
    assert _Handler.seen_authorization == ["Bearer s3cret"]
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == []


def test_token_is_not_forwarded_across_redirects(tmp_path, served, v2_zip):
    _, url = served
    fetch_bundle(FetchRequest(f"{url}/redirect/mnist-cnn-v2.zip", _sha(v2_zip), token="s3cret"), tmp_path / "m")
    assert _Handler.seen_authorization == ["Bearer s3cret", None]


def test_file_urls_work(tmp_path, v2_zip):
    bundle = fetch_bundle(FetchRequest(v2_zip.as_uri(), _sha(v2_zip)), tmp_path / "models")
    assert bundle.version == "v2"


@pytest.fixture
def models_with_v1(tmp_path, baked_in_bundle):
    models = tmp_path / "models"
    v1 = copy_bundle(baked_in_bundle, tmp_path / "v1", version="v1")
    fetch_bundle(FetchRequest(zip_bundle(v1, tmp_path / "v1.zip").as_uri(), _sha(tmp_path / "v1.zip")), models)
    return models


def _evil_zip(path: Path, name: str, data: bytes, mode: int | None = None) -> Path:
    return write_zip(path, [(name, data, mode)])


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda d, v2: v2, FetchError, "expected " + "0" * 64),
        (lambda d, v2: _evil_zip(d / "escape.zip", "../../escape.txt", b"x"), BundleError, "escapes"),
        (
            lambda d, v2: _evil_zip(d / "link.zip", "model.tflite", b"/etc/passwd", stat.S_IFLNK | 0o777),
            BundleError,
            "symbolic link",
        ),
        (lambda d, v2: _evil_zip(d / "bomb.zip", "zeros", b"\0" * (32 * 1024 * 1024)), BundleError, "zip bomb"),
    ],
    ids=["wrong-digest", "path-escape", "symlink", "zip-bomb"],
)
def test_refusals_leave_the_previous_model(tmp_path, models_with_v1, v2_zip, make, error, message):
    archive = make(tmp_path, v2_zip)
    digest = "0" * 64 if archive == v2_zip else _sha(archive)
    with pytest.raises(error, match=message):
        fetch_bundle(FetchRequest(archive.as_uri(), digest), models_with_v1)
    assert _current_version(models_with_v1) == "v1"
    assert not (tmp_path / "escape.txt").exists()
    assert sorted(p.name for p in models_with_v1.iterdir() if p.name.startswith(".")) == []


def test_oversized_download_is_refused(tmp_path, models_with_v1, v2_zip):
    with pytest.raises(FetchError, match="exceeds the limit of 1000 bytes"):
        fetch_bundle(FetchRequest(v2_zip.as_uri(), _sha(v2_zip), max_bytes=1000), models_with_v1)
    assert _current_version(models_with_v1) == "v1"


def test_http_errors_are_reported(tmp_path, served):
    _, url = served
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_bundle(FetchRequest(f"{url}/missing.zip", "0" * 64), tmp_path / "models")
    with pytest.raises(FetchError, match="unsupported URL scheme"):
        fetch_bundle(FetchRequest("ftp://example/x.zip", "0" * 64), tmp_path / "models")


def test_cli_falls_back_to_the_baked_in_bundle(tmp_path, baked_in_bundle):
    assert main(["--models", str(tmp_path / "models"), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    assert (tmp_path / "models" / CURRENT_LINK).resolve() == baked_in_bundle.resolve()
    assert main(["--models", str(tmp_path / "m2"), "--url", "file:///x.zip", "--sha256", "abc"]) == 2
    shutil.rmtree(tmp_path / "m2", ignore_errors=True)


def test_fetching_the_installed_bundle_again_reuses_it(tmp_path, v2_zip):
    request = FetchRequest(v2_zip.as_uri(), _sha(v2_zip))
    first = fetch_bundle(request, tmp_path / "models")
    marker = first.root / "manifest.json"
    inode = marker.stat().st_ino
    second = fetch_bundle(request, tmp_path / "models")
    assert second.root == first.root and marker.stat().st_ino == inode  # never replaced under a serving model
    assert (tmp_path / "models" / CURRENT_LINK).resolve() == first.root
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [CURRENT_LINK, first.root.name]
