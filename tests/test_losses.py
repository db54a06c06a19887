"""Tests for nnlib.losses: values, gradients against finite differences, stability, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlib.gradcheck import check_loss, numerical_gradient, rel_error
from nnlib.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Loss,
    MAELoss,
    MSELoss,
)

TOL = 1e-7
ALL_LOSSES = [MSELoss, MAELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss]
ELEMENTWISE = [MSELoss, MAELoss, BCELoss, BCEWithLogitsLoss]

seeds = st.integers(0, 2**32 - 1)
batch_sizes = st.integers(1, 9)
widths = st.integers(1, 5)


def regression_pair(rng, shape):
    """pred and target whose differences are at least 0.1 away from 0 (MAE's kink)."""
    target = rng.standard_normal(shape)
    offset = rng.uniform(0.1, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return target + offset, target


def binary_targets(rng, shape, soft):
    return rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape).astype(float)


def shape_of(n, c, flat):
    return (n,) if flat else (n, c)


def assert_gradient_matches(loss, pred, target):
    """backward() against the numerical gradient of forward, both ways of computing it."""
    report = check_loss(loss, pred, target)
    assert report.passed, str(report)
    # The same check with the primitives, so this test does not rely on check_loss alone.
    p = np.array(pred, dtype=np.float64)
    loss.forward(p, target)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda x: loss.forward(x, target), p, eps=1e-6)
    assert rel_error(analytic, numerical) <= TOL


# --- gradients --------------------------------------------------------------------------------
@given(seed=seeds, n=batch_sizes, c=widths, flat=st.booleans())
def test_mse_gradient(seed, n, c, flat):
    rng = np.random.default_rng(seed)
    pred, target = regression_pair(rng, shape_of(n, c, flat))
    assert_gradient_matches(MSELoss(), pred, target)


@given(seed=seeds, n=batch_sizes, c=widths, flat=st.booleans())
def test_mae_gradient_away_from_the_kink(seed, n, c, flat):
    rng = np.random.default_rng(seed)
    pred, target = regression_pair(rng, shape_of(n, c, flat))
    assert_gradient_matches(MAELoss(), pred, target)


@given(seed=seeds, n=batch_sizes, c=widths, flat=st.booleans(), soft=st.booleans())
def test_bce_gradient(seed, n, c, flat, soft):
    rng = np.random.default_rng(seed)
    shape = shape_of(n, c, flat)
    pred = rng.uniform(0.05, 0.95, shape)  # inside the clipping range
    assert_gradient_matches(BCELoss(), pred, binary_targets(rng, shape, soft))


@given(seed=seeds, n=batch_sizes, c=widths, flat=st.booleans(), soft=st.booleans())
def test_bce_with_logits_gradient(seed, n, c, flat, soft):
    rng = np.random.default_rng(seed)
    shape = shape_of(n, c, flat)
    logits = 3.0 * rng.standard_normal(shape)
    assert_gradient_matches(BCEWithLogitsLoss(), logits, binary_targets(rng, shape, soft))


@given(seed=seeds, n=batch_sizes, c=st.integers(2, 7), one_hot=st.booleans())
def test_cross_entropy_gradient_with_labels_and_one_hot(seed, n, c, one_hot):
    rng = np.random.default_rng(seed)
    logits = 2.0 * rng.standard_normal((n, c))
    labels = rng.integers(0, c, n)
    target = np.eye(c)[labels] if one_hot else labels
    assert_gradient_matches(CrossEntropyLoss(), logits, target)


@given(seed=seeds, n=batch_sizes, c=st.integers(2, 7))
def test_cross_entropy_gradient_with_probability_targets(seed, n, c):
    rng = np.random.default_rng(seed)
    logits = 2.0 * rng.standard_normal((n, c))
    target = rng.dirichlet(np.ones(c), n)
    assert_gradient_matches(CrossEntropyLoss(), logits, target)


def test_cross_entropy_gradient_formula():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    loss = CrossEntropyLoss()
    loss(z, np.array([2, 0]))
    e = np.exp([1.0, 2.0, 3.0])
    expected = np.array([e / e.sum() - [0, 0, 1], np.full(3, 1 / 3) - [1, 0, 0]]) / 2
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-14)


# --- values -----------------------------------------------------------------------------------
def test_mse_and_mae_values_by_hand():
    pred, target = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])
    assert MSELoss()(pred, target) == pytest.approx(13 / 3, rel=1e-15)
    assert MAELoss()(pred, target) == pytest.approx(5 / 3, rel=1e-15)


def test_mse_averages_over_all_elements():
    pred, target = np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))
    loss = MSELoss()
    assert loss(pred, target) == pytest.approx(30 / 4)
    np.testing.assert_allclose(loss.backward(), 2 * pred / 4)


def test_mae_subgradient_is_zero_at_equality():
    loss = MAELoss()
    loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0]))
    np.testing.assert_array_equal(loss.backward(), [0.0, 1 / 3, -1 / 3])


def test_log_loss_of_a_confident_correct_prediction():
    assert BCELoss()(np.array([0.99]), np.array([1.0])) == pytest.approx(-math.log(0.99), rel=1e-12)
    assert BCELoss()(np.array([0.99]), np.array([0.0])) == pytest.approx(-math.log(0.01), rel=1e-12)


