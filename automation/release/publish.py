"""Publish a model bundle as a GitHub Release of the training repository, through PyGithub.

    python -m release.publish --repo owner/name --tag v1.2.0 --bundle build/mnist-cnn-v1.2.0.zip \\
        [--api-url https://api.github.com] [--prerelease] [--token-file F]   (or GITHUB_TOKEN)

The bundle is verified first (digests, manifest, a self-test of the model) and its manifest's
version must be the tag, so what the syncer later downloads is exactly what was evaluated.
Works against any GitHub-compatible API base URL (GitHub Enterprise, a local server).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from github import Auth, Github, GithubException
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from digits_bundle.bundle import BundleError, opened_bundle
from digits_bundle.runtime import load_model
from digits_bundle.token_file import TokenFileError, read_token


class PublishEnvironment(BaseSettings):
    """What the publisher takes from its environment: a GitHub Actions job sets both."""

    model_config = SettingsConfigDict(extra="ignore")

    github_api_url: str = Field(default="https://api.github.com", validation_alias="GITHUB_API_URL")
    github_token: SecretStr = Field(default=SecretStr(""), validation_alias="GITHUB_TOKEN")


def publish(api_url: str, repo_name: str, token: str, *, tag: str, bundle: Path, prerelease: bool = False) -> str:
    """Create the release and upload the bundle; returns the release's HTML URL."""
    with opened_bundle(bundle) as verified:
        load_model(verified)
        manifest = verified.manifest
    if manifest.version != tag:
        raise BundleError(f"{bundle.name}: its manifest says version {manifest.version!r}, the tag is {tag!r}")
    metrics = manifest.metrics
    notes = (
        f"Model bundle {manifest.name} {tag}: labels {manifest.labels}, test accuracy {metrics.test_accuracy:.4f}"
        f" on {metrics.n_test} digits ({metrics.dataset or manifest.training.dataset})."
    )
    github = Github(base_url=api_url, auth=Auth.Token(token), timeout=120)
    repo = github.get_repo(repo_name)
    release = repo.create_git_release(tag=tag, name=f"{manifest.name} {tag}", message=notes, prerelease=prerelease)
    release.upload_asset(str(bundle), label="model bundle", content_type="application/zip", name=bundle.name)
    return str(release.html_url)


def main(argv: list[str] | None = None) -> int:
    environment = PublishEnvironment()
    parser = argparse.ArgumentParser(
        prog="python -m release.publish", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", required=True, help="owner/name of the training repository")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--bundle", type=Path, required=True, help="the bundle zip to publish")
    parser.add_argument(
        "--api-url", default=environment.github_api_url, help="GitHub REST API base URL (default: $GITHUB_API_URL)"
    )
    parser.add_argument("--token-file", type=Path, help="file holding the token (default: $GITHUB_TOKEN)")
    parser.add_argument("--prerelease", action="store_true", help="publish on the staging channel")
    args = parser.parse_args(argv)
    try:
        token = read_token(args.token_file) if args.token_file else environment.github_token.get_secret_value()
    except TokenFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not token:
        print("error: a token is needed: --token-file or GITHUB_TOKEN", file=sys.stderr)
        return 2
    try:
        url = publish(args.api_url, args.repo, token, tag=args.tag, bundle=args.bundle, prerelease=args.prerelease)
    except (BundleError, GithubException) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
