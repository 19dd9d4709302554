"""Settings of the syncer, from ``DIGITS_SYNCER_*`` environment variables (or a ``.env`` file).

The settings are grouped in code (where releases come from, the gate, the record in git, the rollout,
local mode, the loop's operation); the variable names are flat: every field reads
``DIGITS_SYNCER_<FIELD>``, whichever group holds it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from digits_bundle.token_file import read_token
from digits_syncer.releases import ReleaseFilter, SelectionPolicy

ENV_PREFIX = "DIGITS_SYNCER_"


class RecordMode(StrEnum):
    PUSH = "push"
    """Commit to the deployment branch directly."""
    PULL_REQUEST = "pull-request"
    """Commit the bundle and its pin to the branch ``<pr_branch_prefix><tag>`` and open a pull request carrying the
    gate's evidence; nothing rolls out until it is merged, and then exactly the pin its merge commit names. A pull
    request closed without merging rejects the release (``--retry TAG`` proposes it again); a newer accepted release
    closes the older pull request; a roll back happens in the cluster at once and is recorded through a pull
    request."""


class _Group(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")


class GitHubSourceSettings(_Group):
    """Where releases come from and how they are chosen and downloaded."""

    source_repo: str = Field(
        default="sadiksha99/Mlops_project_Azure_ML",
        description="owner/name of the training repository whose releases carry models.",
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        description="GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).",
    )
    source_dir: Path | None = Field(
        default=None,
        description="Local mode: read releases from this folder (<tag>/<asset>.zip, as `make retrain` writes them)"
        " instead of GitHub.",
    )
    github_token_file: Path | None = Field(
        default=None,
        description="File holding a GitHub token (a mounted Secret); unset or missing: anonymous, 60 requests/hour;"
        " a file that holds no single-line token stops the syncer at start.",
    )
    policy: SelectionPolicy = Field(
        default=SelectionPolicy.NEWEST_PUBLISHED, description="newest-published or highest-semver."
    )
    tag_pattern: str = Field(default="*", description="Glob the release tag must match, e.g. 'model-v*'.")
    asset_pattern: str = Field(default="*.zip", description="Glob naming the model asset of a release.")
    allow_prereleases: bool = Field(
        default=False, description="Consider prereleases (a staging channel). Drafts never."
    )
    require_digest: bool = Field(
        default=False,
        description="Refuse a release whose model asset states no sha256 digest (else accept it, logged and recorded as unchecked).",
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of each GitHub request (and of each request to the api), in seconds."
    )
    max_download_bytes: int = Field(
        default=256 * 1024 * 1024,
        gt=0,
        description="Largest model asset accepted, in bytes (enforced as bytes arrive).",
    )
    download_timeout_s: float = Field(
        default=600.0, gt=0, description="Deadline of one whole asset download, redirects included, in seconds."
    )

    def release_filter(self) -> ReleaseFilter:
        return ReleaseFilter(self.policy, self.tag_pattern, self.asset_pattern, self.allow_prereleases)

    def token(self) -> str | None:
        """The GitHub token; None when no file is named or the named one is missing (the Secret is
        optional). ``TokenFileError`` for a file that is there but holds no usable token."""
        return read_token(self.github_token_file, optional=True)


class ReleaseGateSettings(_Group):
    """What a release must pass before it is recorded and rolled out."""

    foreign_labels: list[int] = Field(
        default=[2, 7, 8], description="Labels of releases without a manifest (output index -> digit)."
    )
    foreign_scale: Literal[255, 1] = Field(
        default=255, description="Input scale of releases without a manifest (255: raw grey levels)."
    )
    min_accuracy: float = Field(
        default=0.9, ge=0, le=1, description="Reject a model below this accuracy on the holdout."
    )
    max_regression: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Reject a model worse than the serving one by more than this (same labels).",
    )
    allow_narrower_labels: bool = Field(
        default=False,
        description="Accept a model that answers fewer labels than the serving one (else such a release is refused).",
    )
    holdout_size: int = Field(
        default=3000, ge=100, description="MNIST test digits of the model's labels used to evaluate it."
    )
    serving_api_url: str | None = Field(
        default="http://digits-api:8000",
        description="The api, to score the serving model on the same holdout (unset: no comparison).",
    )
    drawings_store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the feedback store: also compare with the serving model on the drawings people"
        " labelled that training holds out (unset: not compared; `make retrain` sets the local SQLite store).",
    )
    min_drawings: int = Field(
        default=50, ge=1, description="Compare on held-out drawings only when there are at least this many."
    )
    max_drawing_regression: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Reject a model worse than the serving one on the held-out drawings by more than this.",
    )
    max_class_regression: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Reject a model whose recall of any one label, on the holdout digits or on pad-style drawings of them, is worse than the serving model's by more than this (labels with at least 30 holdout digits).",
    )

    @field_validator("foreign_scale", mode="before")
    @classmethod
    def _scale_from_text(cls, value: object) -> object:
        # A Literal of ints does not convert the text an environment variable holds.
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value


class RecordSettings(_Group):
    """Kubernetes mode only: where each accepted bundle and the pin naming it are committed."""

    deploy_repo: str = Field(
        default="",
        description="owner/name of the deployment repository; required in kubernetes mode (the syncer stops at start"
        " without it), unused in local mode.",
    )
    deploy_branch: str = Field(default="main", description="Branch the bundle and the pin are committed to.")
    deploy_bundle_dir: str = Field(
        default="models", description="Folder of the deployment repository holding bundle zips."
    )
    deploy_pin_path: str = Field(
        default="kubernetes/base/model-pin.yaml", description="The kustomize patch that pins the model."
    )
    record_mode: RecordMode = Field(
        default=RecordMode.PUSH,
        description="push, or pull-request (review before rollout: nothing rolls out unmerged).",
    )
    pr_branch_prefix: str = Field(
        default="digits-syncer/",
        min_length=1,
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="Pull-request mode: prefix of the syncer's branches; it closes only pull requests from branches that start with it.",
    )


class RolloutSettings(_Group):
    """Where a model is rolled out (the mode), and in kubernetes mode the objects involved."""

    mode: Literal["kubernetes", "local"] = Field(
        default="kubernetes", description="Patch the api Deployment, or install into a local model directory."
    )
    namespace: str = Field(default="digits", description="Namespace of the api Deployment and the syncer's objects.")
    deployment: str = Field(default="digits-api", description="The api Deployment.")
    model: str = Field(
        default="",
        pattern=r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$",
        description="The DigitsModel (in DIGITS_SYNCER_NAMESPACE) whose spec says what to serve and how, and whose"
        " status the syncer writes; its spec then replaces the variables of the source, gate, record, rollout and"
        " retraining groups. Empty: those variables configure the syncer, and its state is kept in"
        " DIGITS_SYNCER_STATE_CONFIGMAP.",
    )
    state_configmap: str = Field(
        default="digits-syncer-state",
        description="ConfigMap holding what was deployed, rejected or rolled back (with a DigitsModel: read once, to"
        " move an earlier version's state into its status).",
    )
    lease: str = Field(default="digits-syncer", description="Lease electing the one active syncer.")
    lease_duration_s: int = Field(
        default=60, ge=5, description="How long a leader's claim lasts without renewal, in seconds."
    )
    identity: str = Field(default="", description="This replica's name in the Lease (defaults to the host name).")
    rollout_timeout_s: float = Field(
        default=300.0, gt=0, description="Roll back when a rollout is not complete after this many seconds."
    )
    kubernetes_timeout_s: float = Field(
        default=15.0, gt=0, description="Timeout of each Kubernetes API request, in seconds."
    )


class RetrainSettings(_Group):
    """Kubernetes mode only: when the syncer starts a training Job, and how that Job is bounded. The Job's pod
    (image, command, limits, where the store and the training repository are) is the PodTemplate named here."""

    retrain_after_drawings: int = Field(
        default=0,
        ge=0,
        description="Kubernetes mode: start a training Job once this many labelled drawings were saved after the newest"
        " one the serving model was trained on and after the last Job started (0: never; locally, run `make retrain`)."
        " Needs DIGITS_SYNCER_DRAWINGS_STORE_URL.",
    )
    retrain_min_interval_s: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="Least time between the starts of two training Jobs, whatever their outcome, in seconds.",
    )
    retrain_pod_template: str = Field(
        default="digits-retrain",
        pattern=r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$",
        description="The PodTemplate a training Job runs (its Jobs are named <template>-<UTC time>).",
    )
    retrain_deadline_s: int = Field(
        default=3600, ge=60, description="A training Job still running after this many seconds is stopped."
    )
    retrain_ttl_s: int = Field(
        default=86400,
        ge=60,
        description="A finished training Job is deleted after this many seconds; at least DIGITS_SYNCER_RETRAIN_MIN_INTERVAL_S,"
        " since the newest Job tells when the last one started.",
    )
    retrain_tag_prefix: str = Field(
        default="retrain-",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$",
        description="A training Job publishes the tag <prefix><UTC time>, e.g. retrain-20261205T221500Z.",
    )

    @model_validator(mode="after")
    def _ttl_outlasts_the_interval(self) -> Self:
        if self.retrain_ttl_s < self.retrain_min_interval_s:
            raise ValueError(
                f"{ENV_PREFIX}RETRAIN_TTL_S ({self.retrain_ttl_s} s) must be at least"
                f" {ENV_PREFIX}RETRAIN_MIN_INTERVAL_S ({self.retrain_min_interval_s:g} s): the newest Job tells"
                " when the last one started"
            )
        return self


class LocalSettings(_Group):
    """Local mode only: the model directory the local api serves from, and the syncer's state file."""

    local_models_dir: Path = Field(
        default=Path("models"), description="local mode: the directory whose 'current' link the API serves."
    )
    state_file: Path = Field(default=Path("syncer-state.json"), description="local mode: where the state is kept.")


