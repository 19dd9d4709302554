"""Where things are, for every test."""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("DIGITS_SHARED", REPO.parent / "shared"))
FOREIGN_RELEASE = SHARED / "fixtures" / "azureml-mnist-model-1.zip"
FOREIGN_RELEASE_SHA256 = "c25db9a7850197be8550cc44e00c79edb855b42ba88913f8e24a230638459222"
BAKED_IN_BUNDLE = REPO / "api" / "models" / "default"
BAKED_IN_VERSION: str = json.loads((BAKED_IN_BUNDLE / "manifest.json").read_text())["version"]
"""The version the baked-in bundle serves as (``make model`` sets it)."""
FRONTEND_STATIC = REPO / "frontend" / "static"
ARTIFACTS = Path(os.environ.get("DIGITS_TEST_ARTIFACTS", REPO / "artifacts" / "tests"))
CACHE = Path(os.environ.get("DIGITS_CACHE", Path.home() / ".cache" / "digits"))
"""Build caches kept outside the repository (the Makefile's DIGITS_CACHE)."""
