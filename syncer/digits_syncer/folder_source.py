"""Releases from a local folder, for local mode without GitHub (``make retrain``): ``<folder>/<tag>/<asset>``.

Each subfolder is a release named by its tag, published when its newest file was written; its files are its
assets. The syncer validates tags and asset names as it does GitHub's, and the digest stated here is the
file's own, so a file changed after the listing is refused when it is read. Subfolders whose name starts with
a dot are skipped: a writer builds a release under ``.<tag>`` and renames it into place when complete.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from digits_syncer.ports import AssetError, SourceError
from digits_syncer.releases import Asset, Release, ReleaseList
from digits_syncer.state import clip

MAX_RELEASES = 100
"""The newest this many releases are listed, as GitHub lists its first page."""
MAX_ASSETS = 20
"""Assets listed per release."""
_CHUNK = 1024 * 1024


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stable_id(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


class FolderReleaseSource:
    def __init__(self, folder: Path, max_download_bytes: int) -> None:
        self._folder = folder
        self._max_bytes = max_download_bytes
        self._files: dict[int, Path] = {}

    def list_releases(self) -> ReleaseList:
        try:
            folders = [p for p in self._folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
            releases = [self._release(p) for p in folders]
        except OSError as error:
            raise SourceError(clip(f"the release folder {self._folder} cannot be read: {error}", 300)) from error
        releases.sort(key=lambda r: r.published_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return ReleaseList(releases[:MAX_RELEASES], changed=True)

    def _release(self, folder: Path) -> Release:
        files = sorted((p for p in folder.iterdir() if p.is_file() and not p.is_symlink()), key=lambda p: p.name)
        files = files[:MAX_ASSETS]
        assets = []
        newest = folder.stat().st_mtime if not files else 0.0
        for path in files:
            asset_id = _stable_id(f"{folder.name}/{path.name}")
            self._files[asset_id] = path
            info = path.stat()
            newest = max(newest, info.st_mtime)
            assets.append(
                Asset(
                    id=asset_id,
                    name=path.name,
                    size=info.st_size,
                    url=path.resolve().as_uri(),
                    digest=f"sha256:{_sha256(path)}" if info.st_size <= self._max_bytes else None,
                )
            )
        published = datetime.fromtimestamp(newest, UTC)
        return Release(
            id=_stable_id(folder.name),
            tag=folder.name,
            name=folder.name,
            draft=False,
            prerelease=False,
            published_at=published,
            created_at=published,
            assets=tuple(assets),
        )

    def download(self, asset: Asset, target: Path) -> str:
        path = self._files.get(asset.id)
        if path is None:
            raise SourceError(f"asset {asset.id} is not in the last listing")
        try:
            with path.open("rb") as source, target.open("wb") as copy:
                copied = 0
                while chunk := source.read(_CHUNK):
                    copied += len(chunk)
                    if copied > self._max_bytes:
                        raise AssetError(f"the asset is more than the limit of {self._max_bytes} bytes")
                    copy.write(chunk)
        except OSError as error:
            target.unlink(missing_ok=True)
            raise SourceError(clip(f"asset {asset.id} cannot be read: {error}", 300)) from error
        except AssetError:
            target.unlink(missing_ok=True)
            raise
        actual = _sha256(target)
        if asset.digest and asset.digest != f"sha256:{actual}":
            target.unlink(missing_ok=True)
            raise AssetError(f"the asset changed after it was listed (sha256 {actual})")
        return actual
