"""A real Kubernetes control plane for tests: etcd, kube-apiserver and kube-controller-manager as
processes on loopback, with token authentication, RBAC and Pod Security admission on.

There is no kubelet: ``NodeSimulator`` registers a Node, binds pods to it and reports them
Running and Ready (unless a test says a pod must never become ready), and completes
their deletion, so Deployments really roll out, and can be made to stall.
Binaries come from ``automation/cluster/build-k8s-binaries.sh`` (cached outside the repo).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kubernetes.client.exceptions import ApiException

from tests.support.cluster_versions import K8S_BIN
from tests.support.paths import REPO
from tests.support.servers import free_port, managed_process, wait_until

BUILD_SCRIPT = REPO / "automation" / "cluster" / "build-k8s-binaries.sh"
NODE_NAME = "sim-node"


def binaries_present() -> bool:
    return all((K8S_BIN / name).is_file() for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl"))


@dataclass
class ControlPlane:
    url: str
    token: str
    kubeconfig: Path
    workdir: Path
    started_in_s: float = 0.0

    def api_client(self, impersonate: str | None = None) -> Any:
        """A ``kubernetes`` client as the admin, or as ``impersonate`` (e.g. a service account's user name)."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        configuration.verify_ssl = False
        configuration.api_key = {"authorization": f"Bearer {self.token}"}
        api = client.ApiClient(configuration)
        if impersonate:
            api.set_default_header("Impersonate-User", impersonate)
        return api

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(K8S_BIN / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )


def _write_service_account_keys(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "sa.key", directory / "sa.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def _write_kubeconfig(path: Path, url: str, token: str) -> None:
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {{server: "{url}", insecure-skip-tls-verify: true}}
users:
- name: admin
  user: {{token: "{token}"}}
contexts:
- name: test
  context: {{cluster: test, user: admin}}
current-context: test
"""
    )


@contextmanager
def control_plane(workdir: Path) -> Iterator[ControlPlane]:
    if not binaries_present():
        raise RuntimeError(
            f"Kubernetes binaries missing in {K8S_BIN}: run {BUILD_SCRIPT} (or make control-plane-binaries)"
        )
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    (workdir / "tokens.csv").write_text(f'{token},admin,admin-uid,"system:masters"\n')
    sa_key, sa_pub = _write_service_account_keys(workdir)
    etcd_port, etcd_peer, api_port, cm_port = free_port(), free_port(), free_port(), free_port()
    url = f"https://127.0.0.1:{api_port}"
    kubeconfig = workdir / "kubeconfig"
    _write_kubeconfig(kubeconfig, url, token)
    with ExitStack() as stack:
        stack.enter_context(
            managed_process(
                [
                    str(K8S_BIN / "etcd"),
                    f"--data-dir={workdir / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                    f"--initial-cluster=default=http://127.0.0.1:{etcd_peer}",
                    "--unsafe-no-fsync",  # a test cluster: durability is not the point, speed is
                    "--log-level=warn",
                ],
                workdir / "etcd.log",
            )
        )
        apiserver = stack.enter_context(
            managed_process(
                [
                    str(K8S_BIN / "kube-apiserver"),
                    f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={api_port}",
                    f"--cert-dir={workdir / 'certs'}",
                    f"--token-auth-file={workdir / 'tokens.csv'}",
                    "--authorization-mode=Node,RBAC",
                    "--allow-privileged=true",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    f"--service-account-key-file={sa_pub}",
                    f"--service-account-signing-key-file={sa_key}",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    "--enable-priority-and-fairness=false",
                    # ValidatingAdmissionPolicy is beta in 1.28 (kubernetes/policies; as in kind-cluster.yaml).
                    "--feature-gates=ValidatingAdmissionPolicy=true",
                    "--runtime-config=admissionregistration.k8s.io/v1beta1=true",
                    "--v=1",
                ],
                workdir / "kube-apiserver.log",
            )
        )

        def ready() -> bool:
            if apiserver.poll() is not None:
                raise RuntimeError((workdir / "kube-apiserver.log").read_text()[-3000:])
            try:
                response = httpx.get(
                    f"{url}/readyz", headers={"Authorization": f"Bearer {token}"}, verify=False, timeout=2
                )
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        wait_until(ready, 60, "kube-apiserver to be ready", interval_s=0.2)
        stack.enter_context(
            managed_process(
                [
                    str(K8S_BIN / "kube-controller-manager"),
                    f"--kubeconfig={kubeconfig}",
                    "--leader-elect=false",
                    f"--service-account-private-key-file={sa_key}",
                    # Without kubelets, node lifecycle would taint and evict everything.
                    "--controllers=*,-nodelifecycle,-ttl-after-finished,-bootstrapsigner,-tokencleaner",
                    f"--secure-port={cm_port}",
                    "--bind-address=127.0.0.1",
                    "--v=1",
                ],
                workdir / "kube-controller-manager.log",
            )
        )
        plane = ControlPlane(url, token, kubeconfig, workdir)
        wait_until(
            lambda: plane.kubectl("get", "serviceaccount", "default", "-n", "default", check=False).returncode == 0,
            60,
            "the controller manager to create default service accounts",
            interval_s=0.2,
        )
        plane.started_in_s = time.monotonic() - started
        yield plane
    shutil.rmtree(workdir / "etcd", ignore_errors=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class NodeSimulator:
    """Plays the kubelet for one Node: binds pods, reports them ready, completes deletions."""

    plane: ControlPlane
    never_ready: Callable[[Any], bool] = lambda pod: False
    ready_after_s: float = 0.3
    _stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def start(self) -> NodeSimulator:
        from kubernetes import client

        self.core = client.CoreV1Api(self.plane.api_client())
        node = client.V1Node(metadata=client.V1ObjectMeta(name=NODE_NAME, labels={"kubernetes.io/hostname": NODE_NAME}))
        try:
            self.core.create_node(node)
        except ApiException as error:
            if error.status != 409:  # registered by an earlier simulator of this control plane
                raise
        self.core.patch_node_status(
            NODE_NAME,
            {
                "status": {
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "simulated",
                            "lastHeartbeatTime": _now(),
                            "lastTransitionTime": _now(),
                        }
                    ],
                    "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"},
                    "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
                }
            },
        )
        self._thread = threading.Thread(target=self._run, name="node-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._step()
            except Exception as error:  # keep simulating; the test sees the errors
                self.errors.append(repr(error))

    def _step(self) -> None:
        from kubernetes import client

        for pod in self.core.list_pod_for_all_namespaces().items:
            meta, spec, status = pod.metadata, pod.spec, pod.status
            if meta.deletion_timestamp is not None:
                self.core.delete_namespaced_pod(meta.name, meta.namespace, grace_period_seconds=0)
                continue
            if not spec.node_name:
                binding = client.V1Binding(
                    metadata=client.V1ObjectMeta(name=meta.name),
                    target=client.V1ObjectReference(kind="Node", name=NODE_NAME),
                )
                self.core.create_namespaced_binding(meta.namespace, binding, _preload_content=False)
                continue
            age = (datetime.now(UTC) - meta.creation_timestamp).total_seconds()
            if status.phase == "Running" or age < self.ready_after_s:
                continue
            ready = "False" if self.never_ready(pod) else "True"
            containers = [
                {
                    "name": c.name,
                    "image": c.image,
                    "imageID": "",
                    "ready": ready == "True",
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": _now()}},
                }
                for c in spec.containers
            ]
            conditions = [
                {"type": kind, "status": value, "lastTransitionTime": _now()}
                for kind, value in (
                    ("PodScheduled", "True"),
                    ("Initialized", "True"),
                    ("ContainersReady", ready),
                    ("Ready", ready),
                )
            ]
            self.core.patch_namespaced_pod_status(
                meta.name,
                meta.namespace,
                {
                    "status": {
                        "phase": "Running",
                        "conditions": conditions,
                        "containerStatuses": containers,
                        "hostIP": "127.0.0.1",
                        "podIP": "10.244.0.10",
                        "startTime": _now(),
                    }
                },
            )
