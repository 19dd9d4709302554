"""The release publisher produces a release the syncer then deploys (local GitHub-compatible server)."""

from __future__ import annotations

from digits_bundle.bundle import zip_bundle
from release.publish import main as publish_main
from tests.support.bundles import copy_bundle
from tests.support.syncer_cli import syncer_once


def _publish(github, tmp_path, tag, bundle):
    (tmp_path / "token").write_text("t0ken")
    return publish_main(
        [
            "--repo",
            f"{github.owner}/{github.source}",
            "--tag",
            tag,
            "--bundle",
            str(bundle),
            "--api-url",
            github.url,
            "--token-file",
            str(tmp_path / "token"),
        ]
    )


def test_published_release_is_deployed_by_the_syncer(tmp_path, github, baked_in_bundle, capsys):
    bundle = zip_bundle(
        copy_bundle(baked_in_bundle, tmp_path / "b", version="v7.0.0"), tmp_path / "mnist-cnn-v7.0.0.zip"
    )
    assert _publish(github, tmp_path, "v7.0.0", bundle) == 0
    assert capsys.readouterr().out.strip().endswith("/releases/tag/v7.0.0")
    (release,) = github.releases
    assert release["tag_name"] == "v7.0.0" and release["assets"][0]["name"] == "mnist-cnn-v7.0.0.zip"
    assert "test accuracy 0.99" in release["body"]
    from digits_bundle.fetch import main as fetch_main

    assert fetch_main(["--models", str(tmp_path / "models"), "--url", "", "--fallback", str(baked_in_bundle)]) == 0
    result = syncer_once(github, tmp_path, "")
    assert (result.returncode, result.stdout.strip()) == (0, "deployed"), result.stderr[-2000:]
    assert (tmp_path / "models" / "current" / "manifest.json").read_text().count('"version": "v7.0.0"') == 1


def test_a_bundle_whose_version_is_not_the_tag_is_refused(tmp_path, github, baked_in_bundle, capsys):
    bundle = zip_bundle(copy_bundle(baked_in_bundle, tmp_path / "b", version="v1.0.0"), tmp_path / "x.zip")
    assert _publish(github, tmp_path, "v9.9.9", bundle) == 1
    assert "manifest says version 'v1.0.0', the tag is 'v9.9.9'" in capsys.readouterr().err
    assert github.releases == []


def test_a_token_file_that_holds_no_token_is_refused_without_showing_it(tmp_path, github, baked_in_bundle, capsys):
    bundle = zip_bundle(copy_bundle(baked_in_bundle, tmp_path / "b", version="v7.0.0"), tmp_path / "x.zip")
    (tmp_path / "token").write_text("two words\n")
    arguments = ["--repo", f"{github.owner}/{github.source}", "--tag", "v7.0.0", "--bundle", str(bundle)]
    assert publish_main([*arguments, "--api-url", github.url, "--token-file", str(tmp_path / "token")]) == 2
    error = capsys.readouterr().err
    assert f"token file {tmp_path / 'token'}" in error and "two words" not in error
    assert publish_main([*arguments, "--api-url", github.url, "--token-file", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert github.releases == []


def test_the_api_url_and_the_token_come_from_the_environment(tmp_path, github, baked_in_bundle, monkeypatch, capsys):
    bundle = zip_bundle(copy_bundle(baked_in_bundle, tmp_path / "b", version="v7.0.0"), tmp_path / "x.zip")
    arguments = ["--repo", f"{github.owner}/{github.source}", "--tag", "v7.0.0", "--bundle", str(bundle)]
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert publish_main(arguments) == 2
    assert "a token is needed" in capsys.readouterr().err
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    assert publish_main(arguments) == 0
    assert [release["tag_name"] for release in github.releases] == ["v7.0.0"]
