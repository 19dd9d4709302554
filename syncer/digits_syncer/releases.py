"""Releases of the training repository, and which one the policy wants (pure functions)."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from digits_bundle.manifest import VERSION_PATTERN

_TAG = re.compile(VERSION_PATTERN)  # a deployed tag becomes the bundle manifest's version
MAX_TAG_LENGTH = 250
"""Longest tag accepted: it becomes a git branch, commit messages, an annotation and the pin."""
_SEMVER = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


class SelectionPolicy(StrEnum):
    NEWEST_PUBLISHED = "newest-published"
    """The release published last (``published_at``), whatever its tag."""
    HIGHEST_SEMVER = "highest-semver"
    """The highest semantic version among tags like ``v1.2.3``; other tags are ignored."""


@dataclass(frozen=True)
class Asset:
    id: int
    name: str
    size: int
    url: str
    """The API URL of the asset (download with ``Accept: application/octet-stream``)."""
    digest: str | None = None
    """``sha256:<hex>`` when GitHub states it."""


@dataclass(frozen=True)
class Release:
    id: int
    tag: str
    name: str
    draft: bool
    prerelease: bool
    published_at: datetime | None
    created_at: datetime | None
    assets: tuple[Asset, ...]


@dataclass
class ReleaseList:
    releases: list[Release]
    changed: bool
    """False when GitHub answered 304 Not Modified."""


@dataclass(frozen=True)
class ReleaseFilter:
    policy: SelectionPolicy = SelectionPolicy.NEWEST_PUBLISHED
    tag_pattern: str = "*"
    asset_pattern: str = "*.zip"
    allow_prereleases: bool = False


def semver_key(tag: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]] | None:
    """Sort key of a semantic version tag (a release sorts after its prereleases), or None."""
    match = _SEMVER.match(tag)
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)  # type: ignore[return-value]


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot name a model version (None when it can).

    A deployed tag becomes the bundle manifest's version, a file name, a git branch, commit
    messages, a pod annotation and the pin file, so it must be a plain version: what a bundle
    manifest accepts as ``version`` (a letter or digit, then letters, digits and ``. _ + -``).
    """
    if not tag:
        return "the tag is empty"
    if len(tag) > MAX_TAG_LENGTH:
        return f"the tag is {len(tag)} characters long, more than {MAX_TAG_LENGTH}"
    if not _TAG.fullmatch(tag):
        return (
            f"the tag {tag_key(tag)} is not a plain version: a letter or digit first, then only"
            " letters, digits and . _ + -"
        )
    return None


def tag_key(tag: str) -> str:
    """The name a release is recorded under: the tag itself when it is valid; otherwise an escaped,
    shortened form with a hash of the whole tag (safe in logs, the state and a ConfigMap, and distinct)."""
    if _valid_tag(tag):
        return tag
    escaped = tag[:40].encode("unicode_escape").decode("ascii")[:80]
    digest = hashlib.sha256(tag.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"invalid:{escaped}#{digest}"


def _valid_tag(tag: str) -> bool:
    return 0 < len(tag) <= MAX_TAG_LENGTH and _TAG.fullmatch(tag) is not None


class DigestCheck(StrEnum):
    SHA256 = "sha256"
    """Checked against the downloaded bytes."""
    ABSENT = "absent"
    UNSUPPORTED = "unsupported"


def digest_check(digest: str | None) -> DigestCheck:
    """Whether the digest a release states for an asset can be checked (only ``sha256:`` can)."""
    if not digest:
        return DigestCheck.ABSENT
    return DigestCheck.SHA256 if digest.lower().startswith("sha256:") else DigestCheck.UNSUPPORTED


def asset_fingerprint(asset: Asset) -> str:
    """What identifies the bytes of an asset: republishing a tag with other bytes changes it."""
    return f"asset {asset.id}, {asset.size} bytes, digest {(asset.digest or 'none')[:100]}"


def model_asset(release: Release, pattern: str) -> Asset | None:
    """The one asset matching ``pattern`` (None when there is none; the first by name when several)."""
    matching = sorted((a for a in release.assets if fnmatch.fnmatchcase(a.name, pattern)), key=lambda a: a.name)
    return matching[0] if matching else None


def eligible(release: Release, rules: ReleaseFilter) -> bool:
    if release.draft or (release.prerelease and not rules.allow_prereleases):
        return False
    if not fnmatch.fnmatchcase(release.tag, rules.tag_pattern):
        return False
    if rules.policy is SelectionPolicy.HIGHEST_SEMVER and semver_key(release.tag) is None:
        return False
    return model_asset(release, rules.asset_pattern) is not None


def select_release(releases: list[Release], rules: ReleaseFilter, skip: frozenset[str] = frozenset()) -> Release | None:
    """The release the policy wants among those not in ``skip`` (the ``tag_key`` of each release that failed before)."""
    candidates = [r for r in releases if eligible(r, rules) and tag_key(r.tag) not in skip]
    if not candidates:
        return None
    if rules.policy is SelectionPolicy.HIGHEST_SEMVER:
        return max(candidates, key=lambda r: semver_key(r.tag))  # type: ignore[arg-type, return-value]
    return max(candidates, key=_published_key)


def _published_key(release: Release) -> tuple[float, int]:
    when = release.published_at or release.created_at
    return (when.timestamp() if when else 0.0, release.id)
