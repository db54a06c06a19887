"""Checks for ``a2_regression``: losses and their gradients, the normal equation, gradient
descent, the stable sigmoid and log-loss, and logistic regression."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nnlib import functional as F
from nnlib import regression
from nnlib.grading import _reference
from nnlib.grading._compare import assert_close, matches
from nnlib.grading._safe import GradingError, as_result, as_scalar, quiet
from nnlib.grading.checks import call, check_function, check_gradient, random_array
from nnlib.grading.policy import policy_for

__all__ = [
    "REGRESSION_REFERENCES",
    "check_gradient_descent",
    "check_log_loss",
    "check_log_loss_grad",
    "check_loss",
    "check_loss_grad",
    "check_normal_equation",
    "check_sigmoid",
    "check_train_logistic_regression",
]

#: Off limits in a2: nnlib's regression module, its losses and its sigmoid family.
REGRESSION_REFERENCES = list(policy_for("a2_regression").forbidden)

_LOSSES = {
    "mse": (regression.mse, regression.mse_grad),
    "mae": (regression.mae, regression.mae_grad),
}


def _pairs(shapes: Sequence[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    cases = []
    for k, n in enumerate(shapes):
        y = random_array((n,), seed + 2 * k, scale=2.0)
        y_hat = y + random_array((n,), seed + 2 * k + 1, away_from=[0.0])  # residuals != 0
        cases.append((y_hat, y))
    return cases


def check_loss(fn: Callable, name: str, shapes: Sequence[int], *, seed: int = 0) -> None:
    """``mse(y_hat, y)`` or ``mae(y_hat, y)``: one float, the mean over the ``N`` samples."""
    reference = _LOSSES[name][0]
    check_function(
        fn,
        reference,
        _pairs(shapes, seed),
        name,
        forbid=REGRESSION_REFERENCES,
        arg_names=["y_hat", "y"],
        hints=lambda y_hat, y: [
            ("squared the mean instead of averaging the squares", np.mean(y_hat - y) ** 2),
            ("took the square root (that is the RMSE)", np.sqrt(np.mean((y_hat - y) ** 2))),
            ("forgot the absolute value", np.mean(y_hat - y)),
        ],
    )


def check_loss_grad(fn: Callable, name: str, shapes: Sequence[int], *, seed: int = 0) -> None:
    """``mse_grad`` / ``mae_grad``: the gradient w.r.t. ``y_hat``, shape ``(N,)``, against
    nnlib's and central differences (residuals kept away from the kink of ``|r|``)."""
    loss, grad = _LOSSES[name[: -len("_grad")]]
    check_gradient(
        fn,
        loss,
        _pairs(shapes, seed),
        name,
        reference_grad=grad,
        forbid=REGRESSION_REFERENCES,
        arg_names=["y_hat", "y"],
        hints=lambda y_hat, y: [
            ("forgot the factor 2 of d/dr r^2 = 2r", (y_hat - y) / len(y)),
            ("returned the sign of the residual without 1/N", np.sign(y_hat - y)),
        ],
    )


def check_normal_equation(fn: Callable, shapes: Sequence[tuple[int, int]], *, seed: int = 0):
    """``normal_equation(X, y)``: the least-squares weights ``(D,)`` for ``(N, D)`` data."""
    cases = []
    for k, (n, d) in enumerate(shapes):
        X = random_array((n, d), seed + 3 * k)
        X[:, 0] = 1.0  # an intercept column, as in the assignment
        w = random_array((d,), seed + 3 * k + 1, scale=2.0)
        y = X @ w + 0.1 * random_array((n,), seed + 3 * k + 2)
        cases.append((X, y))
    check_function(
        fn,
        regression.normal_equation,
        cases,
        "normal_equation",
        forbid=REGRESSION_REFERENCES,
        arg_names=["X", "y"],
        batch_axis=None,
        rtol=1e-7,  # solve, inv and lstsq round differently on these well-conditioned problems
        hints=lambda X, y: (
            [
                (
                    "solved X w = y for the first D rows only",
                    np.linalg.solve(X[: X.shape[1]], y[: X.shape[1]]),
                )
            ]
            if X.shape[0] > X.shape[1]
            else []
        ),
    )


