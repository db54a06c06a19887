"""Tests for nnlib.functional: values, derivatives, numerical stability, one_hot."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlib import functional as F
from nnlib.gradcheck import numerical_gradient, rel_error
from tests.strategies import FAST, arrays, matrix_shapes, shapes


def naive_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# The textbook definitions, valid where nothing overflows (|x| <= 30 here).
NAIVE = {
    "sigmoid": naive_sigmoid,
    "log_sigmoid": lambda x: np.log(naive_sigmoid(x)),
    "softplus": lambda x: np.log(1.0 + np.exp(x)),
    "relu": lambda x: np.array([max(v, 0.0) for v in x.ravel()]).reshape(x.shape),
    "leaky_relu": lambda x: np.array([v if v > 0 else 0.01 * v for v in x.ravel()]).reshape(
        x.shape
    ),
    "elu": lambda x: np.array([v if v > 0 else math.exp(v) - 1 for v in x.ravel()]).reshape(
        x.shape
    ),
    "tanh": lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
}


@pytest.mark.parametrize("name", sorted(NAIVE))
@FAST
@given(x=arrays(shapes(), low=-30, high=30))
def test_matches_textbook_formula(name, x):
    np.testing.assert_allclose(getattr(F, name)(x), NAIVE[name](x), rtol=1e-12, atol=1e-15)


# f'(x) for each f: the derivative of sum(f(x)) with respect to x, since f is elementwise.
GRADS = {
    "sigmoid": (F.sigmoid, F.sigmoid_grad),
    "tanh": (F.tanh, F.tanh_grad),
    "softplus": (F.softplus, F.softplus_grad),
    "softsign": (F.softsign, F.softsign_grad),
    "relu": (F.relu, F.relu_grad),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: F.leaky_relu_grad(x, 0.2)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: F.elu_grad(x, 0.7)),
}


@pytest.mark.parametrize("name", sorted(GRADS))
@FAST
@given(x=arrays(shapes(), away_from=(0.0,)))
def test_grad_helpers_match_numerical_derivative(name, x):
    f, f_grad = GRADS[name]
    numerical = numerical_gradient(lambda z: np.sum(f(z)), x.copy())
    assert rel_error(f_grad(x), numerical) <= 1e-7


def test_known_values():
    assert F.sigmoid(0.0) == 0.5
    assert F.relu(-2.0) == 0.0 and F.relu(3.0) == 3.0
    assert F.leaky_relu(-2.0, alpha=0.1) == pytest.approx(-0.2)
    assert F.elu(-1.0) == pytest.approx(math.exp(-1) - 1)
    assert F.elu(-1.0, alpha=2.0) == pytest.approx(2 * (math.exp(-1) - 1))
    assert F.softsign(1.0) == 0.5
    assert F.softplus(0.0) == pytest.approx(math.log(2))
    assert F.log_sigmoid(0.0) == pytest.approx(-math.log(2))
    assert F.relu_grad(0.0) == 0.0  # the convention at the kink
    assert F.elu_grad(-1.0, alpha=2.0) == pytest.approx(2 * math.exp(-1))


def test_scalar_in_scalar_out():
    assert np.ndim(F.sigmoid(1.0)) == 0
    assert isinstance(F.tanh(0.5), np.floating)


@pytest.mark.parametrize(
    "fn", [F.sigmoid, F.log_sigmoid, F.softplus, F.relu, F.leaky_relu, F.elu, F.tanh, F.softsign]
)
def test_float32_stays_float32(fn):
    assert fn(np.array([-1.0, 0.5], dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("fn", [F.sigmoid, F.relu, F.softmax, F.log_softmax, F.softsign])
def test_non_numeric_input_is_a_type_error(fn):
    with pytest.raises(TypeError, match="x must be a numeric"):
        fn(np.array(["a", "b"]))


# --- numerical stability ----------------------------------------------------------------------
@pytest.fixture
def strict_floats():
    """Turn overflow/invalid/divide warnings into errors (underflow to 0 is fine)."""
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.usefixtures("strict_floats")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_are_exact_and_silent(dtype):
    big = np.array([-1000.0, 1000.0], dtype=dtype)
    np.testing.assert_array_equal(F.sigmoid(big), [0.0, 1.0])
    np.testing.assert_array_equal(F.log_sigmoid(big), [-1000.0, 0.0])
    np.testing.assert_array_equal(F.softplus(big), [0.0, 1000.0])
    np.testing.assert_array_equal(F.tanh(big), [-1.0, 1.0])
    np.testing.assert_array_equal(F.elu(big), [-1.0, 1000.0])
    np.testing.assert_allclose(F.softsign(big), [-1000 / 1001, 1000 / 1001], rtol=1e-6)
    np.testing.assert_array_equal(F.softmax(big), [0.0, 1.0])
    np.testing.assert_array_equal(F.softmax(np.array([1000.0, 0.0], dtype=dtype)), [1.0, 0.0])
    np.testing.assert_array_equal(F.log_softmax(np.array([1000.0, 0.0])), [0.0, -1000.0])
    np.testing.assert_array_equal(F.softmax(np.array([-1000.0, -1000.0])), [0.5, 0.5])
    assert F.sigmoid_grad(1000.0) == 0.0 and F.softplus_grad(-1000.0) == 0.0


@pytest.mark.usefixtures("strict_floats")
def test_log_sigmoid_keeps_precision_where_naive_log_fails():
    # log(sigmoid(-40)) = -40 - log(1 + e^-40); the naive route loses it entirely at -800.
    assert F.log_sigmoid(-40.0) == pytest.approx(-40.0 - math.log1p(math.exp(-40)), rel=1e-15)
    assert F.log_sigmoid(-800.0) == -800.0
    assert F.sigmoid(-40.0) == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-14)


# --- softmax ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("logits", "expected"),
    [
        ([5, 4, 2], [0.71, 0.26, 0.04]),
        ([4, 2, 8], [0.02, 0.00, 0.98]),
        ([4, 4, 1], [0.49, 0.49, 0.02]),
    ],
)
def test_worked_softmax_numbers(logits, expected):
    np.testing.assert_array_equal(np.round(F.softmax(np.array(logits, dtype=float)), 2), expected)


def test_softmax_batch_equals_row_by_row():
    logits = np.array([[5.0, 4.0, 2.0], [4.0, 2.0, 8.0], [4.0, 4.0, 1.0]])
    rows = np.array([F.softmax(row) for row in logits])
    np.testing.assert_allclose(F.softmax(logits), rows, rtol=1e-15)


@FAST
@given(x=arrays(matrix_shapes(), low=-50, high=50), shift=st.floats(-100, 100))
def test_softmax_properties(x, shift):
    p = F.softmax(x)
    assert p.shape == x.shape
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x + shift), p, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(F.log_softmax(x), np.log(p), rtol=1e-9, atol=1e-9)


def test_softmax_axis():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(F.softmax(x, axis=0), F.softmax(x.T).T)
    np.testing.assert_allclose(F.log_softmax(x, axis=0), np.log(F.softmax(x, axis=0)))
    np.testing.assert_allclose(F.softmax(x, axis=0).sum(axis=0), [1.0, 1.0, 1.0])


def test_softmax_needs_an_axis():
    with pytest.raises(ValueError, match="at least one dimension"):
        F.softmax(3.0)
    with pytest.raises(ValueError, match="at least one dimension"):
        F.log_softmax(np.float64(3.0))


def test_functions_do_not_mutate_input():
    x = np.array([[-2.0, 0.5, 3.0]])
    before = x.copy()
    for fn in (F.sigmoid, F.log_sigmoid, F.softplus, F.relu, F.elu, F.softmax, F.log_softmax):
        fn(x)
    np.testing.assert_array_equal(x, before)


# --- one_hot ----------------------------------------------------------------------------------
def test_one_hot_basic():
    np.testing.assert_array_equal(
        F.one_hot([0, 2, 1]), [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    )
    out = F.one_hot(np.array([1, 0]), num_classes=4)
    assert out.shape == (2, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_one_hot_accepts_whole_floats_and_any_shape():
    np.testing.assert_array_equal(F.one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    out = F.one_hot(np.array([[0, 1, 2], [2, 2, 0]]))
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.argmax(axis=-1), [[0, 1, 2], [2, 2, 0]])
    assert F.one_hot(np.array([], dtype=int), num_classes=3).shape == (0, 3)


@FAST
@given(st.data())
def test_one_hot_round_trips(data):
    n = data.draw(st.integers(1, 20))
    c = data.draw(st.integers(1, 6))
    y = data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    encoded = F.one_hot(y, num_classes=c)
    np.testing.assert_array_equal(encoded.sum(axis=1), 1.0)
    np.testing.assert_array_equal(encoded.argmax(axis=1), y)


@pytest.mark.parametrize(
    ("labels", "kwargs", "error", "message"),
    [
        ([0, -1, 2], {}, ValueError, r"labels must lie in \[0, 2\].*-1"),
        ([0, 3], {"num_classes": 3}, ValueError, r"labels must lie in \[0, 2\] for num_classes=3"),
        ([0.5, 1.0], {}, ValueError, "whole numbers.*0.5"),
        ([0.0, np.nan], {}, ValueError, "whole numbers"),
        (["a", "b"], {}, TypeError, "labels must be integer class labels"),
        ([0, 1], {"num_classes": 2.0}, TypeError, "num_classes must be an integer"),
        ([0, 1], {"num_classes": 0}, ValueError, "num_classes must be >= 1"),
        (np.array([], dtype=int), {}, ValueError, "cannot infer num_classes"),
    ],
)
def test_one_hot_errors(labels, kwargs, error, message):
    with pytest.raises(error, match=message):
        F.one_hot(labels, **kwargs)
