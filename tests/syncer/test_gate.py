"""The gate on real archives: what passes, and every way a release is refused with its reason."""

from __future__ import annotations

import hashlib
import stat
import zipfile

import numpy as np
import pytest

from digits_bundle.bundle import verify_directory, zip_bundle
from digits_bundle.evaluation import compute_metrics, evaluate_model
from digits_bundle.runtime import load_model
from digits_syncer.gate import Gate, GateSettings
from digits_syncer.ports import GateUnavailable, Rejected
from tests.support.archives import write_zip
from tests.support.bundles import copy_bundle
from tests.support.paths import FOREIGN_RELEASE
from tests.support.servers import free_port

SETTINGS = GateSettings(
    foreign_labels=[2, 7, 8], foreign_scale=255, min_accuracy=0.9, max_regression=0.02, holdout_size=1000
)


def serving_scoring(accuracy):
    """The serving model's scores as the api client reports them, for a model right on every digit but a
    share ``1 - accuracy`` of each label's (None: no serving model to compare with)."""

    def score(labels, images, targets):
        if accuracy is None:
            return None
        wrong = np.arange(len(targets)) % 100 >= round(accuracy * 100)
        return compute_metrics(targets, np.where(wrong, (targets + 1) % len(labels), targets), labels, "serving")

    return score


def _gate(mnist, settings=SETTINGS, serving=None, serving_labels=lambda: None):
    return Gate(settings, lambda: mnist, serving_scoring(serving), serving_labels)


@pytest.fixture
def bundle_zip(tmp_path, baked_in_bundle):
    return zip_bundle(copy_bundle(baked_in_bundle, tmp_path / "b", version="v2.0.0"), tmp_path / "mnist-cnn-v2.0.0.zip")


def test_a_good_bundle_passes(tmp_path, mnist, bundle_zip):
    work = tmp_path / "work"
    work.mkdir()
    accepted = _gate(mnist).check(bundle_zip, "v2.0.0", work)
    assert accepted.version == "v2.0.0"
    assert accepted.accuracy > 0.99
    assert accepted.sha256 == hashlib.sha256(accepted.bundle_zip.read_bytes()).hexdigest()
    assert accepted.bundle_zip.name == "mnist-cnn-v2.0.0.zip"


def _damaged(tmp_path, bundle_zip, kind):
    if kind == "path-escape":
        return write_zip(tmp_path / "e.zip", [("../../escape.txt", b"x", None)])
    if kind == "symlink":
        return write_zip(tmp_path / "l.zip", [("model.tflite", b"/etc/passwd", stat.S_IFLNK | 0o777)])
    if kind == "zip-bomb":
        return write_zip(tmp_path / "bomb.zip", [("zeros", b"\0" * (64 * 1024 * 1024), None)])
    if kind == "truncated":
        truncated = tmp_path / "t.zip"
        truncated.write_bytes(bundle_zip.read_bytes()[:20_000])
        return truncated
    if kind == "wrong-file-digest":
        out = tmp_path / "d.zip"
        with zipfile.ZipFile(bundle_zip) as source, zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                target.writestr(item, data + b"\0" if item.filename == "model.tflite" else data)
        return out
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("path-escape", "escapes the archive directory"),
        ("symlink", "symbolic link"),
        ("zip-bomb", "zip bomb"),
        ("truncated", "not a valid zip"),
        ("wrong-file-digest", r"sha256 of model\.tflite is"),
    ],
)
def test_damaged_archives_are_rejected(tmp_path, mnist, bundle_zip, kind, reason):
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(Rejected, match=reason):
        _gate(mnist).check(_damaged(tmp_path, bundle_zip, kind), "v9", work)
    assert not (tmp_path / "escape.txt").exists()


def test_labels_that_disagree_with_the_model_are_rejected(tmp_path, mnist, baked_in_bundle):
    bundle = copy_bundle(baked_in_bundle, tmp_path / "b", labels=[2, 7, 8], version="v9")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(Rejected, match="model has 10 outputs but the manifest names 3 labels"):
        _gate(mnist).check(zip_bundle(bundle, tmp_path / "x.zip"), "v9", work)


def serving_model(bundle_dir):
    """The scores of a real model serving ``bundle_dir`` (what the api client measures through the api)."""
    model = load_model(verify_directory(bundle_dir))
    return lambda labels, images, targets: evaluate_model(model, images, targets, "serving")


def test_accuracy_floor_and_regressions(tmp_path, mnist, baked_in_bundle, bundle_zip):
    strict = GateSettings([2, 7, 8], 255, min_accuracy=0.9999, max_regression=0.02, holdout_size=1000)
    no_regression = GateSettings([2, 7, 8], 255, 0.9, max_regression=0.0, holdout_size=1000)
    no_label_regression = GateSettings([2, 7, 8], 255, 0.9, 1.0, 1000, max_class_regression=0.0)
    for n, (settings, serving, reason) in enumerate(
        [
            (strict, serving_scoring(None), "below the floor 0.9999"),
            (SETTINGS, serving_model(baked_in_bundle), None),  # the same model: no regression anywhere
            (
                no_regression,
                serving_scoring(1.0),
                "holdout accuracy 0.99[0-9]+ is worse than the serving model's 1.0000",
            ),
            # a model right on every digit: each label the candidate misses one of is a regression
            (no_label_regression, serving_scoring(1.0), r"recall on holdout is worse .* by more than 0.0000 for label"),
        ]
    ):
        work = tmp_path / f"work{n}"
        work.mkdir()
        gate = Gate(settings, lambda: mnist, serving)
        if reason is None:
            accepted = gate.check(bundle_zip, "v2.0.0", work)
            assert accepted.accuracy > 0.99 and accepted.serving_accuracy == accepted.accuracy
            for judged in ("holdout accuracy", "pad-style holdout accuracy", "recall per label on pad-style holdout"):
                assert judged in accepted.reason
            # The evidence a pull request shows: the sizes of what is recorded and of what is served.
            assert accepted.bundle_bytes == accepted.bundle_zip.stat().st_size
            with zipfile.ZipFile(accepted.bundle_zip) as packed:
                assert accepted.model_bytes == packed.getinfo("model.tflite").file_size > 0
        else:
            with pytest.raises(Rejected, match=reason):
                gate.check(bundle_zip, "v2.0.0", work)


