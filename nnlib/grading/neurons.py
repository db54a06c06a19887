"""Checks for ``a1_neurons``: the threshold neuron, logic gates, XOR and the perceptron."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from nnlib import neurons
from nnlib.grading._compare import assert_close, matches
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
    "check_xor_two_layer",
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


def _quarters(rng: np.random.Generator, shape: tuple[int, ...], high: int = 8) -> np.ndarray:
    """Multiples of 1/4 in ``[-high/4, high/4]``, never 0: every sum and product of a few of
    them is exact in float64, so ``X @ w``, ``np.sum(w * x)``, a loop or ``einsum`` all land
    on the same side of a threshold."""
    k = rng.integers(1, high + 1, size=shape) * rng.choice([-1, 1], size=shape)
    return k / 4.0


def check_step(step: Callable, shapes: Sequence[tuple[int, ...]], *, seed: int = 0) -> None:
    """``step(z) = [z > 0]`` elementwise, including exact zeros (a neuron at its threshold
    does not fire). Every case holds positive, negative and zero entries."""
    cases = []
    for k, shape in enumerate(shapes):
        z = random_array(shape, seed + k, scale=3.0, away_from=[0.0])
        flat = z.reshape(-1)
        flat[0], flat[-1] = abs(flat[0]), -abs(flat[-1])  # both signs, whatever the seed
        flat[1:-1:2] = 0.0  # the threshold itself, a few times
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
            ("inverted: fires for z <= 0", (z <= 0).astype(float)),
            ("returned z itself, not 0/1", z),
        ],
    )


def _neuron_hints(X: np.ndarray, w: np.ndarray, b: float) -> list:
    return [
        ("forgot the bias", neurons.step(X @ w)),
        ("subtracted the bias", neurons.step(X @ w - b)),
        ("fires at the threshold: use > 0, not >= 0", (X @ w + b >= 0).astype(float)),
        ("inverted: fires when w . x + b < 0", (X @ w + b < 0).astype(float)),
        ("returned the weighted sum z, not step(z)", X @ w + b),
    ]


def _all_different(answers: list[np.ndarray]) -> bool:
    return all(not np.array_equal(a, b) for i, a in enumerate(answers) for b in answers[i + 1 :])


def _neuron_case(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Quarter-valued ``X, w, b`` on which the wrong answers of :func:`_neuron_hints` differ
    from the right one and from each other (from 3 rows on: fewer outputs cannot tell them
    all apart): one row sits exactly on the threshold, the bias changes a sign."""
    for attempt in range(200):
        rng = np.random.default_rng([seed, attempt])
        X, w = _quarters(rng, (n, d)), _quarters(rng, (d,))
        b = float(-(X[0] @ w)) if n > 1 else 0.0  # row 0 exactly on the threshold
        if n == 1 or b == 0.0:
            b = float(_quarters(rng, (1,))[0])
        want = neurons.step(X @ w + b)
        hints = _neuron_hints(X, w, b)
        answers = [want, *(np.asarray(v, dtype=np.float64) for _, v in hints)]
        if n < 3 or _all_different(answers):
            return X, w, b
    raise RuntimeError(f"grader bug: no discriminating threshold_neuron case of shape ({n}, {d})")


