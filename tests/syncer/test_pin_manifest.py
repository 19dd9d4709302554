"""The pin contract: one document, rendered as the committed file, sent as the patch, parsed back."""

from __future__ import annotations

import pytest
import yaml

from digits_syncer.pin_manifest import FETCH_CONTAINER, MODEL_SHA256, MODEL_URL, parse_pin, pin_patch, render_pin
from digits_syncer.state import Pin

PINS = [
    Pin("baked-in"),
    Pin("v2.0.0", "https://example.test/models/mnist-cnn-v2.0.0.zip", "ab" * 32),
    Pin('v2\n        evil: "x"\r\n\x1b[31m\u2028\\' + "x" * 300, "https://h/a b#c: d", ""),
]


@pytest.mark.parametrize("pin", PINS, ids=["baked-in", "released", "hostile"])
def test_a_pin_survives_the_patch_and_the_file(pin):
    assert parse_pin(pin_patch(pin, "digits-api")) == pin
    rendered = render_pin(pin, "digits-api\n  namespace: kube-system")
    assert yaml.safe_load(rendered) == pin_patch(pin, "digits-api\n  namespace: kube-system")
    assert parse_pin(yaml.safe_load(rendered)) == pin


@pytest.mark.parametrize(
    ("deployment", "pin"),
    [
        ({}, Pin("")),
        ({"spec": {"template": {"metadata": {"annotations": None}, "spec": {"initContainers": None}}}}, Pin("")),
        (
            {
                "spec": {
                    "template": {
                        "metadata": {"annotations": {"other": "x", "digits.app/model-version": "v1"}},
                        "spec": {
                            "initContainers": [
                                {"name": "other", "env": [{"name": MODEL_URL, "value": "https://wrong"}]},
                                {
                                    "name": FETCH_CONTAINER,
                                    "env": [{"name": MODEL_URL}, {"name": MODEL_SHA256, "value": "f" * 64}],
                                },
                            ]
                        },
                    }
                }
            },
            Pin("v1", "", "f" * 64),
        ),
    ],
    ids=["empty", "nulls", "other-containers-and-a-value-less-env"],
)
def test_parse_reads_what_is_there_and_empty_for_what_is_not(deployment, pin):
    assert parse_pin(deployment) == pin
