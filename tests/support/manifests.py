"""Rendering the project's kustomize trees and reading their pod templates."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from tests.support.cluster_versions import K8S_BIN
from tests.support.paths import REPO

KUSTOMIZATIONS = ["kubernetes/base", "kubernetes/overlays/kind", "kubernetes/overlays/production"]
NAMESPACE = "digits"


def render(path: str) -> str:
    return subprocess.run(
        [str(K8S_BIN / "kubectl"), "kustomize", str(REPO / path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def objects(path: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(render(path)) if doc]


def pod_templates(path: str) -> dict[str, dict[str, Any]]:
    """Each workload's pod template (a PodTemplate's too: the syncer runs it as a Job), with the volumes a
    StatefulSet's controller adds for its claims."""
    templates = {}
    for obj in objects(path):
        if obj["kind"] == "PodTemplate":
            templates[obj["metadata"]["name"]] = obj["template"]
            continue
        if obj["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            continue
        name, template = obj["metadata"]["name"], obj["spec"]["template"]
        for claim in obj["spec"].get("volumeClaimTemplates", []):
            claim_name = f"{claim['metadata']['name']}-{name}-0"
            volume = {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}}
            template["spec"].setdefault("volumes", []).append(volume)
        templates[name] = template
    return templates


def apply_project(plane: Any, overlay: str = "kubernetes/overlays/kind") -> None:
    """The CRDs (established first: the overlay holds a ``DigitsModel``) and the admission policies, then
    ``overlay``, applied server-side."""
    plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=render("kubernetes/crds"))
    plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=render("kubernetes/policies"))
    plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/digitsmodels.digits.app")
    plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=render(overlay))
