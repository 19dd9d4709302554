"""The whole system in the kind cluster that `make kind-up kind-load deploy` made (`make e2e`).

The syncer in the cluster is pointed at a local GitHub-compatible server listening on the host's
address on the kind network, so the syncer and the api pods' init containers reach it the way they
would reach GitHub. The session starts from the deployed state (the overlay re-applied, the syncer's
memory cleared) and puts the configuration back when it ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kubernetes import client
from tests.support.github_server import FakeGitHub, fake_github
from tests.support.kind import KindCluster, deploy, kind_cluster, postgres_ready
from tests.support.paths import REPO
from tests.support.rollouts import set_model_spec

OVERLAY = REPO / "kubernetes" / "overlays" / "kind"
DEPLOYMENTS = ("digits-api", "digits-frontend", "digits-syncer")
ROLLOUT_TIMEOUT_S = 90


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> KindCluster:
    return kind_cluster(tmp_path_factory.mktemp("kind"))


@pytest.fixture(scope="session")
def hub(tmp_path_factory, cluster) -> Iterator[FakeGitHub]:
    with fake_github(tmp_path_factory.mktemp("github"), host=cluster.host_address()) as hub:
        # Reachable from the node (and so from pods, which the node masquerades)?
        cluster.on_node("curl", "-sSf", "-o", "/dev/null", "-m", "5", f"{hub.url}/repos/{hub.owner}/{hub.source}")
        yield hub
    assert hub.schema_errors == [], "\n".join(hub.schema_errors)


def point_the_syncer_at(cluster: KindCluster, hub: FakeGitHub) -> None:
    """The DigitsModel's spec and the syncer's ConfigMap for the test's GitHub (re-applying the overlay undoes both)."""
    spec = {
        "source": {"repo": f"{hub.owner}/{hub.source}", "pollIntervalSeconds": 2},
        "record": {"repo": f"{hub.owner}/{hub.deploy}"},
        "rollout": {"timeoutSeconds": ROLLOUT_TIMEOUT_S},
        "pin": None,
        "suspend": False,
    }
    set_model_spec(cluster, spec)
    # Where the token goes is the syncer's own setting (its ConfigMap), not the resource's.
    url = {"data": {"DIGITS_SYNCER_GITHUB_API_URL": hub.url}}
    cluster.kubectl("patch", "configmap", "digits-syncer-config", "--type=merge", "-p", json.dumps(url))


def wait_for_rollouts(cluster: KindCluster, deployments: tuple[str, ...] = DEPLOYMENTS) -> None:
    for deployment in deployments:
        cluster.kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=300s", timeout_s=330)


@pytest.fixture(scope="session")
def system(cluster, hub) -> Iterator[KindCluster]:
    """The deployed system serving the baked-in model, its syncer polling the local GitHub every 2 s."""
    deploy(cluster)
    cluster.kubectl("patch", "configmap", "digits-syncer-state", "--type=merge", "-p", '{"data":{"state.json":"{}"}}')
    cluster.kubectl("patch", "digitsmodel", "digits", "--subresource=status", "--type=merge", "-p", '{"status":null}')
    secret = cluster.kubectl(
        "create",
        "secret",
        "generic",
        "digits-github-token",
        "--from-literal=token=e2e-token",
        "--dry-run=client",
        "-o",
        "json",
    )
    cluster.kubectl("apply", "-f", "-", stdin=secret)
    point_the_syncer_at(cluster, hub)
    cluster.kubectl("rollout", "restart", "deployment/digits-syncer")
    wait_for_rollouts(cluster)
    postgres_ready(cluster)
    yield cluster
    cluster.kubectl("delete", "secret", "digits-github-token", "--ignore-not-found")
    cluster.kubectl("delete", "digitsmodel", "digits", "--ignore-not-found")  # the base's spec again
    # As `make deploy` leaves it: the syncer waits for the user's deployment repository (README).
    deploy(cluster)
    cluster.kubectl("rollout", "restart", "deployment/digits-syncer")


@pytest.fixture(scope="module")
def kube(system: KindCluster) -> tuple[Any, Any, Any]:
    api = system.api_client()
    return api, client.AppsV1Api(api), client.CoreV1Api(api)


@pytest.fixture(scope="module")
def pixels(mnist) -> list[int]:
    """An MNIST test digit, as the page sends it to /predict."""
    return [int(v) for v in mnist.x_test[0].reshape(-1)]
