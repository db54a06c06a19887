"""Unit tests of nnlib.grading: the checks must fail wrong answers with a diagnosing message,
pass right ones (written any way, even when they print numpy warnings), and not be fooled."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest

from nnlib import functional, grading, losses, modules
from nnlib.grading import GradingError
from nnlib.modules import Module, Parameter


# --- student-style layers ---------------------------------------------------------------------
class Linear(Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.weight = Parameter(np.zeros((d, h)), "weight")
        self.bias = Parameter(np.zeros(h), "bias")

    def forward(self, X):
        self._cache = X
        return X @ self.weight.value + self.bias.value

    def backward(self, G):
        self.weight.grad += self._cache.T @ G
        self.bias.grad += G.sum(axis=0)
        return G @ self.weight.value.T


class NoBias(Linear):
    def forward(self, X):
        self._cache = X
        return X @ self.weight.value


class Overwrites(Linear):
    def backward(self, G):
        self.weight.grad = self._cache.T @ G
        self.bias.grad += G.sum(axis=0)
        return G @ self.weight.value.T


class MeanBias(Linear):
    def backward(self, G):
        self.weight.grad += self._cache.T @ G
        self.bias.grad += G.mean(axis=0)
        return G @ self.weight.value.T


class Float32(Linear):
    def forward(self, X):
        self._cache = X
        out = X.astype(np.float32) @ self.weight.value.astype(np.float32)
        return out.astype(np.float64) + self.bias.value


class Cheat(Linear):
    def forward(self, X):
        ref = modules.Linear(*self.weight.value.shape)
        ref.weight.value, ref.bias.value = self.weight.value, self.bias.value
        return ref.forward(X)


class MutatesInput(Linear):
    def forward(self, X):
        self._cache = X
        X *= 1.0  # in place, harmless here, but the check must still notice it was written to
        X[0, 0] += 1.0
        return X @ self.weight.value + self.bias.value


def check_linear(cls) -> None:
    X = grading.random_array((5, 4), 1)
    W = grading.random_array((4, 3), 2)
    b = grading.random_array((3,), 3)
    grading.check_layer(
        lambda: cls(4, 3),
        lambda: modules.Linear(4, 3),
        X,
        "Linear(4, 3)",
        seed=4,
        params={"weight": W, "bias": b},
        forbid=["nnlib.modules.Linear"],
        forward_hints=lambda X: [("forgot the bias", X @ W)],
    )


def test_a_correct_layer_passes():
    check_linear(Linear)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (NoBias, r"forward.*value check failed at element \(0, 0\).*likely bug: forgot the bias"),
        (Overwrites, r"weight\.grad.*overwrote \.grad instead of adding to it"),
        (MeanBias, r"bias\.grad.*extra 1/N"),
        (Float32, r"likely bug: float32 precision"),
        (Cheat, r"calls nnlib\.modules\.Linear\..*reference implementation"),
        (MutatesInput, r"mutation check failed: it modified its input X in place"),
    ],
)
def test_a_wrong_layer_fails_with_a_diagnosis(cls, message):
    with pytest.raises(GradingError, match=message):
        check_linear(cls)


def test_the_reference_works_again_after_a_check_that_forbade_it():
    with pytest.raises(GradingError):
        check_linear(Cheat)
    layer = modules.Linear(2, 2, seed=0)
    assert layer.forward(np.ones((1, 2))).shape == (1, 2)
    assert any("Linear" in name for _, name in grading.REFERENCE_USES)


def test_a_copy_of_the_reference_function_is_caught_too():
    clone = types.FunctionType(functional.sigmoid.__code__, functional.sigmoid.__globals__)
    with pytest.raises(grading.ReferenceUsedError, match=r"nnlib\.functional\.sigmoid"):
        grading.call(clone, np.zeros(3), what="sigmoid", forbid=["nnlib.functional.sigmoid"])


def test_a_caught_poisoned_call_still_counts_as_using_the_reference():
    def sneaky(z):
        try:
            return functional.sigmoid(z)
        except RuntimeError:
            return 1 / (1 + np.exp(-z))

    with pytest.raises(grading.ReferenceUsedError):
        grading.call(sneaky, np.zeros(3), what="sigmoid", forbid=["nnlib.functional.sigmoid"])


# --- type, shape, dtype, finiteness before tolerance -----------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1.0, 2.0, 3.0], r"type check failed: expected a numpy array.*got a list"),
        (np.ones((3, 1)), r"shape check failed: expected shape \(3,\), got \(3, 1\).*extra axis"),
        (np.ones(4), r"shape check failed.*wrong length"),
        (np.float64(1.0), r"type check failed"),
        (np.ones(3, dtype=np.float32), r"dtype check failed: expected float64, got float32"),
        (np.ones(3, dtype=int), r"dtype check failed: expected float64, got int64"),
        (np.array([1.0, np.nan, 2.0]), r"finiteness check failed: element \(1,\) is nan"),
        (np.ma.masked_array(np.ones(3)), r"an ndarray subclass"),
        (np.ones(3).view(type("Sub", (np.ndarray,), {})), r"an ndarray subclass"),
        (None, r"did you forget `return`"),
    ],
)
def test_as_result_checks_before_any_tolerance(value, message):
    with pytest.raises(GradingError, match=message):
        grading.as_result(value, "f(x)", (3,))


def test_as_result_returns_a_private_float64_copy():
    x = np.arange(3.0)
    got = grading.as_result(x, "f(x)", (3,))
    x[0] = 99.0
    assert got[0] == 0.0 and type(got) is np.ndarray and got.dtype == np.float64


def test_as_result_hints_at_instability_on_extreme_inputs():
    with pytest.raises(GradingError, match="not numerically stable"):
        grading.as_result(np.array([np.inf]), "loss", (1,), unstable_hint=True)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a number"),
        (np.ones(2), "a missing sum or mean"),
        (np.float32(1.0), "float32"),
        (float("nan"), "finiteness check failed"),
        ("1.0", "expected a number"),
    ],
)
def test_as_scalar_rejects(value, message):
    with pytest.raises(GradingError, match=message):
        grading.as_scalar(value, "loss")


def test_as_scalar_accepts_python_and_numpy_numbers():
    assert grading.as_scalar(np.float64(2.5), "x") == 2.5
    assert grading.as_scalar(np.array(2.5), "x") == 2.5
    assert grading.as_scalar(3, "x") == 3.0


# --- likely bugs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("transform", "bug"),
    [
        (lambda w: -w, "sign flipped"),
        (lambda w: w.T, "transposed"),
        (lambda w: w * 4, "missing 1/N"),
        (lambda w: w / 4, "extra 1/N"),
        (lambda w: (w.astype(np.float32) + np.float32(1e-6)).astype(np.float64), "float32"),
    ],
)
def test_assert_close_names_the_likely_bug(transform, bug):
    want = grading.random_array((4, 4), 0)
    with pytest.raises(GradingError, match=bug):
        grading.assert_close(transform(want), want, "dW", batch=4)


def test_assert_close_names_the_element_expected_and_got():
    want = np.array([1.0, 2.0, 3.0])
    got = np.array([1.0, 2.5, 3.0])
    with pytest.raises(GradingError, match=r"element \(1,\): expected 2, got 2.5 \(1 of 3"):
        grading.assert_close(got, want, "f(x)")


def test_assert_close_accepts_rounding_differences_of_other_correct_code():
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(7, 5)), rng.normal(size=(5, 3))
    loops = np.array(
        [[sum(X[i, k] * W[k, j] for k in range(5)) for j in range(3)] for i in range(7)]
    )
    grading.assert_close(loops, X @ W, "X @ W")


# --- quiet: numpy warnings never reach stderr -------------------------------------------------
def test_checks_silence_numpy_warnings_of_correct_code(capfd):
    def naive_sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))  # overflows for z = -1000, still the right answer

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning that escaped would raise here
        grading.check_function(
            naive_sigmoid, functional.sigmoid, [(np.array([-1000.0, 0.0, 1000.0]),)], "sigmoid"
        )
    assert capfd.readouterr().err == ""


def test_naive_cross_entropy_is_not_numerically_stable():
    class Naive:
        def forward(self, Z, y):
            p = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
            self.cache = (p, y)
            return float(-np.mean(np.log(p[np.arange(len(y)), y])))

        def backward(self):
            p, y = self.cache
            g = p.copy()
            g[np.arange(len(y)), y] -= 1
            return g / len(y)

    with pytest.raises(GradingError, match="not numerically stable"):
        grading.layers.check_softmax_cross_entropy(Naive, [(4, 3)], seed=7, extreme=True)


def test_a_backward_that_edits_its_cache_fails_the_second_call():
    class EditsCache:
        def forward(self, Z, y):
            shifted = Z - Z.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            self.p, self.y = np.exp(logp), y
            return float(-logp[np.arange(len(y)), y].mean())

        def backward(self):
            self.p[np.arange(len(self.y)), self.y] -= 1
            return self.p / len(self.y)

    with pytest.raises(GradingError, match="called a second time"):
        grading.layers.check_softmax_cross_entropy(EditsCache, [(4, 3)], seed=1)


# --- the verdict does not depend on what a student patches afterwards -------------------------
def test_patching_numpy_after_import_does_not_change_verdicts(monkeypatch):
    monkeypatch.setattr(np, "isfinite", lambda x: np.ones_like(x, dtype=bool))
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    with pytest.raises(GradingError, match="finiteness"):
        grading.as_result(np.array([np.nan]), "f(x)", (1,))
    with pytest.raises(GradingError, match="value check failed"):
        grading.assert_close(np.ones(2), np.zeros(2) + 2, "f(x)")


def test_stubs_say_what_to_do():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="not attempted: replace `raise NotImplementedError"):
        grading.call(stub, np.ones(2), what="f(x)")


def test_a_passing_check_returns_none():
    """nbgrader reads a number returned by a test cell's last line as partial credit."""
    result = grading.check_function(np.tanh, np.tanh, [(np.ones(3),)], "tanh")
    assert result is None


