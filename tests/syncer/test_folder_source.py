"""Releases from a local folder (``make retrain``): listed newest first, read within bounds, checked against
the digest stated when listed; folders being written and links are not releases."""

from __future__ import annotations

import hashlib
import os

import pytest

from digits_syncer.folder_source import FolderReleaseSource
from digits_syncer.ports import AssetError, SourceError


def _release(root, tag: str, data: bytes, mtime: float):
    folder = root / tag
    folder.mkdir()
    asset = folder / f"mnist-cnn-{tag}.zip"
    asset.write_bytes(data)
    os.utime(asset, (mtime, mtime))
    return asset


def test_releases_are_listed_newest_first_with_their_digests(tmp_path):
    _release(tmp_path, "retrain-1", b"one", 1_000_000)
    _release(tmp_path, "retrain-2", b"two!", 2_000_000)
    (tmp_path / ".retrain-3").mkdir()  # still being written
    (tmp_path / "retrain-2" / "link.zip").symlink_to(tmp_path / "retrain-1" / "mnist-cnn-retrain-1.zip")
    listed = FolderReleaseSource(tmp_path, max_download_bytes=100).list_releases().releases
    assert [r.tag for r in listed] == ["retrain-2", "retrain-1"]
    (asset,) = listed[0].assets
    assert asset.name == "mnist-cnn-retrain-2.zip" and asset.size == 4
    assert asset.digest == f"sha256:{hashlib.sha256(b'two!').hexdigest()}"
    assert listed[0].published_at is not None and listed[0].published_at.timestamp() == 2_000_000


def test_an_asset_is_copied_and_checked(tmp_path):
    root = tmp_path / "releases"
    root.mkdir()
    path = _release(root, "retrain-1", b"bundle bytes", 1_000_000)
    source = FolderReleaseSource(root, max_download_bytes=100)
    (asset,) = source.list_releases().releases[0].assets
    target = tmp_path / "download.zip"
    assert source.download(asset, target) == hashlib.sha256(b"bundle bytes").hexdigest()
    assert target.read_bytes() == b"bundle bytes"

    path.write_bytes(b"other bytes")  # changed after it was listed
    with pytest.raises(AssetError, match="changed after it was listed"):
        source.download(asset, target)
    assert not target.exists()
    path.write_bytes(b"x" * 101)
    with pytest.raises(AssetError, match="more than the limit of 100 bytes"):
        source.download(asset, target)
    assert not target.exists()
    path.unlink()
    with pytest.raises(SourceError, match="cannot be read"):
        source.download(asset, target)


def test_a_missing_folder_is_a_temporary_error(tmp_path):
    with pytest.raises(SourceError, match="cannot be read"):
        FolderReleaseSource(tmp_path / "absent", max_download_bytes=100).list_releases()
