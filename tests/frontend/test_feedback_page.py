"""The page asks whether it was right, in headless Chromium through nginx and the real API: by mouse,
keyboard and touch; what a person sees when an answer is saved, and when it cannot be, with nothing lost."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import draw, open_page, wait_for_answer
from tests.support.nginx import nginx_frontend
from tests.support.paths import ARTIFACTS, BAKED_IN_VERSION
from tests.support.servers import api_server, free_port, wait_for_store
from tests.support.strokes import place, trace_strokes

pytestmark = pytest.mark.browser

SAVED_BACKGROUND = (0xE3, 0xF4, 0xE8)
FAILED_BACKGROUND = (0xFD, 0xE8, 0xE8)


@pytest.fixture
def store_ready(api):
    """The module's api has connected to its store (it does so in the background, after it is ready)."""
    wait_for_store(api.url)


def stats(api_url: str) -> dict[str, Any]:
    response = httpx.get(f"{api_url}/feedback/stats")
    assert response.status_code == 200, response.text
    return response.json()


def confusion(api_url: str, given: int, predicted: int) -> int:
    body = stats(api_url)
    if given not in body["labels"] or predicted not in body["labels"]:
        return 0
    return body["confusion"][body["labels"].index(given)][body["labels"].index(predicted)]


def share_of_colour(locator, colour: tuple[int, int, int], name: str) -> float:
    """The share of the element's pixels, as the screen shows them, within a few levels of ``colour``."""
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    png = locator.screenshot(path=str(shots / name), animations="disabled")
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return float(np.mean(np.abs(pixels - np.array(colour)).max(axis=2) <= 6))


def draw_digit(page, mnist, index: int = 0) -> int:
    """Draws MNIST test digit ``index`` (a 7 by default), waits for the answer, returns the prediction."""
    draw(page, place(trace_strokes(mnist.x_test[index]), 180, 50, 50))
    wait_for_answer(page)
    return int(page.get_by_test_id("prediction").inner_text())


def test_a_correction_by_mouse_is_saved_and_shown_as_saved(frontend, api, store_ready, page, mnist):
    open_page(page, frontend.url, BAKED_IN_VERSION)
    expect(page.get_by_test_id("feedback")).to_be_hidden()
    predicted = draw_digit(page, mnist)
    assert predicted == 7
    expect(page.get_by_test_id("feedback-right")).to_be_visible()
    for digit in range(10):
        expect(page.get_by_test_id(f"feedback-digit-{digit}")).to_be_enabled()
    before = confusion(api.url, 1, 7)
    page.get_by_test_id("feedback-digit-1").click()
    status = page.get_by_test_id("feedback-status")
    expect(status).to_have_text("Saved: a 1. Thank you! Draw the next digit.")
    expect(page.get_by_test_id("feedback-digit-4")).to_be_disabled()
    # What a person sees: the message on its green band, not only text in the DOM.
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "feedback-saved-page.png"), full_page=True)
    assert share_of_colour(status, SAVED_BACKGROUND, "feedback-status-saved.png") > 0.5
    assert confusion(api.url, 1, 7) == before + 1
    # The next stroke starts the next digit: the answered drawing is cleared, not drawn over.
    draw(page, [[(140, 60), (140, 220)]])
    wait_for_answer(page)
    expect(page.get_by_test_id("feedback-status")).to_have_text("")
    assert page.console_errors == []


def test_keyboard_only(frontend, api, store_ready, page, mnist):
    open_page(page, frontend.url, BAKED_IN_VERSION)
    draw_digit(page, mnist)
    before_right, before_three = confusion(api.url, 7, 7), confusion(api.url, 3, 7)
    page.get_by_test_id("canvas").focus()
    page.keyboard.press("y")
    expect(page.get_by_test_id("feedback-status")).to_have_text("Saved: right. Thank you! Draw the next digit.")
    page.keyboard.press("3")  # one answer per drawing: a second key changes nothing
    assert confusion(api.url, 7, 7) == before_right + 1
    page.keyboard.press("Escape")
    draw_digit(page, mnist)
    page.get_by_test_id("feedback-right").focus()
    for _ in range(4):  # Right, then the digit buttons 0, 1, 2, 3 in tab order
        page.keyboard.press("Tab")
    expect(page.get_by_test_id("feedback-digit-3")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("feedback-status")).to_contain_text("Saved: a 3")
    assert confusion(api.url, 3, 7) == before_three + 1


def test_touch(frontend, api, store_ready, browser, mnist):
    context = browser.new_context(has_touch=True, is_mobile=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        open_page(page, frontend.url, BAKED_IN_VERSION)
        draw_digit(page, mnist)
        before = confusion(api.url, 7, 7)
        page.get_by_test_id("feedback-right").tap()
        expect(page.get_by_test_id("feedback-status")).to_contain_text("Saved: right")
        assert confusion(api.url, 7, 7) == before + 1
    finally:
        context.close()


def test_database_down_says_so_and_a_retry_saves_the_answer_once(tmp_path, browser, postgres, baked_in_bundle, mnist):
    env = {"DIGITS_STORE_PASSWORD_FILE": str(postgres.password_file), "DIGITS_STORE_CONNECT_TIMEOUT_S": "1"}
    try:
        with (
            api_server(tmp_path, model_path=str(baked_in_bundle), store_url=postgres.url, env_extra=env) as server,
            nginx_frontend(tmp_path, server.url.removeprefix("http://")) as front,
        ):
            wait_for_store(server.url)
            before = stats(server.url)["total"]
            page = browser.new_page()
            open_page(page, front.url, BAKED_IN_VERSION)
            draw_digit(page, mnist)
            postgres.stop()
            page.get_by_test_id("feedback-digit-2").click()
            status = page.get_by_test_id("feedback-status")
            expect(status).to_have_text("Not saved: the service cannot store answers right now.", timeout=15_000)
            assert share_of_colour(status, FAILED_BACKGROUND, "feedback-status-failed.png") > 0.5
            retry = page.get_by_test_id("feedback-retry")
            expect(retry).to_be_visible()
            assert int(page.get_by_test_id("prediction").inner_text()) == 7, "predictions are unaffected"
            postgres.start()
            wait_for_store(server.url, 40)
            retry.click()
            expect(status).to_have_text("Saved: a 2. Thank you! Draw the next digit.")
            retry_is_hidden = retry.is_hidden()
            after = stats(server.url)["total"]
            page.close()
    finally:
        postgres.start()
    assert retry_is_hidden
    assert after == before + 1


def test_api_down_says_so_and_a_retry_after_it_is_back_saves_once(tmp_path, browser, baked_in_bundle, mnist):
    port = free_port()
    store = f"sqlite:///{tmp_path}/feedback.sqlite3"
    with api_server(tmp_path, model_path=str(baked_in_bundle), store_url=store, port=port) as first:
        front_context = nginx_frontend(tmp_path, first.url.removeprefix("http://"))
        front = front_context.__enter__()
        page = browser.new_page()
        open_page(page, front.url, BAKED_IN_VERSION)
        draw_digit(page, mnist)
    try:
        page.get_by_test_id("feedback-right").click()
        status = page.get_by_test_id("feedback-status")
        expect(status).to_have_text("Not saved: the service cannot store answers right now.", timeout=15_000)
        with api_server(tmp_path, model_path=str(baked_in_bundle), store_url=store, port=port) as second:
            wait_for_store(second.url)
            page.get_by_test_id("feedback-retry").click()
            expect(status).to_have_text("Saved: right. Thank you! Draw the next digit.")
            assert stats(second.url)["total"] == 1
    finally:
        page.close()
        front_context.__exit__(None, None, None)
