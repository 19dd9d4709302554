"""The init container's fetcher against real servers: downloads, digest checks, safe extraction,
verification in place before the atomic switch, and the hostile servers, URLs and bundles that must
end in one line of error with the previous model still serving."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import yaml

import digits_bundle
from digits_bundle.bundle import BundleError, verify_directory, zip_bundle
from digits_bundle.fetch import (
    CURRENT_LINK,
    FetchError,
    FetchRequest,
    byte_count,
    disk_usage,
    fetch_bundle,
    main,
    redact_url,
)
from digits_bundle.fetch_settings import MODELS_DIR
from digits_bundle.pin_env import MODEL_SHA256, MODEL_URL
from digits_bundle.runtime import load_model
from tests.support.archives import HOSTILE_ENTRIES, write_zip
from tests.support.bundles import DEEP_MANIFEST, copy_bundle, invalid_utf8_manifest, zip_with_manifest
from tests.support.paths import REPO
from tests.support.servers import python_env

TOKEN = "file-s3cr3t-token"
MIB = 1024 * 1024


class _Handler(http.server.SimpleHTTPRequestHandler):
    seen_authorization: list[str | None] = []

    def do_GET(self) -> None:
        _Handler.seen_authorization.append(self.headers.get("Authorization"))
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect"))
            self.end_headers()
            return
        if self.path.startswith("/redirect-to/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect-to/"))
            self.end_headers()
            return
        if self.path == "/echo-auth":  # a hostile server that puts the token in its reply
            self.send_response(401, f"not with {self.headers.get('Authorization')}")
            self.end_headers()
            return
        if self.path.startswith("/unsized/"):  # no Content-Length: the body ends when the connection does
            data = (Path(self.directory) / self.path.removeprefix("/unsized/")).read_bytes()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a fetcher that refuses a download early resets the connection mid-reply


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen_authorization = []
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@contextmanager
def _raw_server(reply: bytes, at_once: int | None = None, byte_every_s: float = 1.0) -> Iterator[str]:
    """A TCP server on loopback answering every connection with the bytes ``reply``, then closing it.

    ``at_once``: send only that many bytes at once, then the rest one byte every ``byte_every_s``.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)  # the request; what it says does not matter
                conn.sendall(reply[:at_once])
                for i in range(len(reply) if at_once is not None else 0):
                    if i >= at_once and not done.wait(byte_every_s):
                        conn.sendall(reply[i : i + 1])
                    if done.is_set():
                        return
            except OSError:
                return  # the client went away

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., str]]:
    with ExitStack() as stack:
        yield lambda *args, **kwargs: stack.enter_context(_raw_server(*args, **kwargs))


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


def test_the_pins_variables_are_the_defaults_and_flags_win(tmp_path, served, v2_zip, monkeypatch):
    _, url = served
    monkeypatch.setenv(MODEL_URL, f"{url}/mnist-cnn-v2.zip")
    monkeypatch.setenv(MODEL_SHA256, _sha(v2_zip))
    monkeypatch.setenv(MODELS_DIR, str(tmp_path / "from-env"))
    assert main([]) == 0
    assert _current_version(tmp_path / "from-env") == "v2"
    assert main(["--models", str(tmp_path / "from-flag")]) == 0
    assert _current_version(tmp_path / "from-flag") == "v2"
    assert main(["--sha256", "0" * 64, "--models", str(tmp_path / "other")]) == 1


def test_token_is_not_forwarded_across_redirects(tmp_path, served, v2_zip):
    _, url = served
    fetch_bundle(FetchRequest(f"{url}/redirect/mnist-cnn-v2.zip", _sha(v2_zip), token="s3cret"), tmp_path / "m")
    assert _Handler.seen_authorization == ["Bearer s3cret", None]


@pytest.mark.parametrize(
    ("location", "message"),
    [("ftp://127.0.0.1:1/x.zip", "unknown url type: ftp"), ("file:///etc/passwd", "is not allowed")],
)
def test_redirects_lead_to_http_only(tmp_path, served, location, message):
    _, url = served
    with pytest.raises(FetchError, match=message):
        fetch_bundle(FetchRequest(f"{url}/redirect-to/{location}", "0" * 64), tmp_path / "models")


