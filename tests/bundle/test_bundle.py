"""The bundle format and its reader, on the committed bundle and on damaged copies of it."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digits_bundle.bundle import BundleError, opened_bundle, verify_directory, zip_bundle
from digits_bundle.evaluation import evaluate_model
from digits_bundle.manifest import json_nesting_depth
from digits_bundle.runtime import load_model
from tests.support.bundles import DEEP_MANIFEST, invalid_utf8_manifest


@pytest.fixture
def bundle_copy(tmp_path, baked_in_bundle) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(baked_in_bundle, copy)
    return copy


def _edit_manifest(root: Path, **changes) -> None:
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_committed_bundle_is_complete_and_self_describing(baked_in_bundle):
    bundle = verify_directory(baked_in_bundle)
    manifest = bundle.manifest
    assert manifest.labels == list(range(10))
    assert manifest.input.shape == (28, 28, 1) and manifest.input.foreground == "white-on-black"
    assert manifest.metrics.n_test == 10_000
    assert manifest.metrics.test_accuracy >= 0.994
    assert len(manifest.metrics.confusion_matrix) == 10
    assert manifest.training.dataset == "mnist" and manifest.training.seed is not None
    assert set(manifest.metrics.per_class) == {str(d) for d in range(10)}


def test_committed_model_reevaluates_to_its_manifest(baked_in_bundle, mnist):
    bundle = verify_directory(baked_in_bundle)
    metrics = evaluate_model(load_model(bundle), mnist.x_test, mnist.y_test, "mnist-test")
    assert metrics.test_accuracy >= 0.994
    assert abs(metrics.test_accuracy - bundle.manifest.metrics.test_accuracy) <= 0.0005
    assert metrics.confusion_matrix == bundle.manifest.metrics.confusion_matrix


def test_a_wrong_digest_is_refused(bundle_copy):
    with open(bundle_copy / "model.tflite", "ab") as model:
        model.write(b"\0")
    with pytest.raises(BundleError, match=r"sha256 of model\.tflite is [0-9a-f]{64}, manifest says"):
        verify_directory(bundle_copy)


def test_a_missing_file_is_refused(bundle_copy):
    (bundle_copy / "model.tflite").unlink()
    with pytest.raises(BundleError, match=r"missing file model\.tflite"):
        verify_directory(bundle_copy)


def test_an_unlisted_file_is_refused(bundle_copy):
    (bundle_copy / "extra.bin").write_bytes(b"x")
    with pytest.raises(BundleError, match=r"not listed in the manifest: extra\.bin"):
        verify_directory(bundle_copy)


def test_labels_that_disagree_with_the_model_are_refused(bundle_copy):
    _edit_manifest(
        bundle_copy,
        labels=[2, 7, 8],
        metrics={**json.loads((bundle_copy / "manifest.json").read_text())["metrics"], "confusion_matrix": []},
    )
    bundle = verify_directory(bundle_copy)
    with pytest.raises(BundleError, match=r"model has 10 outputs but the manifest names 3 labels"):
        load_model(bundle)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": [1, 1, 2]}, "labels must be distinct"),
        ({"labels": [3, 12]}, "digits 0..9"),
        ({"schema": 99}, "schema"),
        ({"input": {"shape": [32, 32, 1], "scale": 1}}, "input.shape"),
        ({"files": {"model.tflite": "abc"}}, "not a sha256"),
        ({"files": {"../x": "0" * 64, "model.tflite": "0" * 64}}, "invalid path"),
    ],
)
def test_manifest_schema_errors_are_precise(bundle_copy, change, message):
    _edit_manifest(bundle_copy, **change)
    with pytest.raises(BundleError, match=message):
        verify_directory(bundle_copy)


def test_not_json_and_no_manifest(bundle_copy):
    (bundle_copy / "manifest.json").write_text("{")
    with pytest.raises(BundleError, match="not valid JSON"):
        verify_directory(bundle_copy)
    (bundle_copy / "manifest.json").unlink()
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        verify_directory(bundle_copy)


def test_zip_round_trip_serves_the_same_predictions(tmp_path, baked_in_bundle, mnist):
    archive = zip_bundle(baked_in_bundle, tmp_path / "mnist-cnn-v1.zip")
    with zipfile.ZipFile(archive) as zf:
        assert "manifest.json" in zf.namelist() and "model.tflite" in zf.namelist()
    with opened_bundle(archive) as bundle:
        zipped = load_model(bundle).predict(mnist.x_test[:50].reshape(50, -1))
    direct = load_model(verify_directory(baked_in_bundle)).predict(mnist.x_test[:50].reshape(50, -1))
    np.testing.assert_allclose(zipped, direct, atol=1e-6)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (invalid_utf8_manifest, "not valid UTF-8: byte"),
        (lambda raw: DEEP_MANIFEST, "nested 100000 levels deep, more than 32"),
        (lambda raw: b" " * (2 * 1024 * 1024) + raw, "more than the 1048576 a manifest may have"),
        (lambda raw: raw.replace(b'"n_test": 10000', b'"n_test": ' + b"9" * 5000, 1), "not valid JSON"),
    ],
    ids=["invalid-utf8", "deep", "oversized", "huge-integer"],
)
def test_hostile_manifests_are_bundle_errors(bundle_copy, manifest, message):
    path = bundle_copy / "manifest.json"
    path.write_bytes(manifest(path.read_bytes()))
    with pytest.raises(BundleError, match=message):
        verify_directory(bundle_copy)


def test_a_manifest_listing_a_name_no_file_system_can_hold_is_refused(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["files"]["a" * 300] = "0" * 64
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="a name longer than 255 bytes"):
        verify_directory(bundle_copy)


@pytest.mark.parametrize(
    ("text", "depth"),
    [("{}", 1), ('{"a": [1, {"b": []}]}', 4), ('{"a": "[[[{{{"}', 1), ('["\\"]]]", [[]]]', 3), ("1", 0)],
)
def test_json_nesting_depth_skips_strings(text, depth):
    assert json_nesting_depth(text) == depth