def test_a_loss_that_wraps_nnlibs_scores_zero():
    class CE:
        def forward(self, Z, y):
            self.loss = losses.CrossEntropyLoss()
            return self.loss.forward(Z, y)

        def backward(self):
            return self.loss.backward()

    with pytest.raises(grading.ReferenceUsedError, match=r"nnlib\.losses"):
        grading.layers.check_softmax_cross_entropy(CE, [(5, 4)], seed=3)


# --- the diagnosis block (issue 16) --------------------------------------------------------------
def _failure(fn, *args, **kwargs) -> GradingError:
    with pytest.raises(GradingError) as info:
        fn(*args, **kwargs)
    return info.value


def test_a_failing_check_renders_one_compact_block():
    """What IPython shows instead of a traceback: the check, the input, expected vs got, the
    likely bug; no frame of nnlib's internals, no table of hints; every line fits Validate."""

    def threshold_neuron(X, w, b):
        return (X @ w > 0).astype(float)  # forgot the bias

    error = _failure(grading.neurons.check_threshold_neuron, threshold_neuron, [(4, 3)])
    block = error._render_traceback_()
    text = "\n".join(block)
    assert len(block) <= 8
    assert all(len(line) <= 90 - 4 for line in error.block())
    assert "threshold_neuron" in block[0] and "GradingError" in block[0]
    assert "expected" in text and "got" in text and "likely bug: forgot the bias" in text
    assert "Traceback" not in text and "nnlib/grading" not in text and ".py" not in text
    assert "subtracted the bias" not in text  # the other hints stay private
    # The first line of the message is self-contained: the grader's CSV reason takes it.
    first = str(error).splitlines()[0]
    assert "threshold_neuron" in first and "likely bug: forgot the bias" in first


