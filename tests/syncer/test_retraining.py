"""When the syncer starts a training Job (pure rules), and the Job it makes from the operator's PodTemplate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digits_syncer.pin_manifest import FETCH_CONTAINER, MODEL_SHA256, MODEL_URL
from digits_syncer.releases import tag_problem
from digits_syncer.retraining import RetrainRules, TrainingJobs, retrain_decision, retrain_tag
from digits_syncer.state import Pin
from digits_syncer.training_jobs import SOURCE_REPO_ENV, TAG_ENV, job_manifest

NOW = datetime(2026, 12, 5, 22, 15, 0, tzinfo=UTC)
RULES = RetrainRules(after_drawings=300, min_interval=timedelta(hours=6))
IDLE = TrainingJobs(running=(), last_started=None)


@pytest.mark.parametrize(
    ("drawings", "jobs", "rules", "start", "reason"),
    [
        (300, IDLE, RULES, True, "300 new labelled drawings since the serving model's data"),
        (299, IDLE, RULES, False, "299 new labelled drawings, fewer than 300"),
        (5000, IDLE, RetrainRules(0, timedelta(hours=6)), False, "retraining is off"),
        (5000, TrainingJobs(("digits-retrain-1",), NOW), RULES, False, "Job digits-retrain-1 is still running"),
        # a flood, honest or not, costs one run per interval
        (5000, TrainingJobs((), NOW - timedelta(hours=2)), RULES, False, "started 120 min ago (next in 240 min)"),
        (5000, TrainingJobs((), NOW - timedelta(hours=6)), RULES, True, "5000 new labelled drawings"),
    ],
)
def test_when_a_training_job_starts(drawings, jobs, rules, start, reason):
    decision = retrain_decision(drawings, jobs, NOW, rules)
    assert decision.start is start and reason in decision.reason


def test_the_tag_a_job_publishes_is_a_valid_version_that_sorts_by_time():
    tags = [retrain_tag("retrain-", NOW + timedelta(minutes=m)) for m in (0, 1, 60 * 24 * 40)]
    assert tags[0] == "retrain-20261205T221500Z"
    assert tags == sorted(tags) and all(tag_problem(tag) is None for tag in tags)


TEMPLATE = {
    "apiVersion": "v1",
    "kind": "PodTemplate",
    "metadata": {"name": "digits-retrain"},
    "template": {
        "metadata": {"labels": {"app.kubernetes.io/name": "digits-retrain"}},
        "spec": {
            "restartPolicy": "OnFailure",
            "initContainers": [
                {"name": FETCH_CONTAINER, "image": "digits-api", "env": [{"name": MODEL_URL, "value": "old"}]}
            ],
            "containers": [{"name": "train", "image": "digits-trainer", "env": [{"name": "KEEP", "value": "1"}]}],
        },
    },
}


def test_a_job_runs_the_template_once_from_the_serving_pin_to_publish_its_tag():
    pin = Pin("v1.4.0", "https://example/mnist-cnn-v1.4.0.zip", "a" * 64)
    job = job_manifest(
        TEMPLATE, "digits-retrain-20261205-221500", "retrain-x", pin, source_repo="o/t", deadline_s=900, ttl_s=86400
    )
    assert job["kind"] == "Job" and job["metadata"]["name"] == "digits-retrain-20261205-221500"
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (0, 900, 86400)
    pod = spec["template"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "retrain"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "digits-retrain"
    (fetch,) = pod["spec"]["initContainers"]
    assert {e["name"]: e["value"] for e in fetch["env"]} == {
        MODEL_URL: pin.url,
        MODEL_SHA256: pin.sha256,
        TAG_ENV: "retrain-x",
        SOURCE_REPO_ENV: "o/t",
    }
    (train,) = pod["spec"]["containers"]
    assert {e["name"]: e["value"] for e in train["env"]} == {"KEEP": "1", TAG_ENV: "retrain-x", SOURCE_REPO_ENV: "o/t"}
    assert TEMPLATE["template"]["spec"]["restartPolicy"] == "OnFailure"  # the template itself is left alone


class _Jobs:
    """The cluster's training Jobs, as ``KubeTrainingJobs`` reports them (``test_retrain_in_cluster`` runs the
    real one against a control plane); records the Jobs started."""

    def __init__(self, last_started):
        self.last_started, self.started = last_started, []

    def observe(self):
        return TrainingJobs((), self.last_started)

    def start(self, tag, pin, now):
        self.started.append((tag, pin))
        return f"job-{len(self.started)}"


@pytest.mark.parametrize(
    ("serving_newest", "last_job", "counted_after"),
    [
        (None, None, None),  # a model trained on no drawings, no Job yet: every drawing counts
        (NOW - timedelta(days=2), None, NOW - timedelta(days=2)),
        (NOW - timedelta(days=2), NOW - timedelta(days=1), NOW - timedelta(days=1)),  # a refused run's drawings
        (NOW - timedelta(hours=7), NOW - timedelta(days=1), NOW - timedelta(hours=7)),
    ],
)
def test_drawings_count_from_the_serving_models_data_or_the_last_job_whichever_is_later(
    serving_newest, last_job, counted_after
):
    from digits_syncer.retrain_trigger import RetrainTrigger

    asked = []

    def drawings_after(after):
        asked.append(after)
        return 300

    jobs = _Jobs(last_job)
    trigger = RetrainTrigger(
        rules=RULES,
        tag_prefix="retrain-",
        jobs=jobs,
        serving_data_newest=lambda: serving_newest,
        drawings_after=drawings_after,
        serving_pin=lambda: Pin("v1.4.0"),
        clock=lambda: NOW,
    )
    decision = trigger.tick()
    assert asked == [counted_after]
    assert decision.start and jobs.started == [("retrain-20261205T221500Z", Pin("v1.4.0"))]
