"""The documentation site in Chromium behind the project's nginx, under the page's Content-Security-Policy:
it renders with its pictures, its search works with nothing but the site, and no request leaves it."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.support.docs_site import TEST_SITE, check_site
from tests.support.nginx import nginx_frontend
from tests.support.paths import FRONTEND_STATIC
from tests.support.servers import api_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def static_root(site):
    """The page's files with the freshly built site as docs/, as `make site` leaves them (copies: the api's
    static files follow no link out of their folder)."""
    root = TEST_SITE / "static"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(
        FRONTEND_STATIC, root, ignore=lambda folder, names: ["docs"] if Path(folder) == FRONTEND_STATIC else []
    )
    shutil.copytree(site, root / "docs")
    return root


@pytest.fixture(scope="module")
def docs_frontend(tmp_path_factory, static_root):
    """nginx serving them (no api behind it: the site needs none)."""
    with nginx_frontend(tmp_path_factory.mktemp("nginx"), "127.0.0.1:9", static_root=static_root) as server:
        yield server


def test_the_site_renders_searches_offline_and_stays_on_its_origin(browser, docs_frontend):
    seen = check_site(browser, f"{docs_frontend.url}/docs/", "docs-local")
    assert seen["errors"] == [], seen["errors"]
    assert seen["other_origins"] == [], seen["other_origins"]
    assert seen["search_hits"] >= 1


def test_nginx_serves_the_site_with_the_pages_headers_and_caches_its_assets(docs_frontend):
    with httpx.Client(base_url=docs_frontend.url) as client:
        redirect = client.get("/docs")
        assert redirect.status_code == 301 and redirect.headers["location"] == "/docs/"
        home = client.get("/docs/")
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        assert "script-src 'self'" in home.headers["content-security-policy"]
        assert home.headers["cache-control"] == "no-cache"
        stylesheet = next(link for link in home.text.split('"') if link.startswith("_static/") and ".css?v=" in link)
        asset = client.get(f"/docs/{stylesheet}")
        assert asset.status_code == 200 and asset.headers["cache-control"] == "max-age=31536000"
        missing = client.get("/docs/no-such-page.html")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


def test_make_run_serves_the_site_too(tmp_path, static_root):
    """`make run` has no nginx: the api serves the static files, the site among them."""
    with api_server(tmp_path, static_dir=str(static_root)) as api:
        home = httpx.get(f"{api.url}/docs/", timeout=10)
        assert home.status_code == 200 and "<h1>Digits" in home.text
        card = httpx.get(f"{api.url}/docs/model-card.html", timeout=10)
        assert card.status_code == 200 and "Confusion matrix on drawn digits" in card.text
        assert "Dutch public-utility maps" in card.text and "held-out digits of 44 people" in card.text
