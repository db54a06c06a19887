"""Tests for nnlib.regression: normal equation, gradient descent, MAE and logistic regression."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlib.data import make_blobs, make_regression_1d
from nnlib.gradcheck import numerical_gradient, rel_error
from nnlib.regression import (
    LinearRegression,
    LogisticRegression,
    log_loss,
    mae,
    mae_grad,
    mse,
    mse_grad,
    normal_equation,
)

TOL = 1e-7


def _linear_data(n=60, d=3, k=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    shape = (d,) if k is None else (d, k)
    w = rng.normal(size=shape)
    b = rng.normal(size=shape[1:])
    return X, w, b, X @ w + b


# --- loss helpers -----------------------------------------------------------------------------
def test_mse_and_mae_on_hand_worked_numbers():
    y_hat, y = np.array([1.0, 2.0, -1.0]), np.array([0.0, 0.0, 1.0])
    assert mse(y_hat, y) == pytest.approx((1 + 4 + 4) / 3)
    assert mae(y_hat, y) == pytest.approx((1 + 2 + 2) / 3)
    np.testing.assert_allclose(mse_grad(y_hat, y), 2 * np.array([1.0, 2.0, -2.0]) / 3)
    np.testing.assert_allclose(mae_grad(y_hat, y), np.array([1.0, 1.0, -1.0]) / 3)


def test_mae_subgradient_is_zero_at_exact_predictions():
    np.testing.assert_array_equal(mae_grad(np.array([1.0, 2.0]), np.array([1.0, 3.0])), [0, -0.5])


@pytest.mark.parametrize("shape", [(5,), (4, 3)])
@pytest.mark.parametrize(("loss", "grad"), [(mse, mse_grad), (mae, mae_grad)])
def test_loss_gradients_match_numerical(shape, loss, grad):
    rng = np.random.default_rng(1)
    y = rng.normal(size=shape)
    # keep every residual away from 0, where |r| has its kink
    y_hat = y + rng.choice([-1, 1], size=shape) * rng.uniform(0.1, 1.0, size=shape)
    y_hat_before = y_hat.copy()
    num = numerical_gradient(lambda p: loss(p, y), y_hat)
    assert rel_error(grad(y_hat, y), num) <= TOL
    np.testing.assert_array_equal(y_hat, y_hat_before)


def test_loss_helpers_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="non-finite"):
        mae(np.array([np.nan]), np.zeros(1))


def test_log_loss_of_a_confident_correct_prediction():
    assert log_loss(np.array([0.99]), np.array([1.0])) == pytest.approx(-math.log(0.99), rel=1e-12)
    assert log_loss(np.array([0.01]), np.array([0.0])) == pytest.approx(-math.log(0.99), rel=1e-12)
    # from logits: sigmoid(z) = 0.99 at z = ln 99
    z = math.log(99.0)
    assert log_loss(np.array([z]), np.array([1.0]), from_logits=True) == pytest.approx(
        -math.log(0.99), rel=1e-12
    )


def test_log_loss_is_stable_at_huge_logits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert log_loss(np.array([1000.0]), np.array([1.0]), from_logits=True) == 0.0
        assert log_loss(np.array([-1000.0]), np.array([1.0]), from_logits=True) == 1000.0
        assert log_loss(np.array([1000.0]), np.array([0.0]), from_logits=True) == 1000.0
        # probabilities of exactly 0 or 1 are clipped: a finite, large penalty
        assert 20 < log_loss(np.array([0.0]), np.array([1.0])) < 30


def test_log_loss_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        log_loss(np.array([1.5]), np.array([1.0]))


# --- normal equation --------------------------------------------------------------------------
@pytest.mark.parametrize("k", [None, 2])
def test_normal_equation_recovers_known_coefficients(k):
    X, w, b, y = _linear_data(k=k)
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, w, atol=1e-10)
    np.testing.assert_allclose(model.intercept_, b, atol=1e-10)
    assert model.coef_.shape == w.shape
    assert model.loss_history_ is None
    np.testing.assert_allclose(model.predict(X), y, atol=1e-10)
    if k is None:
        assert isinstance(model.intercept_, float)


@given(n_extra=st.integers(0, 20), d=st.integers(1, 5), seed=st.integers(0, 1000))
def test_normal_equation_function_solves_the_normal_equation(n_extra, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(d + 1 + n_extra, d))
    y = rng.normal(size=len(X))
    w = normal_equation(X, y)
    assert w.shape == (d,)
    # X^T (X w - y) = 0: the residual is orthogonal to every column
    np.testing.assert_allclose(X.T @ (X @ w - y), 0.0, atol=1e-9)


def test_normal_equation_with_dependent_columns_warns_and_returns_min_norm():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20)
    X = np.column_stack([x, x])  # the same feature twice
    with pytest.warns(UserWarning, match=r"X\^T X is singular: X has rank 1 but D=2"):
        w = normal_equation(X, 3.0 * x)
    np.testing.assert_allclose(w, [1.5, 1.5])  # the smallest-norm way to make 3


def test_normal_equation_validates():
    with pytest.raises(ValueError, match=r"same number of rows.*got 5 and 4"):
        normal_equation(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        normal_equation(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="y contains 1 non-finite"):
        normal_equation(np.ones((2, 1)), [1.0, np.inf])


# --- gradient descent -------------------------------------------------------------------------
@pytest.mark.parametrize("k", [None, 3])
def test_gd_converges_to_the_normal_equation_solution(k):
    X, _, _, y = _linear_data(n=80, d=4, k=k, seed=3)
    y = y + 0.3 * np.random.default_rng(4).normal(size=y.shape)  # noisy: the LS fit is not exact
    exact = LinearRegression(method="normal").fit(X, y)
    gd = LinearRegression(method="gd", lr=0.1, epochs=2000, seed=0).fit(X, y)
    np.testing.assert_allclose(gd.coef_, exact.coef_, atol=1e-8)
    np.testing.assert_allclose(gd.intercept_, exact.intercept_, atol=1e-8)
    assert len(gd.loss_history_) == 2000
    assert np.all(np.diff(gd.loss_history_) <= 1e-15)  # MSE descent with a small step
    assert gd.loss_history_[-1] == pytest.approx(mse(exact.predict(X), y), rel=1e-6)


def test_gd_loss_history_is_the_loss_before_each_step():
    X, y = make_regression_1d(30, noise=0.1, seed=0)
    one = LinearRegression(method="gd", lr=0.05, epochs=1, seed=7).fit(X, y)
    rng = np.random.default_rng(7)
    w0 = 0.01 * rng.standard_normal(1)
    assert one.loss_history_ == [pytest.approx(mse(X @ w0, y))]
    # one step of w <- w - lr * X^T dL/dy_hat
    g = 2 * (X @ w0 - y) / len(y)
    np.testing.assert_allclose(one.coef_, w0 - 0.05 * X.T @ g)
    assert one.intercept_ == pytest.approx(-0.05 * g.sum())


def test_mae_gradient_descent_reduces_mae_and_resists_outliers():
    X, y = make_regression_1d(200, noise=0.05, seed=0)
    y = y.copy()
    y[:10] += 30.0  # a few wild outliers
    model = LinearRegression(method="gd", loss="mae", lr=0.05, epochs=3000, seed=0).fit(X, y)
    history = model.loss_history_
    # The outliers alone cost 10 * 30 / 200 = 1.5, the noise about 0.05 * 0.8: MAE ~ 1.54.
    assert history[0] > 2.5
    assert 1.5 < history[-1] < 1.56
    assert mae(model.predict(X), y) < 1.56
    # the median-like MAE fit stays near the true line y = 2x + 1; least squares is dragged off
    ls = LinearRegression().fit(X, y)
    assert abs(model.coef_[0] - 2.0) < 0.2 and abs(model.intercept_ - 1.0) < 0.1
    assert abs(ls.intercept_ - 1.0) > 1.0


def test_gd_divergence_is_reported():
    X, y = make_regression_1d(50, noise=0.1, seed=0)
    with pytest.raises(FloatingPointError, match=r"diverged at epoch \d+.*lower lr \(got 50.0\)"):
        LinearRegression(method="gd", lr=50.0, epochs=500).fit(10 * X, y)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "sgd"}, ValueError, "unknown method 'sgd'; expected one of: 'gd', 'normal'"),
        ({"loss": "huber"}, ValueError, "unknown loss 'huber'; expected one of: 'mae', 'mse'"),
        ({"method": "normal", "loss": "mae"}, ValueError, "MAE has no closed-form solution"),
        ({"lr": 0.0}, ValueError, "lr must be a finite number > 0"),
        ({"epochs": 0}, ValueError, "epochs must be an int >= 1"),
        ({"epochs": 10.0}, TypeError, "epochs must be an int"),
    ],
)
def test_linear_regression_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        LinearRegression(**kwargs)


def test_linear_regression_fit_and_predict_errors():
    with pytest.raises(RuntimeError, match=r"not fitted yet: call fit\(X, y\)"):
        LinearRegression().predict(np.zeros((2, 1)))
    model = LinearRegression().fit([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 2\), got shape \(3, 3\)"):
        model.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        LinearRegression().fit([[np.nan], [1.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="same number of rows"):
        LinearRegression(method="gd").fit(np.zeros((3, 1)), np.zeros(2))


def test_linear_regression_does_not_mutate_inputs():
    X, _, _, y = _linear_data()
    X0, y0 = X.copy(), y.copy()
    LinearRegression(method="gd", epochs=5).fit(X, y)
    LinearRegression().fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_linear_regression_repr():
    assert repr(LinearRegression(method="gd", lr=0.1, epochs=5, seed=1, loss="mae")) == (
        "LinearRegression(method='gd', lr=0.1, epochs=5, seed=1, loss='mae')"
    )


# --- logistic regression ----------------------------------------------------------------------
def test_logistic_regression_high_accuracy_on_nearly_separable_data():
    X, y = make_blobs(300, centers=[[-1.5, -1.0], [1.5, 1.0]], std=0.8, seed=0)
    model = LogisticRegression(lr=0.5, epochs=500, seed=0).fit(X, y)
    assert model.score(X, y) >= 0.95
    assert model.loss_history_[-1] < model.loss_history_[0]
    assert model.coef_.shape == (2,) and isinstance(model.intercept_, float)
    p = model.predict_proba(X)
    assert p.shape == (300,) and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_array_equal(model.predict(X), (p > 0.5).astype(int))
    assert model.predict(X).dtype == np.int64
    np.testing.assert_allclose(model.decision_function(X), X @ model.coef_ + model.intercept_)


@pytest.mark.parametrize(("n", "d"), [(1, 1), (7, 3), (20, 5)])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_logistic_gradient_matches_numerical_gradient(n, d, l2):
    rng = np.random.default_rng(n * 10 + d)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 2, size=n)
    w = rng.normal(size=d)
    b = np.array([rng.normal()])
    model = LogisticRegression(l2=l2)
    X0 = X.copy()
    loss, grad_w, grad_b = model.loss_and_gradient(X, y, w, float(b[0]))
    num_w = numerical_gradient(lambda v: model.loss_and_gradient(X, y, v, float(b[0]))[0], w)
    num_b = numerical_gradient(lambda v: model.loss_and_gradient(X, y, w, float(v[0]))[0], b)
    assert rel_error(grad_w, num_w) <= TOL
    assert rel_error(np.array([grad_b]), num_b) <= TOL
    # the loss is the mean log-loss plus the L2 term, computed independently here
    p = 1 / (1 + np.exp(-(X @ w + b[0])))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * l2 * w @ w
    assert loss == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(X, X0)


def test_logistic_loss_is_stable_at_huge_logits():
    model = LogisticRegression()
    X = np.array([[1.0], [1.0], [-1.0]])
    y = np.array([1, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        loss, grad_w, grad_b = model.loss_and_gradient(X, y, np.array([1000.0]), 0.0)
    # z = 1000, 1000, -1000: costs 0, 1000 (confidently wrong) and 0
    assert loss == pytest.approx(1000.0 / 3, rel=1e-12)
    # dL/dz = (sigmoid(z) - y) / N = (0, 1, 0) / 3
    assert grad_w[0] == pytest.approx(1.0 / 3) and grad_b == pytest.approx(1.0 / 3)


def test_logistic_fit_on_huge_features_stays_finite():
    X, y = make_blobs(100, centers=[[-1e3, 0.0], [1e3, 0.0]], std=100.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(lr=1.0, epochs=50, seed=0).fit(X, y)
    assert np.isfinite(model.loss_history_).all()
    assert model.score(X, y) == 1.0


def test_l2_shrinks_the_weights():
    X, y = make_blobs(200, centers=[[-1.0, 0.0], [1.0, 0.0]], std=0.5, seed=1)
    free = LogisticRegression(lr=0.5, epochs=300, seed=0).fit(X, y)
    ridge = LogisticRegression(lr=0.5, epochs=300, l2=0.5, seed=0).fit(X, y)
    assert np.linalg.norm(ridge.coef_) < 0.5 * np.linalg.norm(free.coef_)


def test_logistic_regression_is_deterministic_given_seed():
    X, y = make_blobs(50, seed=2)
    a = LogisticRegression(epochs=20, seed=5).fit(X, y)
    b = LogisticRegression(epochs=20, seed=5).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.loss_history_ == b.loss_history_


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([-1, 1, 1, -1], r"only the labels 0 and 1, got also the values \[-1\.0\]"),
        ([0, 2, 1, 0], r"got also the values \[2\.0\]"),
    ],
)
def test_logistic_regression_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        LogisticRegression().fit(np.zeros((4, 2)), y)


def test_logistic_regression_errors():
    with pytest.raises(RuntimeError, match="LogisticRegression is not fitted yet"):
        LogisticRegression().predict_proba(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
        LogisticRegression(l2=-1.0)
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        LogisticRegression().fit([[np.nan, 0.0], [1.0, 1.0]], [0, 1])
    with pytest.raises(ValueError, match=r"weights must have shape \(2,\), got shape \(3,\)"):
        LogisticRegression().loss_and_gradient(np.zeros((2, 2)), [0, 1], np.zeros(3), 0.0)
    model = LogisticRegression(epochs=1).fit(np.zeros((2, 2)), [0, 1])
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 2\)"):
        model.predict(np.zeros((2, 5)))


def test_logistic_regression_repr():
    assert repr(LogisticRegression(lr=0.5, epochs=3, l2=0.1, seed=2)) == (
        "LogisticRegression(lr=0.5, epochs=3, l2=0.1, seed=2)"
    )
