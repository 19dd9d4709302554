"""The model fetcher of the api pods' init container (the KServe storage-initializer pattern).

``URL + sha256 -> /models``: a download bounded in size, in time (one deadline for the
whole download, as well as a timeout per network operation) and in disk space (the zip
and its extraction, with what the folder already holds), a digest check, safe extraction,
bundle verification with a self-test of the model, then an atomic switch of
``<models>/current``. ``current`` only ever moves to a folder verified in place. Any
failure leaves the previous model in place, removes what this run wrote, and ends the
command with one line on stderr that never shows a token or a URL's credentials.

    python -m digits_bundle.fetch --url URL --sha256 HEX --models /models
        [--token-file F | --optional-token-file F] [--max-bytes N] [--max-disk-bytes N]
        [--timeout S] [--deadline S]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from digits_bundle.archive import DEFAULT_LIMITS, ArchiveTooLarge, ExtractionLimits, disk_bytes
from digits_bundle.bounded_sink import BoundedSink, DeadlinePassed, TooLarge, declared_length
from digits_bundle.bundle import BundleError, ModelBundle, unpack_bundle_zip, verify_directory
from digits_bundle.fetch_settings import MODELS_DIR, FetchEnvironment
from digits_bundle.manifest import Manifest
from digits_bundle.pin_env import MODEL_SHA256, MODEL_URL
from digits_bundle.runtime import load_model
from digits_bundle.token_file import TokenFileError, read_token

log = logging.getLogger("digits_bundle.fetch")
CURRENT_LINK = "current"
SCRATCH_PREFIX = ".fetch-"
"""What a run writes before it is verified lives in ``<models>/.fetch-<pid>-*``, removed when it ends."""
MIB = 1024 * 1024
MAX_ERROR_CHARS = 1000
_CHUNK = 1024 * 1024
_SCHEMES = ("http", "https", "file")
_ACTIVE_SCRATCH: set[Path] = set()  # this process's scratch folders, which a concurrent call must not remove


class FetchError(RuntimeError):
    """The bundle could not be fetched or is not the one asked for."""


class ConfigurationError(FetchError):
    """The command was given something unusable (a malformed digest, neither a URL nor a fallback)."""


@dataclass(frozen=True)
class FetchRequest:
    url: str
    sha256: str
    token: str | None = None
    max_bytes: int = 256 * MIB
    """Largest download, in bytes."""
    timeout_s: float = 60.0
    """Per network operation (connect, each read): a stalled server fails the pod instead of hanging it."""
    deadline_s: float = 120.0
    """The whole download, in seconds: a server that sends a byte a second never trips ``timeout_s``.
    Shorter than the api Deployment's progressDeadlineSeconds (180), which fails the rollout anyway."""
    max_disk_bytes: int | None = None
    """Space the models folder may take in all, in bytes: what it already holds, the zip and its
    extraction. The init container sets its emptyDir's sizeLimit; None: only the other limits."""


def redact_url(url: str) -> str:
    """``url`` as it may be shown: userinfo and query values replaced by ``***``, no fragment.

    Works on malformed URLs too, which is where error messages need it most.
    """
    shown = re.sub(r"(?<=//)[^/?#]*@", "***@", url, count=1).partition("#")[0]
    base, question, query = shown.partition("?")
    if not question:
        return base
    items = (f"{name}=***" if equals else "***" for name, equals, _ in (p.partition("=") for p in query.split("&")))
    return f"{base}?{'&'.join(items)}"


