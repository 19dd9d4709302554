"""The deploy workflow's rollout (automation/rollout-release.sh), run here as the self-hosted runner runs it.

A release of an api image that cannot start must end undone: the runner's script fails, the api runs
the image it ran before, and a client sending /predict through the NodePort the whole time sees no
failure. The model pin is part of the pod template the undo restores, so it stays what the syncer set.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from tests.e2e.conftest import OVERLAY, point_the_syncer_at
from tests.support.cluster_versions import K8S_BIN
from tests.support.kind import KindCluster
from tests.support.paths import REPO
from tests.support.predict_load import PredictLoad
from tests.support.rollouts import keep_report
from tests.support.servers import wait_until

ROLLOUT = REPO / "automation" / "rollout-release.sh"
IMAGES = ("digits-api", "digits-frontend", "digits-syncer", "digits-trainer", "digits-postgres")
BROKEN = "digits-api:e2e-broken"
ROLLOUT_TIMEOUT = "60s"


def _build_broken_api_image(cluster: KindCluster) -> None:
    """The api image whose server exits at once (its init container still works), loaded into the workers."""
    container = subprocess.run(
        ["docker", "create", "digits-api:dev"], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        exits = 'ENTRYPOINT ["python3", "-c", "raise SystemExit(\\"a broken release\\")"]'
        subprocess.run(["docker", "commit", "--change", exits, container, BROKEN], capture_output=True, check=True)
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True, check=True)
    nodes = ",".join(sorted(cluster.workers()))
    subprocess.run(
        [cluster.kind, "load", "docker-image", "--name", cluster.name, "--nodes", nodes, BROKEN],
        capture_output=True,
        check=True,
        timeout=300,
    )


def _api_template(cluster: KindCluster) -> dict[str, Any]:
    deployment = json.loads(cluster.kubectl("get", "deployment", "digits-api", "-o", "json"))
    return deployment["spec"]["template"]


def test_the_runner_undoes_a_release_whose_api_image_cannot_start_and_no_request_fails(system, hub, pixels):
    _build_broken_api_image(system)
    before = _api_template(system)
    images = [f"{name}={name}:dev" for name in IMAGES if name != "digits-api"] + [f"digits-api={BROKEN}"]
    env = {
        **os.environ,
        "KUBECTL": f"{K8S_BIN / 'kubectl'} --kubeconfig={system.kubeconfig}",
        "DIGITS_STAMP_IMAGE_IDS": "1",
        "ROLLOUT_TIMEOUT": ROLLOUT_TIMEOUT,
    }
    started = time.monotonic()
    try:
        with PredictLoad(pixels) as load:
            result = subprocess.run(
                [str(ROLLOUT), str(OVERLAY), *images], env=env, capture_output=True, text=True, timeout=600
            )
            undone_s = time.monotonic() - started
    finally:
        point_the_syncer_at(system, hub)  # the overlay's DigitsModel and ConfigMap were applied again
    after = _api_template(system)
    report: dict[str, Any] = {"rc": result.returncode, "undone_s": round(undone_s, 1), "requests": load.sent}
    report |= {"failures": load.failures, "answers_by_version": load.versions, "stderr": result.stderr[-2000:]}
    keep_report("runner-undo", report)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "deployment/digits-api did not become available: undoing it" in result.stderr
    assert {c["image"] for c in after["spec"]["containers"]} == {"digits-api:dev"}
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"], "the model pin is kept"
    assert load.sent > 0 and load.failures == [], load.failures[:5]
    assert len(load.versions) == 1, f"one model served throughout: {load.versions}"
    wait_until(lambda: _ready_replicas(system) >= 2, 120, "the api back at full strength", interval_s=2)


def _ready_replicas(cluster: KindCluster) -> int:
    return int(cluster.kubectl("get", "deployment", "digits-api", "-o", "jsonpath={.status.readyReplicas}") or 0)
