"""Headless Chromium on the page served through nginx: drawing real digits with pointer events."""

from __future__ import annotations

import json

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.support.paths import ARTIFACTS
from tests.support.strokes import place, trace_strokes

pytestmark = pytest.mark.browser

N_DRAWINGS = 200
CANVAS = 280


def _draw(page, strokes) -> None:
    box = page.get_by_test_id("canvas").bounding_box()
    ratio = box["width"] / CANVAS
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * ratio, box["y"] + y * ratio)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * ratio, box["y"] + y * ratio)
        page.mouse.up()


def _open(page, url: str) -> None:
    """Load the page and wait until it has fetched /model: the version starts as a placeholder."""
    page.goto(url)
    expect(page.get_by_test_id("model-version")).to_have_text("v1.0.0")


def _wait_for_answer(page) -> None:
    page.wait_for_selector('[data-testid="prediction"][data-state="done"]', timeout=10_000)


SQUEEZE_ORIGINAL_WAY = """async () => {
  const m = await import('/assets/preprocess.js?v=1.0.0');
  const canvas = document.querySelector('[data-testid="canvas"]');
  const { data, width, height } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const pixels = m.squeezeWholeCanvas(m.inkFromRGBA(data, width, height), width, height);
  const response = await fetch('/predict', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                            body: JSON.stringify(pixels)});
  return (await response.json()).prediction;
}"""


def test_page_shows_model_labels_and_version(frontend, page):
    _open(page, frontend.url)
    expect(page.locator('[data-testid="bars"] li')).to_have_count(10)
    expect(page.get_by_test_id("prediction")).to_have_text("–")


def test_drawn_mnist_digits_are_recognised(frontend, page, mnist, capsys):
    rng = np.random.default_rng(2026)
    picks = rng.choice(len(mnist.x_test), size=N_DRAWINGS, replace=False)
    _open(page, frontend.url)
    correct = squeezed_correct = 0
    mistakes = []
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for n, index in enumerate(picks):
        label = int(mnist.y_test[index])
        size = float(rng.uniform(100, 240))
        left = float(rng.uniform(12, CANVAS - 12 - size))
        top = float(rng.uniform(12, CANVAS - 12 - size))
        page.get_by_test_id("clear").click()
        _draw(page, place(trace_strokes(mnist.x_test[index]), size, left, top))
        _wait_for_answer(page)
        predicted = int(page.get_by_test_id("prediction").inner_text())
        correct += predicted == label
        if predicted != label:
            mistakes.append({"test_index": int(index), "label": label, "predicted": predicted, "size": round(size)})
        squeezed_correct += page.evaluate(SQUEEZE_ORIGINAL_WAY) == label
        if n < 3:
            page.screenshot(path=str(shots / f"drawn-{n}-label-{label}-predicted-{predicted}.png"))
    accuracy, squeezed = correct / N_DRAWINGS, squeezed_correct / N_DRAWINGS
    report = {
        "drawings": N_DRAWINGS,
        "accuracy": accuracy,
        "accuracy_squeezed_original_way": squeezed,
        "mistakes": mistakes,
    }
    (ARTIFACTS / "browser-drawings.json").write_text(json.dumps(report, indent=2))
    with capsys.disabled():
        print(
            f"\n{N_DRAWINGS} drawn digits: {accuracy:.1%} correct with MNIST-style preprocessing,"
            f" {squeezed:.1%} squeezed the original way"
        )
    assert page.console_errors == []
    assert accuracy >= 0.97


def test_clear_undo_and_keyboard(frontend, page, mnist):
    _open(page, frontend.url)
    strokes = place(trace_strokes(mnist.x_test[0]), 180, 50, 50)
    _draw(page, strokes)
    _wait_for_answer(page)
    assert page.get_by_test_id("prediction").inner_text() == "7"
    assert page.get_by_test_id("confidence").inner_text().endswith("%")
    page.get_by_test_id("canvas").focus()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("prediction")).to_have_text("–")
    _draw(page, strokes)
    _wait_for_answer(page)
    page.keyboard.press("Control+z")  # undo every stroke: the canvas ends empty and no request is sent
    for _ in range(len(strokes) - 1):
        page.get_by_test_id("undo").click()
    _wait_for_answer(page)
    expect(page.get_by_test_id("prediction")).to_have_text("–")


def test_api_down_shows_a_message_with_retry(tmp_path, browser, mnist):
    from tests.support.nginx import nginx_frontend
    from tests.support.servers import free_port

    with nginx_frontend(tmp_path, f"127.0.0.1:{free_port()}") as orphan:
        context = browser.new_context()
        page = context.new_page()
        page.goto(orphan.url)
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("unreachable")
        _draw(page, place(trace_strokes(mnist.x_test[0]), 150, 40, 40))
        page.wait_for_selector('[data-testid="prediction"][data-state="failed"]')
        expect(alert).to_contain_text("unavailable")
        assert page.get_by_test_id("retry").is_visible()
        context.close()