def _url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that may be credentials: its userinfo and its query."""
    userinfo = re.search(r"//([^/?#]*)@", url)
    query = url.partition("?")[2].partition("#")[0]
    return [s for s in (userinfo[1] if userinfo else "", query) if s]


def parse_source(url: str) -> urllib.parse.SplitResult:
    """Check that ``url`` is one the fetcher can download; raises ``FetchError`` saying why not."""
    shown = redact_url(url)
    if not url.isprintable() or any(char.isspace() for char in url):
        raise FetchError(f"malformed URL {shown!r}: it holds spaces or control characters")
    try:
        source = urllib.parse.urlsplit(url)
        source.port  # noqa: B018 - raises ValueError for a port that is not a number 0..65535
    except ValueError as error:
        raise FetchError(f"malformed URL {shown!r}: {error}") from error
    if source.scheme not in _SCHEMES:
        raise FetchError(f"unsupported URL scheme {source.scheme!r}: use https, http or file")
    if "@" in source.netloc:
        raise FetchError(f"URL {shown} carries credentials: give a token with --token-file instead")
    if source.scheme != "file" and not source.hostname:
        raise FetchError(f"malformed URL {shown!r}: no host")
    return source


class _Deadline:
    """One deadline for a whole download: when it passes, every socket opened for it is shut down.

    A timeout per read never fires on a server that sends a byte a second, in its headers or its
    body; shutting the socket down ends the blocked read at once, whatever it was reading.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        """When it passes, as a ``time.monotonic()`` value."""
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut_down(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedConnection:
    """Mixed into an ``http.client`` connection: its socket is shut down when the deadline passes."""

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._deadline.watch(self.sock)  # type: ignore[attr-defined]


class _WatchedHTTPConnection(_WatchedConnection, http.client.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, http.client.HTTPSConnection):
    pass


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPConnection, req, deadline=self._deadline)  # type: ignore[arg-type]


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPSConnection, req, deadline=self._deadline)  # type: ignore[arg-type]


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """Only what a bundle download needs: http and https watched by ``deadline``, file, proxies from
    the environment and redirects (urllib follows them to http, https and ftp; ftp has no handler here)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        _DeadlineHTTPHandler(deadline),
        _DeadlineHTTPSHandler(deadline),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.FileHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, http.client.BadStatusLine):
        return f"not an HTTP reply: {str(error)[:80]!r}"
    if isinstance(error, http.client.IncompleteRead):
        return f"the reply ended early ({error!r})"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}"


def _receive(response: Any, target: Path, limit: int, deadline: _Deadline) -> BoundedSink:
    """The body, written to ``target`` (created) within ``limit`` bytes until it ends or ``deadline`` passes."""
    with open(target, "xb") as file:
        sink = BoundedSink(file, limit=limit, deadline=deadline.at)
        try:
            # read1 returns what has arrived, so the deadline is also checked between reads.
            while not deadline.expired and (chunk := response.read1(_CHUNK)):
                sink.check()
                sink.write(chunk)
        except DeadlinePassed:
            deadline.expire()  # the clock passed it a moment before the timer fired
    return sink


def download(request: FetchRequest, target: Path, space_left: int | None = None) -> None:
    """Stream ``request.url`` to ``target`` (created), bounded in size and time, checking the sha256.

    ``space_left``: bytes the disk budget leaves; the smaller of it and ``request.max_bytes`` bounds
    the download (its Content-Length up front, the bytes received as they come).
    """
    source = parse_source(request.url)
    shown = redact_url(request.url)
    if space_left is not None and space_left < request.max_bytes:
        limit, what = space_left, f"the {space_left} bytes left of the disk budget"
    else:
        limit, what = request.max_bytes, f"the limit of {request.max_bytes} bytes"
    http_request = urllib.request.Request(request.url, headers={"Accept": "application/octet-stream"})
    if request.token and source.scheme in ("http", "https"):
        # Unredirected: a GitHub asset redirects to storage that must not see the token.
        http_request.add_unredirected_header("Authorization", f"Bearer {request.token}")
    with _Deadline(request.deadline_s) as deadline:
        opener = _opener(deadline)
        try:
            with opener.open(http_request, timeout=min(request.timeout_s, request.deadline_s)) as response:
                declared = declared_length(response.headers.get("Content-Length"))
                if declared is not None and declared > limit:
                    raise FetchError(f"GET {shown}: the download is {declared} bytes, more than {what}")
                sink = _receive(response, target, limit, deadline)
                if declared is not None and sink.size < declared and not deadline.expired:
                    raise FetchError(f"GET {shown}: the reply ended after {sink.size} of its {declared} bytes")
        except TooLarge as error:
            raise FetchError(f"GET {shown}: the download exceeds {what}") from error
        except urllib.error.HTTPError as error:
            error.close()
            raise FetchError(f"GET {shown}: HTTP {error.code} {error.reason}") from error
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
            if not deadline.expired:
                raise FetchError(f"GET {shown}: {_describe(error)}") from error
        if deadline.expired:  # a shut-down socket may also look like the end of the body
            raise FetchError(f"GET {shown}: the download did not finish within {request.deadline_s:g} s")
    if sink.sha256 != request.sha256.lower():
        raise FetchError(f"sha256 of the download is {sink.sha256}, expected {request.sha256}")


def _install_copy(final: Path, manifest: Manifest) -> ModelBundle | None:
    """The folder already installed under ``final``, when it verifies and holds ``manifest``."""
    if not final.exists() and not final.is_symlink():
        return None
    if final.is_symlink() or not final.is_dir():
        log.warning("replacing %s: not a folder", final)
        return None
    try:
        installed = verify_directory(final)
    except BundleError as error:
        log.warning("replacing %s, which fails verification: %s", final, error)
        return None
    if installed.manifest != manifest:
        log.warning("replacing %s: its manifest is not the downloaded bundle's", final)
        return None
    return installed


def install_bundle(bundle: ModelBundle, models: Path, name: str, scratch: Path) -> ModelBundle:
    """Move the verified ``bundle`` to ``models/<name>`` and point ``models/current`` at it atomically.

    ``name`` carries the zip's digest, so a folder already there under it should be the same bundle:
    it is reused (a model may be serving from it) only when it verifies and holds the same manifest,
    and is otherwise moved into ``scratch`` (removed with it) and replaced. Either way ``current``
    moves only after the folder it will point at has been verified where it is.
    """
    final = models / name
    installed = _install_copy(final, bundle.manifest)
    if installed is None:
        if final.exists() or final.is_symlink():
            final.rename(scratch / "replaced")
        bundle.root.rename(final)
        installed = verify_directory(final)
    switch_current(models, final)
    return installed


def switch_current(models: Path, target: Path) -> None:
    link = models / CURRENT_LINK
    staged = models / f".{CURRENT_LINK}.{os.getpid()}"
    staged.unlink(missing_ok=True)
    inside = target.resolve().parent == models.resolve()
    staged.symlink_to(target.name if inside else target.resolve())
    staged.replace(link)


def disk_usage(folder: Path) -> int:
    """Bytes the entries under ``folder`` take on its volume (allocated blocks; links not followed)."""
    total = 0
    for directory, folders, files in os.walk(folder):
        for name in folders + files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except OSError:
                continue  # removed meanwhile
    return total


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_scratch(models: Path) -> None:
    """Remove the scratch folders of runs that were killed (SIGKILL, a node restart) before cleaning up.

    A container's fetcher is often pid 1 each time it runs, so a folder carrying this process's pid
    is stale unless this process is using it.
    """
    for entry in models.glob(f"{SCRATCH_PREFIX}*"):
        match = re.fullmatch(rf"{re.escape(SCRATCH_PREFIX)}(\d+)-.*", entry.name)
        if match is None or entry in _ACTIVE_SCRATCH:
            continue
        pid = int(match[1])
        if pid == os.getpid() or not _alive(pid):
            log.info("removing %s, left by an earlier run", entry)
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def _scratch(models: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=models) as name:
        path = Path(name)
        _ACTIVE_SCRATCH.add(path)
        try:
            yield path
        finally:
            _ACTIVE_SCRATCH.discard(path)


def _space_left(models: Path, max_disk_bytes: int | None) -> int | None:
    if max_disk_bytes is None:
        return None
    used = disk_usage(models)
    left = min(max_disk_bytes - used, shutil.disk_usage(models).free)
    if left <= 0:
        raise FetchError(f"{models} already takes {used} bytes of the disk budget of {max_disk_bytes} bytes")
    return left


def fetch_bundle(request: FetchRequest, models: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> ModelBundle:
    """Fetch, verify and install the bundle ``request`` names; returns it as installed.

    Raises ``FetchError`` (download, disk) or ``BundleError`` (the bundle); either way ``current``
    and the folders it may point at are as they were, and this run's scratch folder is gone.
    """
    try:
        models.mkdir(parents=True, exist_ok=True)
        remove_stale_scratch(models)
        space_left = _space_left(models, request.max_disk_bytes)
        with _scratch(models) as scratch:
            archive = scratch / "bundle.zip"
            download(request, archive, space_left)
            if space_left is not None:
                unpacked_left = space_left - disk_bytes(archive.stat().st_size)
                limits = replace(limits, max_total_bytes=min(limits.max_total_bytes, unpacked_left))
            try:
                root = unpack_bundle_zip(archive, scratch / "unpacked", limits)
            except BundleError as error:
                if isinstance(error.__cause__, ArchiveTooLarge) and space_left is not None:
                    raise FetchError(
                        f"{error} (the disk budget of {request.max_disk_bytes} bytes leaves"
                        f" {max(limits.max_total_bytes, 0)} for the unpacked bundle)"
                    ) from error
                raise
            archive.unlink()
            bundle = load_model(verify_directory(root)).bundle
            installed = install_bundle(bundle, models, f"{bundle.version}-{request.sha256[:12].lower()}", scratch)
    except OSError as error:
        raise FetchError(f"{models}: {error.strerror or error}") from error
    log.info("installed model %s at %s", installed.version, installed.root)
    return installed


def one_line(message: str, url: str, token: str | None) -> str:
    """``message`` as one printable line, without the token or the URL's userinfo and query."""
    if url:
        message = message.replace(url, redact_url(url))
    for secret in sorted([*_url_secrets(url), *([token] if token else [])], key=len, reverse=True):
        message = message.replace(secret, "***")
    printable = "".join(char if char.isprintable() else " " for char in message)
    return " ".join(printable.split())[:MAX_ERROR_CHARS]


