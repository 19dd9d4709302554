"""The kustomize trees against a real kube-apiserver: accepted, schema-valid, Pod Security restricted."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from digits_bundle.pin_env import MODEL_SHA256, MODEL_URL
from tests.support.manifests import KUSTOMIZATIONS, NAMESPACE, apply_project, objects, pod_templates, render


@pytest.fixture(scope="module")
def namespace(control_plane):
    """The kind overlay applied for real, so dry runs of every tree meet existing objects too."""
    apply_project(control_plane)
    return next(o for o in objects("kubernetes/base") if o["kind"] == "Namespace")


def _dry_run_apply(plane, manifests: str):
    """Server-side apply, dry run, with strict server-side schema validation."""
    return plane.kubectl(
        "apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-", stdin=manifests, check=False
    )


@pytest.mark.parametrize("path", KUSTOMIZATIONS)
def test_every_manifest_is_accepted_and_schema_valid(control_plane, namespace, path):
    if path != "kubernetes/overlays/kind":
        # A StatefulSet's claim templates are immutable and the kind overlay's storage class is its own:
        # the other trees are checked as a first apply of the store, the rest over the applied objects.
        control_plane.kubectl("-n", NAMESPACE, "delete", "statefulset", "--all")
    result = _dry_run_apply(control_plane, render(path))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    kinds = {line.split("/")[0] for line in result.stdout.splitlines()}
    assert {
        "deployment.apps",
        "statefulset.apps",
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
    assert "replicas" not in spec, "the HorizontalPodAutoscaler owns the count; applying one would reset it"
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


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _secret_mounts(template: dict[str, Any], secret: str) -> list[str]:
    """Where each container of ``template`` mounts the Secret ``secret``."""
    volumes = {v["name"] for v in template["spec"]["volumes"] if v.get("secret", {}).get("secretName") == secret}
    return [
        mount["mountPath"]
        for container in template["spec"]["containers"]
        for mount in container.get("volumeMounts", [])
        if mount["name"] in volumes
    ]


@pytest.mark.parametrize("path", ["kubernetes/overlays/kind", "kubernetes/overlays/production"])
def test_the_store_is_postgresql_on_a_volume_reached_only_by_its_readers(path):
    rendered = objects(path)
    (postgres,) = [o for o in rendered if o["kind"] == "StatefulSet"]
    spec = postgres["spec"]
    assert spec["replicas"] == 1 and spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    template = spec["template"]
    container = template["spec"]["containers"][0]
    assert container["readinessProbe"]["exec"]["command"][-1] == "ready"
    assert container["resources"]["limits"] and container["resources"]["requests"]
    data = next(m for m in container["volumeMounts"] if m["name"] == "data")
    assert _env(container)["PGDATA"].startswith(data["mountPath"] + "/")
    (password_dir,) = _secret_mounts(template, "digits-postgres")
    assert _env(container)["DIGITS_POSTGRES_PASSWORD_FILE"] == f"{password_dir}/password"
    # The password is made in the cluster (automation/store-secret.sh), never rendered from git.
    assert not [o for o in rendered if o["kind"] == "Secret"]

    api = next(o for o in rendered if o["kind"] == "Deployment" and o["metadata"]["name"] == "digits-api")
    api_env = _env(api["spec"]["template"]["spec"]["containers"][0])
    service = next(o for o in rendered if o["kind"] == "Service" and o["metadata"]["name"] == "digits-postgres")
    assert api_env["DIGITS_STORE_URL"].startswith(f"postgresql+psycopg://digits@{service['metadata']['name']}:5432/")
    assert ":" not in api_env["DIGITS_STORE_URL"].split("//")[1].split("@")[0], "no password in the URL"
    (api_password_dir,) = _secret_mounts(api["spec"]["template"], "digits-postgres")
    assert api_env["DIGITS_STORE_PASSWORD_FILE"] == f"{api_password_dir}/password"
    # the training Job reads the same store, the same way
    retrain = next(o for o in rendered if o["kind"] == "PodTemplate" and o["metadata"]["name"] == "digits-retrain")
    train_env = _env(retrain["template"]["spec"]["containers"][0])
    assert train_env["DIGITS_RETRAIN_STORE_URL"] == api_env["DIGITS_STORE_URL"]
    (train_password_dir,) = _secret_mounts(retrain["template"], "digits-postgres")
    assert train_env["DIGITS_STORE_PASSWORD_FILE"] == f"{train_password_dir}/password"

    (policy,) = [
        o
        for o in rendered
        if o["kind"] == "NetworkPolicy"
        and o["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "digits-postgres"
    ]
    (rule,) = policy["spec"]["ingress"]
    readers = ["digits-api", "digits-syncer", "digits-retrain"]  # feedback; held-out drawings and counts; training
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}} for name in readers]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]


@pytest.mark.parametrize("path", ["kubernetes/overlays/kind", "kubernetes/overlays/production"])
def test_only_the_syncer_mounts_the_repository_write_token(path):
    """The api pods' init container reads bundles with its own read-only credential, if any."""
    holders = {
        name
        for name, template in pod_templates(path).items()
        for volume in template["spec"].get("volumes", [])
        if volume.get("secret", {}).get("secretName") == "digits-github-token"
    }
    assert holders == {"digits-syncer"}


def test_the_api_and_the_frontend_spread_across_nodes_and_keep_one_replica_through_a_drain():
    rendered = objects("kubernetes/overlays/production")
    budgets = {o["metadata"]["name"]: o["spec"] for o in rendered if o["kind"] == "PodDisruptionBudget"}
    hpas = [o["spec"] for o in rendered if o["kind"] == "HorizontalPodAutoscaler"]
    autoscalers = {hpa["scaleTargetRef"]["name"]: hpa for hpa in hpas}
    assert set(autoscalers) == {"digits-api"}
    for name in ("digits-api", "digits-frontend"):
        (deployment,) = [o for o in rendered if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
        replicas = autoscalers[name]["minReplicas"] if name in autoscalers else deployment["spec"]["replicas"]
        assert replicas >= 2
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        (per_node,) = [c for c in spread if c["topologyKey"] == "kubernetes.io/hostname"]
        # Held to one replica more per node at most, counting only nodes that take pods (so a drain moves them).
        assert (per_node["whenUnsatisfiable"], per_node["nodeTaintsPolicy"]) == ("DoNotSchedule", "Honor")
        assert per_node["matchLabelKeys"] == ["pod-template-hash"], "each revision spread on its own"
        assert all(c["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name} for c in spread)
        assert budgets[name] == {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}


@pytest.mark.parametrize("path", ["kubernetes/overlays/kind", "kubernetes/overlays/production"])
def test_every_configmap_key_a_pod_reads_is_in_its_configmap(path):
    """A missing key is found only when the kubelet starts the container (CreateContainerConfigError)."""
    maps = {o["metadata"]["name"]: o.get("data", {}) for o in objects(path) if o["kind"] == "ConfigMap"}
    for name, template in pod_templates(path).items():
        spec = template["spec"]
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref and not ref.get("optional"):
                    assert ref["key"] in maps.get(ref["name"], {}), f"{name}/{container['name']}: {env['name']}"
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef")
                assert not ref or ref.get("optional") or ref["name"] in maps, f"{name}/{container['name']}"
