"""The model fetcher of the api pods' init container (the KServe storage-initializer pattern).

``URL + sha256 -> /models``: a size-limited download, digest check, safe
extraction, bundle verification (with a self-test of the model), then an atomic
switch of ``<models>/current``. Any failure leaves the previous model in place.

    python -m digits_api.fetch --url URL --sha256 HEX --models /models [--token-file F]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from digits_api.archive import DEFAULT_LIMITS, ExtractionLimits
from digits_api.bundle import BundleError, ModelBundle, unpack_bundle_zip, verify_directory
from digits_api.model import load_model

log = logging.getLogger("digits_api.fetch")
CURRENT_LINK = "current"


class FetchError(RuntimeError):
    """The bundle could not be fetched or is not the one asked for."""


@dataclass(frozen=True)
class FetchRequest:
    url: str
    sha256: str
    token: str | None = None
    max_bytes: int = 256 * 1024 * 1024
    timeout_s: float = 60.0
    """Per network operation (connect, each read): a stalled server fails the pod instead of hanging it."""


def download(request: FetchRequest, target: Path) -> None:
    """Stream ``request.url`` to ``target``, bounded in size, checking the sha256."""
    parsed = urllib.parse.urlparse(request.url)
    if parsed.scheme not in ("http", "https", "file"):
        raise FetchError(f"unsupported URL scheme {parsed.scheme!r}: use https, http or file")
    http_request = urllib.request.Request(request.url, headers={"Accept": "application/octet-stream"})
    if request.token and parsed.scheme in ("http", "https"):
        # Unredirected: a GitHub asset redirects to storage that must not see the token.
        http_request.add_unredirected_header("Authorization", f"Bearer {request.token}")
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(http_request, timeout=request.timeout_s) as response, open(target, "wb") as sink:
            while chunk := response.read(1024 * 1024):
                size += len(chunk)
                if size > request.max_bytes:
                    raise FetchError(f"download exceeds the limit of {request.max_bytes} bytes")
                digest.update(chunk)
                sink.write(chunk)
    except urllib.error.HTTPError as error:
        raise FetchError(f"GET {request.url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise FetchError(f"GET {request.url}: {getattr(error, 'reason', error)}") from error
    actual = digest.hexdigest()
    if actual != request.sha256.lower():
        raise FetchError(f"sha256 of the download is {actual}, expected {request.sha256}")


def install_bundle(bundle_root: Path, models: Path, name: str) -> Path:
    """Move a verified bundle into ``models/<name>`` and point ``models/current`` at it atomically.

    ``name`` carries the zip's digest: a bundle already installed under it is the same one, and is
    reused rather than replaced under a model that may be serving from it.
    """
    final = models / name
    if final.exists():
        shutil.rmtree(bundle_root)
    else:
        bundle_root.rename(final)
    switch_current(models, final)
    return final


def switch_current(models: Path, target: Path) -> None:
    link = models / CURRENT_LINK
    staged = models / f".{CURRENT_LINK}.{os.getpid()}"
    staged.unlink(missing_ok=True)
    inside = target.resolve().parent == models.resolve()
    staged.symlink_to(target.name if inside else target.resolve())
    staged.replace(link)


def fetch_bundle(request: FetchRequest, models: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> ModelBundle:
    models.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=models) as scratch:
        archive = Path(scratch) / "bundle.zip"
        download(request, archive)
        root = unpack_bundle_zip(archive, Path(scratch) / "unpacked", limits)
        bundle = load_model(verify_directory(root)).bundle
        installed = install_bundle(bundle.root, models, f"{bundle.version}-{request.sha256[:12]}")
    log.info("installed model %s at %s", bundle.version, installed)
    return verify_directory(installed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m digits_api.fetch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("MODEL_URL", ""),
        help="bundle zip to fetch (env MODEL_URL); empty: serve the fallback bundle",
    )
    parser.add_argument(
        "--sha256", default=os.environ.get("MODEL_SHA256", ""), help="expected sha256 of the zip (env MODEL_SHA256)"
    )
    parser.add_argument("--models", type=Path, default=Path(os.environ.get("MODELS_DIR", "/models")))
    parser.add_argument("--fallback", type=Path, help="bundle to link as current when no URL is given")
    parser.add_argument("--token-file", type=Path, help="bearer token for private assets (e.g. a GitHub token)")
    parser.add_argument("--max-bytes", type=int, default=256 * 1024 * 1024)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per network operation")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = _parser().parse_args(argv)
    if not args.url:
        if args.fallback is None:
            print("error: no --url given and no --fallback bundle", file=sys.stderr)
            return 2
        args.models.mkdir(parents=True, exist_ok=True)
        switch_current(args.models, args.fallback.resolve())
        log.info("no model URL pinned: serving the baked-in bundle %s", args.fallback)
        return 0
    if len(args.sha256) != 64:
        print("error: --sha256 must be the 64-character hex digest of the zip", file=sys.stderr)
        return 2
    token = args.token_file.read_text().strip() if args.token_file and args.token_file.exists() else None
    try:
        fetch_bundle(FetchRequest(args.url, args.sha256, token, args.max_bytes, args.timeout), args.models)
    except (FetchError, BundleError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
