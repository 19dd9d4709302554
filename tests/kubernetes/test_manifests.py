"""The kustomize trees against a real kube-apiserver: accepted, schema-valid, Pod Security restricted."""

from __future__ import annotations

import json

import pytest
import yaml

from digits_bundle.pin_env import MODEL_SHA256, MODEL_URL
from tests.support.manifests import KUSTOMIZATIONS, NAMESPACE, objects, pod_templates, render


@pytest.fixture(scope="module")
def namespace(control_plane):
    """The kind overlay applied for real, so dry runs of every tree meet existing objects too."""
    control_plane.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=render("kubernetes/overlays/kind")
    )
    return next(o for o in objects("kubernetes/base") if o["kind"] == "Namespace")


def _dry_run_apply(plane, manifests: str):
    """Server-side apply, dry run, with strict server-side schema validation."""
    return plane.kubectl(
        "apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-", stdin=manifests, check=False
    )


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_every_manifest_is_accepted_and_schema_valid(control_plane, namespace, path):
    result = _dry_run_apply(control_plane, render(path))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    kinds = {line.split("/")[0] for line in result.stdout.splitlines()}
    assert {
        "deployment.apps",
        "service",
        "role.rbac.authorization.k8s.io",
        "networkpolicy.networking.k8s.io",
        "poddisruptionbudget.policy",
        "lease.coordination.k8s.io",
    } <= kinds


def test_unknown_fields_are_refused_by_strict_validation(control_plane, namespace):
    service = next(o for o in objects("kubernetes/base") if o["kind"] == "Service")
    service["spec"]["colour"] = "blue"
    result = _dry_run_apply(control_plane, yaml.safe_dump(service))
    assert result.returncode != 0 and ".spec.colour: field not declared in schema" in result.stderr


def test_namespace_enforces_pod_security_restricted(namespace):
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_every_pod_template_passes_restricted_admission(control_plane, namespace, path):
    for name, template in pod_templates(path).items():
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"check-{name}", "namespace": NAMESPACE},
            "spec": template["spec"],
        }
        result = control_plane.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_a_privileged_pod_is_rejected(control_plane, namespace):
    template = pod_templates("kubernetes/base")["digits-api"]
    template["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged", "namespace": NAMESPACE},
        "spec": template["spec"],
    }
    result = control_plane.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(pod), check=False)
    assert result.returncode != 0
    assert 'violates PodSecurity "restricted:v1.28": privileged' in result.stderr


def test_api_deployment_shape():
    api = next(
        o
        for o in objects("kubernetes/overlays/kind")
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "digits-api"
    )
    spec = api["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["progressDeadlineSeconds"] > 0
    container = spec["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert container["image"] == "digits-api:dev"
    init = spec["template"]["spec"]["initContainers"][0]
    assert {e["name"] for e in init["env"]} == {MODEL_URL, MODEL_SHA256}
    frontend = next(
        o for o in objects("kubernetes/base") if o["kind"] == "Service" and o["metadata"]["name"] == "digits-frontend"
    )
    assert frontend["spec"]["type"] == "NodePort" and frontend["spec"]["ports"][0]["nodePort"] == 30001
    production = {
        o["metadata"]["name"]: o for o in objects("kubernetes/overlays/production") if o["kind"] == "Deployment"
    }
    for deployment in production.values():
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert "/" in image and not image.endswith(":latest") and ":" in image
