"""The documentation site as people see it: its pages' links, and the site in Chromium (locally behind
the project's nginx, and through the kind cluster's NodePort)."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from tests.support.paths import ARTIFACTS, REPO

TEST_SITE = REPO / "build" / "test-site"
"""Where the tests build the site and the static files nginx serves with it."""


def build_site(out: Path) -> None:
    """The site built as ``make site`` builds it (warnings are errors), in a process of its own: autodoc
    imports the training modules with TensorFlow mocked, which must not leak into the test process."""
    result = subprocess.run(
        [sys.executable, "-m", "docs.build", str(out)], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise AssertionError(f"the site did not build:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}")


@dataclass
class ParsedPage:
    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    """The text of each ``<section id=...>``, its subsections' included."""

    @property
    def whole_text(self) -> str:
        """The page's text, runs of white space as one space."""
        return _joined(self.text)

    def section_text(self, section: str) -> str:
        return _joined(self.sections.get(section, []))


def _joined(pieces: list[str]) -> str:
    return " ".join("".join(pieces).split())


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = ParsedPage()
        self.open_sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.page.ids.add(values["id"] or "")
        if tag == "section":
            self.open_sections.append(values.get("id") or "")
        for name in ("href", "src"):
            if values.get(name):
                self.page.links.append(values[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.open_sections:
            self.open_sections.pop()

    def handle_data(self, data: str) -> None:
        self.page.text.append(data)
        for section in self.open_sections:
            self.page.sections.setdefault(section, []).append(data)


def parse(path: Path) -> ParsedPage:
    parser = _PageParser()
    parser.feed(path.read_text())
    return parser.page


def broken_links(site: Path) -> list[str]:
    """Every link and anchor inside the site that leads nowhere: 'page: link (why)'."""
    pages = {path: parse(path) for path in site.rglob("*.html")}
    broken = []
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                continue  # outside the site: the test of requests in the browser covers those
            target = (path.parent / parts.path).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html" and parts.fragment not in pages[target].ids:
                broken.append(f"{path.relative_to(site)}: {link} (no such anchor)")
    return broken


def text_of(page: Path) -> str:
    return parse(page).whole_text


def _other_origins(base: str, requests: list[str]) -> list[str]:
    origin = urlsplit(base)
    return [url for url in requests if urlsplit(url)[:2] != origin[:2] and not url.startswith("data:")]


def _visibly_drawn(image: Any) -> float:
    """The grey-level spread of an element as the screen shows it: 0 for a blank or broken image."""
    from PIL import Image, ImageStat

    shot = Image.open(io.BytesIO(image.screenshot())).convert("L")
    return float(ImageStat.Stat(shot).stddev[0])


def check_site(browser: Any, base: str, screenshots: str) -> dict[str, Any]:
    """The site at ``base`` (ending in /docs/) in Chromium, as a person uses it: the home page, a runbook
    and the model card render with their pictures visibly drawn, the search finds a runbook offline, and
    every request stays on the site's origin. Screenshots go to ARTIFACTS/<screenshots>-*.png."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Any] = {}
    try:
        page.goto(base)
        assert page.locator("h1").first.inner_text() == "Digits"
        assert page.get_by_role("link", name="Model card").first.is_visible()
        page.screenshot(path=ARTIFACTS / f"{screenshots}-home.png")

        page.goto(urljoin(base, "runbooks/pin-and-roll-back.html"))
        heading = page.locator("h1").first
        assert heading.is_visible() and heading.bounding_box()["height"] > 20, heading.inner_text()
        page.screenshot(path=ARTIFACTS / f"{screenshots}-runbook.png")

        page.goto(urljoin(base, "model-card.html"))
        matrix = page.locator("img[alt='Confusion matrix on drawn digits']")
        matrix.scroll_into_view_if_needed()
        assert matrix.evaluate("image => image.complete && image.naturalWidth") > 100
        seen["confusion_matrix_spread"] = _visibly_drawn(matrix)
        assert seen["confusion_matrix_spread"] > 20, "the confusion matrix shows as a blank area"
        page.screenshot(path=ARTIFACTS / f"{screenshots}-model-card.png", full_page=True)

        page.goto(urljoin(base, "architecture.html"))
        diagram = page.locator("img[src$='release.svg']")
        diagram.scroll_into_view_if_needed()
        assert _visibly_drawn(diagram) > 10, "the release diagram shows as a blank area"

        # Search: the sidebar's box, as a person types into it; the index is a file of the site.
        box = page.locator("#searchbox input[name=q]")
        box.fill("rotate token")
        box.press("Enter")
        found = page.locator("#search-results a", has_text="Rotate")
        found.first.wait_for(state="visible", timeout=15_000)
        seen["search_hits"] = page.locator("#search-results ul.search > li").count()
        page.screenshot(path=ARTIFACTS / f"{screenshots}-search.png")
    finally:
        context.close()
    seen["requests"] = len(requests)
    seen["other_origins"] = _other_origins(base, requests)
    seen["errors"] = errors
    return seen
