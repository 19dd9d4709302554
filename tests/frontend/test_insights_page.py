"""The insights page through nginx in headless Chromium: live accuracy, the confusion matrix and drift, as
/feedback/stats and /drift report them, drawn so a person can read them."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.feedback import answer
from tests.support.paths import ARTIFACTS, BAKED_IN_VERSION
from tests.support.servers import wait_for_store
from tests.support.shifted_digits import tiny_thick

pytestmark = pytest.mark.browser

LIVE_BLUE = (0x2F, 0x6F, 0xDF)
REFERENCE_GREY = (0x9A, 0xA3, 0xB5)


def colour_share(png: bytes, colour: tuple[int, int, int]) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return float(np.mean(np.abs(pixels - np.array(colour)).max(axis=2) <= 6))


def test_insights_show_live_accuracy_confusion_and_drift(frontend, api, browser, mnist):
    wait_for_store(api.url)
    for n, (label, predicted) in enumerate([(7, 7)] * 6 + [(1, 7)] * 2 + [(3, 3)] * 3):
        body = answer(label=label, predicted=predicted, client=f"browser-insights-{n // 5:06d}")
        assert httpx.post(f"{api.url}/feedback", json=body).status_code == 201
    shifted = tiny_thick(mnist.x_test[:64]).reshape(-1, 784).tolist()
    assert httpx.post(f"{api.url}/predict/batch", json={"instances": shifted}).status_code == 200

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{frontend.url}/insights")
    expect(page.get_by_test_id("updated")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("accuracy-summary")).to_have_text(
        "9 of 11 answers said the prediction was right (81.8 %)."
    )
    row = page.locator(f'[data-testid="versions"] tr[data-version="{BAKED_IN_VERSION}"]')
    expect(row.locator("td").nth(1)).to_have_text("11")
    expect(row.locator("td").nth(3)).to_contain_text("81.8 %")
    cell = page.locator('[data-testid="confusion"] td[data-given="1"][data-predicted="7"]')
    expect(cell).to_have_text("2")
    expect(page.get_by_test_id("drift-summary")).to_contain_text("The latest 64 inputs against the 60,000 mnist train")
    features = page.locator('[data-testid="drift"] article')
    expect(features).to_have_count(8)
    expect(page.locator('article[data-feature="box_height"]')).to_have_attribute("data-status", "significant")
    expect(page.locator('article[data-feature="box_height"] .badge')).to_contain_text("significant · PSI")

    # What a person sees: both distributions drawn, the training one in grey and the latest in blue.
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "insights.png"), full_page=True)
    histogram = page.locator('article[data-feature="box_height"] .histogram').screenshot(animations="disabled")
    assert colour_share(histogram, LIVE_BLUE) > 0.02
    assert colour_share(histogram, REFERENCE_GREY) > 0.02
    assert page.get_by_role("alert").is_hidden()
    page.close()


def test_the_drawing_page_links_to_the_insights(frontend, page):
    page.goto(frontend.url)
    page.get_by_test_id("insights-link").click()
    expect(page).to_have_url(f"{frontend.url}/insights")
    expect(page.get_by_role("heading", level=1)).to_have_text("How the model is doing")
