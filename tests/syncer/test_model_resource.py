"""A ``DigitsModel`` spec becomes the syncer's settings through one table, and its status is a pure function of
what a pass found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from digits_syncer.model_resource import SPEC, crd, settings_from_spec, spec_error
from digits_syncer.model_status import Report, model_status
from digits_syncer.plan import Idle, Observed, PinRefused, Resume, ServePinned, plan_pinned
from digits_syncer.settings import RolloutSettings, SyncerSettings
from digits_syncer.state import PendingRollout, Pin, Proposal, SyncerState

SPEC_OK = {"source": {"repo": "owner/models", "pollIntervalSeconds": 7}, "record": {"repo": "owner/deploy"}}


def _base() -> SyncerSettings:
    """The process's settings of a syncer that follows a DigitsModel."""
    return SyncerSettings(rollout=RolloutSettings(model="digits"))


T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def test_the_spec_wins_over_the_environment_and_what_it_leaves_out_takes_the_default(environment):
    environment.setenv("DIGITS_SYNCER_MIN_ACCURACY", "0.5")
    environment.setenv("DIGITS_SYNCER_SOURCE_REPO", "env/ignored")
    environment.setenv("DIGITS_SYNCER_LOG_LEVEL", "DEBUG")  # a process setting: stays
    settings = settings_from_spec(SPEC_OK, _base())
    assert settings.source.source_repo == "owner/models"
    assert settings.operation.poll_interval_s == 7
    assert settings.gate.min_accuracy == 0.9  # the default, not the variable
    assert settings.operation.log_level == "DEBUG"
    assert settings.gate.drawings_store_url is None


def test_every_spec_field_is_a_setting_described_in_the_crd():
    properties = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for section, fields in SPEC.items():
        assert set(properties[section]["properties"]) == set(fields)
        for key in fields:
            assert properties[section]["properties"][key]["description"], f"spec.{section}.{key}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"source": {"repo": "o/m"}}, "spec.record.repo is empty"),
        ({**SPEC_OK, "gate": {"minAccuracy": 2}}, "spec.gate.minAccuracy: Input should be less than or equal to 1"),
        ({**SPEC_OK, "gate": "strict"}, "spec.gate must be an object"),
    ],
)
def test_a_spec_the_settings_refuse_is_named_by_its_path(environment, spec, message):
    with pytest.raises((ValidationError, ValueError)) as refused:
        settings_from_spec(spec, _base())
    assert message in spec_error(refused.value)


def test_conditions_keep_their_transition_time_while_they_hold():
    serving = Pin("v1")
    first = model_status(Report(1, SyncerState(), serving, newest="v1", polled=True), {}, T0)
    later = model_status(Report(1, SyncerState(), serving, newest="v1", polled=True), first, T0 + timedelta(hours=1))
    assert first["conditions"] == later["conditions"]
    pending = PendingRollout("v2", Pin("v2", "u", "s"), serving)
    rolling = model_status(
        Report(2, SyncerState(pending=pending), serving, newest="v2", polled=True), later, T0 + timedelta(hours=2)
    )
    ready, progressing, _ = rolling["conditions"]
    assert (ready["status"], ready["reason"], ready["lastTransitionTime"]) == (
        "False",
        "RollingOut",
        "2026-12-06T05:00:00Z",
    )
    assert (progressing["status"], progressing["message"]) == ("True", "rolling out v2")
    assert rolling["latest"] == {"tag": "v2", "verdict": "RollingOut", "reason": ""}


def test_a_pass_that_failed_keeps_what_it_did_not_learn():
    before = model_status(Report(1, SyncerState(), Pin("v1"), newest="v1", polled=True), {}, T0)
    failed = model_status(Report(1, SyncerState(), None, error="GitHub: HTTP 502"), before, T0 + timedelta(minutes=5))
    assert failed["serving"] == before["serving"] and failed["lastPollTime"] == before["lastPollTime"]
    assert failed["state"] == "Unavailable"
    assert failed["conditions"][2]["reason"] == "Unavailable" and "502" in failed["conditions"][2]["message"]


def _observed(state: SyncerState, running: str = "v1") -> Observed:
    return Observed(Pin(running), state)


def test_a_pin_waits_for_the_rollout_in_flight_whichever_release_it_is():
    pending = PendingRollout("v3", Pin("v3", "u3", "s3"), Pin("v1"))
    state = SyncerState(pending=pending, accepted={"v2": Pin("v2", "u2", "s2")})
    assert plan_pinned("v2", None, _observed(state)) == Resume(pending)
    assert plan_pinned("v3", None, _observed(state)) == Resume(pending)  # not listed any more: resumed all the same


def test_a_pinned_release_under_review_is_not_gated_again():
    proposal = Proposal("v2", 7, "digits-syncer/v2", Pin("v2", "u", "s"))
    action = plan_pinned("v2", None, _observed(SyncerState(proposal=proposal)))
    assert isinstance(action, Idle) and "#7" in action.reason


def test_an_accepted_release_is_served_without_being_listed_and_a_refused_one_is_refused():
    state = SyncerState(accepted={"v2": Pin("v2", "u2", "s2")}, rejected={"v4": "accuracy 0.1"})
    assert plan_pinned("v2", None, _observed(state)) == ServePinned("v2", Pin("v2", "u2", "s2"))
    refused = plan_pinned("v4", None, _observed(state))
    assert isinstance(refused, PinRefused) and "accuracy 0.1" in refused.reason
    missing = plan_pinned("v5", None, _observed(state))
    assert isinstance(missing, PinRefused) and "no release is tagged v5" in missing.reason
    assert plan_pinned("v1", None, _observed(state)) == Idle("v1 is serving, as pinned")
