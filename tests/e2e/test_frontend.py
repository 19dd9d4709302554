"""A person at the NodePort: the page, a drawing, and nothing of the API beyond /predict and /model."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.support.browser import CANVAS, draw, open_page, wait_for_answer
from tests.support.docs_site import check_site
from tests.support.kind import NODE_PORT_URL
from tests.support.nginx import UNREACHABLE_API_ROUTES
from tests.support.strokes import place, trace_strokes

DRAWINGS = 10


def test_a_drawn_digit_is_recognised_through_the_nodeport(system, page, mnist, capsys):
    rng = np.random.default_rng(7)
    open_page(page, NODE_PORT_URL)
    correct = 0
    for index in rng.choice(len(mnist.x_test), size=DRAWINGS, replace=False):
        size = float(rng.uniform(140, 220))
        page.get_by_test_id("clear").click()
        draw(page, place(trace_strokes(mnist.x_test[index]), size, (CANVAS - size) / 2, (CANVAS - size) / 2))
        wait_for_answer(page)
        correct += int(page.get_by_test_id("prediction").inner_text()) == int(mnist.y_test[index])
    with capsys.disabled():
        print(f"\nthrough the NodePort: {correct}/{DRAWINGS} drawn digits recognised")
    assert correct >= DRAWINGS - 1
    assert page.console_errors == []


def test_predict_and_model_are_proxied(system, mnist):
    pixels = mnist.x_test[0].reshape(-1).tolist()
    response = httpx.post(f"{NODE_PORT_URL}/predict", json=pixels, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["prediction"] == int(mnist.y_test[0])
    assert httpx.get(f"{NODE_PORT_URL}/model", timeout=10).json()["labels"] == list(range(10))


@pytest.mark.parametrize(("method", "path"), UNREACHABLE_API_ROUTES)
def test_no_other_api_route_is_reachable(system, method, path):
    response = httpx.request(method, f"{NODE_PORT_URL}{path}", json={"instances": [[0] * 784]}, timeout=10)
    assert response.status_code in (403, 404, 405)
    assert "digits_http_requests_total" not in response.text and "openapi" not in response.text


def test_the_api_service_is_cluster_internal(system):
    assert system.kubectl("get", "service", "digits-api", "-o", "jsonpath={.spec.type}") == "ClusterIP"
    assert system.kubectl("get", "service", "digits-frontend", "-o", "jsonpath={.spec.ports[0].nodePort}") == "30001"


def test_the_documentation_site_is_served_through_the_nodeport(system, browser):
    """The site the frontend image carries, as a person reaches it in the cluster: rendered, searchable
    offline, and every request to the NodePort's own origin."""
    seen = check_site(browser, f"{NODE_PORT_URL}/docs/", "docs-nodeport")
    assert seen["errors"] == [], seen["errors"]
    assert seen["other_origins"] == [], seen["other_origins"]
    assert seen["search_hits"] >= 1
