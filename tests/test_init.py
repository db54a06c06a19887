"""Tests for nnlib.init: shapes, statistics of each scheme, name resolution and errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnlib import init
from nnlib.modules import Linear

SHAPE = (400, 600)  # fan_in 400, fan_out 600: 240,000 draws, variance known to ~0.6 %


def rng():
    return np.random.default_rng(12345)


@pytest.mark.parametrize(
    "fn", [init.zeros, init.normal, init.xavier_uniform, init.xavier_normal, init.he_normal]
)
def test_shape_dtype_and_reproducibility(fn):
    W = fn((3, 5), rng())
    assert W.shape == (3, 5) and W.dtype == np.float64
    np.testing.assert_array_equal(fn((3, 5), rng()), W)


@pytest.mark.parametrize(
    ("fn", "variance"),
    [
        (init.xavier_uniform, 2.0 / (400 + 600)),
        (init.xavier_normal, 2.0 / (400 + 600)),
        (init.he_normal, 2.0 / 400),
        (init.normal, 0.01**2),
    ],
)
def test_variance_on_a_big_matrix(fn, variance):
    W = fn(SHAPE, rng())
    assert abs(W.mean()) < 4 * np.sqrt(variance / W.size)
    assert W.var() == pytest.approx(variance, rel=0.03)


def test_xavier_uniform_bounds_and_flat_histogram():
    limit = np.sqrt(6.0 / (400 + 600))
    W = init.xavier_uniform(SHAPE, rng())
    assert W.min() >= -limit and W.max() <= limit
    assert W.min() < -0.99 * limit and W.max() > 0.99 * limit
    counts, _ = np.histogram(W, bins=10, range=(-limit, limit))
    np.testing.assert_allclose(counts / W.size, 0.1, atol=0.005)


def test_normal_schemes_are_gaussian():
    W = init.he_normal(SHAPE, rng()) / np.sqrt(2.0 / 400)
    # About 68.3 % of a standard normal lies within one standard deviation.
    assert np.mean(np.abs(W) < 1) == pytest.approx(0.6827, abs=0.005)


def test_normal_std_argument_and_zeros():
    assert init.normal(SHAPE, rng(), std=0.5).std() == pytest.approx(0.5, rel=0.01)
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3)))
    assert init.zeros((4,)).shape == (4,)


def test_rng_defaults_to_fresh_randomness():
    assert init.xavier_uniform((3, 4)).shape == (3, 4)
    assert not np.array_equal(init.he_normal((5, 5)), init.he_normal((5, 5)))


# --- get_initializer --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("zeros", init.zeros),
        ("normal", init.normal),
        ("xavier_uniform", init.xavier_uniform),
        ("Xavier_Normal", init.xavier_normal),
        ("HE_NORMAL", init.he_normal),
    ],
)
def test_get_initializer_by_name(name, fn):
    assert init.get_initializer(name) is fn


def test_get_initializer_passes_callables_through():
    def custom(shape, rng):
        return np.full(shape, 0.5)

    assert init.get_initializer(custom) is custom


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown init 'glorot'") as info:
        init.get_initializer("glorot")
    for name in ("zeros", "normal", "xavier_uniform", "xavier_normal", "he_normal"):
        assert repr(name) in str(info.value)


def test_get_initializer_rejects_non_callables():
    with pytest.raises(TypeError, match="init must be an initialiser name"):
        init.get_initializer(3)


@pytest.mark.parametrize(
    ("shape", "error", "message"),
    [
        ((3, 4, 5), ValueError, r"shape must be \(fan_in, fan_out\)"),
        ((3,), ValueError, r"shape must be \(fan_in, fan_out\)"),
        ((0, 4), ValueError, "positive sizes"),
        ((3.0, 4), TypeError, "shape must be a tuple of ints"),
        (7, TypeError, "shape must be a tuple of ints"),
    ],
)
def test_bad_shapes(shape, error, message):
    with pytest.raises(error, match=message):
        init.xavier_uniform(shape, rng())


def test_bad_rng():
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        init.he_normal((2, 2), rng=42)


# --- used by Linear ---------------------------------------------------------------------------
def test_linear_uses_the_named_initializer():
    layer = Linear(400, 300, init="he_normal", seed=0)
    assert layer.weight.value.var() == pytest.approx(2.0 / 400, rel=0.03)
    np.testing.assert_array_equal(layer.bias.value, 0.0)
    default = Linear(400, 300, seed=0).weight.value
    limit = np.sqrt(6.0 / 700)
    assert default.var() == pytest.approx(2.0 / 700, rel=0.03)
    assert np.abs(default).max() <= limit


def test_linear_passes_shape_and_rng_to_a_callable():
    seen = {}

    def custom(shape, rng):
        seen["shape"], seen["rng"] = shape, rng
        return np.full(shape, 0.25)

    layer = Linear(3, 2, init=custom)
    assert seen["shape"] == (3, 2) and isinstance(seen["rng"], np.random.Generator)
    np.testing.assert_array_equal(layer.weight.value, 0.25)
    assert "init='custom'" in repr(layer)


def test_linear_rejects_an_initializer_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"returned an array of shape \(2, 3\).*\(3, 2\)"):
        Linear(3, 2, init=lambda shape, rng: np.zeros(shape[::-1]))


def test_linear_unknown_init_name():
    with pytest.raises(ValueError, match=r"unknown init 'kaiming'.*'he_normal'"):
        Linear(3, 2, init="kaiming")
