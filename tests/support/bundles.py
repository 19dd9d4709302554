"""Bundles derived from the committed one, for tests, including hostile ones."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from digits_bundle.bundle import list_files, zip_bundle

DEEP_MANIFEST = b"[" * 100_000 + b"]" * 100_000
"""A manifest nested 100,000 levels deep: a recursive JSON parser runs out of stack on it."""


def copy_bundle(source: Path, target: Path, **manifest_changes) -> Path:
    """A copy of a bundle with manifest fields changed (the manifest is not among the digested files)."""
    shutil.copytree(source, target)
    path = target / "manifest.json"
    manifest = json.loads(path.read_text())
    if "labels" in manifest_changes:  # the confusion matrix is per label: drop it for relabelled copies
        manifest["metrics"]["confusion_matrix"] = []
    manifest.update(manifest_changes)
    path.write_text(json.dumps(manifest, indent=2))
    return target


def invalid_utf8_manifest(raw: bytes) -> bytes:
    """The manifest ``raw`` with a byte that is not UTF-8 (0xff) inside one of its strings."""
    return raw.replace(b'"training": {', b'"training": {"note": "caf\xff",', 1)


def zip_with_manifest(source: Path, archive: Path, manifest: bytes) -> Path:
    """A zip of ``source``'s bundle files whose ``manifest.json`` is the raw bytes ``manifest``."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", manifest)
        for name in list_files(source):
            zf.write(source / name, name)
    return archive


def publish_bundle(hub: Any, source: Path, workdir: Path, tag: str, **manifest_changes: Any) -> None:
    """Publish a copy of ``source`` as release ``tag`` on the local GitHub (asset mnist-cnn-<tag>.zip),
    the way the training repository's workflow would."""
    copy = copy_bundle(source, workdir / tag, version=tag, **manifest_changes)
    archive = zip_bundle(copy, workdir / f"mnist-cnn-{tag}.zip")
    hub.publish(tag, archive.name, archive.read_bytes())