def test_the_block_shows_the_students_own_line_when_their_code_raises(tmp_path):
    source = tmp_path / "student_cell.py"
    source.write_text("def f(x):\n    return x @ np.ones((3, 2))\n")
    namespace = {"np": np}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    error = _failure(grading.call, namespace["f"], np.ones((4, 2)), what="f(x)")
    text = "\n".join(error._render_traceback_())
    assert "your line: return x @ np.ones((3, 2))" in text
    assert "likely bug: a matrix product of mismatched shapes" in text


def test_a_stub_is_not_attempted():
    def step(z):
        raise NotImplementedError()

    error = _failure(grading.neurons.check_step, step, [(5,)])
    assert str(error).startswith("step: not attempted")


@pytest.mark.parametrize("bias", [np.float32(-1.5), np.float16(-1.5), -1.5, np.int64(-1), -1])
def test_a_number_of_any_real_dtype_is_a_number(bias):
    def and_neuron():
        return np.array([1.0, 1.0], dtype=np.float32), bias

    grading.neurons.check_gate(and_neuron, "AND")


def test_a_threshold_case_is_exact_in_any_summation_order():
    """w . x + b is exactly 0 on the threshold cases however the student sums."""

    def loop_update(w, b, x, y, lr):
        z = b
        for wi, xi in zip(w[::-1], x[::-1], strict=True):  # another order than x @ w
            z = z + wi * xi
        y_hat = 1.0 if z > 0 else 0.0
        return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)

    grading.neurons.check_perceptron_update(loop_update, cases=24, seed=3)


# --- reference use costs every part that runs it, and names its root (issues 15, 16) ------------
def _cell(source: str) -> dict:
    """Run ``source`` as a notebook cell would (top-level names, a file of its own)."""
    namespace = {"np": np}
    exec(compile(source, "<notebook cell>", "exec"), namespace)
    return namespace


