"""The interactive documentation at /api-docs: Swagger UI from files the API serves itself, no CDN (clusters
without internet access get a working page too)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Route, expect

from tests.support.paths import ARTIFACTS

DOCS = "/api-docs"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class _Assets(HTMLParser):
    """The URLs of what a page loads: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        url = named.get("src") if tag in ("script", "img") else named.get("href") if tag == "link" else None
        if url:
            self.urls.append(url)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def test_docs_page_loads_only_files_the_api_serves(api):
    response = httpx.get(f"{api.url}{DOCS}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = _Assets()
    parser.feed(response.text)
    assert "http://" not in response.text and "https://" not in response.text
    assert not [url for url in parser.urls if url.startswith("//")], parser.urls
    assets = [urljoin(str(response.url), url) for url in parser.urls]
    assert sorted(urlsplit(url).path.rsplit(".", 1)[-1] for url in assets) == ["css", "js", "png"], assets
    for url in assets:
        assert _origin(url) == _origin(api.url), url
        answer = httpx.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["content-type"].startswith(CONTENT_TYPES["." + url.rsplit(".", 1)[-1]]), url
        assert len(answer.content) > 1000, url
    assert "url: '/openapi.json'" in response.text


def test_docs_leave_docs_and_redoc_free(api):
    """/docs/ belongs to the project's documentation site; one interactive page is enough (no ReDoc)."""
    assert httpx.get(f"{api.url}/docs").status_code == 404
    assert httpx.get(f"{api.url}/redoc").status_code == 404
    assert DOCS not in httpx.get(f"{api.url}/openapi.json").json()["paths"]


@pytest.mark.browser
def test_swagger_ui_renders_the_operations_from_the_api_alone(api, page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def same_origin_only(route: Route) -> None:
        # As in a cluster without internet access: whatever another origin would have served never arrives.
        if _origin(route.request.url) == _origin(api.url):
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", same_origin_only)
    page.goto(f"{api.url}{DOCS}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Digit recogniser API")
    predict = page.locator(".opblock-post").filter(has=page.locator('.opblock-summary-path[data-path="/predict"]'))
    expect(predict).to_be_visible()
    box = predict.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    expect(page.locator('.opblock-summary-path[data-path="/predict/batch"]')).to_be_visible()
    page.wait_for_load_state("networkidle")
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "api-docs.png"), full_page=True)

    assert requested, "the page made no request"
    assert [url for url in requested if _origin(url) != _origin(api.url)] == []
    paths = {urlsplit(url).path for url in requested}
    assert {DOCS, "/openapi.json", f"{DOCS}/assets/swagger-ui-bundle.js", f"{DOCS}/assets/swagger-ui.css"} <= paths
    assert page.console_errors == []