BackoffStep = Annotated[float, Field(ge=1, le=24 * 3600, allow_inf_nan=False)]


class OperationSettings(_Group):
    """The loop: how often it polls, how it waits after errors, how it reports."""

    poll_interval_s: float = Field(default=300.0, gt=0, description="Seconds between polls of the releases.")
    retry_backoff_s: tuple[BackoffStep, ...] = Field(
        default=(5.0, 15.0, 60.0, 300.0),
        min_length=1,
        max_length=16,
        description="Waits after consecutive temporary errors, in seconds, a JSON list of 1 to 16 numbers within"
        " [1, 86400] (the last repeats; a wait GitHub names wins), each cut to DIGITS_SYNCER_MAX_RETRY_WAIT_S.",
    )
    max_retry_wait_s: float = Field(
        default=900.0,
        ge=1,
        description="Longest wait before retrying after a temporary error, whatever GitHub asks, in seconds.",
    )
    health_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics (0: none)."
    )
    max_poll_age_s: float | None = Field(
        default=None,
        description="Not live when the last successful poll is older, in seconds; longer than DIGITS_SYNCER_POLL_INTERVAL_S"
        " (default: 3 poll intervals and 2 rollout timeouts).",
    )
    log_level: str = Field(default="INFO", description="Logging level.")

    @model_validator(mode="after")
    def _poll_age_outlasts_a_poll(self) -> Self:
        if self.max_poll_age_s is not None and self.max_poll_age_s <= self.poll_interval_s:
            raise ValueError(
                f"{ENV_PREFIX}MAX_POLL_AGE_S ({self.max_poll_age_s:g} s) must be longer than"
                f" {ENV_PREFIX}POLL_INTERVAL_S ({self.poll_interval_s:g} s), or the syncer is never live"
            )
        return self


