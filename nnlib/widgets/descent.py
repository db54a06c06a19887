"""Paths of descent on a loss surface: the figures that show optimisation as motion.

* Chapter 4: :func:`gradient_descent_path` runs full-batch gradient descent on the mean squared
  error of a line ``y_hat = w x + b`` (the update of :class:`nnlib.regression.LinearRegression`
  from any starting point), and :func:`loss_contour_figure` draws its steps as a path on the
  contour plot of the loss in the ``(w, b)`` plane, for several learning rates.
* Chapter 9: :func:`valley_path` runs :class:`nnlib.optim.SGD` with and without momentum on a
  narrow quadratic valley ``L(theta) = 0.5 * sum(h * theta**2)``, and :func:`momentum_valley_figure`
  shows both paths step by step.

Every path is computed once, when the figure is built; the controls only move precomputed
artists (so a live update is one blit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnlib._validation import as_array, check_positive
from nnlib.modules import Parameter
from nnlib.optim import SGD
from nnlib.regression import mse, mse_grad, normal_equation
from nnlib.viz import PALETTE
from nnlib.widgets.core import InteractiveFigure, animate, count, player, slider

__all__ = [
    "default_valley",
    "gradient_descent_path",
    "loss_contour_figure",
    "momentum_valley_figure",
    "mse_surface",
    "valley_loss",
    "valley_path",
]


# --- chapter 4: gradient descent on the MSE of a line -----------------------------------------
def _line_data(X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    X = as_array(X, "X", ndim=2, finite=True, dtype=np.float64)
    if X.shape[1] != 1:
        raise ValueError(f"X must have shape (N, 1) (one feature: a line), got shape {X.shape}")
    y = as_array(y, "y", ndim=1, finite=True, dtype=np.float64)
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    return X, y


def mse_surface(X: object, y: object, ws: object, bs: object) -> np.ndarray:
    """The mean squared error of the line ``w x + b`` on a grid of ``(w, b)``.

    Args:
        X: inputs of shape ``(N, 1)``.
        y: targets of shape ``(N,)``.
        ws: slopes, shape ``(P,)``.
        bs: intercepts, shape ``(Q,)``.

    Returns:
        ``L`` of shape ``(Q, P)`` with ``L[j, i] = mse(X[:, 0] * ws[i] + bs[j], y)`` (rows follow
        ``b``, as ``matplotlib.contour`` expects).
    """
    X, y = _line_data(X, y)
    ws = as_array(ws, "ws", ndim=1, finite=True, dtype=np.float64)
    bs = as_array(bs, "bs", ndim=1, finite=True, dtype=np.float64)
    # Residuals for every grid point at once: shape (Q, P, N).
    r = ws[None, :, None] * X[:, 0] + bs[:, None, None] - y
    return np.mean(r**2, axis=-1)


def gradient_descent_path(
    X: object, y: object, lr: float, steps: int, start: Sequence[float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch gradient descent on the MSE of a line, from ``start``.

    Each step is the update of ``LinearRegression(method="gd")``: with ``g = mse_grad(y_hat,
    y)``, ``w -= lr * X.T @ g`` and ``b -= lr * sum(g)``. A diverging run is followed until its
    loss overflows; the remaining points are NaN.

    Args:
        X: inputs of shape ``(N, 1)``.
        y: targets of shape ``(N,)``.
        lr: learning rate, > 0.
        steps: number of steps T, an int >= 0.
        start: the initial ``(w, b)``.

    Returns:
        ``(path, losses)``: ``path`` of shape ``(T + 1, 2)`` holds ``(w, b)`` before the first
        step and after each step; ``losses`` of shape ``(T + 1,)`` the MSE at each point.
    """
    X, y = _line_data(X, y)
    lr = check_positive("lr", lr)
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    start = as_array(start, "start", ndim=1, shape=(2,), finite=True, dtype=np.float64)
    w, b = np.array([start[0]]), float(start[1])
    path = np.full((steps + 1, 2), np.nan)
    losses = np.full(steps + 1, np.nan)
    for t in range(steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            y_hat = X @ w + b
        if not (np.isfinite(y_hat).all() and np.all(np.abs(y_hat) < 1e150)):
            break
        path[t] = w[0], b
        losses[t] = mse(y_hat, y)
        if t == steps:
            break
        g = mse_grad(y_hat, y)  # dL/dy_hat, shape (N,)
        w = w - lr * (X.T @ g)
        b = b - lr * float(g.sum())
    return path, losses


def _verdict(losses: np.ndarray, best: float) -> str:
    last = losses[np.isfinite(losses)][-1]
    if not np.isfinite(losses[-1]) or last > losses[0]:
        return "too large: every step overshoots further, the loss grows"
    if last > 1.05 * best:
        return "too small: still far from the minimum"
    return "converges"


def loss_contour_figure(
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    lrs: Sequence[float] = (0.02, 0.1, 0.5, 0.9, 1.05),
    steps: Sequence[int] = (0, 1, 2, 3, 5, 8, 12, 20, 32),
    start: Sequence[float] = (-1.0, -2.0),
    w_range: tuple[float, float] = (-2.0, 5.0),
    b_range: tuple[float, float] = (-4.0, 6.0),
) -> InteractiveFigure:
    """Gradient descent on the MSE of a line, drawn as a path on the loss contours in ``(w, b)``.

    The contour lines are those of :func:`mse_surface`; the path is :func:`gradient_descent_path`
    for the chosen learning rate, up to the chosen step; a star marks the least-squares solution
    of the normal equation.

    Args:
        X: inputs of shape ``(N, 1)``; chapter 4's 30 points (``make_regression_1d(n=30,
            noise=0.3, seed=0)``) if None.
        y: targets of shape ``(N,)``.
        lrs: the learning rates of the slider.
        steps: the step counts of the player (increasing; the last is the length of each run).
        start: the initial ``(w, b)``.
        w_range: the slope axis.
        b_range: the intercept axis.

    Returns:
        An :class:`InteractiveFigure` with controls ``lr`` and ``step``.
    """
    if X is None or y is None:
        from nnlib.widgets.part1 import default_regression_data

        X, y = default_regression_data()
    X, y = _line_data(X, y)
    steps = tuple(int(s) for s in steps)
    if list(steps) != sorted(set(steps)) or steps[0] < 0:
        raise ValueError(f"steps must be increasing ints >= 0, got {steps}")
    lrs = tuple(float(lr) for lr in lrs)
    best_w, best_b = normal_equation(np.hstack([X, np.ones((len(X), 1))]), y)
    best_loss = mse(X[:, 0] * best_w + best_b, y)
    runs = {lr: gradient_descent_path(X, y, lr, steps[-1], start) for lr in lrs}
    ws = np.linspace(*w_range, 141)
    bs = np.linspace(*b_range, 141)
    surface = mse_surface(X, y, ws, bs)

    def setup(fig: Any) -> dict[str, Any]:
        ax = fig.add_subplot()
        levels = best_loss + (surface.max() - best_loss) * np.geomspace(1e-3, 1, 14)
        ax.contourf(ws, bs, surface, levels=levels, cmap="Blues_r", alpha=0.55)
        ax.contour(ws, bs, surface, levels=levels, colors="0.45", linewidths=0.6)
        ax.plot([best_w], [best_b], "*", color="k", ms=12, label="minimum (normal equation)")
        (path,) = ax.plot([], [], "-o", color=PALETTE[1], lw=1.6, ms=3.5, label="gradient descent")
        (head,) = ax.plot([], [], "o", color=PALETTE[1], mec="k", ms=8)
        ax.set(xlim=w_range, ylim=b_range, xlabel="slope $w$", ylabel="intercept $b$")
        ax.legend(loc="upper left", fontsize=8)
        title = ax.set_title("", fontsize=10)
        animate(path, head, title)
        return {"path": path, "head": head, "title": title}

    def update(state: dict[str, Any], lr: float, step: int) -> str:
        path, losses = runs[lr]
        shown = path[: step + 1]
        state["path"].set_data(shown[:, 0], shown[:, 1])
        state["head"].set_data(shown[-1:, 0], shown[-1:, 1])
        state["title"].set_text(f"learning rate {lr:g}, {count(step, 'step')}")
        loss = losses[step]
        loss_text = f"{loss:.4g}" if np.isfinite(loss) else "overflow"
        w, b = shown[-1]
        return (
            f"<p>after {count(step, 'step')}:<br>w = {w:.3f}, b = {b:.3f}<br>MSE = {loss_text}<br>"
            f"minimum = {best_loss:.4g}</p><p>{_verdict(losses, best_loss)}</p>"
        )

    return InteractiveFigure(
        setup,
        update,
        [
            slider("lr", lrs, default=0.5 if 0.5 in lrs else lrs[len(lrs) // 2], label="lr"),
            player("step", steps, default=steps[-1], label="step", interval_ms=500),
        ],
        title="Gradient descent on the contours of the mean squared error",
        caption="Contour lines of the MSE of the line w x + b in the (w, b) plane; the star is "
        "the least-squares solution. Each dot is one step of gradient descent.",
        figsize=(5.6, 4.0),
    )


# --- chapter 9: momentum in a narrow valley ---------------------------------------------------
def default_valley() -> dict[str, Any]:
    """The valley of chapter 9: curvatures ``(0.02, 2)`` (condition number 100), the start
    ``(-9, 1)`` and the learning rate 0.8, at which plain SGD multiplies its distance to the
    minimum by ``1 - 0.8 * 2 = -0.6`` across the valley (a zig-zag) and by ``0.984`` along it
    (a crawl)."""
    return {"curvatures": (0.02, 2.0), "start": (-9.0, 1.0), "lr": 0.8}


def valley_loss(theta: object, curvatures: Sequence[float]) -> np.ndarray:
    """The quadratic valley ``L(theta) = 0.5 * sum_i h_i * theta_i**2``.

    Args:
        theta: points of shape ``(..., 2)``.
        curvatures: ``(h_1, h_2)``, both > 0 (the eigenvalues of the Hessian).

    Returns:
        The loss of each point, shape ``(...)``.
    """
    theta = as_array(theta, "theta", finite=True, dtype=np.float64)
    h = as_array(curvatures, "curvatures", ndim=1, shape=(2,), finite=True, dtype=np.float64)
    if theta.shape[-1:] != (2,):
        raise ValueError(f"theta must have shape (..., 2), got shape {theta.shape}")
    if np.any(h <= 0):
        raise ValueError(f"curvatures must be > 0, got {tuple(h)}")
    return 0.5 * np.sum(h * theta**2, axis=-1)


def valley_path(
    start: Sequence[float],
    curvatures: Sequence[float],
    lr: float,
    steps: int,
    momentum: float = 0.0,
) -> np.ndarray:
    """Minimise :func:`valley_loss` with :class:`nnlib.optim.SGD` (exact gradients ``h * theta``).

    Args:
        start: the initial point ``(theta_1, theta_2)``.
        curvatures: ``(h_1, h_2)``.
        lr: learning rate, > 0.
        steps: number of steps T, an int >= 0.
        momentum: SGD's momentum ``mu`` in [0, 1).

    Returns:
        The points visited, shape ``(T + 1, 2)``: the start, then the point after each step.
    """
    h = np.asarray(curvatures, dtype=np.float64)
    theta = Parameter(as_array(start, "start", ndim=1, shape=(2,), finite=True), "theta")
    valley_loss(theta.value, h)  # validates the curvatures
    optimizer = SGD([theta], lr=lr, momentum=momentum)
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    path = [theta.value.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        theta.grad += h * theta.value  # the gradient of 0.5 * sum(h * theta**2)
        optimizer.step()
        path.append(theta.value.copy())
    return np.array(path)


def momentum_valley_figure(
    momenta: Sequence[float] = (0.5, 0.8, 0.9),
    steps: Sequence[int] = (0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 30, 45, 60),
    curvatures: Sequence[float] | None = None,
    start: Sequence[float] | None = None,
    lr: float | None = None,
) -> InteractiveFigure:
    """Plain SGD and SGD with momentum in a narrow valley, step by step.

    Both runs use :func:`valley_path` with the same learning rate and start; the slider picks
    the momentum of the second run, the player the step.

    Args:
        momenta: the momenta offered for the second run, each in (0, 1).
        steps: the step counts of the player (increasing; the last is the length of the runs).
        curvatures: the valley's ``(h_1, h_2)``; :func:`default_valley`'s if None.
        start: the initial point; :func:`default_valley`'s if None.
        lr: the learning rate; :func:`default_valley`'s if None.

    Returns:
        An :class:`InteractiveFigure` with controls ``momentum`` and ``step``.
    """
    valley = default_valley()
    h = tuple(curvatures) if curvatures is not None else valley["curvatures"]
    start = tuple(start) if start is not None else valley["start"]
    lr = float(lr) if lr is not None else valley["lr"]
    steps = tuple(int(s) for s in steps)
    if list(steps) != sorted(set(steps)) or steps[0] < 0:
        raise ValueError(f"steps must be increasing ints >= 0, got {steps}")
    momenta = tuple(float(m) for m in momenta)
    plain = valley_path(start, h, lr, steps[-1])
    runs = {m: valley_path(start, h, lr, steps[-1], momentum=m) for m in momenta}
    every = np.vstack([plain, *runs.values()])
    x_hi = max(abs(start[0]), float(np.abs(every[:, 0]).max())) * 1.1
    y_hi = max(abs(start[1]), float(np.abs(every[:, 1]).max())) * 1.25
    xs, ys = np.linspace(-x_hi, x_hi, 201), np.linspace(-y_hi, y_hi, 121)
    surface = valley_loss(np.stack(np.meshgrid(xs, ys), axis=-1), h)
    colours = {"sgd": PALETTE[0], "momentum": PALETTE[1]}

    def setup(fig: Any) -> dict[str, Any]:
        ax = fig.add_subplot()
        levels = np.geomspace(surface.max() * 1e-4, surface.max(), 12)
        ax.contourf(xs, ys, surface, levels=levels, cmap="Greys_r", alpha=0.35)
        ax.contour(xs, ys, surface, levels=levels, colors="0.55", linewidths=0.6)
        ax.plot([0], [0], "*", color="k", ms=11)
        lines = {}
        for key, label in (("sgd", "SGD"), ("momentum", "SGD + momentum")):
            (lines[key],) = ax.plot([], [], "-o", color=colours[key], lw=1.4, ms=3, label=label)
            (lines[key + "_head"],) = ax.plot([], [], "o", color=colours[key], mec="k", ms=7)
        ax.set(
            xlim=(-x_hi, x_hi),
            ylim=(-y_hi, y_hi),
            xlabel=r"$\theta_1$ (along the valley)",
            ylabel=r"$\theta_2$ (across)",
        )
        ax.legend(loc="upper right", fontsize=8)
        title = ax.set_title("", fontsize=10)
        animate(*lines.values(), title)
        return {**lines, "title": title}

    def update(state: dict[str, Any], momentum: float, step: int) -> str:
        rows = []
        for key, path, name in (
            ("sgd", plain, "SGD"),
            ("momentum", runs[momentum], f"momentum {momentum:g}"),
        ):
            shown = path[: step + 1]
            state[key].set_data(shown[:, 0], shown[:, 1])
            state[key + "_head"].set_data(shown[-1:, 0], shown[-1:, 1])
            loss = float(valley_loss(shown[-1], h))
            rows.append(f"<tr><td>{name}</td><td>{loss:.3g}</td></tr>")
        state["title"].set_text(f"lr {lr:g}, step {step}")
        return (
            f"<p>loss after {count(step, 'step')}</p>"
            "<table><tr><th>optimizer</th><th>loss</th></tr>" + "".join(rows) + "</table>"
        )

    return InteractiveFigure(
        setup,
        update,
        [
            slider("momentum", momenta, default=0.8 if 0.8 in momenta else momenta[-1]),
            player("step", steps, default=steps[-1], label="step", interval_ms=400),
        ],
        title="SGD and SGD with momentum in a narrow valley",
        caption=f"The loss 0.5 ({h[0]:g} θ1² + {h[1]:g} θ2²): {h[1] / h[0]:g} times steeper across "
        f"the valley than along it. Both runs start at ({start[0]:g}, {start[1]:g}) with learning "
        f"rate {lr:g}; the star is the minimum.",
        figsize=(6.4, 3.4),
    )