def test_a_bundle_whose_version_is_not_the_tag_is_rejected(tmp_path, mnist, bundle_zip):
    """The pin names the tag and /model the manifest's version: they must be the same (as the publisher
    requires)."""
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(Rejected, match=r"its manifest says version 'v2\.0\.0', the release tag is 'v2\.0\.1'"):
        _gate(mnist).check(bundle_zip, "v2.0.1", work)


def test_the_serving_model_is_scored_through_the_api_as_the_candidate_is_locally(mnist, baked_in_bundle, api):
    """The api serves the baked-in model: its scores through /predict/batch are the local runtime's."""
    from digits_syncer.api_client import serving_score

    images, targets = mnist.x_test[:600], mnist.y_test[:600]
    through_api = serving_score(api.url, 10)(list(range(10)), images, targets)
    local = serving_model(baked_in_bundle)(list(range(10)), images, targets)
    assert through_api is not None
    assert through_api.confusion_matrix == local.confusion_matrix
    assert through_api.per_class == local.per_class
    assert serving_score(api.url, 10)([2, 7, 8], images, targets) is None  # other labels: not comparable


def test_a_release_is_neither_accepted_nor_refused_while_the_serving_model_cannot_be_scored(
    tmp_path, mnist, bundle_zip
):
    """An api that does not answer (down, or slowed by a flood of /predict) must not switch the comparison
    off: the release waits for the next poll."""
    from digits_syncer.api_client import serving_score

    work = tmp_path / "work"
    work.mkdir()
    gate = Gate(SETTINGS, lambda: mnist, serving_score(f"http://127.0.0.1:{free_port()}", 2))
    with pytest.raises(GateUnavailable, match=r"could not score the serving model at http://127\.0\.0\.1:"):
        gate.check(bundle_zip, "v2.0.0", work)


@pytest.mark.parametrize("allow", [False, True])
def test_a_release_narrower_than_the_serving_model_is_rejected(tmp_path, mnist, baked_in_bundle, api, allow):
    """The serving api reports ten labels; a three-label release would leave the app answering 2, 7 or 8."""
    from digits_syncer.api_client import serving_labels

    labels = serving_labels(api.url, 10)
    assert labels() == list(range(10))
    narrow = zip_bundle(
        copy_bundle(baked_in_bundle, tmp_path / "b", labels=[2, 7, 8], version="v9"), tmp_path / "narrow.zip"
    )
    settings = GateSettings([2, 7, 8], 255, 0.9, 0.02, 1000, allow_narrower_labels=allow)
    for n, archive in enumerate([narrow, FOREIGN_RELEASE]):
        work = tmp_path / f"work{n}"
        work.mkdir()
        if allow:  # past the label check: this copy fails later, on its model's 10 outputs
            if archive == narrow:
                with pytest.raises(Rejected, match="model has 10 outputs but the manifest names 3 labels"):
                    _gate(mnist, settings, serving_labels=labels).check(archive, "v9", work)
            continue
        with pytest.raises(Rejected, match=r"labels \[2, 7, 8\] do not cover the serving model's \[0, 1, 2"):
            _gate(mnist, settings, serving_labels=labels).check(archive, "v9", work)
        assert not (work / "converted").exists()  # refused before any conversion


@pytest.mark.slow
def test_the_original_release_converts_and_passes(tmp_path, mnist):
    work = tmp_path / "work"
    work.mkdir()
    accepted = _gate(mnist).check(FOREIGN_RELEASE, "model-v1", work)
    assert accepted.version == "model-v1"
    assert 0.95 < accepted.accuracy < 0.98
    with zipfile.ZipFile(accepted.bundle_zip) as zf:
        manifest = zf.read("manifest.json").decode()
    assert '"labels": [\n    2,\n    7,\n    8\n  ]' in manifest


def _drawings(mnist, count):
    """Held-out drawings as the store gives them: MNIST test digits stand in for people's drawings."""
    return lambda labels: (mnist.x_test[:count], mnist.y_test[:count])


def test_held_out_drawings_are_compared_with_the_serving_model(tmp_path, mnist, bundle_zip):
    def broken(labels):
        raise ConnectionError("the store is down")

    def mislabelled(labels):  # drawings the candidate reads differently from the people who labelled them
        return mnist.x_test[:200], (mnist.y_test[:200] + 1) % 10

    for n, (drawings, outcome) in enumerate(
        [
            (mislabelled, None),
            (_drawings(mnist, 200), "held-out drawings (serving 0.5000)"),
            (_drawings(mnist, 30), "only 30 held-out drawings (fewer than 50)"),
            (broken, "held-out drawings not compared: the store could not be read"),
            (None, "held-out drawings not compared: no store"),
        ]
    ):
        work = tmp_path / f"work{n}"
        work.mkdir()
        gate = Gate(SETTINGS, lambda: mnist, serving_scoring(0.5), held_out_drawings=drawings)
        if outcome is None:
            with pytest.raises(Rejected, match="held-out drawings people labelled is worse than the serving"):
                gate.check(bundle_zip, "v2.0.0", work)
        else:
            assert outcome in gate.check(bundle_zip, "v2.0.0", work).reason
