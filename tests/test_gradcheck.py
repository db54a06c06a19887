"""Tests for nnlib.gradcheck: finite differences, rel_error, reports, kinks, error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlib.gradcheck import (
    DEFAULT_TOL,
    GradCheckReport,
    KinkWarning,
    check_loss,
    check_module,
    numerical_gradient,
    rel_error,
)
from nnlib.losses import CrossEntropyLoss, MAELoss
from nnlib.modules import (
    Dropout,
    LeakyReLU,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Step,
    Tanh,
)
from tests.strategies import FAST, arrays, seeds, shapes


# --- deliberately broken modules and small losses ---------------------------------------------
class FlippedTanh(Tanh):
    """Tanh whose backward has the wrong sign."""

    def backward(self, grad_out):
        return -super().backward(grad_out)


class TransposedLinear(Linear):
    """Linear that accumulates dW for a transposed weight (only right when D == H)."""

    def backward(self, grad_out, need_input_grad=True):
        X = self._require_cache()
        self.weight.grad += (X.T @ grad_out).T
        self.bias.grad += grad_out.sum(axis=0)
        return grad_out @ self.weight.value.T


class SigmoidIgnoringGradOut(Sigmoid):
    """Returns dy/dx as if the upstream gradient were all ones: passes only for G = 1."""

    def backward(self, grad_out):
        y = self._require_cache()
        return y * (1 - y)


class Abs(Module):
    """|x|, with backward sign(x) (0 at the kink)."""

    def forward(self, x):
        self._cache = x
        return np.abs(x)

    def backward(self, grad_out):
        return grad_out * np.sign(self._cache)


class NoisyModule(Module):
    """Random in a way check_module cannot replay (numpy's global generator)."""

    def forward(self, x):
        self._cache = x
        return x * np.random.default_rng().random(x.shape)  # a new generator every time

    def backward(self, grad_out):
        return grad_out


class WrongShape(Tanh):
    def backward(self, grad_out):
        return super().backward(grad_out).T


class SquaredError:
    """0.5 * mean over rows of sum((pred - target)**2); backward optionally broken."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def forward(self, pred, target):
        self._cache = (pred, target)
        return float(0.5 * np.sum((pred - target) ** 2) / pred.shape[0])

    def backward(self):
        pred, target = self._cache
        return self.factor * (pred - target) / pred.shape[0]


class AbsoluteError:
    """mean(|pred - target|), kink where pred == target."""

    def forward(self, pred, target):
        self._cache = (pred, target)
        return float(np.mean(np.abs(pred - target)))

    def backward(self):
        pred, target = self._cache
        return np.sign(pred - target) / pred.size


def data(shape, seed=0):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape)


# --- numerical_gradient -----------------------------------------------------------------------
@FAST
@given(x=arrays(shapes(min_dims=0, max_dims=4)))
def test_numerical_gradient_of_a_cubic_any_shape(x):
    grad = numerical_gradient(lambda z: np.sum(z**3), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    # Rounding in f (a sum of size |f|) limits the absolute accuracy to about 1e-16 |f| / h.
    atol = 1e-9 * (1.0 + np.sum(np.abs(x) ** 3))
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-6, atol=atol)


def test_numerical_gradient_of_a_non_separable_function():
    A = data((3, 3), seed=1)
    x = data((3,), seed=2)
    grad = numerical_gradient(lambda z: z @ A @ z, x)  # d/dx x^T A x = (A + A^T) x
    assert rel_error(grad, (A + A.T) @ x) < 1e-9


def test_numerical_gradient_restores_every_poked_value_exactly():
    x = data((4, 3)) * 1e3 + 0.1  # large values: x + eps - eps would not round-trip
    before = x.copy()
    seen = []
    numerical_gradient(lambda z: seen.append(z.copy()) or float(np.sum(np.sin(z))), x)
    np.testing.assert_array_equal(x, before)
    assert len(seen) == 2 * x.size  # f(x + h e_i) and f(x - h e_i) for every i
    changed = [np.flatnonzero(s != before) for s in seen[1:]]
    assert all(len(c) == 1 for c in changed)  # one element poked at a time


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = {"n": 0}

    def f(z):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ArithmeticError("boom")
        return float(z.sum())

    with pytest.raises(ArithmeticError):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_numerical_gradient_input_errors():
    with pytest.raises(TypeError, match=r"x must be a float64 ndarray.*float32 array"):
        numerical_gradient(np.sum, np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match=r"x must be a float64 ndarray.*got list"):
        numerical_gradient(np.sum, [1.0, 2.0])
    with pytest.raises(ValueError, match="f must return a scalar, got float64 array of shape"):
        numerical_gradient(lambda z: z * 2, np.ones(3))
    with pytest.raises(ValueError, match="eps must be a small positive number"):
        numerical_gradient(np.sum, np.ones(3), eps=0.0)
    frozen = np.ones(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writeable"):
        numerical_gradient(np.sum, frozen)


# --- rel_error --------------------------------------------------------------------------------
def test_rel_error_formula():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert rel_error([1.0, -2.0], [-1.0, 2.0]) == 1.0  # sign flip
    # max |a - b| = 1e-3 over max(|a| + |b|) = 6
    assert rel_error([3.0, 0.0], [3.0, 1e-3]) == pytest.approx(1e-3 / 6)
    assert rel_error([1.0, 2.0], [1.0, 2.0 + 1e-6]) == pytest.approx(1e-6 / 4.000001)
    assert rel_error([1e-20], [2e-20], floor=1e-8) == pytest.approx(1e-12)
    assert rel_error(np.empty(0), np.empty(0)) == 0.0


def test_rel_error_non_finite_is_infinite():
    assert rel_error([1.0, np.nan], [1.0, 1.0]) == np.inf
    assert rel_error([np.inf], [np.inf]) == np.inf


def test_rel_error_shape_mismatch():
    with pytest.raises(
        ValueError, match=r"a and b must have the same shape, got \(2,\) and \(3,\)"
    ):
        rel_error(np.ones(2), np.ones(3))


@FAST
@given(a=arrays((3, 4)), b=arrays((3, 4)), scale=st.floats(1e-6, 1e6))
def test_rel_error_is_symmetric_scale_free_and_bounded(a, b, scale):
    err = rel_error(a, b)
    assert err == rel_error(b, a)
    assert 0.0 <= err <= 1.0
    assert rel_error(a * scale, b * scale) == pytest.approx(err, rel=1e-9, abs=1e-300)


# --- check_module -----------------------------------------------------------------------------
@FAST
@given(x=arrays((3, 4)), seed=seeds)
def test_a_correct_module_passes(x, seed):
    report = check_module(Sequential(Linear(4, 3, seed=seed), Tanh()), x, seed=seed)
    assert report.passed, str(report)
    assert report.max_rel_error <= DEFAULT_TOL
    assert set(report.errors) == {"input", "0.weight", "0.bias"}
    assert report.max_rel_error == max(report.errors.values())


def test_a_sign_flip_fails_and_names_the_worst_element():
    x = data((4, 3))
    report = check_module(FlippedTanh(), x)
    assert not report.passed
    assert report.max_rel_error == pytest.approx(1.0)
    assert report.worst == "input"
    diff = np.abs(report.analytic["input"] - report.numerical["input"])
    assert report.worst_index == np.unravel_index(np.argmax(diff), diff.shape)
    assert report.got == pytest.approx(-report.expected)
    text = str(report)
    assert "FAILED" in text
    i, j = report.worst_index
    assert f"worst element input[{i}, {j}]" in text
    assert f"numerical {report.expected:.6g}, backward {report.got:.6g}" in text


def test_a_transposed_weight_gradient_is_caught_and_attributed():
    layer = TransposedLinear(3, 3, seed=0)
    report = check_module(layer, data((5, 3)))
    assert not report.passed
    assert report.worst == "weight"
    assert report.errors["input"] < DEFAULT_TOL and report.errors["bias"] < DEFAULT_TOL
    assert "worst element weight[" in str(report)


def test_the_upstream_gradient_is_random_not_ones():
    report = check_module(SigmoidIgnoringGradOut(), data((4, 2)))
    assert not report.passed
    # ...while with an explicit all-ones upstream gradient the bug would slip through.
    assert check_module(SigmoidIgnoringGradOut(), data((4, 2)), grad_out=np.ones((4, 2))).passed


def test_grad_out_seed_changes_the_upstream_gradient():
    x = data((3, 2))
    a = check_module(Linear(2, 2, seed=0), x, seed=1)
    b = check_module(Linear(2, 2, seed=0), x, seed=2)
    assert not np.array_equal(a.numerical["input"], b.numerical["input"])


def test_relu_probed_at_zero_warns_instead_of_failing():
    x = data((3, 4))
    x[1, 2] = 0.0
    with pytest.warns(
        KinkWarning, match=r"1 finite-difference probe\(s\) crossed a kink.*input\[1, 2\]"
    ):
        report = check_module(ReLU(), x)
    assert report.passed, str(report)
    assert report.kinks == {"input": [(1, 2)]}
    assert "1 element(s) at a kink left out" in str(report)


def test_kinks_inside_a_network_are_found_through_the_weights():
    layer = Linear(2, 2, seed=0)
    X = np.array([[1.0, 2.0], [1.0, -1.0]])
    layer.bias.value[:] = [-(X[0] @ layer.weight.value[:, 0]), 1.0]  # Z[0, 0] is (about) 0
    net = Sequential(layer, ReLU())
    with pytest.warns(KinkWarning) as record:
        report = check_module(net, X)
    assert report.passed, str(report)
    message = str(record[0].message)
    assert "0.bias[0]" in message and "0.weight[0, 0]" in message


def test_abs_at_zero_warns_and_other_elements_are_still_checked():
    x = np.array([[0.0, 1.5], [-2.0, 0.5]])
    with pytest.warns(KinkWarning, match=r"input\[0, 0\]"):
        assert check_module(Abs(), x).passed

    class WrongAbs(Abs):
        def backward(self, grad_out):
            return 2 * super().backward(grad_out)

    with pytest.warns(KinkWarning):
        report = check_module(WrongAbs(), x)
    assert not report.passed and report.worst_index != (0, 0)


def test_kink_warning_is_a_user_warning():
    assert issubclass(KinkWarning, UserWarning)


def test_no_warning_away_from_kinks():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_module(ReLU(), data((4, 4)) + 0.5 * np.sign(data((4, 4)))).passed


def test_float32_input_is_checked_in_float64_and_left_alone():
    x32 = data((4, 3)).astype(np.float32)
    before = x32.copy()
    layer = Sequential(Linear(3, 2, seed=1), Sigmoid())
    report = check_module(layer, x32)
    assert report.passed, str(report)  # impossible at 1e-7 in float32 arithmetic
    assert report.numerical["input"].dtype == np.float64
    np.testing.assert_array_equal(x32, before)
    assert x32.dtype == np.float32


def test_check_module_has_no_side_effects_on_the_module():
    layer = Linear(3, 2, seed=0)
    weight, bias = layer.weight.value.copy(), layer.bias.value.copy()
    layer.weight.grad[:] = 7.0
    grad_array = layer.weight.grad
    x = data((4, 3))
    x_before = x.copy()
    check_module(layer, x)
    np.testing.assert_array_equal(layer.weight.value, weight)
    np.testing.assert_array_equal(layer.bias.value, bias)
    assert layer.weight.grad is grad_array
    np.testing.assert_array_equal(layer.weight.grad, 7.0)
    np.testing.assert_array_equal(layer.bias.grad, 0.0)
    np.testing.assert_array_equal(x, x_before)
    layer.zero_grad()  # the cache left behind is the one for x
    layer.backward(np.ones((4, 2)))
    np.testing.assert_allclose(layer.weight.grad, x.T @ np.ones((4, 2)))


def test_dropout_in_training_mode_is_checked_with_one_mask():
    drop = Dropout(0.5, seed=3)
    report = check_module(drop, data((6, 5)))
    assert report.passed, str(report)
    assert drop.training  # checked as it is, not switched to eval


def test_non_deterministic_module_is_refused():
    with pytest.raises(ValueError, match="NoisyModule gave two different outputs"):
        check_module(NoisyModule(), data((2, 2)))


def test_check_module_input_errors():
    with pytest.raises(TypeError, match="module must be an nnlib Module, got function"):
        check_module(lambda x: x, data((2, 2)))
    with pytest.raises(TypeError, match="x must be a numeric"):
        check_module(Tanh(), np.array([["a"]]))
    with pytest.raises(ValueError, match=r"grad_out must have the shape of the module's output"):
        check_module(Tanh(), data((2, 3)), grad_out=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"WrongShape.backward returned dL/dx of shape \(3, 2\)"):
        check_module(WrongShape(), data((2, 3)))


def test_tiny_gradients_are_compared_at_the_resolution_of_finite_differences():
    # dL/dW = X.T @ G is ~1e-17 here: far below what a difference of f values of size ~1 can
    # resolve, so only the floor keeps the check from failing on rounding noise...
    net = Sequential(Linear(1, 3, seed=0), Tanh(), Linear(3, 1, seed=1))
    net[0].bias.value[:] = [0.3, -0.2, 0.5]
    report = check_module(net, np.array([[3e-16]]))
    assert report.passed, str(report)
    assert report.floor > 0
    # ...while a real error in the same array is still far above the floor.
    assert rel_error([1e-3], [2e-3], floor=report.floor) > 1e-4


def test_report_fields_and_repr():
    report = check_module(Tanh(), data((2, 2)))
    assert isinstance(report, GradCheckReport)
    assert report.tol == DEFAULT_TOL
    assert "passed" in str(report) and "input" in str(report)
    assert "numerical=" not in repr(report)  # arrays kept out of the repr

    def made(err, tol=1e-7):
        return GradCheckReport(err, {"input": err}, "input", (0,), 1.0, 1.0, tol=tol)

    assert made(5e-8).passed and not made(2e-7).passed and made(2e-7, tol=1e-6).passed
    assert not made(float("nan")).passed


# --- check_loss -------------------------------------------------------------------------------
@FAST
@given(pred=arrays((4, 3)), target=arrays((4, 3)))
def test_check_loss_passes_a_correct_loss(pred, target):
    report = check_loss(SquaredError(), pred, target)
    assert report.passed, str(report)
    assert set(report.errors) == {"pred"}


def test_check_loss_catches_a_missing_factor():
    report = check_loss(SquaredError(factor=2.0), data((4, 3)), data((4, 3), seed=1))
    assert not report.passed
    assert report.max_rel_error == pytest.approx(1 / 3, rel=1e-6)
    assert "worst element pred[" in str(report)


def test_check_loss_warns_at_a_kink():
    pred = data((3, 2))
    target = pred.copy()
    target[1, 1] += 1.0  # every other element sits exactly on the kink of |pred - target|
    with pytest.warns(KinkWarning, match=r"5 finite-difference probe\(s\).*pred\[0, 0\]"):
        report = check_loss(AbsoluteError(), pred, target)
    assert report.passed and report.kinks["pred"] == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1)]


def test_check_loss_leaves_pred_alone_and_accepts_float32():
    pred = data((4, 3)).astype(np.float32)
    before = pred.copy()
    assert check_loss(SquaredError(), pred, data((4, 3), seed=1)).passed
    np.testing.assert_array_equal(pred, before)


def test_check_loss_errors():
    with pytest.raises(TypeError, match=r"loss must have forward\(pred, target\) and backward"):
        check_loss(lambda p, t: 0.0, data((2, 2)), data((2, 2)))

    class WrongShapeLoss(SquaredError):
        def backward(self):
            return super().backward().T

    with pytest.raises(ValueError, match=r"returned dL/dpred of shape \(3, 2\), expected"):
        check_loss(WrongShapeLoss(), data((2, 3)), data((2, 3)))


# --- inputs near (not on) a kink --------------------------------------------------------------
# The probe step is H = 2**-20. An input v = k * H with 0 < |k| < 2 puts the kink inside the
# coarse probe (|k| < 1), inside the finer re-probes (|k| < 1/8, 1/64), or on their edges. A
# correct module must pass or leave the element out with a KinkWarning, never fail; a broken
# one must still fail through the elements away from the kink.
H = 2.0**-20
NEAR_KINK_KS = np.unique(
    np.concatenate(
        [
            np.geomspace(0.01, 2.0, 241),
            np.linspace(0.09, 0.13, 41),  # around the re-probe at H / 8
            1 / 8 - np.geomspace(1e-7, 1e-2, 11),
            1 / 64 + np.geomspace(-1e-3, -1e-7, 5),
            1 / 64 + np.geomspace(1e-7, 1e-3, 5),
            1 - np.geomspace(1e-7, 1e-2, 11),  # kink just inside the coarse probe
            1 + np.geomspace(1e-7, 1e-2, 6),
        ]
    )
)


class AbsFromReLUs(Module):
    """|x| = relu(x) + relu(-x), built from two ReLU modules."""

    def __init__(self):
        super().__init__()
        self.pos, self.neg = ReLU(), ReLU()

    def forward(self, x):
        return self.pos.forward(x) + self.neg.forward(-x)

    def backward(self, grad_out):
        return self.pos.backward(grad_out) - self.neg.backward(grad_out)


class ReLUPassingNegatives(ReLU):
    """ReLU whose backward also passes the gradient where x < 0."""

    def backward(self, grad_out):
        x = self._require_cache()
        return grad_out * (x >= -np.inf)


class ReLUFlipped(ReLU):
    def backward(self, grad_out):
        return -super().backward(grad_out)


class ReLUHalved(ReLU):
    def backward(self, grad_out):
        return 0.5 * super().backward(grad_out)


class LeakyReLUWithoutAlpha(LeakyReLU):
    """Leaky ReLU whose backward forgets alpha (slope 1 on both sides)."""

    def backward(self, grad_out):
        return grad_out * np.ones_like(self._require_cache())


CORRECT_KINKED = {
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.1),
    "abs_from_relus": AbsFromReLUs,
    "step": Step,
}
BROKEN_KINKED = {
    "relu_passing_negatives": ReLUPassingNegatives,
    "relu_sign_flip": ReLUFlipped,
    "relu_missing_factor": ReLUHalved,
    "leaky_relu_without_alpha": lambda: LeakyReLUWithoutAlpha(0.1),
}


def check_quietly(check, *args):
    """Run a check, returning the report and whether it raised a KinkWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = check(*args)
    return report, any(issubclass(w.category, KinkWarning) for w in caught)


def passes_or_warns(report, warned, at):
    """A correct check: passed, and anything left out was that one element, with a warning."""
    left_out = [i for idxs in report.kinks.values() for i in idxs]
    return report.passed and set(left_out) <= {at} and warned == bool(left_out)


def test_the_bug_report_relu_just_inside_an_eighth_of_the_step():
    # v = 0.11 * H: the re-probe at H / 8 still crossed the kink, its slope gap shrank just
    # enough to look smooth, and the crossing estimate (about 0.94 instead of 1) was used.
    report, warned = check_quietly(check_module, ReLU(), np.array([[0.11 * H, 0.5]]))
    assert passes_or_warns(report, warned, (0, 0)), str(report)


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["positive", "negative"])
@pytest.mark.parametrize("name", list(CORRECT_KINKED))
def test_correct_kinked_modules_near_the_kink_pass_or_warn(name, sign):
    bad = []
    for k in NEAR_KINK_KS:
        x = np.array([[sign * k * H, 0.5, -0.75]])
        report, warned = check_quietly(check_module, CORRECT_KINKED[name](), x)
        if not passes_or_warns(report, warned, (0, 0)):
            bad.append(f"k={sign * k:.9g}: error {report.max_rel_error:.2e}, kinks {report.kinks}")
    assert not bad, "\n".join(bad[:10])


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["positive", "negative"])
@pytest.mark.parametrize("name", list(BROKEN_KINKED))
def test_broken_kinked_modules_fail_also_with_an_input_near_the_kink(name, sign):
    missed = []
    for k in NEAR_KINK_KS:
        x = np.array([[sign * k * H, 0.5, -0.75]])
        report, _ = check_quietly(check_module, BROKEN_KINKED[name](), x)
        if report.passed or report.max_rel_error < 1e-2:
            missed.append(f"k={sign * k:.9g}: error {report.max_rel_error:.2e}")
    assert not missed, "\n".join(missed[:10])


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["above", "below"])
def test_mae_loss_near_pred_equals_target_passes_or_warns(sign):
    target = np.array([[0.3, -1.2], [2.0, 0.7]])
    bad = []
    for k in NEAR_KINK_KS:
        pred = target + np.array([[sign * k * H, 0.5], [-0.25, 1.0]])
        report, warned = check_quietly(check_loss, MAELoss(), pred, target)
        if not passes_or_warns(report, warned, (0, 0)):
            bad.append(f"k={sign * k:.9g}: error {report.max_rel_error:.2e}, kinks {report.kinks}")
    assert not bad, "\n".join(bad[:10])


