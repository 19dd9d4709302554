"""A scripted session through the real page: 200 MNIST test digits drawn at varied sizes and places, each
answered (Right, or the digit it was) with the keyboard; then what the insights page and the drift report
show of it. The screenshots land in artifacts/tests/screenshots."""

from __future__ import annotations

import re

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from digits_training.cli import main as training_main
from tests.support.browser import CANVAS, draw, open_page, wait_for_answer
from tests.support.nginx import nginx_frontend
from tests.support.paths import ARTIFACTS, BAKED_IN_BUNDLE, BAKED_IN_VERSION
from tests.support.servers import api_server, wait_for_store, wait_until
from tests.support.strokes import place, trace_strokes

pytestmark = pytest.mark.browser

DRAWINGS = 200


def stored_samples(url: str) -> float:
    found = re.search(r'^digits_input_samples_total\{outcome="stored"\} (\S+)$', httpx.get(f"{url}/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_session_of_200_answered_drawings(tmp_path, browser, mnist):
    store = f"sqlite:///{tmp_path}/feedback.sqlite3"
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(13)
    picks = rng.choice(len(mnist.x_test), size=DRAWINGS, replace=False)
    with (
        api_server(
            tmp_path,
            model_path=str(BAKED_IN_BUNDLE),
            store_url=store,
            feedback_per_minute="100000",
            feedback_burst="1000",
            sample_rate="1",
        ) as api,
        nginx_frontend(tmp_path, api.url.removeprefix("http://"), rate="500r/s", burst="1000") as front,
    ):
        wait_for_store(api.url)
        page = browser.new_page(viewport={"width": 900, "height": 760})
        open_page(page, front.url, BAKED_IN_VERSION)
        right = 0
        for index in picks:
            label = int(mnist.y_test[index])
            size = float(rng.uniform(100, 240))
            left, top = (float(rng.uniform(12, CANVAS - 12 - size)) for _ in range(2))
            draw(page, place(trace_strokes(mnist.x_test[index]), size, left, top))
            wait_for_answer(page)
            predicted = int(page.get_by_test_id("prediction").inner_text())
            right += predicted == label
            page.keyboard.press("y" if predicted == label else str(label))
            expect(page.get_by_test_id("feedback-status")).to_have_attribute("data-state", "saved")
        stats = httpx.get(f"{api.url}/feedback/stats").json()
        assert (stats["total"], stats["correct"]) == (DRAWINGS, right)

        page.goto(f"{front.url}/insights")
        expect(page.get_by_test_id("accuracy-summary")).to_have_text(
            f"{right} of {DRAWINGS} answers said the prediction was right ({right / DRAWINGS:.1%}).".replace("%", " %")
        )
        # Every finished stroke is a prediction: the drawings' inputs, and the partial drawings' before them.
        expect(page.get_by_test_id("drift-summary")).to_contain_text(re.compile(r"The latest (2\d\d|[3-9]\d\d) inputs"))
        page.screenshot(path=str(shots / "insights-after-200-drawings.png"), full_page=True)
        wait_until(lambda: stored_samples(api.url) >= DRAWINGS, 20, "the samples")
        page.close()

    report = ARTIFACTS / "drift-report-after-200-drawings.html"
    assert (
        training_main(["drift-report", "--bundle", str(BAKED_IN_BUNDLE), "--out", str(report), "--store-url", store])
        == 0
    )
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(report.as_uri())
    expect(page.locator("article.feature")).to_have_count(8)
    expect(page.locator("figure img")).to_have_count(DRAWINGS - right)
    page.screenshot(path=str(shots / "drift-report-after-200-drawings.png"), full_page=True)
    page.close()