def test_bce_with_logits_equals_bce_of_the_sigmoid():
    rng = np.random.default_rng(1)
    z, t = 4 * rng.standard_normal((6, 2)), rng.uniform(0, 1, (6, 2))
    p = 1 / (1 + np.exp(-z))
    assert BCEWithLogitsLoss()(z, t) == pytest.approx(BCELoss()(p, t), rel=1e-12)


def test_cross_entropy_of_uniform_logits_is_log_c():
    assert CrossEntropyLoss()(np.zeros((3, 5)), np.array([0, 4, 2])) == pytest.approx(math.log(5))


def test_cross_entropy_with_labels_equals_one_hot_and_float_labels():
    rng = np.random.default_rng(2)
    z, labels = rng.standard_normal((7, 4)), rng.integers(0, 4, 7)
    a, b, c = CrossEntropyLoss(), CrossEntropyLoss(), CrossEntropyLoss()
    assert a(z, labels) == b(z, np.eye(4)[labels]) == c(z, labels.astype(float))
    np.testing.assert_array_equal(a.backward(), b.backward())
    np.testing.assert_array_equal(a.backward(), c.backward())
    # And the value is the mean negative log-probability of the true class.
    log_p = z[np.arange(7), labels] - np.log(np.exp(z).sum(axis=1))
    assert a(z, labels) == pytest.approx(-log_p.mean(), rel=1e-13)


# --- numerical stability ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("z", "t", "expected"),
    [(-1000.0, 1.0, 1000.0), (1000.0, 1.0, 0.0), (1000.0, 0.0, 1000.0), (-1000.0, 0.0, 0.0)],
)
def test_bce_with_logits_is_exact_at_huge_logits(z, t, expected):
    loss = BCEWithLogitsLoss()
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no warning either
        assert loss(np.array([z]), np.array([t])) == expected
        grad = loss.backward()
    np.testing.assert_array_equal(grad, [(z > 0) - t])


def test_bce_with_logits_is_accurate_for_moderate_logits():
    # The naive formula loses every digit here: log1p(exp(-30)) is about 9.4e-14.
    assert BCEWithLogitsLoss()(np.array([-30.0]), np.array([0.0])) == pytest.approx(
        math.log1p(math.exp(-30.0)), rel=1e-12
    )


@pytest.mark.parametrize(("label", "expected"), [(0, 0.0), (1, 2000.0)])
def test_cross_entropy_is_exact_at_huge_logits(label, expected):
    loss = CrossEntropyLoss()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert loss(np.array([[1000.0, -1000.0]]), np.array([label])) == expected
        grad = loss.backward()
    np.testing.assert_array_equal(grad, [[1.0 - (label == 0), -(label == 1)]])


def test_cross_entropy_ignores_a_common_shift_of_the_logits():
    z, y = np.array([[1.0, 2.0, 0.5]]), np.array([1])
    assert CrossEntropyLoss()(z + 1000.0, y) == pytest.approx(CrossEntropyLoss()(z, y), rel=1e-12)


@pytest.mark.parametrize(("p", "t"), [(0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)])
def test_bce_clips_probabilities_so_everything_stays_finite(p, t):
    loss = BCELoss(eps=1e-12)
    value = loss(np.array([p]), np.array([t]))
    expected = -math.log(1e-12) if p != t else -math.log1p(-1e-12)
    assert value == pytest.approx(expected, rel=1e-5)  # 1 - 1e-12 is not exact in float64
    assert np.isfinite(loss.backward()).all()


# --- interface --------------------------------------------------------------------------------
def make_inputs(cls, rng):
    if cls is CrossEntropyLoss:
        return rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    if cls in (BCELoss, BCEWithLogitsLoss):
        return rng.uniform(0.1, 0.9, (5, 1)), rng.integers(0, 2, (5, 1)).astype(float)
    return regression_pair(rng, (5, 2))


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_forward_returns_a_float_and_backward_a_float64_array_of_preds_shape(cls):
    pred, target = make_inputs(cls, np.random.default_rng(0))
    loss = cls()
    value = loss(pred.astype(np.float32), target)
    assert type(value) is float
    assert value == pytest.approx(cls()(pred.astype(np.float32).astype(float), target))
    grad = loss.backward()
    assert grad.shape == pred.shape
    assert grad.dtype == np.float64


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_call_is_forward_and_inputs_are_not_mutated(cls):
    pred, target = make_inputs(cls, np.random.default_rng(1))
    pred_copy, target_copy = pred.copy(), target.copy()
    loss = cls()
    assert loss(pred, target) == loss.forward(pred, target)
    grad = loss.backward()
    grad += 1.0  # the caller may scribble on the gradient...
    np.testing.assert_array_equal(pred, pred_copy)
    np.testing.assert_array_equal(target, target_copy)
    assert not np.shares_memory(loss.backward(), grad)  # ...without corrupting the loss


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_backward_before_forward(cls):
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}.backward\(\) was called before"):
        cls().backward()


