"""The pin: the model bundle the api pods serve, as a strategic-merge patch of the api Deployment.

One author for this contract: the syncer commits it as ``kubernetes/base/model-pin.yaml``
(``render_pin``), sends the same document to the cluster (``kube.KubernetesApplier.apply``) and reads
it back from the Deployment (``parse_pin``); the api's init container reads the env it sets, whose
names ``digits_bundle.pin_env`` owns. ``kubernetes/base/api.yaml`` spells the names in YAML, kept equal
to these by ``tests/kubernetes/test_pin_contract.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from digits_bundle.pin_env import MODEL_SHA256, MODEL_URL
from digits_syncer.state import Pin

VERSION_ANNOTATION = "digits.app/model-version"
"""The pod template's annotation naming the model version (a change of it starts a rollout)."""
FETCH_CONTAINER = "fetch-model"
"""The api pods' init container that fetches the pinned bundle (``python -m digits_bundle.fetch``)."""
PIN_HEADER = "# The pinned model bundle. Empty URL: the api image's baked-in bundle.\n"

__all__ = ["FETCH_CONTAINER", "MODEL_SHA256", "MODEL_URL", "VERSION_ANNOTATION", "parse_pin", "pin_patch", "render_pin"]


def pin_patch(pin: Pin, deployment: str) -> dict[str, Any]:
    """The strategic-merge patch of the api Deployment named ``deployment`` that pins ``pin``: the
    version annotation, and the bundle's URL and sha256 in the fetch container's env."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment},
        "spec": {
            "template": {
                "metadata": {"annotations": {VERSION_ANNOTATION: pin.version}},
                "spec": {
                    "initContainers": [
                        {
                            "name": FETCH_CONTAINER,
                            "env": [{"name": MODEL_URL, "value": pin.url}, {"name": MODEL_SHA256, "value": pin.sha256}],
                        }
                    ]
                },
            }
        },
    }


def parse_pin(deployment: Mapping[str, Any]) -> Pin:
    """The pin a Deployment (as the API serves it, camelCase, or as ``pin_patch`` builds it) carries;
    a part that is missing reads as empty (the baked-in bundle, no version)."""
    template = (deployment.get("spec") or {}).get("template") or {}
    version = ((template.get("metadata") or {}).get("annotations") or {}).get(VERSION_ANNOTATION) or ""
    env: dict[str, str] = {}
    for container in (template.get("spec") or {}).get("initContainers") or []:
        if container.get("name") == FETCH_CONTAINER:
            env = {e.get("name"): e.get("value") or "" for e in container.get("env") or []}
    return Pin(version=version, url=env.get(MODEL_URL, ""), sha256=env.get(MODEL_SHA256, ""))


def render_pin(pin: Pin, deployment: str) -> str:
    """The file the syncer commits with each rollout, so re-applying the manifests keeps the model:
    ``pin_patch`` as YAML under a header comment. Keys are plain, every value is double-quoted (with
    every control and non-ASCII character escaped), so no value can end the line or the string early."""
    body: str = yaml.dump(pin_patch(pin, deployment), Dumper=_PinDumper, sort_keys=False, width=1 << 30)
    return PIN_HEADER + body


class _PinDumper(yaml.SafeDumper):
    """Block style with sequences indented under their key, as ``kubernetes/`` writes them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def represent_mapping(self, tag: str, mapping: Any, flow_style: bool | None = None) -> yaml.MappingNode:
        node = super().represent_mapping(tag, mapping, flow_style)
        for key, _ in node.value:
            key.style = None  # keys are the contract's own names: plain
        return node


def _double_quoted(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')


_PinDumper.add_representer(str, _double_quoted)
