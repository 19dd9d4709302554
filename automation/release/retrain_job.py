"""What a training Job runs: fine-tune the serving model on the drawings people labelled, within a bounded
time, and publish the result as a release of the training repository, through the publisher.

    python -m release.retrain_job        (settings from DIGITS_RETRAIN_* variables)

The syncer starts the Job from its PodTemplate with the tag to publish (``DIGITS_RETRAIN_TAG``) and the
serving model's pin (the init container fetches that bundle into ``DIGITS_RETRAIN_MODEL_DIR``); the store is
read with the ``DIGITS_STORE_*`` settings the api uses. The release then reaches the cluster like any
other: the syncer gates it (MNIST, pad-style drawings, per label, held-out drawings), records and rolls it out.
"""

from __future__ import annotations

import sys
from pathlib import Path

from github import GithubException
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from digits_bundle.bundle import BundleError
from digits_bundle.manifest import VERSION_PATTERN
from digits_bundle.token_file import TokenFileError, read_token
from digits_training.cli import main as training_main
from release.publish import publish


class RetrainJobSettings(BaseSettings):
    """The training Job's settings (its PodTemplate's env; the tag comes from the syncer)."""

    model_config = SettingsConfigDict(env_prefix="DIGITS_RETRAIN_", extra="ignore")

    tag: str = Field(pattern=f"^{VERSION_PATTERN}$", max_length=250, description="The release tag to publish.")
    source_repo: str = Field(description="owner/name of the training repository the release is published to.")
    github_api_url: str = Field(default="https://api.github.com", description="GitHub REST API base URL.")
    token_file: Path = Field(
        default=Path("/var/run/secrets/github-publish/token"),
        description="File holding a token that may create releases in the training repository.",
    )
    model_dir: Path = Field(
        default=Path("/models/current"), description="The serving bundle, fetched by the init container."
    )
    store_url: str = Field(
        description="SQLAlchemy URL of the feedback store (its password: DIGITS_STORE_PASSWORD_FILE)."
    )
    work_dir: Path = Field(default=Path("/work"), description="Scratch folder for the new bundle (a writable volume).")
    max_minutes: float = Field(default=30.0, gt=0, description="Training stops after this many minutes.")
    quick: bool = Field(default=False, description="A small, fast run (for tests and trials): about a minute.")
    prerelease: bool = Field(default=False, description="Publish on the staging channel.")


def run(settings: RetrainJobSettings) -> int:
    token = read_token(settings.token_file) or ""  # a missing or empty file raises TokenFileError
    bundle_dir = settings.work_dir / "bundle"
    release_dir = settings.work_dir / "release"
    arguments = [
        "train",
        "--from",
        str(settings.model_dir),
        "--store-url",
        settings.store_url,
        "--version",
        settings.tag,
        "--out",
        str(bundle_dir),
        "--zip-dir",
        str(release_dir),
        "--no-saved-model",
        "--max-minutes",
        f"{settings.max_minutes:g}",
        "--progress",
        "0",
    ]
    if settings.quick:
        arguments += ["--quick", "--drawn-eval-count", "200"]
    if code := training_main(arguments):
        return code
    zips = sorted(release_dir.glob("*.zip"))
    if len(zips) != 1:
        print(f"error: training wrote {len(zips)} bundle zips to {release_dir}, expected one", file=sys.stderr)
        return 1
    url = publish(
        settings.github_api_url,
        settings.source_repo,
        token,
        tag=settings.tag,
        bundle=zips[0],
        prerelease=settings.prerelease,
    )
    print(f"published {settings.tag}: {url}")
    return 0


def main() -> int:
    try:
        settings = RetrainJobSettings()  # type: ignore[call-arg]  # required values come from the environment
    except ValidationError as error:
        print(f"error: invalid DIGITS_RETRAIN_* settings: {error}", file=sys.stderr)
        return 2
    try:
        return run(settings)
    except (TokenFileError, BundleError, GithubException) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
