"""Python and JS agree on the page's preprocessing: the JS tests' fixture is the training module's output now,
and the JS module reproduces it (node's test runner, run from here too)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.frontend.preprocess_fixture import FIXTURE, render_fixture
from tests.support.paths import REPO


def test_fixture_is_what_the_training_module_computes():
    assert FIXTURE.read_text() == render_fixture(), "run: python -m tests.frontend.preprocess_fixture"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_js_module_reproduces_the_fixture():
    done = subprocess.run(
        ["node", "--test", "tests/preprocess.test.mjs"],
        cwd=REPO / "frontend",
        capture_output=True,
        text=True,
        timeout=60,  # a few seconds of work; generous for a loaded machine
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
