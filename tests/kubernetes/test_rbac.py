"""The syncer's ServiceAccount may do exactly what ARCHITECTURE.md allows, checked by impersonating it."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from kubernetes import client
from tests.support.manifests import apply_project

SYNCER = "system:serviceaccount:digits:digits-syncer"


@pytest.fixture(scope="module")
def applied(control_plane):
    apply_project(control_plane)
    control_plane.kubectl("create", "namespace", "elsewhere", check=False)
    control_plane.kubectl("create", "deployment", "other", "--image=nginx", "-n", "digits", check=False)
    control_plane.kubectl(
        "create", "secret", "generic", "digits-github-token", "--from-literal=token=x", "-n", "digits", check=False
    )
    return control_plane


ALLOWED = [
    ("get", "deployments.apps/digits-api", "digits"),
    ("list", "deployments.apps/digits-api", "digits"),
    ("watch", "deployments.apps/digits-api", "digits"),
    ("patch", "deployments.apps/digits-api", "digits"),
    ("create", "events", "digits"),
    ("create", "events.events.k8s.io", "digits"),
    ("get", "configmaps/digits-syncer-state", "digits"),
    ("update", "configmaps/digits-syncer-state", "digits"),
    ("get", "leases.coordination.k8s.io/digits-syncer", "digits"),
    ("update", "leases.coordination.k8s.io/digits-syncer", "digits"),
    ("get", "podtemplates/digits-retrain", "digits"),
    ("create", "jobs.batch", "digits"),
    ("list", "jobs.batch", "digits"),
    ("watch", "jobs.batch", "digits"),
]
DENIED = [
    ("get", "secrets/digits-github-token", "digits"),
    ("list", "secrets", "digits"),
    ("patch", "deployments.apps/digits-frontend", "digits"),
    ("patch", "deployments.apps/other", "digits"),
    ("delete", "deployments.apps/digits-api", "digits"),
    ("create", "deployments.apps", "digits"),
    ("update", "configmaps/digits-syncer-config", "digits"),
    ("create", "configmaps", "digits"),
    ("update", "leases.coordination.k8s.io/someone-else", "digits"),
    ("patch", "deployments.apps/digits-api", "elsewhere"),
    ("create", "events", "elsewhere"),
    ("list", "pods", "digits"),
    ("escalate", "roles.rbac.authorization.k8s.io", "digits"),
    ("get", "podtemplates/other", "digits"),
    ("update", "podtemplates/digits-retrain", "digits"),
    ("delete", "jobs.batch", "digits"),
    ("patch", "jobs.batch", "digits"),
    ("create", "jobs.batch", "elsewhere"),
    ("create", "pods", "digits"),
    ("create", "cronjobs.batch", "digits"),
]


@pytest.mark.parametrize(("verb", "resource", "namespace"), ALLOWED)
def test_allowed(applied, verb, resource, namespace):
    result = applied.kubectl("auth", "can-i", verb, resource, "-n", namespace, f"--as={SYNCER}", check=False)
    assert result.stdout.strip() == "yes", f"{verb} {resource}: {result.stdout}{result.stderr}"


@pytest.mark.parametrize(("verb", "resource", "namespace"), DENIED)
def test_denied(applied, verb, resource, namespace):
    result = applied.kubectl("auth", "can-i", verb, resource, "-n", namespace, f"--as={SYNCER}", check=False)
    assert result.stdout.strip() == "no", f"{verb} {resource}: {result.stdout}{result.stderr}"


def test_real_requests_as_the_syncer(applied):
    as_syncer = applied.api_client(impersonate=SYNCER)
    apps, core = client.AppsV1Api(as_syncer), client.CoreV1Api(as_syncer)
    # The pin annotation: the admission policy refuses any other change from the syncer (test_admission_policy).
    patch = {"spec": {"template": {"metadata": {"annotations": {"digits.app/model-version": "rbac-check"}}}}}
    assert apps.patch_namespaced_deployment("digits-api", "digits", patch, dry_run="All").metadata.name == "digits-api"
    with pytest.raises(ApiException) as denied:
        core.read_namespaced_secret("digits-github-token", "digits")
    assert denied.value.status == 403
    with pytest.raises(ApiException) as other:
        apps.patch_namespaced_deployment("digits-frontend", "digits", patch)
    assert other.value.status == 403
