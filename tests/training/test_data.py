from __future__ import annotations

import numpy as np
import pytest

from digits_training.data import DataError, image_to_grey28, load_image_folders
from tests.support.digits import write_image_folders


def test_mnist_has_the_standard_split_as_uint8_white_on_black(mnist):
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_test.shape == (10_000, 28, 28)
    assert mnist.x_train.dtype == np.uint8 and mnist.x_train.max() == 255
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # White on black: the border is background (0), the ink is bright.
    assert mnist.x_test[:, 0, :].max() == 0 and mnist.x_test[:, 14, 14].mean() > 60
    assert len(mnist.sha256) == 64


def test_subset_reindexes_targets_to_label_positions(mnist):
    subset = mnist.subset([2, 7, 8])
    assert subset.labels == [2, 7, 8]
    assert len(subset.x_test) == 1032 + 1028 + 974
    assert set(np.unique(subset.y_test)) == {0, 1, 2}
    first_seven = np.flatnonzero(mnist.y_test == 7)[0]
    assert (subset.x_test == mnist.x_test[first_seven]).all(axis=(1, 2)).any()


def test_image_folders_any_size_and_mode_become_28x28_white_on_black(tmp_path, mnist):
    root = write_image_folders(tmp_path / "imgs", mnist.x_train, mnist.y_train, [2, 7, 8], per_class=20)
    data = load_image_folders(root, seed=3)
    assert data.labels == [2, 7, 8]
    assert data.x_train.shape[1:] == (28, 28) and data.x_train.dtype == np.uint8
    assert len(data.x_train) + len(data.x_test) == 60
    assert np.bincount(data.y_test).tolist() == [4, 4, 4]  # 20 % of each class
    # Black-on-white JPEGs were inverted: every image has a dark border.
    borders = np.concatenate([data.x_train[:, 0, :], data.x_train[:, -1, :]], axis=1)
    assert borders.mean(axis=1).max() < 40
    again = load_image_folders(root, seed=3)
    assert (again.x_test == data.x_test).all(), "the split is seeded"


def test_empty_and_unlabelled_folders_are_refused(tmp_path):
    with pytest.raises(DataError, match="no labelled folders"):
        load_image_folders(tmp_path)
    (tmp_path / "cats").mkdir()
    with pytest.raises(DataError, match="no labelled folders"):
        load_image_folders(tmp_path)
    (tmp_path / "mnist-3").mkdir()
    (tmp_path / "mnist-5").mkdir()
    with pytest.raises(DataError, match=r"mnist-3: needs at least 2 images"):
        load_image_folders(tmp_path)
    with pytest.raises(DataError, match="not a directory"):
        load_image_folders(tmp_path / "missing")


def test_a_corrupt_image_is_named(tmp_path, mnist):
    root = write_image_folders(tmp_path / "imgs", mnist.x_train, mnist.y_train, [1, 4], per_class=4)
    (root / "mnist-4" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match=r"broken\.png: not a readable image"):
        load_image_folders(root)
    with pytest.raises(DataError, match="not a readable image"):
        image_to_grey28(root / "mnist-4" / "broken.png")