def byte_count(text: str) -> int:
    """A size in bytes, plain or with a Kubernetes suffix: ``512Mi`` reads as the emptyDir's sizeLimit."""
    units = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|k|M|G)?", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1048576 or 512Mi")
    return int(match[1]) * units[match[2] or ""]


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _parser() -> argparse.ArgumentParser:
    defaults = FetchRequest("", "")
    environment = FetchEnvironment()
    parser = argparse.ArgumentParser(
        prog="python -m digits_bundle.fetch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url",
        default=environment.url,
        help=f"bundle zip to fetch (env {MODEL_URL}); empty: serve the fallback bundle",
    )
    parser.add_argument("--sha256", default=environment.sha256, help=f"expected sha256 of the zip (env {MODEL_SHA256})")
    parser.add_argument(
        "--models", type=Path, default=environment.models, help=f"the models folder (env {MODELS_DIR}, else /models)"
    )
    parser.add_argument("--fallback", type=Path, help="bundle to link as current when no URL is given")
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token-file", type=Path, help="bearer token for private assets (e.g. a GitHub token); must exist"
    )
    tokens.add_argument(
        "--optional-token-file",
        type=Path,
        help="as --token-file, but a missing file means no token (a Secret volume marked optional)",
    )
    parser.add_argument(
        "--max-bytes", type=byte_count, default=defaults.max_bytes, help="largest download, in bytes (or 256Mi)"
    )
    parser.add_argument(
        "--max-disk-bytes",
        type=byte_count,
        default=512 * MIB,
        help="space the models folder may take in all, what it holds already included: its volume's size"
        " (default 512Mi, the api pods' emptyDir sizeLimit)",
    )
    parser.add_argument(
        "--timeout", type=seconds, default=defaults.timeout_s, help="seconds per network operation (connect, read)"
    )
    parser.add_argument("--deadline", type=seconds, default=defaults.deadline_s, help="seconds for the whole download")
    return parser