def test_scratch_folders_of_killed_runs_are_removed(tmp_path, v2_zip):
    models = tmp_path / "models"
    dead = next(pid for pid in range(4_000_000, 4_100_000) if not Path(f"/proc/{pid}").exists())
    stale = [models / f".fetch-{dead}-killed", models / f".fetch-{os.getpid()}-earlier-container"]
    live = models / f".fetch-{os.getppid()}-running"
    for folder in [*stale, live]:
        (folder / "unpacked").mkdir(parents=True)
    fetch_bundle(FetchRequest(v2_zip.as_uri(), _sha(v2_zip)), models)
    assert [folder.exists() for folder in stale] == [False, False]
    assert live.exists()  # another fetcher may be using it


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


def test_oversized_download_is_refused(tmp_path, served, models_with_v1, v2_zip):
    _, url = served
    with pytest.raises(FetchError, match=r"is \d+ bytes, more than the limit of 1000 bytes"):  # by Content-Length
        fetch_bundle(FetchRequest(v2_zip.as_uri(), _sha(v2_zip), max_bytes=1000), models_with_v1)
    with pytest.raises(FetchError, match="exceeds the limit of 1000 bytes"):  # no Content-Length: as it comes
        fetch_bundle(FetchRequest(f"{url}/unsized/{v2_zip.name}", _sha(v2_zip), max_bytes=1000), models_with_v1)
    assert _current_version(models_with_v1) == "v1"
    assert sorted(p.name for p in models_with_v1.iterdir() if p.name.startswith(".")) == []


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


# The command as the init container runs it, and what every refusal must leave behind.


