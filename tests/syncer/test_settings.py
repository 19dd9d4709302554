"""The syncer's settings: grouped in code under the same flat ``DIGITS_SYNCER_*`` variables as ever, read from
the environment or a ``.env`` file, checked field by field and across fields when they are built. The token
comes from the shared token-file reader: a missing file of the optional Secret is anonymous access; a file that
is there but unusable stops the syncer at start, naming the file only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from digits_bundle.token_file import TokenFileError
from digits_syncer.__main__ import build
from digits_syncer.settings import (
    ENV_PREFIX,
    GitHubSourceSettings,
    LocalSettings,
    OperationSettings,
    RecordSettings,
    RolloutSettings,
    SyncerSettings,
    settings_error,
)
from tests.support.paths import REPO

# Every variable the syncer reads, with a value other than its default. The names are a contract: the
# manifests under kubernetes/, the Makefile, the tests and the README use them.
VARIABLES = {
    "DIGITS_SYNCER_SOURCE_REPO": "owner/models",
    "DIGITS_SYNCER_GITHUB_API_URL": "http://github.test/api/v3",
    "DIGITS_SYNCER_SOURCE_DIR": "/srv/releases",
    "DIGITS_SYNCER_GITHUB_TOKEN_FILE": "/run/token",
    "DIGITS_SYNCER_POLICY": "highest-semver",
    "DIGITS_SYNCER_TAG_PATTERN": "model-v*",
    "DIGITS_SYNCER_ASSET_PATTERN": "*.bundle.zip",
    "DIGITS_SYNCER_ALLOW_PRERELEASES": "true",
    "DIGITS_SYNCER_REQUIRE_DIGEST": "true",
    "DIGITS_SYNCER_REQUEST_TIMEOUT_S": "3",
    "DIGITS_SYNCER_MAX_DOWNLOAD_BYTES": "1000",
    "DIGITS_SYNCER_DOWNLOAD_TIMEOUT_S": "9",
    "DIGITS_SYNCER_FOREIGN_LABELS": "[0, 1]",
    "DIGITS_SYNCER_FOREIGN_SCALE": "1",
    "DIGITS_SYNCER_MIN_ACCURACY": "0.5",
    "DIGITS_SYNCER_MAX_REGRESSION": "0.1",
    "DIGITS_SYNCER_ALLOW_NARROWER_LABELS": "true",
    "DIGITS_SYNCER_HOLDOUT_SIZE": "500",
    "DIGITS_SYNCER_SERVING_API_URL": "http://api.test:8000",
    "DIGITS_SYNCER_DRAWINGS_STORE_URL": "sqlite:////srv/feedback.sqlite3",
    "DIGITS_SYNCER_MIN_DRAWINGS": "20",
    "DIGITS_SYNCER_MAX_DRAWING_REGRESSION": "0.05",
    "DIGITS_SYNCER_MAX_CLASS_REGRESSION": "0.07",
    "DIGITS_SYNCER_DEPLOY_REPO": "owner/deploy",
    "DIGITS_SYNCER_DEPLOY_BRANCH": "release",
    "DIGITS_SYNCER_DEPLOY_BUNDLE_DIR": "bundles",
    "DIGITS_SYNCER_DEPLOY_PIN_PATH": "pin.yaml",
    "DIGITS_SYNCER_RECORD_MODE": "pull-request",
    "DIGITS_SYNCER_PR_BRANCH_PREFIX": "bots/syncer/",
    "DIGITS_SYNCER_MODE": "local",
    "DIGITS_SYNCER_NAMESPACE": "ns",
    "DIGITS_SYNCER_DEPLOYMENT": "api",
    "DIGITS_SYNCER_MODEL": "digits",
    "DIGITS_SYNCER_STATE_CONFIGMAP": "state",
    "DIGITS_SYNCER_LEASE": "lease",
    "DIGITS_SYNCER_LEASE_DURATION_S": "30",
    "DIGITS_SYNCER_IDENTITY": "replica-1",
    "DIGITS_SYNCER_ROLLOUT_TIMEOUT_S": "60",
    "DIGITS_SYNCER_KUBERNETES_TIMEOUT_S": "5",
    "DIGITS_SYNCER_RETRAIN_AFTER_DRAWINGS": "300",
    "DIGITS_SYNCER_RETRAIN_MIN_INTERVAL_S": "3600",
    "DIGITS_SYNCER_RETRAIN_POD_TEMPLATE": "trainer",
    "DIGITS_SYNCER_RETRAIN_DEADLINE_S": "900",
    "DIGITS_SYNCER_RETRAIN_TTL_S": "7200",
    "DIGITS_SYNCER_RETRAIN_TAG_PREFIX": "auto-",
    "DIGITS_SYNCER_LOCAL_MODELS_DIR": "/srv/models",
    "DIGITS_SYNCER_STATE_FILE": "/srv/state.json",
    "DIGITS_SYNCER_POLL_INTERVAL_S": "10",
    "DIGITS_SYNCER_RETRY_BACKOFF_S": "[2, 4]",
    "DIGITS_SYNCER_MAX_RETRY_WAIT_S": "30",
    "DIGITS_SYNCER_HEALTH_PORT": "0",
    "DIGITS_SYNCER_MAX_POLL_AGE_S": "100",
    "DIGITS_SYNCER_LOG_LEVEL": "DEBUG",
}


def _fields(settings: SyncerSettings) -> dict[str, object]:
    """Every setting by its variable's name, whichever group holds it."""
    return {
        f"{ENV_PREFIX}{name.upper()}": value
        for group in settings.__dict__.values()
        for name, value in group.__dict__.items()
    }


