"""The syncer's ServiceAccount can do its job and nothing else, tried from inside its own pod."""

from __future__ import annotations

import json

# Run by the syncer's Python in its pod, with the pod's own credentials. Writes are dry runs:
# RBAC is checked before a dry run, so a wrongly allowed write still changes nothing.
ATTEMPTS = """
import json
from kubernetes import client, config
config.load_incluster_config()
apps, core = client.AppsV1Api(), client.CoreV1Api()
attempts = {
    "get the api Deployment": lambda: apps.read_namespaced_deployment("digits-api", "digits"),
    "get its state ConfigMap": lambda: core.read_namespaced_config_map("digits-syncer-state", "digits"),
    "get its DigitsModel": lambda: client.CustomObjectsApi().get_namespaced_custom_object(
        "digits.app", "v1alpha1", "digits", "digitsmodels", "digits"),
    "change its DigitsModel's spec": lambda: client.CustomObjectsApi().patch_namespaced_custom_object(
        "digits.app", "v1alpha1", "digits", "digitsmodels", "digits", {"spec": {"suspend": True}}, dry_run="All"),
    "list Secrets": lambda: core.list_namespaced_secret("digits"),
    "read the GitHub token": lambda: core.read_namespaced_secret("digits-github-token", "digits"),
    "patch the frontend": lambda: apps.patch_namespaced_deployment(
        "digits-frontend", "digits", {"spec": {"replicas": 5}}, dry_run="All"),
    "delete the api": lambda: apps.delete_namespaced_deployment("digits-api", "digits", dry_run="All"),
    "create a Pod": lambda: core.create_namespaced_pod("digits", {"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "x"}, "spec": {"containers": [{"name": "x", "image": "x"}]}}, dry_run="All"),
    "list Pods in kube-system": lambda: core.list_namespaced_pod("kube-system"),
    "edit its own Role": lambda: client.RbacAuthorizationV1Api().patch_namespaced_role(
        "digits-syncer", "digits", {"rules": []}, dry_run="All"),
}
results = {}
for name, attempt in attempts.items():
    try:
        attempt()
        results[name] = 200
    except client.ApiException as error:
        results[name] = error.status
print(json.dumps(results))
"""


def test_the_syncer_service_account_is_limited_to_its_job(system):
    output = system.kubectl("exec", "deployment/digits-syncer", "-c", "syncer", "--", "python3", "-c", ATTEMPTS)
    results = json.loads(output.strip().splitlines()[-1])
    assert results.pop("get the api Deployment") == 200
    assert results.pop("get its state ConfigMap") == 200
    assert results.pop("get its DigitsModel") == 200
    assert results == dict.fromkeys(results, 403), results
