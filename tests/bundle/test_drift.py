"""Drift features, references and scores: stable for MNIST test digits against the training digits, high for
digits drawn small and thick, exact on shapes whose features are known."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from digits_bundle import drift
from digits_bundle.manifest import DriftReference, FeatureReference, Manifest, ManifestError
from tests.support.paths import BAKED_IN_BUNDLE
from tests.support.shifted_digits import tiny_thick


@pytest.fixture(scope="module")
def reference(mnist) -> DriftReference:
    return drift.reference(drift.image_features(mnist.x_train), "mnist train")


def scores(reference: DriftReference, images: np.ndarray) -> dict[str, float]:
    features = drift.image_features(images)
    return {
        name: drift.psi(drift.proportions(values, reference.features[name].edges), reference.features[name].proportions)
        for name, values in features.items()
    }


def test_mnist_test_digits_do_not_drift_from_the_training_digits(reference, mnist):
    found = scores(reference, mnist.x_test[:2000])
    assert max(found.values()) < drift.PSI_MODERATE, found
    assert all(drift.status(score) == "stable" for score in found.values())


def test_digits_drawn_small_and_thick_drift_significantly(reference, mnist):
    found = scores(reference, tiny_thick(mnist.x_test[:1000]))
    for name in ("box_height", "box_width", "ink_mass"):
        assert found[name] > drift.PSI_SIGNIFICANT, found
        assert drift.status(found[name]) == "significant"


def test_features_of_shapes_whose_features_are_known():
    square = np.zeros((28, 28), dtype=np.uint8)
    square[4:14, 9:13] = 255  # 10 high, 4 wide, centre of mass at (8.5, 10.5)
    empty = np.zeros((28, 28), dtype=np.uint8)
    features = drift.image_features(np.stack([square, empty]))
    assert features["ink_mass"].tolist() == [40.0, 0.0]
    assert features["box_height"].tolist() == [10.0, 0.0]
    assert features["box_width"].tolist() == [4.0, 0.0]
    assert features["aspect"][0] == pytest.approx(0.4) and features["aspect"][1] == 0
    assert features["centre_offset"][0] == pytest.approx(np.hypot(5, 3), abs=1e-4)
    assert features["thickness"][0] == pytest.approx(2 * 40 / 28)  # twice the area over the outline
    answers = drift.all_features(np.stack([square, empty]), np.array([[0.2, 0.8], [0.6, 0.4]]), [2, 7])
    assert answers["top_probability"].tolist() == pytest.approx([0.8, 0.6])
    assert answers["predicted_label"].tolist() == [7, 2]


def test_proportions_count_values_beyond_the_edges_in_the_outer_bins():
    shares = drift.proportions(np.array([-5.0, 0.0, 1.0, 2.5, 99.0]), [0, 1, 2, 3])
    assert shares.tolist() == [0.4, 0.2, 0.4]
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert drift.psi([1.0, 0.0], [0.0, 1.0]) > 10  # finite for empty bins


@pytest.mark.parametrize(
    "bad",
    [
        {"edges": [0, 1], "proportions": [0.5, 0.5]},
        {"edges": [1, 0], "proportions": [1.0]},
        {"edges": [0, 1, 2], "proportions": [0.7, 0.7]},
        {"edges": [0, 1, 2], "proportions": [-0.5, 1.5]},
        {"edges": list(range(100)), "proportions": [0.01] * 99},
    ],
)
def test_a_malformed_reference_is_refused(bad):
    with pytest.raises(ValidationError):
        FeatureReference(**bad)


def test_the_committed_bundle_records_its_reference_and_a_manifest_with_a_hostile_one_is_refused():
    raw = (BAKED_IN_BUNDLE / "manifest.json").read_bytes()
    manifest = Manifest.from_json(raw)
    assert manifest.drift_reference is not None
    assert set(manifest.drift_reference.features) == set(drift.FEATURES)
    assert manifest.drift_reference.n == 60_000
    hostile = raw.replace(b'"n": 60000', b'"n": -1', 1)
    with pytest.raises(ManifestError, match="drift_reference"):
        Manifest.from_json(hostile)