near_kink_k = st.floats(min_value=0.01, max_value=2.0) | st.floats(min_value=0.09, max_value=0.13)


@FAST
@given(
    k=near_kink_k,
    sign=st.sampled_from([1.0, -1.0]),
    name=st.sampled_from(sorted(CORRECT_KINKED)),
    seed=seeds,
)
def test_property_correct_modules_near_a_kink_pass_or_warn(k, sign, name, seed):
    x = data((2, 3), seed=seed % 1000)
    x[1, 2] = sign * k * H
    report, warned = check_quietly(check_module, CORRECT_KINKED[name](), x, None, seed)
    assert passes_or_warns(report, warned, (1, 2)), str(report)


@FAST
@given(k=near_kink_k, sign=st.sampled_from([1.0, -1.0]), seed=seeds)
def test_property_a_relu_passing_negatives_fails_near_a_kink(k, sign, seed):
    x = np.array([[sign * k * H, 0.5, -0.75]])
    report, _ = check_quietly(check_module, ReLUPassingNegatives(), x, None, seed)
    assert not report.passed, str(report)


@FAST
@given(seed=seeds, scale=st.sampled_from([1e-3, 1.0, 30.0]))
def test_property_smooth_curved_modules_stay_accurate_and_quiet(seed, scale):
    # Strong curvature (tanh/sigmoid near their inflection, inputs scaled) makes one-sided
    # slopes disagree; that must neither warn nor cost accuracy.
    x = data((3, 4), seed=seed % 1000) * scale
    for module in (Tanh(), Sigmoid(), Sequential(Linear(4, 3, seed=seed % 7), Tanh())):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            report = check_module(module, x, seed=seed)
        assert report.max_rel_error <= 1e-7, str(report)


def test_confident_logits_neither_fail_nor_warn():
    # The loss is near 0 but is computed from terms as large as the logits (log-sum-exp minus
    # the true logit): their rounding must not read as a kink or an error.
    for seed in range(400):
        rng = np.random.default_rng(seed)
        logits = 10.0 * rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(2, 6))))
        labels = rng.integers(0, logits.shape[1], logits.shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("error", KinkWarning)
            report = check_loss(CrossEntropyLoss(), logits, labels)
        assert report.passed, f"seed {seed}: {report}"


def test_an_error_of_one_percent_is_caught_at_confident_logits():
    class OnePercentOff(CrossEntropyLoss):
        def backward(self):
            return 1.01 * super().backward()

    rng = np.random.default_rng(0)
    logits = 10.0 * rng.standard_normal((3, 4))
    assert not check_loss(OnePercentOff(), logits, rng.integers(0, 4, 3)).passed