class SyncerSettings(BaseModel):
    """Every setting of the syncer, by group; each group reads its variables when it is not given."""

    source: GitHubSourceSettings = Field(default_factory=GitHubSourceSettings, title="GitHub source")
    gate: ReleaseGateSettings = Field(default_factory=ReleaseGateSettings, title="Gate")
    record: RecordSettings = Field(default_factory=RecordSettings, title="Record")
    rollout: RolloutSettings = Field(default_factory=RolloutSettings, title="Rollout")
    retrain: RetrainSettings = Field(default_factory=RetrainSettings, title="Retraining")
    local: LocalSettings = Field(default_factory=LocalSettings, title="Local mode")
    operation: OperationSettings = Field(default_factory=OperationSettings, title="Operation")

    @model_validator(mode="after")
    def _kubernetes_mode_records_in_git(self) -> Self:
        if self.rollout.mode == "kubernetes" and not self.rollout.model and not self.record.deploy_repo:
            raise ValueError(
                f"kubernetes mode commits every accepted bundle to a deployment repository: set"
                f" {ENV_PREFIX}DEPLOY_REPO (owner/name)"
            )
        if self.rollout.mode == "kubernetes" and self.source.source_dir is not None:
            raise ValueError(f"{ENV_PREFIX}SOURCE_DIR is for local mode only; kubernetes mode reads GitHub")
        if self.retrain.retrain_after_drawings and not (self.gate.drawings_store_url and self.gate.serving_api_url):
            raise ValueError(
                f"{ENV_PREFIX}RETRAIN_AFTER_DRAWINGS counts drawings in the feedback store since the serving model's"
                f" data: set {ENV_PREFIX}DRAWINGS_STORE_URL and {ENV_PREFIX}SERVING_API_URL"
            )
        return self

    def liveness_age_s(self) -> float:
        """How old the last successful poll may get while the syncer is live. One reconcile may wait out a
        rollout and then its roll back, so the default leaves room for both beyond a few missed polls."""
        if self.operation.max_poll_age_s is not None:
            return self.operation.max_poll_age_s
        return 3 * self.operation.poll_interval_s + 2 * self.rollout.rollout_timeout_s


def settings_error(error: ValidationError | SettingsError) -> str:
    """``error`` as one line naming the variables at fault."""
    if isinstance(error, SettingsError):  # a value that is not the JSON its field needs
        return f"invalid settings: {error}"
    problems = []
    for item in error.errors():
        fields = [part for part in item["loc"] if isinstance(part, str)]
        where = f"{ENV_PREFIX}{fields[-1].upper()}: " if fields else ""
        problems.append(where + item["msg"].removeprefix("Value error, "))
    return "invalid settings: " + "; ".join(problems)
