"""Headless Chromium on the page served through nginx: drawing real digits with pointer events."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import CANVAS, draw, open_page, wait_for_answer
from tests.support.paths import ARTIFACTS, BAKED_IN_VERSION
from tests.support.strokes import place, trace_strokes

pytestmark = pytest.mark.browser

N_DRAWINGS = 200
AMBIGUOUS_DIGIT = 18
"""An MNIST test digit, a 3, that leaves the model unsure once drawn (3: 69 %, 5: 27 %): proportion is not "full"."""
FILL_TOLERANCE = 0.02
"""How far a bar's painted share may stray from its probability: about 6 px of a 320 px track (it is within 1)."""


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
    open_page(page, frontend.url, BAKED_IN_VERSION)
    expect(page.locator('[data-testid="bars"] li')).to_have_count(10)
    expect(page.get_by_test_id("prediction")).to_have_text("–")


def test_drawn_mnist_digits_are_recognised(frontend, page, mnist, capsys):
    rng = np.random.default_rng(2026)
    picks = rng.choice(len(mnist.x_test), size=N_DRAWINGS, replace=False)
    open_page(page, frontend.url, BAKED_IN_VERSION)
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
        draw(page, place(trace_strokes(mnist.x_test[index]), size, left, top))
        wait_for_answer(page)
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


def _painted_shares(page) -> list[tuple[str, float, float]]:
    """(label, probability as the page writes it, share of the bar's track painted in its fill colour) per bar,
    measured on a screenshot of the bars along the middle row of each track."""
    bars = page.get_by_test_id("bars")
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    png = bars.screenshot(path=str(shots / "probability-bars.png"), animations="disabled")
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    origin = bars.bounding_box()
    scale = image.shape[1] / origin["width"]
    shares = []
    for item in bars.locator("li").all():
        label = item.locator("span").first.inner_text()
        probability = float(item.locator("span").last.inner_text().removesuffix("%")) / 100
        colour = item.locator(".fill").evaluate("e => getComputedStyle(e).backgroundColor")
        fill = np.array([int(c) for c in colour.removeprefix("rgb(").removesuffix(")").split(",")])
        track = item.locator(".track").bounding_box()
        row = round((track["y"] + track["height"] / 2 - origin["y"]) * scale)
        left, right = (round((x - origin["x"]) * scale) for x in (track["x"], track["x"] + track["width"]))
        pixels = image[row, left:right]
        shares.append((label, probability, float(np.mean(np.abs(pixels - fill).max(axis=1) <= 40))))
    return shares


def test_probability_bars_are_filled_in_proportion(frontend, page, mnist):
    """What a person sees: each bar painted as far along its track as its probability, not only the text."""
    open_page(page, frontend.url, BAKED_IN_VERSION)
    draw(page, place(trace_strokes(mnist.x_test[AMBIGUOUS_DIGIT]), 180, 50, 50))
    wait_for_answer(page)
    shares = _painted_shares(page)
    best = max(shares, key=lambda bar: bar[1])
    least = min(shares, key=lambda bar: bar[1])
    table = "\n".join(f"  {label}: probability {p:.3f}, painted {share:.3f}" for label, p, share in shares)
    assert 0.3 <= best[1] <= 0.9, f"the drawing should leave the model unsure, to tell proportion from full:\n{table}"
    assert abs(best[2] - best[1]) <= FILL_TOLERANCE, f"the best label's bar is not filled in proportion:\n{table}"
    assert least[2] <= 0.01, f"a near-zero label's bar is not empty:\n{table}"
    for label, probability, share in shares:
        assert abs(share - probability) <= FILL_TOLERANCE, f"bar {label} is not filled in proportion:\n{table}"


def test_clear_undo_and_keyboard(frontend, page, mnist):
    open_page(page, frontend.url, BAKED_IN_VERSION)
    strokes = place(trace_strokes(mnist.x_test[0]), 180, 50, 50)
    draw(page, strokes)
    wait_for_answer(page)
    assert page.get_by_test_id("prediction").inner_text() == "7"
    assert page.get_by_test_id("confidence").inner_text().endswith("%")
    page.get_by_test_id("canvas").focus()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("prediction")).to_have_text("–")
    draw(page, strokes)
    wait_for_answer(page)
    page.keyboard.press("Control+z")  # undo every stroke: the canvas ends empty and no request is sent
    for _ in range(len(strokes) - 1):
        page.get_by_test_id("undo").click()
    wait_for_answer(page)
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
        draw(page, place(trace_strokes(mnist.x_test[0]), 150, 40, 40))
        page.wait_for_selector('[data-testid="prediction"][data-state="failed"]')
        expect(alert).to_contain_text("unavailable")
        assert page.get_by_test_id("retry").is_visible()
        context.close()
