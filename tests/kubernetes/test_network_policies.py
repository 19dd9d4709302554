"""What each pod of the rendered overlays may send, read off the NetworkPolicies as a CNI would.

Every pod is held by a default deny for ingress and egress; the allow-list each one ends with is
compared with the table below, which is what the README promises.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.manifests import objects, pod_templates

DNS = ("kube-dns", "UDP", 53)
HTTPS_OUT = ("outside private ranges", "TCP", 443)
EGRESS = {
    "digits-frontend": {DNS, ("digits-api", "TCP", 8000)},
    "digits-api": {DNS, ("digits-postgres", "TCP", 5432), HTTPS_OUT},
    "digits-syncer": {
        DNS,
        HTTPS_OUT,
        ("anywhere", "TCP", 6443),
        ("digits-api", "TCP", 8000),
        ("digits-postgres", "TCP", 5432),
    },
    "digits-retrain": {DNS, ("digits-postgres", "TCP", 5432), HTTPS_OUT},
    "digits-postgres": {DNS},
}
KIND_HOST = ("172.16.0.0/12", "any", "any")


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", f"the test reads In only: {expression}"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _peer(peer: dict[str, Any]) -> str:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        private = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
        if block["cidr"] == "0.0.0.0/0" and private <= set(block.get("except", [])):
            return "outside private ranges"
        return block["cidr"]
    if "namespaceSelector" in peer:
        assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
        return peer["podSelector"]["matchLabels"]["k8s-app"]
    assert set(peer) == {"podSelector"}, f"a peer in another namespace or of another kind: {peer}"
    return peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]


def _allowed(policies: list[dict[str, Any]], labels: dict[str, str], direction: str) -> set[tuple[Any, ...]] | None:
    """What the policies let through for a pod with these labels; None when no policy holds the direction."""
    holding = [p["spec"] for p in policies if _selects(p["spec"]["podSelector"], labels)]
    holding = [spec for spec in holding if direction.capitalize() in spec["policyTypes"]]
    if not holding:
        return None
    allowed: set[tuple[Any, ...]] = set()
    for spec in holding:
        for rule in spec.get(direction, []):
            peers = [_peer(peer) for peer in rule.get("to", [])] or ["anywhere"]
            ports = [(port["protocol"], port["port"]) for port in rule.get("ports", [])] or [("any", "any")]
            allowed |= {(peer, *port) for peer in peers for port in ports}
    return allowed


@pytest.mark.parametrize("path", ["kubernetes/overlays/production", "kubernetes/overlays/kind"])
def test_each_pod_may_send_only_what_its_job_needs(path):
    policies = [o for o in objects(path) if o["kind"] == "NetworkPolicy"]
    for name, template in pod_templates(path).items():
        labels = template["metadata"]["labels"]
        app = labels["app.kubernetes.io/name"]
        allowed = _allowed(policies, labels, "egress")
        assert allowed is not None, f"{name} is held by no egress policy"
        expected = {(peer, protocol, port) for peer, protocol, port in EGRESS[app]}
        if (peer := DNS) in expected:
            expected.add((peer[0], "TCP", 53))
        if path.endswith("kind") and app in ("digits-api", "digits-syncer", "digits-retrain"):
            expected.add(KIND_HOST)  # the tests' GitHub-compatible server on the host
        assert allowed == expected, name
        assert _allowed(policies, labels, "ingress") is not None, f"{name} is held by no ingress policy"


def test_no_pod_may_send_https_into_the_cluster_except_through_the_api_servers_port():
    policies = [o for o in objects("kubernetes/overlays/production") if o["kind"] == "NetworkPolicy"]
    for template in pod_templates("kubernetes/overlays/production").values():
        for peer, _protocol, port in _allowed(policies, template["metadata"]["labels"], "egress") or set():
            assert peer != "anywhere" or port == 6443, (template["metadata"]["labels"], peer, port)