def test_every_variable_keeps_its_name_and_is_read(environment):
    for name, value in VARIABLES.items():
        environment.setenv(name, value)
    settings = SyncerSettings()
    read = _fields(settings)
    assert set(read) == set(VARIABLES)
    defaults = {
        f"{ENV_PREFIX}{name.upper()}": field.default
        for group in SyncerSettings.model_fields.values()
        for name, field in group.annotation.model_fields.items()
    }
    assert [name for name in VARIABLES if read[name] == defaults[name]] == []
    assert settings.rollout.mode == "local" and settings.operation.retry_backoff_s == (2.0, 4.0)
    assert settings.source.github_token_file == Path("/run/token") and settings.gate.foreign_labels == [0, 1]


def test_the_manifests_and_the_makefile_name_only_settings():
    used = set()
    for path in [REPO / "Makefile", *(REPO / "kubernetes").rglob("*.yaml")]:
        used |= set(re.findall(rf"\b{ENV_PREFIX}[A-Z0-9_]+", path.read_text()))
    assert used and used <= set(VARIABLES)


def test_a_dotenv_file_is_read(environment, tmp_path):
    (tmp_path / ".env").write_text("DIGITS_SYNCER_MODE=local\nDIGITS_SYNCER_MIN_ACCURACY=0.75\n")
    settings = SyncerSettings()
    assert settings.rollout.mode == "local" and settings.gate.min_accuracy == 0.75


def test_kubernetes_mode_needs_a_deployment_repository(environment):
    with pytest.raises(ValidationError) as raised:
        SyncerSettings()
    assert settings_error(raised.value) == (
        "invalid settings: kubernetes mode commits every accepted bundle to a deployment repository:"
        " set DIGITS_SYNCER_DEPLOY_REPO (owner/name)"
    )
    environment.setenv("DIGITS_SYNCER_DEPLOY_REPO", "")  # as the base ConfigMap leaves it
    with pytest.raises(ValidationError):
        SyncerSettings()
    environment.setenv("DIGITS_SYNCER_DEPLOY_REPO", "owner/deploy")
    assert SyncerSettings().record.deploy_repo == "owner/deploy"
    environment.delenv("DIGITS_SYNCER_DEPLOY_REPO")
    environment.setenv("DIGITS_SYNCER_MODE", "local")
    assert SyncerSettings().record.deploy_repo == ""


