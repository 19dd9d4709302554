"""Headless Chromium (Debian's, driven by Playwright) drawing on the page like a person would."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
CANVAS = 280
"""The canvas' drawing size in CSS pixels; strokes are given in these units."""


def open_page(page: Any, url: str, version: str | None = None) -> None:
    """Load the page and wait until it has fetched /model (the version starts as a placeholder)."""
    page.goto(url)
    version_out = expect(page.get_by_test_id("model-version"))
    if version is None:
        version_out.not_to_have_text("…")
    else:
        version_out.to_have_text(version)


def draw(page: Any, strokes: Any) -> None:
    """Pointer strokes on the canvas, each a sequence of (x, y) in canvas units."""
    box = page.get_by_test_id("canvas").bounding_box()
    ratio = box["width"] / CANVAS
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * ratio, box["y"] + y * ratio)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * ratio, box["y"] + y * ratio)
        page.mouse.up()


def wait_for_answer(page: Any) -> None:
    page.wait_for_selector('[data-testid="prediction"][data-state="done"]', timeout=10_000)
