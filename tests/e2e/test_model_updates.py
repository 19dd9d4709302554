"""Model releases published on the (local) GitHub reach the cluster with nobody touching it.

The tests run in order on one cluster: a good release rolls out (v1.1.0), a bad one is refused
(v1.2.0), and one whose pods cannot start is rolled back (v1.3.0). Throughout, a client sends
/predict through the frontend's NodePort and every answer must be a 200.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx

from digits_syncer.settings import RecordSettings
from tests.support.bundles import publish_bundle
from tests.support.github_server import Fault
from tests.support.kind import NAMESPACE, NODE_PORT_URL
from tests.support.paths import ARTIFACTS, BAKED_IN_VERSION
from tests.support.predict_load import PredictLoad
from tests.support.rollouts import (
    api_pods,
    keep_model_table,
    model_status,
    served_version,
    serving_everywhere,
    set_model_spec,
    syncer_events,
    syncer_state,
    write_report,
)
from tests.support.servers import wait_until

PIN_PATH = RecordSettings.model_fields["deploy_pin_path"].default  # the syncer in the cluster keeps the default


def test_a_published_release_reaches_every_api_pod_with_no_failed_request(
    system, hub, kube, pixels, tmp_path, baked_in_bundle, capsys
):
    api, apps, core = kube
    with PredictLoad(pixels) as load:
        since, published = datetime.now(UTC), time.monotonic()
        publish_bundle(hub, baked_in_bundle, tmp_path, "v1.1.0")
        wait_until(lambda: serving_everywhere(apps, core, "v1.1.0"), 300, "every api pod to serve v1.1.0", 0.5)
        rolled_out_s = time.monotonic() - published
        time.sleep(3)  # answers from the last replaced pods' final moments count too
    write_report("rollout", "v1.1.0", load, publication_to_last_pod_ready_s=round(rolled_out_s, 1))
    with capsys.disabled():
        print(
            f"\nv1.1.0 served by every api pod {rolled_out_s:.1f} s after publication; "
            f"{load.sent} /predict requests during the rollout, {len(load.failures)} failed ({load.versions})"
        )
    assert load.failures == []
    assert set(load.versions) == {BAKED_IN_VERSION, "v1.1.0"}
    assert httpx.get(f"{NODE_PORT_URL}/model", timeout=10).json()["version"] == "v1.1.0"
    pin = hub.file_at("main", PIN_PATH)
    assert pin is not None and b"v1.1.0" in pin  # the deployment repository records what runs
    assert syncer_state(api).deployed == "v1.1.0"
    assert syncer_events(core, "RolloutComplete", "v1.1.0", since)
    wait_until(lambda: model_status(api).get("latest", {}).get("verdict") == "Serving", 30, "the status to say so")
    (ARTIFACTS / "e2e-digitsmodels.txt").unlink(missing_ok=True)
    assert "v1.1.0" in keep_model_table(system, "after a release")


def test_a_release_failing_the_gate_changes_nothing_and_says_why(system, hub, kube, tmp_path, baked_in_bundle):
    api, apps, core = kube
    before = apps.read_namespaced_deployment("digits-api", NAMESPACE)
    commits = hub.commits()
    since = datetime.now(UTC)
    # The same network with its labels reversed: a model that gets almost every digit wrong.
    publish_bundle(hub, baked_in_bundle, tmp_path, "v1.2.0", labels=list(range(9, -1, -1)))
    wait_until(
        lambda: bool(syncer_events(core, "ReleaseRejected", "v1.2.0", since)), 120, "the syncer to reject v1.2.0", 1
    )
    (message,) = syncer_events(core, "ReleaseRejected", "v1.2.0", since)
    assert "accuracy" in message
    after = apps.read_namespaced_deployment("digits-api", NAMESPACE)
    assert after.metadata.generation == before.metadata.generation
    assert after.spec.template == before.spec.template
    assert hub.commits() == commits
    assert "v1.2.0" in syncer_state(api).rejected
    assert {served_version(core, pod.metadata.name) for pod in api_pods(core)} == {"v1.1.0"}
    status = model_status(api)
    assert (status["latest"]["tag"], status["latest"]["verdict"]) == ("v1.2.0", "Rejected")
    assert "Rejected" in keep_model_table(system, "after a refused release")


def test_a_release_whose_pods_cannot_start_is_rolled_back(system, hub, kube, pixels, tmp_path, baked_in_bundle, capsys):
    api, apps, core = kube
    # The api pods' init containers fetch the committed bundle from the deployment repository:
    # while that download fails, the new pods never start.
    hub.fail_next(
        r"^/raw/",
        *[Fault(503, b'{"message": "Service Unavailable"}')] * 100_000,
    )
    try:
        with PredictLoad(pixels) as load:
            since, published = datetime.now(UTC), time.monotonic()
            publish_bundle(hub, baked_in_bundle, tmp_path, "v1.3.0")
            wait_until(
                lambda: bool(syncer_events(core, "RolledBack", "v1.3.0", since)),
                300,
                "the syncer to roll v1.3.0 back",
                1,
            )
            wait_until(lambda: serving_everywhere(apps, core, "v1.1.0"), 300, "every api pod to serve v1.1.0", 0.5)
            rolled_back_s = time.monotonic() - published
    finally:
        hub.faults.clear()
    with capsys.disabled():
        print(
            f"\nv1.3.0 rolled back {rolled_back_s:.1f} s after publication; "
            f"{load.sent} /predict requests meanwhile, {len(load.failures)} failed"
        )
    write_report("rollback", "v1.3.0", load, publication_to_rolled_back_s=round(rolled_back_s, 1))
    assert load.failures == []
    assert load.versions.keys() == {"v1.1.0"}
    state = syncer_state(api)
    assert "v1.3.0" in state.failed and state.pending is None
    wait_until(lambda: b"v1.1.0" in (hub.file_at("main", PIN_PATH) or b""), 60, "git to record the roll back")


def test_an_operator_pins_an_earlier_release_and_suspends_the_syncer(system, hub, kube, tmp_path, baked_in_bundle):
    """Roll back by hand through the DigitsModel's pin, then suspend: a new release waits until resumed."""
    api, apps, core = kube
    publish_bundle(hub, baked_in_bundle, tmp_path, "v1.6.0")
    wait_until(lambda: serving_everywhere(apps, core, "v1.6.0"), 300, "every api pod to serve v1.6.0", 0.5)
    try:
        set_model_spec(system, {"pin": "v1.1.0"})
        wait_until(lambda: serving_everywhere(apps, core, "v1.1.0"), 300, "the pinned v1.1.0 to serve again", 0.5)
        wait_until(lambda: model_status(api).get("state") == "Pinned", 60, "the status to say pinned")
        assert b"v1.1.0" in (hub.file_at("main", PIN_PATH) or b"")
        assert "Pinned" in keep_model_table(system, "after a pin")
        set_model_spec(system, {"suspend": True})
        wait_until(lambda: model_status(api).get("state") == "Suspended", 60, "the status to say suspended")
        commits = hub.commits()
        publish_bundle(hub, baked_in_bundle, tmp_path, "v1.7.0")
        time.sleep(10)  # five polls' worth: a syncer that was not suspended would have started on v1.7.0
        assert hub.commits() == commits and serving_everywhere(apps, core, "v1.1.0")
        assert "Suspended" in keep_model_table(system, "after a suspend")
    finally:
        set_model_spec(system, {"pin": None, "suspend": False})
    wait_until(lambda: serving_everywhere(apps, core, "v1.7.0"), 300, "the newest release once resumed", 0.5)
