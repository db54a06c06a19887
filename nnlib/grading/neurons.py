"""Checks for ``a1_neurons``: the threshold neuron, logic gates, XOR and the perceptron."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from nnlib import neurons
from nnlib.grading._compare import assert_close
from nnlib.grading._safe import GradingError, as_result, as_scalar, quiet
from nnlib.grading.checks import call, check_function, random_array
from nnlib.grading.policy import policy_for
from nnlib.perceptron import Perceptron

__all__ = [
    "NEURON_REFERENCES",
    "check_gate",
    "check_perceptron_update",
    "check_step",
    "check_threshold_neuron",
    "check_train_perceptron",
    "check_truth_table",
    "check_xor_feature",
    "check_xor_feature_neuron",
    "check_xor_two_layer_weights",
    "truth_inputs",
]

#: Off limits in a1: nnlib's neurons, gates, XOR networks and perceptron.
NEURON_REFERENCES = list(policy_for("a1_neurons").forbidden)

GATES: dict[str, tuple[int, Callable[..., int]]] = {
    "AND": (2, lambda a, b: a and b),
    "OR": (2, lambda a, b: a or b),
    "NAND": (2, lambda a, b: not (a and b)),
    "XOR": (2, lambda a, b: a != b),
    "NOT": (1, lambda a: not a),
}


def truth_inputs(n_inputs: int) -> np.ndarray:
    """All 0/1 input rows in counting order, float64 of shape ``(2**n_inputs, n_inputs)``."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n_inputs)))


def _truth(gate: str) -> tuple[np.ndarray, np.ndarray]:
    n, fn = GATES[gate]
    X = truth_inputs(n)
    return X, np.array([float(bool(fn(*row))) for row in X.astype(int)])