def _fetch_cli(tmp_path: Path, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m digits_bundle.fetch`` (the code these tests imported) with its own TMPDIR and a token file."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    (tmp_path / "token").write_text(TOKEN + "\n")
    env = python_env(TMPDIR=str(tmp_path / "tmp"))
    env["PYTHONPATH"] = os.pathsep.join([str(Path(digits_bundle.__file__).resolve().parents[1]), env["PYTHONPATH"]])
    command = [sys.executable, "-m", "digits_bundle.fetch", "--models", str(tmp_path / "models"), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)


def _tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` -> a link's target or the entry's type, to compare before and after."""
    entries = {}
    for directory, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(directory, name)
            kind = f"-> {os.readlink(path)}" if path.is_symlink() else ("dir" if path.is_dir() else "file")
            entries[str(path.relative_to(root))] = kind
    return entries


def _assert_refused_cleanly(
    result: subprocess.CompletedProcess[str], tmp_path: Path, before: dict[str, str], reason: str
) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode != 0, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert reason in lines[0]
    assert result.stdout == ""
    assert TOKEN not in result.stdout + result.stderr
    (tmp_path / "token").unlink()
    assert _tree(tmp_path) == before  # current as it was, no partial files, nothing in TMPDIR or elsewhere
    assert verify_directory(tmp_path / "models" / CURRENT_LINK).version == "v1"


@pytest.fixture
def before(tmp_path, models_with_v1) -> Callable[[], dict[str, str]]:
    """Takes the snapshot a refusal must leave unchanged, once the test's inputs are in place."""
    (tmp_path / "tmp").mkdir()
    return lambda: _tree(tmp_path)


def _hostile_source(kind: str, tmp_path: Path, served, raw_server, baked_in_bundle: Path) -> tuple[str, str]:
    """(URL, sha256) of each hostile input; zips are served with their true digest, to be opened."""
    www, url = served
    manifest = (baked_in_bundle / "manifest.json").read_bytes()
    if kind in HOSTILE_ENTRIES:
        archive = write_zip(www / "hostile.zip", HOSTILE_ENTRIES[kind][0])
    elif kind in ("invalid-utf8-manifest", "deep-manifest"):
        raw = invalid_utf8_manifest(manifest) if kind == "invalid-utf8-manifest" else DEEP_MANIFEST
        archive = zip_with_manifest(baked_in_bundle, www / "hostile.zip", raw)
    elif kind == "chunked-body-cut-mid-chunk":
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        return raw_server(head + b"400\r\n" + b"x" * 100) + "/bundle.zip", "0" * 64
    elif kind == "sized-body-cut":
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
        return raw_server(head + b"x" * 100) + "/bundle.zip", "0" * 64
    elif kind == "not-http":
        return raw_server(b"SSH-2.0-OpenSSH_9.6\r\n") + "/bundle.zip", "0" * 64
    elif kind == "malformed-url":
        return "http://[::1/bundle.zip", "0" * 64
    elif kind == "port-out-of-range":
        return "http://127.0.0.1:99999/bundle.zip", "0" * 64
    else:
        raise AssertionError(kind)
    return f"{url}/{archive.name}", _sha(archive)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("invalid-utf8-manifest", "not valid UTF-8"),
        ("deep-manifest", "nested 100000 levels deep"),
        *((kind, reason) for kind, (_, reason) in HOSTILE_ENTRIES.items()),
        ("chunked-body-cut-mid-chunk", "the reply ended early"),
        ("sized-body-cut", "the reply ended after 100 of its 1000 bytes"),
        ("not-http", "not an HTTP reply"),
        ("malformed-url", "malformed URL"),
        ("port-out-of-range", "malformed URL"),
    ],
)
def test_hostile_inputs_end_in_one_line_and_leave_the_previous_model(
    tmp_path, served, raw_server, baked_in_bundle, before, kind, reason
):
    url, digest = _hostile_source(kind, tmp_path, served, raw_server, baked_in_bundle)
    snapshot = before()
    result = _fetch_cli(tmp_path, "--url", url, "--sha256", digest, "--token-file", str(tmp_path / "token"))
    _assert_refused_cleanly(result, tmp_path, snapshot, reason)


# Nothing switches before it is verified.


def _damage(folder: Path, kind: str) -> None:
    if kind == "model-changed":
        with open(folder / "model.tflite", "ab") as model:
            model.write(b"\0")
    elif kind == "model-missing":
        (folder / "model.tflite").unlink()
    elif kind == "manifest-garbage":
        (folder / "manifest.json").write_bytes(b"\xff")
    elif kind == "a-file-not-a-folder":
        shutil.rmtree(folder)
        folder.write_bytes(b"not a bundle")
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("current_points_at_it", [False, True], ids=["current-at-v1", "current-at-damaged"])
@pytest.mark.parametrize("damage", ["model-changed", "model-missing", "manifest-garbage", "a-file-not-a-folder"])
def test_a_damaged_installed_copy_is_replaced_before_current_moves(
    tmp_path, baked_in_bundle, models_with_v1, v2_zip, damage, current_points_at_it
):
    models = models_with_v1
    installed = models / f"v2-{_sha(v2_zip)[:12]}"
    copy_bundle(baked_in_bundle, installed, version="v2")  # as an earlier fetch of the same zip left it
    _damage(installed, damage)
    if current_points_at_it:
        (models / CURRENT_LINK).unlink()
        (models / CURRENT_LINK).symlink_to(installed.name)
    bundle = fetch_bundle(FetchRequest(v2_zip.as_uri(), _sha(v2_zip)), models)
    assert bundle.root == installed and (models / CURRENT_LINK).resolve() == installed
    assert verify_directory(models / CURRENT_LINK).version == "v2"
    assert load_model(verify_directory(models / CURRENT_LINK)).ready
    assert sorted(p.name for p in models.iterdir() if p.name.startswith(".")) == []


# An overall deadline, disk bounds that fit the volume, token files and credentials.


@pytest.mark.parametrize("dripping", ["headers", "body"])
def test_one_deadline_ends_a_download_that_drips(tmp_path, raw_server, before, dripping):
    """A byte a second never trips the per-read timeout (30 s here); the deadline of 2 s ends it."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    url = raw_server(head + b"x" * 100_000, at_once=0 if dripping == "headers" else len(head) + 10)
    snapshot = before()
    started = time.monotonic()
    args = ["--url", f"{url}/b.zip", "--sha256", "0" * 64, "--deadline", "2", "--timeout", "30"]
    result = _fetch_cli(tmp_path, *args, timeout_s=30)
    assert time.monotonic() - started < 15
    _assert_refused_cleanly(result, tmp_path, snapshot, "the download did not finish within 2 s")


def _written_bytes() -> int:
    """Bytes this process has passed to write() so far (all its threads)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def test_an_archive_bigger_than_the_volume_is_refused_before_it_is_extracted(tmp_path, served, models_with_v1, capsys):
    """600 entries of 1 MiB (each under the zip-bomb ratio check) do not fit the 512 MiB emptyDir."""
    www, url = served
    write_zip(www / "big.zip", [(f"f{i:03}", b"\0" * MIB, None) for i in range(600)])
    before_models = _tree(models_with_v1)
    written = _written_bytes()
    assert main(["--models", str(models_with_v1), "--url", f"{url}/big.zip", "--sha256", _sha(www / "big.zip")]) == 1
    written = _written_bytes() - written
    error = capsys.readouterr().err
    print(f"\nbytes written before the 600 x 1 MiB archive was refused: {written}")
    assert "the disk budget of 536870912 bytes leaves" in error and "its entries declare" in error
    assert written < (www / "big.zip").stat().st_size + MIB
    assert _tree(models_with_v1) == before_models


@pytest.mark.parametrize(
    ("room", "reason"),
    [
        (lambda zip_bytes: zip_bytes // 2, "bytes left of the disk budget"),
        (lambda zip_bytes: zip_bytes + 100_000, "the disk budget of"),
    ],
    ids=["zip-does-not-fit", "extraction-does-not-fit"],
)
def test_the_disk_budget_counts_what_the_models_folder_holds(tmp_path, served, v2_zip, before, room, reason):
    _, url = served
    budget = disk_usage(tmp_path / "models") + room(v2_zip.stat().st_size)
    args = ["--url", f"{url}/{v2_zip.name}", "--sha256", _sha(v2_zip), "--token-file", str(tmp_path / "token")]
    snapshot = before()
    result = _fetch_cli(tmp_path, *args, "--max-disk-bytes", str(budget))
    _assert_refused_cleanly(result, tmp_path, snapshot, reason)
    result = _fetch_cli(tmp_path, *args, "--max-disk-bytes", "64Mi")
    assert result.returncode == 0, result.stderr
    assert verify_directory(tmp_path / "models" / CURRENT_LINK).version == "v2"


def test_a_named_token_file_must_exist(tmp_path, served, v2_zip, before):
    _, url = served
    args = ["--url", f"{url}/{v2_zip.name}", "--sha256", _sha(v2_zip)]
    snapshot = before()
    result = _fetch_cli(tmp_path, *args, "--token-file", str(tmp_path / "missing"))
    _assert_refused_cleanly(result, tmp_path, snapshot, f"token file {tmp_path / 'missing'} does not exist")
    assert result.returncode == 2 and _Handler.seen_authorization == []
    result = _fetch_cli(tmp_path, *args, "--optional-token-file", str(tmp_path / "missing"))
    assert result.returncode == 0, result.stderr  # a Secret volume marked optional: no token, public asset
    assert _Handler.seen_authorization == [None]


@pytest.mark.parametrize(
    ("path", "secrets", "reason"),
    [
        ("//user:hunter2@HOST/mnist-cnn-v2.zip", ["hunter2"], "carries credentials"),
        ("//HOST/missing.zip?token=q-s3cr3t&X-Amz-Signature=sig-s3cr3t", ["q-s3cr3t", "sig-s3cr3t"], "HTTP 404"),
        ("//HOST/echo-auth", [], "HTTP 401"),
        ("//user:hunter2@[::1/x.zip?token=q-s3cr3t", ["hunter2", "q-s3cr3t"], "malformed URL"),
    ],
    ids=["userinfo", "query", "server-echoes-the-token", "malformed"],
)
def test_credentials_never_appear_in_messages(tmp_path, served, v2_zip, before, path, secrets, reason):
    _, url = served
    full = "http:" + path.replace("HOST", url.removeprefix("http://"))
    snapshot = before()
    result = _fetch_cli(tmp_path, "--url", full, "--sha256", _sha(v2_zip), "--token-file", str(tmp_path / "token"))
    assert not [secret for secret in secrets if secret in result.stderr + result.stdout]
    _assert_refused_cleanly(result, tmp_path, snapshot, reason)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@h/x.zip?a=1&b#frag", "https://***@h/x.zip?a=***&***"),
        ("http://h/x.zip", "http://h/x.zip"),
        ("http://[::1/x?t=s", "http://[::1/x?t=***"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_the_init_containers_disk_budget_is_its_volumes_size():
    (api,) = [
        doc
        for doc in yaml.safe_load_all((REPO / "kubernetes/base/api.yaml").read_text())
        if doc["kind"] == "Deployment"
    ]
    pod = api["spec"]["template"]["spec"]
    (fetcher,) = [c for c in pod["initContainers"] if c["command"][:3] == ["python3", "-m", "digits_bundle.fetch"]]
    (budget,) = [
        arg.removeprefix("--max-disk-bytes=") for arg in fetcher["command"] if arg.startswith("--max-disk-bytes=")
    ]
    (models,) = [v for v in pod["volumes"] if v["name"] == "models"]
    assert byte_count(budget) == byte_count(models["emptyDir"]["sizeLimit"])