def check_threshold_neuron(
    threshold_neuron: Callable,
    shapes: Sequence[tuple[int, int]],
    *,
    seed: int = 0,
    step: Callable | None = None,
) -> None:
    """``threshold_neuron(X, w, b) = step(X @ w + b)`` with shape ``(N,)`` for each ``(N, D)``.

    The inputs are multiples of 1/4 (exact in any summation order); each case has a row
    exactly on the threshold and a bias that changes an output. With the student's ``step``,
    a neuron that is right but calls a wrong ``step`` passes (the bug costs ``step``'s part).
    """
    cases = [_neuron_case(n, d, seed + 3 * k) for k, (n, d) in enumerate(shapes)]
    check_function(
        threshold_neuron,
        lambda X, w, b: neurons.step(X @ w + b),
        cases,
        "threshold_neuron",
        forbid=NEURON_REFERENCES,
        arg_names=["X", "w", "b"],
        kind="real",
        batch_axis=None,
        hints=_neuron_hints,
        own_helpers=None if step is None else lambda X, w, b: step(X @ w + b),
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
    b = as_scalar(got[1], f"{what}() bias", kind="real")
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
    b = as_scalar(got[1], f"{neuron.__name__}() bias", kind="real")
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
    b2 = as_scalar(got[3], f"{what} b2", kind="real")
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


#: The kinds of example :func:`check_perceptron_update` cycles through: ``(y, sign of w.x+b)``.
_UPDATE_KINDS = [
    (1.0, -1),  # a missed positive: the weights move towards x
    (0.0, 1),  # a false alarm: the weights move away from x
    (1.0, 1),  # a right prediction: nothing changes
    (1.0, 0),  # exactly on the threshold, predicted 0 (step(0) = 0): a mistake
    (0.0, 0),  # exactly on the threshold and right: nothing changes
    (0.0, -1),  # a right prediction of 0
]


def check_perceptron_update(update: Callable, cases: int = 6, *, seed: int = 0) -> None:
    """``perceptron_update(w, b, x, y, lr) -> (new_w, new_b)`` on mistakes of both kinds, on
    right predictions (no change) and on points exactly at the threshold.

    Every value is a multiple of 1/4 (the threshold cases too), so ``x @ w``, ``np.dot``,
    ``np.sum(w * x)`` or a loop all give exactly ``-b`` there.
    """
    rng = np.random.default_rng(seed)
    for k in range(cases):
        d = 2 + k % 3
        w, x = _quarters(rng, (d,)), _quarters(rng, (d,))
        y, sign = _UPDATE_KINDS[k % len(_UPDATE_KINDS)]
        b = float(-(x @ w) + 0.75 * sign)
        lr = [1.0, 0.5, 0.25][k % 3]
        want_w, want_b = _reference_update(w, b, x, y, lr)
        what = f"perceptron_update(w, b, x, y={y:g}, lr={lr:g}) with w . x + b = {0.75 * sign:g}"
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
        new_b = as_scalar(got[1], f"{what}, new_b", kind="real")
        y_hat = float(x @ w + b > 0)
        y_ge = float(x @ w + b >= 0)
        hints = [
            ("updated with y_hat - y: the sign is flipped", w - lr * (y - y_hat) * x),
            ("forgot the learning rate", w + (y - y_hat) * x),
            (
                "predicted 1 exactly at the threshold: use w . x + b > 0, not >=",
                w + lr * (y - y_ge) * x,
            ),
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
                (
                    "predicted 1 exactly at the threshold: use w . x + b > 0, not >=",
                    b + lr * (y - y_ge),
                ),
            ],
        )


def _training(X, y, lr, max_epochs, update, every_row: bool) -> tuple | None:
    """What a correct training loop returns when it calls ``update``: ``(w, b, errors,
    converged)``, or ``None`` if ``update`` fails. ``every_row``: the loop calls ``update``
    on every row (a right prediction must then leave ``(w, b)`` as they are) rather than only
    after a mistake."""
    w, b, errors = np.zeros(X.shape[1]), 0.0, []
    try:
        for _ in range(max_epochs):
            mistakes = 0
            for x_i, y_i in zip(X, y, strict=True):
                wrong = (1.0 if x_i @ w + b > 0 else 0.0) != y_i
                mistakes += int(wrong)
                if wrong or every_row:
                    with quiet():
                        new_w, new_b = update(w.copy(), b, x_i.copy(), float(y_i), lr)
                    w, b = _array_copy(new_w), float(new_b)
            errors.append(mistakes)
            if mistakes == 0:
                return w, b, errors, True
    except Exception:
        return None
    return w, b, errors, False


def _array_copy(x: object) -> np.ndarray:
    out = np.array(x, dtype=np.float64, copy=True)
    if out.ndim != 1:
        raise ValueError("not a weight vector")
    return out


