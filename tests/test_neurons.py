"""Tests for nnlib.neurons: the threshold neuron, the logic gates, XOR and the sign network."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnlib import neurons
from nnlib.neurons import (
    AND,
    NAND,
    NOT,
    OR,
    ThresholdNeuron,
    sign,
    sign_network,
    step,
    truth_table,
    xor_two_layer,
    xor_with_feature,
)

BITS2 = list(itertools.product([0, 1], repeat=2))


# --- step and sign ----------------------------------------------------------------------------
def test_step_is_strict_heaviside():
    out = step([-2.0, -1e-12, 0.0, 1e-12, 3.0])
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 1])
    assert out.dtype == np.float64


def test_step_keeps_float32_and_shape():
    z = np.array([[-1.0, 2.0], [0.5, 0.0]], dtype=np.float32)
    out = step(z)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 1], [1, 0]])


def test_step_rejects_strings():
    with pytest.raises(TypeError, match="z must be a numeric"):
        step(["a", "b"])


def test_sign_maps_zero_to_minus_one_and_has_two_values():
    np.testing.assert_array_equal(sign([-3.0, 0.0, 2.0]), [-1, -1, 1])
    assert set(np.unique(sign(np.linspace(-2, 2, 101)))) == {-1.0, 1.0}


# --- the threshold neuron ---------------------------------------------------------------------
@given(
    d=st.integers(1, 5),
    n=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
)
def test_threshold_neuron_matches_weighted_sum_rule(d, n, seed):
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=d), float(rng.normal())
    X = rng.normal(size=(n, d))
    neuron = ThresholdNeuron(w, b)
    expected = [1.0 if sum(w[j] * X[i, j] for j in range(d)) + b > 0 else 0.0 for i in range(n)]
    out = neuron(X)
    assert out.shape == (n,)
    np.testing.assert_array_equal(out, expected)
    # A single input of shape (D,) gives a plain float for that row.
    single = neuron.forward(X[0])
    assert isinstance(single, float)
    assert single == expected[0]
    np.testing.assert_allclose(neuron.preactivation(X), X @ w + b)


def test_threshold_neuron_does_not_fire_on_the_threshold():
    assert ThresholdNeuron([1.0, 1.0], -2.0)([1, 1]) == 0.0
    assert ThresholdNeuron([1.0, 1.0], -2.0)([1, 1.5]) == 1.0


def test_threshold_neuron_rejects_wrong_number_of_features():
    with pytest.raises(ValueError, match=r"X must have shape \(2,\).*\(N, 2\).*got shape \(4, 3\)"):
        AND(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        AND([1, 0, 1])


def test_not_accepts_a_scalar_but_and_does_not():
    assert NOT(0) == 1.0
    assert NOT(1) == 0.0
    with pytest.raises(ValueError, match=r"X must have shape \(2,\)"):
        AND(1)


def test_threshold_neuron_validates_its_parameters():
    with pytest.raises(ValueError, match="weights must be a 1-D array"):
        ThresholdNeuron([[1, 1]], 0.0)
    with pytest.raises(ValueError, match="at least one element"):
        ThresholdNeuron([], 0.0)
    with pytest.raises(ValueError, match="bias contains 1 non-finite"):
        ThresholdNeuron([1.0], float("nan"))
    with pytest.raises(ValueError, match="weights contains 1 non-finite"):
        ThresholdNeuron([1.0, np.inf], 0.0)
    with pytest.raises(TypeError, match="weights must be a numeric"):
        ThresholdNeuron(["a"], 0.0)


def test_gate_weights_are_read_only_and_neuron_copies_its_weights():
    with pytest.raises(ValueError, match="read-only"):
        AND.weights[0] = 5.0
    w = np.array([1.0, 2.0])
    neuron = ThresholdNeuron(w, 0.0)
    w[0] = 100.0
    assert neuron.weights[0] == 1.0


def test_threshold_neuron_does_not_mutate_input():
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    before = X.copy()
    AND(X)
    np.testing.assert_array_equal(X, before)


def test_repr_shows_weights_bias_and_name():
    assert repr(AND) == "ThresholdNeuron(weights=[1.0, 1.0], bias=-1.5, name='AND')"
    assert repr(ThresholdNeuron([2, -1], 0.25)) == "ThresholdNeuron(weights=[2.0, -1.0], bias=0.25)"
    assert AND.n_inputs == 2 and NOT.n_inputs == 1


# --- the gates on full truth tables -----------------------------------------------------------
@pytest.mark.parametrize(
    ("gate", "formula", "boolean"),
    [
        (AND, lambda a, b: a + b - 3 / 2 > 0, lambda a, b: a and b),
        (OR, lambda a, b: a + b - 1 / 2 > 0, lambda a, b: a or b),
        (NAND, lambda a, b: -a - b + 3 / 2 > 0, lambda a, b: not (a and b)),
    ],
    ids=["AND", "OR", "NAND"],
)
def test_two_input_gates_on_full_truth_table(gate, formula, boolean):
    inputs, outputs = truth_table(gate, 2)
    for (a, b), out in zip(inputs, outputs, strict=True):
        assert out == int(formula(a, b)) == int(bool(boolean(a, b)))
    for a, b in BITS2:  # and one row at a time, with the (D,) input form
        assert gate([a, b]) == int(bool(boolean(a, b)))


def test_not_gate_on_full_truth_table():
    inputs, outputs = truth_table(NOT, 1)
    np.testing.assert_array_equal(inputs, [[0], [1]])
    np.testing.assert_array_equal(outputs, [int(-x + 1 / 2 > 0) for x in (0, 1)])
    np.testing.assert_array_equal(outputs, [1, 0])


@pytest.mark.parametrize("xor", [xor_with_feature, xor_two_layer])
def test_both_xor_constructions_on_full_truth_table(xor):
    _, outputs = truth_table(xor, 2)
    np.testing.assert_array_equal(outputs, [a ^ b for a, b in BITS2])
    for a, b in BITS2:
        assert xor([a, b]) == a ^ b


def test_xor_with_feature_is_the_lecture_formula():
    for a, b in BITS2:
        assert xor_with_feature([a, b]) == int(a + b - 2 * a * b - 1 / 2 > 0)


def test_xor_two_layer_is_or_minus_and():
    for a, b in BITS2:
        assert xor_two_layer([a, b]) == int(OR([a, b]) - AND([a, b]) - 1 / 2 > 0)


@pytest.mark.parametrize("xor", [xor_with_feature, xor_two_layer, sign_network])
def test_two_input_functions_reject_other_widths(xor):
    with pytest.raises(
        ValueError, match=r"X must have shape \(2,\) or \(N, 2\), got shape \(5, 3\)"
    ):
        xor(np.zeros((5, 3)))


# --- the sign network -------------------------------------------------------------------------
# The hidden lines are L1: x2 = 2 x1 + 2 and L2: x2 = 4 - 3 x1; o = +1 only for h1 = -1 (on or
# below L1) and h2 = +1 (strictly above L2): the wedge to the right of where they cross (0.4, 2.8).
@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((2.0, 0.0), 1),  # right of both lines: below L1, above L2
        ((3.0, 5.0), 1),  # inside the wedge, further up
        ((10.0, 1.0), 1),
        ((0.0, 0.0), -1),  # below both lines (h1 = -1, h2 = -1)
        ((0.0, 5.0), -1),  # above both lines (h1 = +1, h2 = +1)
        ((-3.0, -3.0), -1),  # above L1, below L2 (h1 = +1, h2 = -1)
        ((2.0, 6.0), 1),  # exactly on L1: sign(0) = -1 puts it on L1's lower (inside) side
        ((1.0, 1.0), -1),  # exactly on L2: sign(0) = -1 puts it on L2's lower (outside) side
    ],
)
def test_sign_network_regions(point, expected):
    out = sign_network(np.array([point]))
    assert out.shape == (1,)
    assert out[0] == expected


@given(arrays(np.float64, st.tuples(st.integers(1, 20), st.just(2)), elements=st.floats(-10, 10)))
def test_sign_network_is_the_wedge(X):
    out = sign_network(X)
    assert out.shape == (len(X),)
    assert set(np.unique(out)) <= {-1.0, 1.0}
    # Compare off the lines only: on them rounding decides the side (tested exactly above).
    x1, x2 = X[:, 0], X[:, 1]
    clear = (np.abs(x2 - 2 * x1 - 2) > 1e-9) & (np.abs(x2 + 3 * x1 - 4) > 1e-9)
    inside = (x2 < 2 * x1 + 2) & (x2 > 4 - 3 * x1)
    np.testing.assert_array_equal(out[clear], np.where(inside, 1.0, -1.0)[clear])


# --- truth_table ------------------------------------------------------------------------------
def test_truth_table_rows_in_counting_order():
    inputs, outputs = truth_table(lambda X: X[:, 0], 3)
    np.testing.assert_array_equal(inputs, list(itertools.product([0, 1], repeat=3)))
    assert inputs.dtype == np.int64 and outputs.dtype == np.int64
    np.testing.assert_array_equal(outputs, [0, 0, 0, 0, 1, 1, 1, 1])


def test_truth_table_accepts_boolean_outputs():
    _, outputs = truth_table(lambda X: X.sum(axis=1) >= 2, 3)
    np.testing.assert_array_equal(outputs, [0, 0, 0, 1, 0, 1, 1, 1])


@pytest.mark.parametrize(
    ("n_inputs", "error", "match"),
    [
        (0, ValueError, "n_inputs must be between 1 and 20, got 0"),
        (21, ValueError, "n_inputs must be between 1 and 20, got 21"),
        (-1, ValueError, "got -1"),
        (2.0, TypeError, "n_inputs must be an int, got float"),
        (True, TypeError, "n_inputs must be an int, got bool"),
    ],
)
def test_truth_table_validates_n_inputs(n_inputs, error, match):
    with pytest.raises(error, match=match):
        truth_table(AND, n_inputs)


def test_truth_table_validates_fn():
    with pytest.raises(TypeError, match="fn must be callable"):
        truth_table("AND", 2)
    with pytest.raises(ValueError, match=r"one value per row, shape \(4,\), got shape \(4, 2\)"):
        truth_table(lambda X: X, 2)
    with pytest.raises(ValueError, match=r"only 0 and 1, got also \[2\]"):
        truth_table(lambda X: X.sum(axis=1), 2)
    with pytest.raises(ValueError, match=r"X must have shape \(2,\)"):
        truth_table(AND, 3)  # AND has two inputs


def test_module_exports_the_documented_names():
    for name in ["step", "ThresholdNeuron", "AND", "OR", "NOT", "NAND", "xor_two_layer"]:
        assert name in neurons.__all__
    assert {"xor_with_feature", "sign_network", "truth_table", "sign"} <= set(neurons.__all__)
