"""The local GitHub server is held to GitHub's OpenAPI description: the check itself can fail."""

from __future__ import annotations

import httpx

from tests.support.github_openapi import complete, validate
from tests.support.github_server import RELEASES


def test_a_documented_release_list_passes_and_a_broken_one_fails(github):
    github.publish("v1.0.0", "m.zip", b"data")
    releases = httpx.get(f"{github.url}/repos/{github.owner}/{github.source}/releases").json()
    assert validate("GET", RELEASES, 200, releases) == []
    broken = [{key: value for key, value in releases[0].items() if key != "tag_name"}]
    assert any("'tag_name' is a required property" in error for error in validate("GET", RELEASES, 200, broken))
    wrong_type = [{**releases[0], "id": "one"}]
    assert any("'one' is not of type 'integer'" in error for error in validate("GET", RELEASES, 200, wrong_type))


def test_nullable_fields_accept_null_and_completion_fills_required_fields():
    user = complete({"login": "x"}, "simple-user")
    assert user["login"] == "x" and "avatar_url" in user and "site_admin" in user
    asset = complete({"label": None, "uploader": None}, "release-asset")
    assert set(asset) >= {"id", "name", "digest", "browser_download_url"}
