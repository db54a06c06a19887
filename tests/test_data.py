"""Tests for nnlib.data: the toy generators, train_test_split and the shipped digits."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlib.data as data
from nnlib.data import (
    load_digits,
    make_and,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_1d,
    make_spirals,
    make_xor,
    train_test_split,
)

CLASSIFICATION = [make_xor, make_and, make_circles, make_moons, make_spirals, make_blobs]
BINARY_BALANCED = [make_xor, make_circles, make_moons, make_spirals, make_blobs]


# --- shared contract of the generators --------------------------------------------------------
@pytest.mark.parametrize("make", CLASSIFICATION)
@pytest.mark.parametrize("n", [4, 7, 200])
def test_shapes_and_dtypes(make, n):
    X, y = make(n, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()
    assert set(np.unique(y)) <= {0, 1}


@pytest.mark.parametrize("make", [*CLASSIFICATION, make_regression_1d])
def test_deterministic_given_seed(make):
    X1, y1 = make(50, seed=42)
    X2, y2 = make(50, seed=42)
    X3, _ = make(50, seed=43)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    # a Generator is accepted as well
    X4, _ = make(50, seed=np.random.default_rng(42))
    np.testing.assert_array_equal(X1, X4)


@pytest.mark.parametrize("make", BINARY_BALANCED)
@pytest.mark.parametrize("n", [200, 201])
def test_label_balance(make, n):
    _, y = make(n, seed=1)
    counts = np.bincount(y, minlength=2)
    assert counts.sum() == n
    assert abs(counts[0] - counts[1]) <= 1


def test_make_and_has_a_quarter_positives():
    _, y = make_and(200, seed=0)
    assert np.bincount(y).tolist() == [150, 50]


@pytest.mark.parametrize("make", CLASSIFICATION)
def test_labels_are_shuffled(make):
    _, y = make(200, seed=0)
    # Not all of class 0 first: a prefix of the data must be a fair sample.
    assert 0 < y[:100].sum() < 100


@pytest.mark.parametrize("make", CLASSIFICATION)
@pytest.mark.parametrize(
    ("n", "error", "match"),
    [
        (0, ValueError, "n must be an int >= "),
        (-5, ValueError, "n must be an int >= .*got -5"),
        (2.5, TypeError, "n must be an int, got float"),
        (True, TypeError, "n must be an int, got bool"),
    ],
)
def test_bad_n_raises(make, n, error, match):
    with pytest.raises(error, match=match):
        make(n)


@pytest.mark.parametrize("make", [*CLASSIFICATION[:-1], make_regression_1d])
def test_negative_noise_raises(make):
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0, got -0\.1"):
        make(10, noise=-0.1)


# --- geometry of each generator without noise -------------------------------------------------
@pytest.mark.parametrize(("make", "table"), [(make_xor, [0, 1, 1, 0]), (make_and, [0, 0, 0, 1])])
def test_corner_data_without_noise_is_the_truth_table(make, table):
    X, y = make(40, noise=0.0, seed=0)
    corners = {
        (0.0, 0.0): table[0],
        (0.0, 1.0): table[1],
        (1.0, 0.0): table[2],
        (1.0, 1.0): table[3],
    }
    for point, label in zip(map(tuple, X), y, strict=True):
        assert corners[point] == label
    assert len({tuple(p) for p in X}) == 4  # every corner is used (10 points each)


def test_corner_data_noise_scale():
    X, _ = make_xor(4000, noise=0.1, seed=0)
    residual = X - np.round(X)
    assert abs(residual.std() - 0.1) < 0.01


def test_circles_radii():
    X, y = make_circles(100, noise=0.0, factor=0.3, seed=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)


def test_circles_factor_must_be_below_one():
    with pytest.raises(ValueError, match=r"factor must lie in \(0, 1\).*got 1.5"):
        make_circles(10, factor=1.5)
    with pytest.raises(ValueError, match="factor must be a finite number > 0"):
        make_circles(10, factor=0)


def test_moons_lie_on_their_arcs():
    X, y = make_moons(100, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0)
    assert (upper[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()


def test_spiral_arms_are_half_a_turn_apart():
    X, y = make_spirals(100, noise=0.0, n_turns=2.0, seed=0)
    r = np.linalg.norm(X, axis=1)
    assert r.min() > 0.0 and r.max() <= 1.0 + 1e-12
    # Arm k's angle is 2 pi n_turns r + k pi (mod 2 pi).
    expected_angle = 2 * np.pi * 2.0 * r + np.pi * y
    diff = np.angle(np.exp(1j * (np.arctan2(X[:, 1], X[:, 0]) - expected_angle)))
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)
    # Rotating arm 0 by half a turn lands on arm 1's curve: same radii, opposite points.
    np.testing.assert_allclose(np.sort(r[y == 0]), np.sort(r[y == 1]))


def test_spirals_need_positive_turns():
    with pytest.raises(ValueError, match="n_turns must be a finite number > 0"):
        make_spirals(10, n_turns=0)


def test_blobs_default_centres_are_far_apart_and_separable():
    X, y = make_blobs(400, seed=0)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [4.0, 0.0], atol=0.2)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [-4.0, 0.0], atol=0.2)
    assert ((X[:, 0] < 0) == (y == 1)).all()


@given(k=st.integers(1, 5), d=st.integers(1, 4), per=st.integers(1, 6), seed=st.integers(0, 99))
def test_blobs_with_given_centres(k, d, per, seed):
    centers = np.random.default_rng(seed).uniform(-5, 5, size=(k, d))
    n = k * per
    X, y = make_blobs(n, centers=centers, std=1e-6, seed=seed)
    assert X.shape == (n, d) and y.shape == (n,)
    assert np.bincount(y, minlength=k).tolist() == [per] * k
    np.testing.assert_allclose(X, centers[y], atol=1e-4)


def test_blobs_std_per_centre():
    X, y = make_blobs(4000, centers=[[0.0, 0.0], [10.0, 0.0]], std=[0.5, 2.0], seed=0)
    assert abs(X[y == 0, 0].std() - 0.5) < 0.05
    assert abs(X[y == 1, 0].std() - 2.0) < 0.2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"centers": 0}, ValueError, "centers must be an int >= 1 or a"),
        ({"centers": [1.0, 2.0]}, ValueError, "centers must be a 2-D array"),
        ({"centers": np.zeros((0, 2))}, ValueError, "non-empty"),
        ({"std": 0.0}, ValueError, "std must be > 0"),
        ({"std": [1.0, 2.0, 3.0]}, ValueError, r"std must be a number or have shape \(2,\)"),
        ({"n": 2, "centers": 3}, ValueError, "each of the 3 centres"),
    ],
)
def test_blobs_validation(kwargs, error, match):
    kwargs = {"n": 10, **kwargs}
    with pytest.raises(error, match=match):
        make_blobs(**kwargs)


def test_regression_1d_default_line():
    X, y = make_regression_1d(50, noise=0.0, seed=0)
    assert X.shape == (50, 1) and y.shape == (50,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert (np.abs(X) <= 1.0).all()
    np.testing.assert_allclose(y, 2.0 * X[:, 0] + 1.0)


def test_regression_1d_custom_fn_and_noise():
    X, y = make_regression_1d(5000, noise=0.2, seed=0, fn=np.sin)
    assert abs((y - np.sin(X[:, 0])).std() - 0.2) < 0.01


def test_regression_1d_fn_validation():
    with pytest.raises(TypeError, match="fn must be callable or None"):
        make_regression_1d(10, fn=3)
    with pytest.raises(ValueError, match=r"fn must map shape \(10,\) to shape \(10,\)"):
        make_regression_1d(10, fn=lambda x: x[:5])


# --- train_test_split -------------------------------------------------------------------------
def test_split_sizes_no_overlap_and_alignment():
    X = np.arange(100, dtype=float).reshape(50, 2)
    y = np.arange(50)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_te) == len(y_te) == 13  # ceil(0.25 * 50)
    assert len(X_tr) == len(y_tr) == 37
    assert set(y_tr).isdisjoint(y_te)
    assert sorted([*y_tr, *y_te]) == list(range(50))
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)  # rows stay paired with their labels
    np.testing.assert_array_equal(X_te[:, 0], 2 * y_te)


@given(n=st.integers(2, 60), frac=st.floats(0.01, 0.99), seed=st.integers(0, 99))
def test_split_sizes_property(n, frac, seed):
    y = np.arange(n)
    _, _, y_tr, y_te = train_test_split(y[:, None], y, test_size=frac, seed=seed)
    assert 1 <= len(y_te) <= n - 1
    assert len(y_te) == min(max(int(np.ceil(round(frac * n, 9))), 1), n - 1)
    assert len(y_tr) + len(y_te) == n
    assert set(y_tr).isdisjoint(y_te)


def test_split_exact_fraction_and_int_size():
    y = np.arange(10)
    assert len(train_test_split(y, y, test_size=0.3, seed=0)[3]) == 3
    assert len(train_test_split(y, y, test_size=4, seed=0)[3]) == 4


def test_split_is_deterministic_and_copies():
    X, y = make_moons(40, seed=0)
    a = train_test_split(X, y, seed=3)
    b = train_test_split(X, y, seed=3)
    c = train_test_split(X, y, seed=4)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[3], c[3]) or not np.array_equal(a[1], c[1])
    a[0][:] = 0.0
    assert not (X == 0.0).all()


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 80 + [1] * 20)
    X = np.arange(100)[:, None]
    _, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0, stratify=True)
    assert np.bincount(y_te).tolist() == [20, 5]
    assert np.bincount(y_tr).tolist() == [60, 15]
    np.testing.assert_array_equal(y[X_te[:, 0]], y_te)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_size": 0.0}, "test_size must be a finite number > 0"),
        ({"test_size": 1.0}, r"test_size as a fraction must lie in \(0, 1\)"),
        ({"test_size": 10}, r"test_size as an int must lie in \[1, 9\], got 10"),
        ({"test_size": 0}, r"test_size as an int must lie in \[1, 9\], got 0"),
    ],
)
def test_split_bad_test_size(kwargs, match):
    y = np.arange(10)
    with pytest.raises(ValueError, match=match):
        train_test_split(y, y, **kwargs)


def test_split_validation():
    with pytest.raises(ValueError, match=r"same number of rows.*got 5 and 4"):
        train_test_split(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least 2 rows"):
        train_test_split(np.zeros((1, 2)), np.zeros(1))
    with pytest.raises(ValueError, match=r"stratify needs at least 2 rows of every class.*class 1"):
        train_test_split(np.zeros((5, 1)), np.array([0, 0, 0, 0, 1]), stratify=True)
    with pytest.raises(ValueError, match="one row per sample"):
        train_test_split(3.0, 4.0)


# --- the digits -------------------------------------------------------------------------------
def test_digits_shape_classes_and_range():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 16.0
    np.testing.assert_array_equal(X, np.round(X))  # pixel counts are whole numbers
    assert np.unique(y).tolist() == list(range(10))
    counts = np.bincount(y)
    assert counts.min() >= 170 and counts.max() <= 190
    # The UCI test partition's published class counts.
    assert counts[:5].tolist() == [178, 182, 177, 183, 181]


def test_digits_look_like_digits():
    X, y = load_digits()
    images = X.reshape(-1, 8, 8)
    centre = images[:, 3:5, 3:5].mean(axis=(1, 2))
    # A zero has a hole in the middle; a one is a stroke through it.
    assert centre[y == 0].mean() < 3 < centre[y == 1].mean()


def test_digits_are_fresh_copies():
    X, y = load_digits()
    X[:] = -1.0
    y[:] = 99
    X2, y2 = load_digits()
    assert X2.min() == 0.0 and y2.max() == 9
    assert X2.flags.writeable


def test_digits_file_is_shipped_with_provenance():
    folder = Path(data.__file__).parent / "datasets"
    path = folder / "digits.csv.gz"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    readme = (folder / "README.md").read_text()
    assert digest in readme
    assert "CC BY 4.0" in readme and "BSD" in readme
    with gzip.open(path, "rt") as f:
        assert len(f.readline().split(",")) == 65
    assert not (folder / "__init__.py").exists()
