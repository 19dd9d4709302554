"""Bundles derived from the committed one, for tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from digits_api.bundle import zip_bundle


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


def publish_bundle(hub: Any, source: Path, workdir: Path, tag: str, **manifest_changes: Any) -> None:
    """Publish a copy of ``source`` as release ``tag`` on the local GitHub (asset mnist-cnn-<tag>.zip),
    the way the training repository's workflow would."""
    copy = copy_bundle(source, workdir / tag, version=tag, **manifest_changes)
    archive = zip_bundle(copy, workdir / f"mnist-cnn-{tag}.zip")
    hub.publish(tag, archive.name, archive.read_bytes())