def test_a_release_folder_is_for_local_mode_only(environment):
    environment.setenv("DIGITS_SYNCER_DEPLOY_REPO", "owner/deploy")
    environment.setenv("DIGITS_SYNCER_SOURCE_DIR", "/srv/releases")
    with pytest.raises(ValidationError) as raised:
        SyncerSettings()
    assert "DIGITS_SYNCER_SOURCE_DIR is for local mode only" in settings_error(raised.value)
    environment.setenv("DIGITS_SYNCER_MODE", "local")
    assert SyncerSettings().source.source_dir == Path("/srv/releases")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[]", "at least 1 item"),
        ("[5, 0.5]", "greater than or equal to 1"),
        ("[-5]", "greater than or equal to 1"),
        ("[1e9]", "less than or equal to 86400"),
        ("[NaN]", "finite number"),
        (str([1] * 17), "at most 16 items"),
        ("5, 15", "error parsing value"),
    ],
)
def test_the_backoff_sequence_is_bounded(environment, value, problem):
    environment.setenv("DIGITS_SYNCER_RETRY_BACKOFF_S", value)
    with pytest.raises((ValidationError, ValueError), match=problem):
        OperationSettings()


def test_a_bad_value_names_its_variable(environment):
    environment.setenv("DIGITS_SYNCER_RETRY_BACKOFF_S", "[5, 0]")
    with pytest.raises(ValidationError) as raised:
        OperationSettings()
    assert settings_error(raised.value) == (
        "invalid settings: DIGITS_SYNCER_RETRY_BACKOFF_S: Input should be greater than or equal to 1"
    )


def test_liveness_outlasts_a_poll(environment):
    longer = r"MAX_POLL_AGE_S \(10 s\) must be longer than DIGITS_SYNCER_POLL_INTERVAL_S \(10 s\)"
    with pytest.raises(ValidationError, match=longer):
        OperationSettings(poll_interval_s=10, max_poll_age_s=10)


def test_liveness_leaves_room_for_a_rollout_and_its_roll_back(environment):
    environment.setenv("DIGITS_SYNCER_MODE", "local")
    # A 2 s poll with 90 s rollouts: one reconcile may block for 180 s without the syncer being stuck.
    assert (
        SyncerSettings(
            operation=OperationSettings(poll_interval_s=2), rollout=RolloutSettings(rollout_timeout_s=90)
        ).liveness_age_s()
        == 186
    )
    assert SyncerSettings(operation=OperationSettings(poll_interval_s=2, max_poll_age_s=10)).liveness_age_s() == 10


def test_no_file_or_a_missing_one_is_anonymous(environment, tmp_path):
    assert GitHubSourceSettings(github_token_file=None).token() is None
    assert GitHubSourceSettings(github_token_file=tmp_path / "missing").token() is None


def test_the_token_is_read_stripped(environment, tmp_path):
    (tmp_path / "token").write_text("ghp_abc\n")
    assert GitHubSourceSettings(github_token_file=tmp_path / "token").token() == "ghp_abc"


def test_an_unusable_token_file_stops_the_syncer_at_start(environment, tmp_path):
    (tmp_path / "token").write_text("\n")
    source = GitHubSourceSettings(github_token_file=tmp_path / "token")
    with pytest.raises(TokenFileError):
        source.token()
    settings = SyncerSettings(
        source=source,
        record=RecordSettings(deploy_repo="owner/deploy"),
        local=LocalSettings(local_models_dir=tmp_path / "models"),
    )
    with pytest.raises(SystemExit, match=f"^error: token file {tmp_path / 'token'} is empty$"):
        build(settings, dry_run=True)


def test_retraining_needs_the_store_and_a_ttl_that_outlasts_the_interval(environment):
    environment.setenv("DIGITS_SYNCER_MODE", "local")
    environment.setenv("DIGITS_SYNCER_RETRAIN_AFTER_DRAWINGS", "300")
    with pytest.raises(ValidationError, match="RETRAIN_AFTER_DRAWINGS counts drawings in the feedback store"):
        SyncerSettings()
    environment.setenv("DIGITS_SYNCER_DRAWINGS_STORE_URL", "sqlite:////srv/feedback.sqlite3")
    assert SyncerSettings().retrain.retrain_after_drawings == 300
    environment.setenv("DIGITS_SYNCER_RETRAIN_TTL_S", "600")
    with pytest.raises(ValidationError, match=r"RETRAIN_TTL_S \(600 s\) must be at least .*MIN_INTERVAL_S \(21600 s\)"):
        SyncerSettings()