def _own_gd(mse_grad: Callable) -> Callable:
    """Gradient descent as a right solution writes it, calling the student's ``mse_grad``."""

    def run(X: np.ndarray, y: np.ndarray, lr: float, num_epochs: int) -> np.ndarray:
        w = np.zeros(X.shape[1])
        for _ in range(num_epochs):
            w = w - lr * (X.T @ np.asarray(mse_grad(X @ w, y.copy()), dtype=np.float64))
        return w

    return run


def check_gradient_descent(
    fn: Callable,
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    num_epochs: int,
    *,
    name: str = "data",
    mse_grad: Callable | None = None,
) -> None:
    """``gradient_descent(X, y, lr, num_epochs)``: full-batch descent on the MSE from ``w = 0``,
    step for step the reference's weights.

    With the student's ``mse_grad``, a descent that is right but calls a wrong ``mse_grad``
    passes: that bug costs ``mse_grad``'s part only.
    """
    check_function(
        fn,
        lambda X, y, lr, e: _reference.linear_gd(X, y, lr, e),
        [(X, y, lr, num_epochs)],
        f"gradient_descent on {name} (lr={lr:g}, num_epochs={num_epochs})",
        forbid=REGRESSION_REFERENCES,
        arg_names=["X", "y", "lr", "num_epochs"],
        batch_axis=None,
        rtol=1e-7,
        hints=lambda X, y, lr, e: [
            ("forgot the factor 2 of the MSE gradient", _reference.linear_gd(X, y, lr / 2, e)),
            ("ran one epoch too few", _reference.linear_gd(X, y, lr, e - 1)),
            ("ran one epoch too many", _reference.linear_gd(X, y, lr, e + 1)),
            ("the update has the wrong sign (ascent)", _reference.linear_gd(X, y, -lr, e)),
            ("missing 1/N in the gradient", _reference.linear_gd(X, y, lr * X.shape[0], e)),
        ],
        own_helpers=None if mse_grad is None else _own_gd(mse_grad),
    )


def check_sigmoid(fn: Callable, shapes: Sequence[tuple[int, ...]], *, seed: int = 0, extreme=False):
    """``sigmoid(z)`` elementwise; with ``extreme``, inputs of +-1000 too."""
    cases = []
    for k, shape in enumerate(shapes):
        z = random_array(shape, seed + k, scale=4.0)
        if extreme:
            z.flat[0], z.flat[-1] = 1000.0, -1000.0
        cases.append((z,))
    check_function(
        fn,
        F.sigmoid,
        cases,
        "sigmoid",
        forbid=REGRESSION_REFERENCES,
        arg_names=["z"],
        batch_axis=None,
        unstable=extreme,
        hints=lambda z: [
            ("used e^z instead of e^-z", 1 / (1 + np.exp(z))),
            ("computed sigmoid'(z) = s (1 - s)", F.sigmoid(z) * (1 - F.sigmoid(z))),
        ],
    )


def _logit_cases(shapes: Sequence[int], seed: int, extreme: bool) -> list:
    cases = []
    for k, n in enumerate(shapes):
        z = random_array((n,), seed + 2 * k, scale=3.0)
        y = (np.random.default_rng(seed + 2 * k + 1).random(n) < 0.5).astype(float)
        if extreme:
            z[0], y[0] = 1000.0, 0.0  # confidently wrong: the loss is ~1000, not inf
            z[-1], y[-1] = -1000.0, 0.0  # confidently right: the loss is ~0, not nan
        cases.append((z, y))
    return cases


def check_log_loss(fn: Callable, shapes: Sequence[int], *, seed: int = 0, extreme=False) -> None:
    """``log_loss(z, y)``: the mean binary cross-entropy of logits ``z`` against 0/1 labels."""
    check_function(
        fn,
        lambda z, y: regression.log_loss(z, y, from_logits=True),
        _logit_cases(shapes, seed, extreme),
        "log_loss",
        forbid=REGRESSION_REFERENCES,
        arg_names=["z", "y"],
        unstable=extreme,
        hints=lambda z, y: [
            ("swapped the roles of y and 1 - y", regression.log_loss(z, 1 - y, from_logits=True)),
            ("used the logits as probabilities", float(np.mean(-y * np.log(np.abs(z))))),
        ],
    )


