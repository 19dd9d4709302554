from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.paths import BAKED_IN_BUNDLE
from tests.support.servers import api_server


@pytest.fixture(scope="session")
def mnist():
    from digits_bundle.mnist import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def baked_in_bundle() -> Path:
    return BAKED_IN_BUNDLE


@pytest.fixture(scope="module")
def api(tmp_path_factory, baked_in_bundle):
    """The real API process serving the baked-in bundle."""
    with api_server(tmp_path_factory.mktemp("api"), model_path=str(baked_in_bundle), max_batch="64") as server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (Debian's binaries, initdb in a temporary folder), password over TCP."""
    from tests.support.postgres import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    """A real kube-apiserver + etcd + controller manager on loopback (see tests/support/control_plane.py)."""
    from tests.support.control_plane import control_plane as start

    with start(tmp_path_factory.mktemp("control-plane")) as plane:
        print(f"\ncontrol plane ready in {plane.started_in_s:.1f} s")
        yield plane


@pytest.fixture
def github(tmp_path):
    """The local GitHub-compatible server; every response it sent must match GitHub's OpenAPI description."""
    from tests.support.github_server import fake_github

    with fake_github(tmp_path / "github") as hub:
        yield hub
    assert hub.schema_errors == [], "the local GitHub strayed from GitHub's OpenAPI description:\n" + "\n".join(
        hub.schema_errors
    )


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 900, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()
