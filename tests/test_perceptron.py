"""Tests for nnlib.perceptron: Rosenblatt's rule, convergence and its failure on XOR."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlib.data import make_blobs
from nnlib.perceptron import ConvergenceWarning, Perceptron

X_BITS = np.array(list(itertools.product([0, 1], repeat=2)), dtype=float)
Y_AND = np.array([0, 0, 0, 1])
Y_OR = np.array([0, 1, 1, 1])
Y_XOR = np.array([0, 1, 1, 0])


def _fit_quietly(clf, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any ConvergenceWarning here is a test failure
        return clf.fit(X, y)


@pytest.mark.parametrize(("name", "y"), [("AND", Y_AND), ("OR", Y_OR)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_and_or_from_their_truth_tables(name, y, seed):
    clf = _fit_quietly(Perceptron(seed=seed), X_BITS, y)
    assert clf.converged_, f"{name}: errors per epoch {clf.errors_}"
    np.testing.assert_array_equal(clf.predict(X_BITS), y)
    assert clf.errors_[-1] == 0
    assert all(e > 0 for e in clf.errors_[:-1])  # it stops at the first clean epoch
    assert clf.n_epochs_ == len(clf.errors_) <= clf.max_epochs
    assert clf.weights_.shape == (2,)
    assert isinstance(clf.bias_, float)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_learned_line_separates_linearly_separable_blobs(seed):
    X, y = make_blobs(200, centers=[[-2.5, -1.0], [2.0, 2.5]], std=0.6, seed=seed)
    # The blobs are separable: the midpoint's perpendicular bisector splits them.
    mid_w = np.array([4.5, 3.5])
    assert ((X @ mid_w - mid_w @ np.array([-0.25, 0.75]) > 0) == y).all()
    clf = _fit_quietly(Perceptron(seed=seed, max_epochs=1000), X, y)
    assert clf.converged_
    score = X @ clf.weights_ + clf.bias_
    np.testing.assert_array_equal(score > 0, y == 1)  # every point on its own side of the line
    np.testing.assert_array_equal(clf.predict(X), y)
    assert clf.score(X, y) == 1.0


def test_reports_non_convergence_on_xor():
    clf = Perceptron(max_epochs=50, seed=0)
    with pytest.warns(ConvergenceWarning, match="may not be linearly separable"):
        clf.fit(X_BITS, Y_XOR)
    assert clf.converged_ is False
    assert clf.n_epochs_ == 50 == len(clf.errors_)
    assert min(clf.errors_) > 0  # no epoch was ever free of mistakes
    assert (clf.predict(X_BITS) != Y_XOR).any()


def test_convergence_warning_is_a_user_warning():
    assert issubclass(ConvergenceWarning, UserWarning)


def test_rosenblatt_update_on_a_hand_worked_epoch():
    # Visiting (1, 2) -> 1 then (3, 1) -> 0 in order with lr=1, starting from w=0, b=0:
    # (1, 2): z = 0, y_hat = 0, y = 1: w = (1, 2), b = 1.
    # (3, 1): z = 3 + 2 + 1 = 6, y_hat = 1, y = 0: w = (1, 2) - (3, 1) = (-2, 1), b = 0.
    X = np.array([[1.0, 2.0], [3.0, 1.0]])
    clf = Perceptron(lr=1.0, max_epochs=1, shuffle=False)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, [1, 0])
    np.testing.assert_array_equal(clf.weights_, [-2.0, 1.0])
    assert clf.bias_ == 0.0
    assert clf.errors_ == [2]


def test_learning_rate_scales_the_update():
    clf = Perceptron(lr=0.5, max_epochs=1, shuffle=False)
    with pytest.warns(ConvergenceWarning):
        clf.fit([[1.0, 2.0]], [1])
    np.testing.assert_array_equal(clf.weights_, [0.5, 1.0])
    assert clf.bias_ == 0.5


def test_no_update_when_prediction_is_right():
    clf = _fit_quietly(Perceptron(shuffle=False), [[1.0, 1.0]], [0])
    np.testing.assert_array_equal(clf.weights_, [0.0, 0.0])
    assert clf.errors_ == [0] and clf.converged_


def test_history_holds_one_snapshot_per_epoch_plus_the_start():
    clf = _fit_quietly(Perceptron(seed=0), X_BITS, Y_AND)
    assert len(clf.history_) == clf.n_epochs_ + 1
    w0, b0 = clf.history_[0]
    np.testing.assert_array_equal(w0, [0.0, 0.0])
    assert b0 == 0.0
    w_last, b_last = clf.history_[-1]
    np.testing.assert_array_equal(w_last, clf.weights_)
    assert b_last == clf.bias_
    # snapshots are copies, not views of the live weights
    assert all(w is not clf.weights_ for w, _ in clf.history_)
    assert w_last.shape == (2,) and isinstance(b_last, float)
    # consecutive snapshots differ exactly when the epoch made mistakes
    for k, errors in enumerate(clf.errors_):
        changed = not np.array_equal(clf.history_[k][0], clf.history_[k + 1][0]) or (
            clf.history_[k][1] != clf.history_[k + 1][1]
        )
        assert changed == (errors > 0)


def test_same_seed_same_run_and_no_shuffle_ignores_seed():
    X, y = make_blobs(60, centers=[[-1.0, 0.0], [1.0, 0.5]], std=0.6, seed=5)
    runs = []
    for seed in (7, 7, 8):
        clf = Perceptron(seed=seed, max_epochs=30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        runs.append(clf.errors_)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    unshuffled = []
    for seed in (1, 2):
        clf = Perceptron(seed=seed, shuffle=False, max_epochs=30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        unshuffled.append((clf.errors_, clf.weights_.tolist(), clf.bias_))
    assert unshuffled[0] == unshuffled[1]


@given(n=st.integers(2, 30), d=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_converges_on_random_separable_data(n, d, seed):
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    margin = X @ w_true + 0.3
    X = X[np.abs(margin) > 0.2]  # keep a margin so convergence is quick
    if len(X) == 0:
        return
    y = (X @ w_true + 0.3 > 0).astype(int)
    clf = _fit_quietly(Perceptron(seed=seed, max_epochs=2000), X, y)
    assert clf.converged_
    np.testing.assert_array_equal(clf.predict(X), y)


def test_fit_does_not_mutate_inputs_and_accepts_float32():
    X = X_BITS.astype(np.float32)
    y = Y_OR.copy()
    X_before, y_before = X.copy(), y.copy()
    clf = _fit_quietly(Perceptron(seed=0), X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    assert clf.weights_.dtype == np.float64


def test_decision_function_and_predict_agree():
    clf = _fit_quietly(Perceptron(seed=0), X_BITS, Y_OR)
    Z = np.random.default_rng(0).normal(size=(20, 2))
    scores = clf.decision_function(Z)
    assert scores.shape == (20,)
    np.testing.assert_allclose(scores, Z @ clf.weights_ + clf.bias_)
    pred = clf.predict(Z)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(pred, (scores > 0).astype(int))


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("y", "match"),
    [
        (
            [-1, 1, 1, -1],
            r"only the labels 0 and 1, got also the values \[-1\.0\].*\(y \+ 1\) // 2",
        ),
        ([0, 1, 2, 1], r"only the labels 0 and 1, got also the values \[2\.0\]"),
        ([0, 0.5, 1, 1], r"got also the values \[0\.5\]"),
        ([0, np.nan, 1, 1], r"got also the values \[nan\]"),
    ],
)
def test_bad_labels_raise(y, match):
    with pytest.raises(ValueError, match=match):
        Perceptron().fit(X_BITS, y)


def test_column_labels_are_accepted_but_2d_labels_are_not():
    clf = _fit_quietly(Perceptron(seed=0), X_BITS, Y_AND.reshape(-1, 1))
    np.testing.assert_array_equal(clf.predict(X_BITS), Y_AND)
    with pytest.raises(ValueError, match=r"y must be a 1-D array of shape \(N,\)"):
        Perceptron().fit(X_BITS, np.zeros((4, 2)))


def test_nan_in_X_raises():
    X = X_BITS.copy()
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 non-finite value.*index \(2, 1\)"):
        Perceptron().fit(X, Y_AND)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"same number of rows.*got 4 and 3"):
        Perceptron().fit(X_BITS, [0, 0, 1])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        Perceptron().fit([0, 1, 1, 0], Y_AND)
    with pytest.raises(TypeError, match="y must be a numeric"):
        Perceptron().fit(X_BITS, ["a", "b", "c", "d"])


def test_predict_before_fit_raises():
    with pytest.raises(RuntimeError, match=r"not fitted yet.*fit\(X, y\)"):
        Perceptron().predict(X_BITS)
    with pytest.raises(RuntimeError, match="not fitted yet"):
        Perceptron().decision_function(X_BITS)


def test_predict_with_wrong_width_raises():
    clf = _fit_quietly(Perceptron(seed=0), X_BITS, Y_AND)
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 2\), got shape \(4, 3\)"):
        clf.predict(np.zeros((4, 3)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lr": 0}, ValueError, "lr must be a finite number > 0, got 0"),
        ({"lr": -1.0}, ValueError, "lr must be a finite number > 0"),
        ({"lr": "1"}, TypeError, "lr must be a number"),
        ({"max_epochs": 0}, ValueError, "max_epochs must be an int >= 1, got 0"),
        ({"max_epochs": 2.5}, TypeError, "max_epochs must be an int"),
    ],
)
def test_constructor_validates(kwargs, error, match):
    with pytest.raises(error, match=match):
        Perceptron(**kwargs)


def test_repr_shows_config():
    assert repr(Perceptron(lr=0.5, max_epochs=10, seed=3, shuffle=False)) == (
        "Perceptron(lr=0.5, max_epochs=10, seed=3, shuffle=False)"
    )