def check_log_loss_grad(
    fn: Callable,
    shapes: Sequence[int],
    *,
    seed: int = 0,
    extreme: bool = False,
    sigmoid: Callable | None = None,
) -> None:
    """``log_loss_grad(z, y) = (sigmoid(z) - y) / N`` against central differences.

    With the student's ``sigmoid``, a gradient that is right but calls a wrong ``sigmoid``
    passes: that bug costs ``sigmoid``'s part only.
    """
    own = None if sigmoid is None else (lambda z, y: (np.asarray(sigmoid(z)) - y) / len(y))
    if extreme:  # central differences cannot follow a loss of 1000; compare with the formula
        check_function(
            fn,
            lambda z, y: (F.sigmoid(z) - y) / len(y),
            _logit_cases(shapes, seed, True),
            "log_loss_grad",
            forbid=REGRESSION_REFERENCES,
            arg_names=["z", "y"],
            unstable=True,
            own_helpers=own,
        )
        return
    check_gradient(
        fn,
        lambda z, y: regression.log_loss(z, y, from_logits=True),
        _logit_cases(shapes, seed, False),
        "log_loss_grad",
        reference_grad=lambda z, y: (F.sigmoid(z) - y) / len(y),
        forbid=REGRESSION_REFERENCES,
        arg_names=["z", "y"],
        hints=lambda z, y: [
            ("used y - sigmoid(z): the sign is flipped", (y - F.sigmoid(z)) / len(y))
        ],
        own_helpers=own,
    )


def _own_logistic(
    log_loss_grad: Callable, X: np.ndarray, y: np.ndarray, lr: float, num_epochs: int
) -> tuple[np.ndarray, np.float64] | None:
    """Logistic regression as a right solution trains it, calling the student's gradient."""
    w, b = np.zeros(X.shape[1]), 0.0
    try:
        with quiet():
            for _ in range(num_epochs):
                g = np.asarray(log_loss_grad(X @ w + b, y.copy()), dtype=np.float64)
                w = w - lr * (X.T @ g)
                b = b - lr * float(np.sum(g))
    except Exception:
        return None
    return w, np.float64(b)


def check_train_logistic_regression(
    fn: Callable,
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    num_epochs: int,
    *,
    name: str = "data",
    min_accuracy: float | None = None,
    log_loss_grad: Callable | None = None,
) -> None:
    """``train_logistic_regression(X, y, lr, num_epochs) -> (w, b)``: full-batch gradient
    descent on the mean log-loss from zero, step for step the reference.

    With the student's ``log_loss_grad``, training that is right but calls a wrong
    ``log_loss_grad`` passes: that bug costs ``log_loss_grad``'s part only.
    """
    with quiet():
        want_w, want_b = _reference.logistic_gd(X.copy(), y.copy(), lr, num_epochs)
    what = f"train_logistic_regression on {name} (lr={lr:g}, num_epochs={num_epochs})"
    got = call(
        fn,
        X.copy(),
        y.copy(),
        lr,
        num_epochs,
        what=what,
        forbid=REGRESSION_REFERENCES,
        names=["X", "y", "lr", "num_epochs"],
    )
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise GradingError(f"{what}: type check failed: expected a pair (w, b)")
    w = as_result(got[0], f"{what}, w", want_w.shape)
    b = as_scalar(got[1], f"{what}, b")
    if log_loss_grad is not None and not (
        matches(w, want_w, 1e-7) and matches(np.float64(b), np.float64(want_b), 1e-7)
    ):
        own = _own_logistic(log_loss_grad, X, y, lr, num_epochs)
        if own is not None and matches(w, own[0], 1e-7) and matches(np.float64(b), own[1], 1e-7):
            return  # right training around a wrong log_loss_grad: that part pays
    with quiet():
        sum_w, _ = _reference.logistic_gd(X.copy(), y.copy(), lr * X.shape[0], num_epochs)
    assert_close(
        w,
        want_w,
        f"{what}, w",
        rtol=1e-7,
        hints=[("missing 1/N in the gradient", sum_w)],
    )
    assert_close(np.float64(b), np.float64(want_b), f"{what}, b", rtol=1e-7)
    if min_accuracy is not None:
        accuracy = float(np.mean(((X @ w + b) > 0) == (y > 0.5)))
        if accuracy < min_accuracy:
            raise GradingError(f"{what}: accuracy {accuracy:.3f} below {min_accuracy}")
