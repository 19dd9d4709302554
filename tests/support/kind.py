"""The kind cluster that `make kind-up kind-load deploy` made, as the end-to-end tests see it."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cluster_versions import K8S_BIN, version
from tests.support.paths import CACHE, REPO

NODE_PORT_URL = "http://127.0.0.1:30001"
NAMESPACE = "digits"
POSTGRES_POD = "digits-postgres-0"
DEPLOY_SCRIPT = REPO / "automation" / "cluster" / "deploy.sh"


def _run(*command: str, stdin: str | None = None, timeout_s: float = 120) -> str:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout_s)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


@dataclass
class KindCluster:
    name: str
    kubeconfig: Path
    kind: str  # the kind CLI

    @property
    def node(self) -> str:
        return f"{self.name}-control-plane"

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def kubectl(self, *args: str, stdin: str | None = None, timeout_s: float = 120) -> str:
        command = (str(K8S_BIN / "kubectl"), f"--kubeconfig={self.kubeconfig}", "-n", NAMESPACE, *args)
        return _run(*command, stdin=stdin, timeout_s=timeout_s)

    def on_node(self, *command: str) -> str:
        """A command in the node container (for what only the node can see, like its routes)."""
        return _run("docker", "exec", self.node, *command)

    def workers(self) -> set[str]:
        """The nodes that run the app (every node but the control plane)."""
        names = self.kubectl("get", "nodes", "-l", "!node-role.kubernetes.io/control-plane", "-o", "name")
        return {name.removeprefix("node/") for name in names.split()}

    def host_address(self) -> str:
        """The host's address as pods reach it: the node's default gateway (the docker network's)."""
        route = self.on_node("ip", "-4", "route", "show", "default")
        match = re.search(r"default via (\S+)", route)
        assert match, route
        return match.group(1)


def kind_cluster(workdir: Path) -> KindCluster:
    name = version("CLUSTER_NAME")
    kind = os.environ.get("KIND", str(CACHE / "bin" / f"kind-{version('KIND_VERSION')}"))
    clusters = _run(kind, "get", "clusters").split()
    if name not in clusters:
        raise RuntimeError(f"no kind cluster {name!r} (have {clusters}): run `make kind-up kind-load deploy`")
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(_run(kind, "get", "kubeconfig", "--name", name))
    return KindCluster(name, kubeconfig, kind)


def deploy(cluster: KindCluster) -> None:
    """``make deploy``'s rollout (automation/cluster/deploy.sh) against this cluster."""
    kubectl = f"{K8S_BIN / 'kubectl'} --kubeconfig={cluster.kubeconfig}"
    env = {**os.environ, "KUBECTL": kubectl, "CLUSTER_NAME": cluster.name}
    result = subprocess.run([str(DEPLOY_SCRIPT)], env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{DEPLOY_SCRIPT} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")


def postgres_ready(cluster: KindCluster) -> None:
    """Wait until the store's StatefulSet has rolled out and its pod is ready."""
    cluster.kubectl("rollout", "status", "statefulset/digits-postgres", "--timeout=300s", timeout_s=330)
    cluster.kubectl("wait", "--for=condition=Ready", f"pod/{POSTGRES_POD}", "--timeout=300s", timeout_s=330)