def check_step(step: Callable, shapes: Sequence[tuple[int, ...]], *, seed: int = 0) -> None:
    """``step(z) = [z > 0]`` elementwise, including exact zeros (a neuron at its threshold
    does not fire)."""
    cases = []
    for k, shape in enumerate(shapes):
        z = random_array(shape, seed + k, scale=3.0)
        z.flat[:: max(1, z.size // 3)] = 0.0  # the threshold itself
        cases.append((z,))
    check_function(
        step,
        neurons.step,
        cases,
        "step",
        forbid=NEURON_REFERENCES,
        arg_names=["z"],
        kind="real",
        batch_axis=None,
        hints=lambda z: [
            ("fires at 0: use z > 0, not z >= 0", (z >= 0).astype(float)),
            ("inverted: fires for negative input", (z < 0).astype(float)),
            ("returned z itself, not 0/1", z),
        ],
    )


def check_threshold_neuron(
    threshold_neuron: Callable, shapes: Sequence[tuple[int, int]], *, seed: int = 0
) -> None:
    """``threshold_neuron(X, w, b) = step(X @ w + b)`` with shape ``(N,)`` for each ``(N, D)``."""
    cases = []
    for k, (n, d) in enumerate(shapes):
        X = random_array((n, d), seed + 3 * k)
        w = random_array((d,), seed + 3 * k + 1)
        b = float(random_array((1,), seed + 3 * k + 2)[0])
        cases.append((X, w, b))
    # Inputs of zero, where the bias alone decides: random cases can all agree with step(X @ w),
    # so a forgotten (or subtracted) bias could pass the visible check.
    d = shapes[0][1] if shapes else 2
    cases.append((np.zeros((2, d)), random_array((d,), seed + 97), 0.5))
    check_function(
        threshold_neuron,
        lambda X, w, b: neurons.step(X @ w + b),
        cases,
        "threshold_neuron",
        forbid=NEURON_REFERENCES,
        arg_names=["X", "w", "b"],
        kind="real",
        batch_axis=None,
        hints=lambda X, w, b: [
            ("forgot the bias", neurons.step(X @ w)),
            ("subtracted the bias", neurons.step(X @ w - b)),
            ("fires at the threshold: use > 0", (X @ w + b >= 0).astype(float)),
            ("returned the weighted sum z, not step(z)", X @ w + b),
        ],
    )


def _pair(fn: Callable, what: str) -> tuple:
    got = call(fn, what=f"{what}()", forbid=NEURON_REFERENCES)
    if not isinstance(got, tuple | list):
        raise GradingError(f"{what}(): type check failed: expected a tuple, got {got!r}")
    return tuple(got)


def check_gate(neuron: Callable, gate: str) -> None:
    """``neuron()`` returns ``(weights, bias)`` such that ``[x @ weights + bias > 0]`` computes
    ``gate`` on every 0/1 input."""
    X, want = _truth(gate)
    what = neuron.__name__
    got = _pair(neuron, what)
    if len(got) != 2:
        raise GradingError(f"{what}(): expected (weights, bias), got {len(got)} values")
    w = as_result(got[0], f"{what}() weights", (X.shape[1],), kind="real")
    b = as_scalar(got[1], f"{what}() bias")
    z = X @ w + b
    for row, zi, yi in zip(X, z, want, strict=True):
        if float(zi > 0) != yi:
            raise GradingError(
                f"{gate} gate: truth-table check failed for input {tuple(int(v) for v in row)}: "
                f"expected {int(yi)}, got {int(zi > 0)} (w . x + b = {zi:g}); likely bug: "
                + (
                    "the neuron sits exactly on its threshold there; step(0) is 0, move the bias"
                    if zi == 0
                    else "the bias (minus the threshold) or a weight's sign is off"
                )
            )


def check_truth_table(fn: Callable, gate: str, name: str, forbid: Sequence = ()) -> None:
    """``fn(X)`` on all rows of the truth table returns the gate's ``(2**n,)`` outputs."""
    X, want = _truth(gate)
    got = call(fn, X.copy(), what=f"{name}(X)", forbid=[*NEURON_REFERENCES, *forbid], names=["X"])
    got = as_result(got, f"{name}(X) on the truth table", want.shape, kind="real")
    for row, gi, yi in zip(X, got, want, strict=True):
        if gi != yi:
            raise GradingError(
                f"{name}: truth-table check failed for input {tuple(int(v) for v in row)}: "
                f"expected {int(yi)}, got {gi:g}"
            )


def check_xor_feature(add_product_feature: Callable, shapes: Sequence[int], seed: int = 0) -> None:
    """``add_product_feature(X)`` appends the column ``x1 * x2``: ``(N, 2) -> (N, 3)``."""
    cases = [(random_array((n, 2), seed + k),) for k, n in enumerate(shapes)]
    check_function(
        add_product_feature,
        lambda X: np.column_stack([X, X[:, 0] * X[:, 1]]),
        cases,
        "add_product_feature",
        forbid=NEURON_REFERENCES,
        arg_names=["X"],
        batch_axis=None,
        hints=lambda X: [
            (
                "the product column comes first; append it last",
                np.column_stack([X[:, 0] * X[:, 1], X]),
            ),
            ("used x1 + x2 instead of x1 * x2", np.column_stack([X, X[:, 0] + X[:, 1]])),
        ],
    )


def check_xor_feature_neuron(neuron: Callable) -> None:
    """``neuron()`` returns ``(weights (3,), bias)`` of one neuron on ``(x1, x2, x1 x2)`` that
    computes XOR."""
    got = _pair(neuron, neuron.__name__)
    if len(got) != 2:
        raise GradingError(f"{neuron.__name__}(): expected (weights, bias), got {len(got)} values")
    w = as_result(got[0], f"{neuron.__name__}() weights", (3,), kind="real")
    b = as_scalar(got[1], f"{neuron.__name__}() bias")
    X, want = _truth("XOR")
    z = np.column_stack([X, X[:, 0] * X[:, 1]]) @ w + b
    for row, zi, yi in zip(X, z, want, strict=True):
        if float(zi > 0) != yi:
            raise GradingError(
                f"XOR with the product feature: truth-table check failed for input "
                f"{tuple(int(v) for v in row)}: expected {int(yi)}, got {int(zi > 0)} "
                f"(w . (x1, x2, x1 x2) + b = {zi:g}); likely bug: the weight of x1 x2 must "
                "cancel the double count at (1, 1)"
            )


def check_xor_two_layer_weights(weights: Callable) -> None:
    """``weights()`` returns ``(W1 (2, 2), b1 (2,), w2 (2,), b2)`` such that
    ``step(step(X W1 + b1) w2 + b2)`` computes XOR."""
    what = f"{weights.__name__}()"
    got = _pair(weights, weights.__name__)
    if len(got) != 4:
        raise GradingError(f"{what}: expected (W1, b1, w2, b2), got {len(got)} values")
    W1 = as_result(got[0], f"{what} W1", (2, 2), kind="real")
    b1 = as_result(got[1], f"{what} b1", (2,), kind="real")
    w2 = as_result(got[2], f"{what} w2", (2,), kind="real")
    b2 = as_scalar(got[3], f"{what} b2")
    X, want = _truth("XOR")
    H = (X @ W1 + b1 > 0).astype(float)
    out = (H @ w2 + b2 > 0).astype(float)
    for row, h, gi, yi in zip(X, H, out, want, strict=True):
        if gi != yi:
            point, hidden = tuple(int(v) for v in row), tuple(int(v) for v in h)
            raise GradingError(
                f"two-layer XOR: truth-table check failed for input {point}: expected "
                f"{int(yi)}, got {int(gi)} (hidden layer output {hidden}); likely bug: the "
                "columns of W1 are the hidden neurons (X @ W1); check that they compute OR and "
                "AND and that the output neuron fires for OR-but-not-AND"
            )


def _reference_update(w, b, x, y, lr):
    y_hat = 1.0 if x @ w + b > 0 else 0.0
    return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)


def check_perceptron_update(update: Callable, cases: int = 6, *, seed: int = 0) -> None:
    """``perceptron_update(w, b, x, y, lr) -> (new_w, new_b)`` on mistakes of both kinds, on a
    correct prediction (no change) and on a point exactly at the threshold."""
    rng = np.random.default_rng(seed)
    for k in range(cases):
        d = 2 + k % 3
        w, x = rng.standard_normal(d), rng.standard_normal(d)
        b = float(rng.standard_normal())
        if k % 4 == 3:
            b = float(-(x @ w))  # exactly on the threshold: predicts 0
        y = float(k % 2)
        lr = [1.0, 0.5, 0.1][k % 3]
        want_w, want_b = _reference_update(w, b, x, y, lr)
        what = f"perceptron_update(w, b, x, y={y:g}, lr={lr:g}), w of shape ({d},)"
        got = call(
            update,
            w.copy(),
            b,
            x.copy(),
            y,
            lr,
            what=what,
            forbid=NEURON_REFERENCES,
            names=["w", "b", "x", "y", "lr"],
        )
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise GradingError(f"{what}: type check failed: expected a pair (new_w, new_b)")
        new_w = as_result(got[0], f"{what}, new_w", (d,))
        new_b = as_scalar(got[1], f"{what}, new_b")
        y_hat = float(x @ w + b > 0)
        hints = [
            ("updated with y_hat - y: the sign is flipped", w - lr * (y - y_hat) * x),
            ("forgot the learning rate", w + (y - y_hat) * x),
            ("updated even though the prediction was right", w + lr * (2 * y - 1) * x),
        ]
        assert_close(new_w, want_w, f"{what}, new_w", hints=hints)
        assert_close(
            np.float64(new_b),
            np.float64(want_b),
            f"{what}, new_b",
            hints=[
                ("the bias update has the wrong sign", b - lr * (y - y_hat)),
                ("forgot to update the bias", b),
            ],
        )


def check_train_perceptron(
    train: Callable,
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float = 1.0,
    max_epochs: int = 100,
    name: str = "data",
    separable: bool | None = None,
) -> None:
    """``train_perceptron(X, y, lr, max_epochs) -> (w, b, errors, converged)`` equals nnlib's
    ``Perceptron(shuffle=False)``: same weights, same mistakes per epoch, same verdict."""
    with quiet():
        ref = Perceptron(lr=lr, max_epochs=max_epochs, shuffle=False).fit(X.copy(), y.copy())
    what = f"train_perceptron on {name} (lr={lr:g}, max_epochs={max_epochs})"
    got = call(
        train,
        X.copy(),
        y.copy(),
        lr,
        max_epochs,
        what=what,
        forbid=NEURON_REFERENCES,
        names=["X", "y", "lr", "max_epochs"],
    )
    if not isinstance(got, tuple | list) or len(got) != 4:
        raise GradingError(f"{what}: type check failed: expected (w, b, errors, converged)")
    w, b, errors, converged = got
    if not isinstance(converged, bool | np.bool_):
        raise GradingError(f"{what}: converged must be True or False, got {converged!r}")
    if bool(converged) != ref.converged_:
        raise GradingError(
            f"{what}: convergence check failed: expected converged={ref.converged_}, got "
            f"{bool(converged)}; likely bug: "
            + (
                "the loop must stop after the first epoch without a mistake"
                if ref.converged_
                else "XOR is not linearly separable: no epoch is free of mistakes, so training "
                "must run max_epochs epochs and report converged=False"
            )
        )
    try:
        errors = [int(e) for e in errors]
    except (TypeError, ValueError):
        raise GradingError(f"{what}: errors must be a list of ints (mistakes per epoch)") from None
    if errors != list(ref.errors_):
        raise GradingError(
            f"{what}: mistakes-per-epoch check failed: expected {list(ref.errors_)}, got "
            f"{errors}; likely bug: visit the rows in order, update after every mistake, and "
            "count the mistakes of each epoch"
        )
    assert_close(as_result(w, f"{what}, w", ref.weights_.shape), ref.weights_, f"{what}, w")
    assert_close(np.float64(as_scalar(b, f"{what}, b")), np.float64(ref.bias_), f"{what}, b")
    if separable is not None and separable != ref.converged_:
        raise RuntimeError(f"grader bug: {name} was expected to be separable={separable}")