def test_reference_use_costs_every_part_that_runs_it_and_names_the_root():
    # The grader's sandbox has no reference to run (its stubs raise), so a part whose check
    # runs the call cannot pass there; the visible checks give the same verdict, and the
    # message points at the student's function that makes the call.
    cell = _cell(
        "def step(z):\n"
        "    from nnlib import neurons\n"
        "    return neurons.step(z)\n"
        "def threshold_neuron(X, w, b):\n"
        "    return step(X @ w + b)\n"
    )
    step, threshold_neuron = cell["step"], cell["threshold_neuron"]

    with pytest.raises(grading.ReferenceUsedError, match=r"nnlib\.neurons\.step") as own:
        grading.neurons.check_step(step, [(5,)])
    assert "fix step first" not in str(own.value)  # step's own part: no detour
    with pytest.raises(grading.ReferenceUsedError) as later:
        grading.neurons.check_threshold_neuron(threshold_neuron, [(4, 3)], seed=2)
    message = " ".join(str(later.value).split())
    assert "your step calls nnlib.neurons.step" in message, message
    assert "fix step first" in message, message


def test_reference_use_through_a_helper_still_costs_the_part():
    cell = _cell(
        "def weighted(X, w, b):  # a helper, not an exercise of the assignment\n"
        "    from nnlib import neurons\n"
        "    return neurons.ThresholdNeuron(w, b)(X)\n"
        "def threshold_neuron(X, w, b):\n"
        "    return weighted(X, w, b)\n"
    )
    threshold_neuron = cell["threshold_neuron"]

    with pytest.raises(grading.ReferenceUsedError):
        grading.neurons.check_threshold_neuron(threshold_neuron, [(4, 3)], seed=2)


def test_reference_use_caught_by_a_check_still_fails_it():
    # check_stack finds out whether the student's Linear passes its own part, and puts nnlib's
    # in its place when not; a Linear that runs nnlib's reference fails that probe, and the
    # probe's error is caught. The check must fail anyway, as the class grader's judge does
    # (it sees every error its sandbox's stubs raise, whatever the check does with it).
    cell = _cell(
        "from nnlib import modules\n"
        "class Linear(modules.Module):\n"
        "    def __init__(self, n_in, n_out):\n"
        "        self.ref = modules.Linear(n_in, n_out)\n"
        "        self.weight, self.bias = self.ref.weight, self.ref.bias\n"
        "    def forward(self, X):\n"
        "        return self.ref.forward(X)\n"
        "    def backward(self, grad_out):\n"
        "        return self.ref.backward(grad_out)\n"
        "    def parameters(self):\n"
        "        return [self.weight, self.bias]\n"
        "class Activation(modules.Module):  # the student's own, right, activations\n"
        "    def forward(self, X):\n"
        "        self.y = self.f(X)\n"
        "        return self.y\n"
        "    def backward(self, grad_out):\n"
        "        return grad_out * self.df(self.y)\n"
        "class ReLU(Activation):\n"
        "    f = staticmethod(lambda X: np.maximum(X, 0.0))\n"
        "    df = staticmethod(lambda y: (y > 0).astype(float))\n"
        "class Tanh(Activation):\n"
        "    f = staticmethod(np.tanh)\n"
        "    df = staticmethod(lambda y: 1.0 - y**2)\n"
        "class Sigmoid(Activation):\n"
        "    f = staticmethod(lambda X: 1.0 / (1.0 + np.exp(-X)))\n"
        "    df = staticmethod(lambda y: y * (1.0 - y))\n"
    )
    layers = {k: cell[k] for k in ("Linear", "ReLU", "Tanh", "Sigmoid")}
    for kind in ("ReLU", "Tanh", "Sigmoid"):  # the activations pass their own parts
        grading.layers.check_activation(layers[kind], kind, [(4, 3)], seed=2)
    with pytest.raises(grading.ReferenceUsedError, match=r"nnlib\.modules\.Linear"):
        grading.layers.check_stack(layers, (5, 4, 3, 2), n=6, seed=10)


def test_a_trained_model_whose_code_runs_the_reference_fails_its_check():
    # The training cell runs outside any check: locally nnlib's layers train the model fine,
    # in the grader's sandbox the same cell fails (its nnlib has none). The check of the
    # trained model runs the model's own code once under the guard, so both give 0.
    from nnlib import optim, train

    X_train, X_test, y_train, y_test = grading.mlp.digits(seed=0)
    model = modules.MLP([64, 32, 10], seed=0)
    train.fit(model, losses.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
              X_train, y_train, epochs=20, batch_size=32, seed=0, progress=False)  # fmt: skip
    # Its parameters alone are good enough: only the guard can fail it.
    assert grading.mlp.model_accuracy(model, [64, 32, 10], X_test, y_test) >= 0.9
    with pytest.raises(grading.ReferenceUsedError, match=r"nnlib\.modules\."):
        grading.mlp.check_trained_model(model, [64, 32, 10], X_test, y_test, 0.9)
