"""The original system's release (a bare SavedModel zip) converts into a bundle."""

from __future__ import annotations

import hashlib
import shutil
import zipfile

import numpy as np
import pytest

from digits_bundle.bundle import verify_directory
from digits_bundle.evaluation import predict_indices
from digits_bundle.runtime import load_model
from digits_training.foreign import ConversionError, convert_release, saved_model_predict
from tests.support.paths import FOREIGN_RELEASE, FOREIGN_RELEASE_SHA256

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def converted(tmp_path_factory, mnist):
    assert hashlib.sha256(FOREIGN_RELEASE.read_bytes()).hexdigest() == FOREIGN_RELEASE_SHA256
    out = tmp_path_factory.mktemp("foreign") / "bundle"
    return convert_release(
        FOREIGN_RELEASE, labels=[2, 7, 8], scale=255, mnist=mnist, destination=out, version="model-v1"
    )


def test_fixture_converts_with_configured_labels_and_scale(converted):
    manifest = converted.manifest
    assert manifest.labels == [2, 7, 8]
    assert manifest.input.scale == 255
    assert manifest.metrics.n_test == 3034
    assert 0.95 <= manifest.metrics.test_accuracy <= 0.98  # 96.4 % per the fixture's notes
    assert "saved_model/saved_model.pb" in manifest.files
    assert manifest.training.source.startswith(f"azureml-mnist-model-1.zip sha256:{FOREIGN_RELEASE_SHA256}")


def test_tflite_agrees_with_the_saved_model(converted, mnist):
    test = mnist.subset([2, 7, 8])
    tflite = predict_indices(load_model(verify_directory(converted.root)), test.x_test)
    reference = saved_model_predict(converted.root / "saved_model", test.x_test, 255).argmax(axis=1)
    agreement = float(np.mean(tflite == reference))
    assert agreement >= 0.999
    assert converted.manifest.model_extra["conversion"]["tflite_savedmodel_agreement"] == pytest.approx(agreement)


def test_wrong_number_of_labels_is_refused(tmp_path, mnist):
    with pytest.raises(ConversionError, match="3 outputs but 2 labels"):
        convert_release(FOREIGN_RELEASE, labels=[2, 7], scale=255, mnist=mnist, destination=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_zip_without_a_saved_model_is_refused(tmp_path, mnist):
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("README.txt", "nothing here")
    with pytest.raises(ConversionError, match="no TF SavedModel"):
        convert_release(archive, labels=[2, 7, 8], scale=255, mnist=mnist, destination=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