def test_reprs():
    assert repr(MSELoss()) == "MSELoss()"
    assert repr(CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(BCEWithLogitsLoss()) == "BCEWithLogitsLoss()"
    assert repr(BCELoss(eps=1e-7)) == "BCELoss(eps=1e-07)"


def test_base_loss_is_abstract():
    with pytest.raises(NotImplementedError, match="Loss must implement forward"):
        Loss()(np.zeros(2), np.zeros(2))
    with pytest.raises(NotImplementedError, match="Loss must implement backward"):
        Loss().backward()


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_column_prediction_against_flat_target_is_the_broadcasting_trap(cls):
    pred, target = np.full((4, 1), 0.5), np.array([0.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match=r"broadcast them to \(4, 4\).*target.reshape\(-1, 1\)"):
        cls()(pred, target)
    with pytest.raises(ValueError, match=r"broadcast them to \(4, 4\).*target.ravel\(\)"):
        cls()(pred.ravel(), target.reshape(-1, 1))


@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_other_shape_mismatches(cls):
    with pytest.raises(
        ValueError, match=r"pred and target must have the same shape, got pred of shape \(4, 2\)"
    ):
        cls()(np.full((4, 2), 0.5), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"pred must be a 1-D or 2-D array, got a 3-D"):
        cls()(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"are empty \(shape \(0,\)\); need N >= 1"):
        cls()(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize("cls", ALL_LOSSES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_names_the_argument(cls, bad):
    pred, target = make_inputs(cls, np.random.default_rng(2))
    bad_pred = pred.copy()
    bad_pred[1, 0] = bad
    with pytest.raises(ValueError, match=r"pred contains 1 non-finite value.* index \(1, 0\)"):
        cls()(bad_pred, target)
    bad_target = target.astype(float)
    bad_target[3] = bad
    with pytest.raises(ValueError, match=r"target.* (non-finite|NaN or inf)"):
        cls()(pred, bad_target)


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_non_numeric_input_is_a_type_error(cls):
    with pytest.raises(TypeError, match="pred must be a numeric"):
        cls()(np.array(["a", "b"]), np.zeros(2))


def test_bce_rejects_values_outside_the_unit_interval():
    with pytest.raises(
        ValueError,
        match=r"BCELoss: pred \(probabilities\) must lie in \[0, 1\], got values in \[-0.5, 2\]"
        r"; if pred are logits, use BCEWithLogitsLoss",
    ):
        BCELoss()(np.array([-0.5, 2.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"BCELoss: target must lie in \[0, 1\], got .*\[0, 3\]"):
        BCELoss()(np.array([0.5, 0.5]), np.array([0.0, 3.0]))
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss: target must lie in \[0, 1\]"):
        BCEWithLogitsLoss()(np.array([0.5, 0.5]), np.array([-1.0, 1.0]))


@pytest.mark.parametrize(
    ("eps", "error", "message"),
    [(0.0, ValueError, r"eps must lie in \(0, 0.5\), got 0.0"), ("1e-7", TypeError, "eps must be")],
)
def test_bce_eps_is_validated(eps, error, message):
    with pytest.raises(error, match=message):
        BCELoss(eps=eps)


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        (np.array([0, 3, 1]), ValueError, r"labels must lie in \[0, 3\) .* C=3 .* from 0 to 3"),
        (np.array([-1, 0, 1]), ValueError, r"labels must lie in \[0, 3\) .* from -1 to 1"),
        (np.array([0.0, 1.5, 2.0]), TypeError, r"whole numbers .* such as 1.5"),
        (np.array([True, False, True]), TypeError, r"labels must be integers, got dtype bool"),
        (np.array([[0], [1], [2]]), ValueError, r"target has shape \(3, 1\), a column.*\(3,\)"),
        (np.array([0, 1]), ValueError, r"pred has 3 rows but target has 2 labels"),
        (
            np.zeros((3, 4)),
            ValueError,
            r"must have the shape of the logits \(3, 3\), got shape \(3, 4\)",
        ),
        (np.zeros((2, 3, 1)), ValueError, r"labels of shape \(3,\) or one-hot rows of shape"),
        (np.full((3, 3), 0.5), ValueError, r"row must sum to 1.* 3 row\(s\).* sums to 1.5"),
        (np.array([[2.0, -1, 0]] * 3), ValueError, r"probabilities in \[0, 1\], got .*\[-1, 2\]"),
        (np.array([0.0, np.nan, 1.0]), ValueError, r"target labels contain NaN or inf"),
        (np.array(["a", "b", "c"]), TypeError, r"labels must be integers, got dtype <U1"),
    ],
)
def test_cross_entropy_target_errors(target, error, message):
    with pytest.raises(error, match=message):
        CrossEntropyLoss()(np.zeros((3, 3)), target)


def test_cross_entropy_pred_must_be_2d_logits():
    with pytest.raises(ValueError, match=r"pred must be a 2-D array, got a 1-D array"):
        CrossEntropyLoss()(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"pred \(logits\) is empty, shape \(0, 3\)"):
        CrossEntropyLoss()(np.zeros((0, 3)), np.zeros(0, dtype=int))