def _run(args: argparse.Namespace, token: str | None) -> None:
    if not args.url:
        if args.fallback is None:
            raise ConfigurationError("no --url given and no --fallback bundle")
        fallback = verify_directory(args.fallback).root
        args.models.mkdir(parents=True, exist_ok=True)
        switch_current(args.models, fallback)
        log.info("no model URL pinned: serving the baked-in bundle %s", fallback)
        return
    if not re.fullmatch(r"[0-9a-fA-F]{64}", args.sha256):
        raise ConfigurationError("--sha256 must be the 64-character hex digest of the zip")
    request = FetchRequest(
        args.url,
        args.sha256,
        token,
        max_bytes=args.max_bytes,
        timeout_s=args.timeout,
        deadline_s=args.deadline,
        max_disk_bytes=args.max_disk_bytes,
    )
    fetch_bundle(request, args.models)


def main(argv: list[str] | None = None) -> int:
    """Exit 0 once ``current`` is in place, 2 for unusable arguments, 1 for any other failure:
    always one line on stderr, never a traceback for a hostile server, URL or bundle."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = _parser().parse_args(argv)
    token = None
    try:
        token = read_token(args.token_file or args.optional_token_file, optional=args.token_file is None)
        _run(args, token)
    except (FetchError, OSError, http.client.HTTPException, ValueError) as error:  # TokenFileError too
        print(f"error: {one_line(str(error), args.url, token)}", file=sys.stderr)
        return 2 if isinstance(error, ConfigurationError | TokenFileError) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
