from __future__ import annotations

import shutil

import pytest

from tests.support.docs_site import TEST_SITE, build_site


@pytest.fixture(scope="session")
def site():
    """The documentation site, built as `make site` builds it (warnings are errors), where nginx's workers
    may read it (pytest's own temporary folders are the test user's alone)."""
    out = TEST_SITE / "docs"
    shutil.rmtree(TEST_SITE, ignore_errors=True)
    build_site(out)
    return out
