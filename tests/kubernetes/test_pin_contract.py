"""The pin's names in the manifests are the ones ``digits_syncer.pin_manifest`` writes and reads (YAML
cannot import them): a rename on one side alone fails here."""

from __future__ import annotations

from typing import Any

import yaml

from digits_bundle.pin_env import MODEL_SHA256, MODEL_URL
from digits_syncer.pin_manifest import FETCH_CONTAINER, VERSION_ANNOTATION, parse_pin, render_pin
from digits_syncer.settings import RolloutSettings
from digits_syncer.state import Pin
from tests.support.paths import REPO

BASE = REPO / "kubernetes/base"


def _api_deployment() -> dict[str, Any]:
    documents = yaml.safe_load_all((BASE / "api.yaml").read_text())
    return next(d for d in documents if d and d["kind"] == "Deployment")


def test_the_api_deployment_fetches_with_the_pins_names():
    deployment = _api_deployment()
    assert deployment["metadata"]["name"] == RolloutSettings.model_fields["deployment"].default
    init = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["initContainers"]}
    assert list(init) == [FETCH_CONTAINER]
    assert init[FETCH_CONTAINER]["command"][:3] == ["python3", "-m", "digits_bundle.fetch"]
    assert [e["name"] for e in init[FETCH_CONTAINER]["env"]] == [MODEL_URL, MODEL_SHA256]
    assert parse_pin(deployment) == Pin(version="")  # the version comes from the pin alone


def test_the_committed_pin_is_what_the_syncer_renders_for_the_baked_in_bundle():
    text = (BASE / "model-pin.yaml").read_text()
    assert text == render_pin(Pin("baked-in"), RolloutSettings.model_fields["deployment"].default)
    pin = yaml.safe_load(text)
    template = pin["spec"]["template"]
    assert list(template["metadata"]["annotations"]) == [VERSION_ANNOTATION]
    [container] = template["spec"]["initContainers"]
    assert container["name"] == FETCH_CONTAINER
    assert [e["name"] for e in container["env"]] == [MODEL_URL, MODEL_SHA256]
    assert parse_pin(pin) == Pin("baked-in")
