"""Bundles derived from the committed one, for tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


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