def _matches(got: tuple, want: tuple) -> bool:
    w, b, errors, converged = got
    return (
        bool(converged) == want[3]
        and errors == list(want[2])
        and matches(w, want[0])
        and matches(np.float64(b), np.float64(want[1]))
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
    update: Callable | None = None,
) -> None:
    """``train_perceptron(X, y, lr, max_epochs) -> (w, b, errors, converged)`` equals nnlib's
    ``Perceptron(shuffle=False)``: same weights, same mistakes per epoch, same verdict.

    Args:
        train: the student's ``train_perceptron``.
        X: inputs ``(N, D)``; y: labels ``(N,)`` of 0/1.
        update: the student's ``perceptron_update``. A loop that is right but calls a wrong
            ``update`` is graded as right: the bug costs the update's own part, once. The
            loop is judged against what a correct loop does with this ``update``.
    """
    with quiet():
        ref = Perceptron(lr=lr, max_epochs=max_epochs, shuffle=False).fit(X.copy(), y.copy())
    if separable is not None and separable != ref.converged_:
        raise RuntimeError(f"grader bug: {name} was expected to be separable={separable}")
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
    try:
        errors = [int(e) for e in errors]
    except (TypeError, ValueError):
        raise GradingError(f"{what}: errors must be a list of ints (mistakes per epoch)") from None
    w = as_result(w, f"{what}, w", ref.weights_.shape)
    b = as_scalar(b, f"{what}, b", kind="real")
    mine = (w, b, errors, converged)
    want = (ref.weights_, ref.bias_, list(ref.errors_), ref.converged_)
    if _matches(mine, want):
        return
    update_wrong = False
    if update is not None:
        # Judged with the student's own update: a right loop around a wrong update passes.
        for every_row in (False, True):
            theirs = _training(X.copy(), y.copy(), lr, max_epochs, update, every_row)
            if theirs is not None and _matches(mine, theirs):
                return
        update_wrong = _training(X.copy(), y.copy(), lr, max_epochs, update, False) is None or (
            not _matches(_training(X.copy(), y.copy(), lr, max_epochs, update, False), want)
        )
    note = " (perceptron_update is wrong too: fix it first, then this loop)" if update_wrong else ""
    if bool(converged) != ref.converged_:
        ran = len(errors)
        raise GradingError(
            f"{what}: convergence check failed: expected converged={ref.converged_} after "
            f"{len(ref.errors_)} epochs, got converged={bool(converged)} after {ran}{note}; "
            "likely bug: "
            + (
                (
                    "the loop must stop after the first epoch without a mistake"
                    if ran > len(ref.errors_) and errors[len(ref.errors_) - 1] == 0
                    else "the mistakes are not counted right (compare y_hat with y before "
                    "each update)"
                )
                if ref.converged_
                else "XOR is not linearly separable: no epoch is free of mistakes, so training "
                "must run max_epochs epochs and report converged=False"
            )
        )
    if errors != list(ref.errors_):
        raise GradingError(
            f"{what}: mistakes-per-epoch check failed: expected {list(ref.errors_)}, got "
            f"{errors}{note}; likely bug: visit the rows in order, update after every mistake, "
            "and count the mistakes of each epoch"
        )
    assert_close(w, ref.weights_, f"{what}, w" + note)
    assert_close(np.float64(b), np.float64(ref.bias_), f"{what}, b" + note)


def check_xor_two_layer(
    xor_two_layer: Callable,
    weights: Callable,
    *,
    step: Callable | None = None,
    threshold_neuron: Callable | None = None,
) -> None:
    """``xor_two_layer(X)`` computes XOR with the student's weights.

    Judged with the student's own ``step`` and ``threshold_neuron``: when one of them is wrong
    and ``xor_two_layer`` does what a right network does with it, this part passes (the bug
    costs its own part once). Call :func:`check_xor_two_layer_weights` first.
    """
    X, want = _truth("XOR")
    what = "xor_two_layer(X) on the truth table"
    got = call(xor_two_layer, X.copy(), what=what, forbid=NEURON_REFERENCES, names=["X"])
    got = as_result(got, what, want.shape, kind="real")
    if np.array_equal(got, want):
        return
    W1, b1, w2, b2 = (
        np.asarray(v, dtype=np.float64) for v in call(weights, what="xor_two_layer_weights()")
    )
    helpers = []
    if step is not None:
        helpers.append(lambda: step(step(X @ W1 + b1) @ w2 + b2))
    if threshold_neuron is not None and step is not None:
        helpers.append(lambda: threshold_neuron(step(X @ W1 + b1), w2, b2))
    if threshold_neuron is not None:
        helpers.append(
            lambda: threshold_neuron(
                np.column_stack([threshold_neuron(X, W1[:, j], b1[j]) for j in range(2)]), w2, b2
            )
        )
    for helper in helpers:
        try:
            with quiet():
                theirs = np.asarray(helper(), dtype=np.float64)
        except Exception:
            continue
        if theirs.shape == got.shape and np.array_equal(theirs, got):
            return  # right network, wrong step or threshold_neuron: that part pays
    row = int(np.argmax(got != want))
    raise GradingError(
        f"xor_two_layer: truth-table check failed for input {tuple(int(v) for v in X[row])}: "
        f"expected {int(want[row])}, got {got[row]:g}; likely bug: the hidden layer is "
        "step(X @ W1 + b1) and the output step(hidden @ w2 + b2), with your weights"
    )
