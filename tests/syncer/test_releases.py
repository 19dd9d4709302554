"""Which release the policy wants: a table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digits_syncer.releases import (
    Asset,
    Release,
    ReleaseFilter,
    SelectionPolicy,
    select_release,
    semver_key,
    tag_key,
    tag_problem,
)


def _release(tag, day, *, draft=False, prerelease=False, asset="mnist-cnn.zip", rid=None):
    return Release(
        id=rid or day,
        tag=tag,
        name=tag,
        draft=draft,
        prerelease=prerelease,
        published_at=datetime(2026, 11, day, tzinfo=UTC),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        assets=(Asset(id=day, name=asset, size=1, url=f"u/{day}"),) if asset else (),
    )


RELEASES = [
    _release("v1.2.0", 1),
    _release("v1.10.0", 2),
    _release("v2.0.0-rc.1", 5, prerelease=True),
    _release("v1.9.0", 3),
    _release("model-v7", 4),
    _release("v3.0.0", 6, draft=True),
    _release("v2.5.0", 7, asset="notes.txt"),
]
NEWEST = SelectionPolicy.NEWEST_PUBLISHED
SEMVER = SelectionPolicy.HIGHEST_SEMVER


@pytest.mark.parametrize(
    ("rules", "skip", "expected"),
    [
        (ReleaseFilter(NEWEST), set(), "model-v7"),
        (ReleaseFilter(NEWEST, allow_prereleases=True), set(), "v2.0.0-rc.1"),
        (ReleaseFilter(SEMVER), set(), "v1.10.0"),
        (ReleaseFilter(SEMVER, allow_prereleases=True), set(), "v2.0.0-rc.1"),
        (ReleaseFilter(NEWEST, tag_pattern="v*"), set(), "v1.9.0"),
        (ReleaseFilter(NEWEST, tag_pattern="model-v*"), {"model-v7"}, None),
        (ReleaseFilter(SEMVER), {"v1.10.0"}, "v1.9.0"),
        (ReleaseFilter(NEWEST, asset_pattern="*.txt"), set(), "v2.5.0"),
        (ReleaseFilter(NEWEST, asset_pattern="*.tar"), set(), None),
    ],
)
def test_selection(rules, skip, expected):
    chosen = select_release(RELEASES, rules, frozenset(skip))
    assert (chosen.tag if chosen else None) == expected


def test_drafts_are_never_chosen():
    assert select_release([_release("v9.0.0", 9, draft=True)], ReleaseFilter(NEWEST, allow_prereleases=True)) is None


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("v1.2.3", "v1.2.4"),
        ("1.9.9", "v1.10.0"),
        ("v2.0.0-rc.1", "v2.0.0"),
        ("v2.0.0-alpha", "v2.0.0-beta"),
        ("v2.0.0-rc.2", "v2.0.0-rc.10"),
    ],
)
def test_semver_order(lower, higher):
    assert semver_key(lower) < semver_key(higher)


def test_non_semver_tags_have_no_key():
    assert semver_key("model-v7") is None and semver_key("v1.2") is None


TAGS = [
    ("v1.2.3", None),
    ("model-v1", None),
    ("v2.0.0-rc.1+build.5", None),
    ("1.0", None),
    ("v" * 250, None),
    ("v" * 251, "more than 250"),
    ("", "empty"),
    ("v2/../../x", "not a plain version"),
    ("/etc/passwd", "not a plain version"),
    ("v2\n\x1b[31m", "not a plain version"),
    ("v2\r\nkind: Secret", "not a plain version"),
    ("-v2", "not a plain version"),
    (".hidden", "not a plain version"),
    ("v2 beta", "not a plain version"),
    ("v\u00e9", "not a plain version"),
    ("v2\ud800", "not a plain version"),
]


@pytest.mark.parametrize(("tag", "problem"), TAGS)
def test_tag_problems(tag, problem):
    found = tag_problem(tag)
    assert (found is None) if problem is None else (problem in found)
    key = tag_key(tag)
    if problem is None:
        assert key == tag
    else:  # safe to log and store: short, printable ASCII, and distinct per tag
        assert key.startswith("invalid:") and key.isascii() and key.isprintable() and len(key) < 120


def test_invalid_tags_get_distinct_keys():
    assert tag_key("a/" + "x" * 300) != tag_key("a/" + "x" * 301)


@pytest.mark.parametrize(("tag", "problem"), TAGS)
def test_a_valid_tag_is_a_valid_manifest_version(baked_in_bundle, tag, problem):
    """The tag becomes the bundle's version: a tag the syncer accepts is one a manifest accepts, and only that."""
    import json

    from pydantic import ValidationError

    from digits_bundle.manifest import Manifest

    manifest = json.loads((baked_in_bundle / "manifest.json").read_text())
    try:
        Manifest.model_validate({**manifest, "version": tag})
        accepted = True
    except ValidationError:
        accepted = False
    if problem is None:
        assert accepted
    elif "more than 250" not in problem:
        assert not accepted


def test_invalid_tags_are_skipped_under_their_key():
    bad = _release("v9/..", 9)
    assert select_release([*RELEASES, bad], ReleaseFilter(NEWEST)).tag == "v9/.."
    assert select_release([*RELEASES, bad], ReleaseFilter(NEWEST), frozenset({tag_key("v9/..")})).tag == "model-v7"
