"""The interactive figures of Part I of the book (chapters 2 to 5).

Each builder returns an :class:`~nnlib.widgets.core.InteractiveFigure`: end a notebook cell with
it to get live sliders in Jupyter and precomputed frames in the built book. The figures keep their
artists between updates (they move lines and replace image data instead of redrawing the axes),
so that a live update stays well under 150 ms.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap

from nnlib.data import make_blobs, make_regression_1d, make_xor
from nnlib.functional import sigmoid
from nnlib.neurons import ThresholdNeuron, truth_table
from nnlib.perceptron import ConvergenceWarning, Perceptron
from nnlib.regression import LinearRegression, LogisticRegression, mse, normal_equation
from nnlib.widgets.core import InteractiveFigure, animate, count, dropdown, player, slider

__all__ = [
    "BOOLEAN_FUNCTIONS",
    "gradient_descent_figure",
    "logistic_regression_figure",
    "neuron_figure",
    "perceptron_figure",
]

# The reader's two classes, in every chapter: class 0 blue circles, class 1 orange squares.
_C0, _C1 = "#1f77b4", "#ff7f0e"
_REGION = ListedColormap(["#dbe9f6", "#fde5cc"])  # light versions of the class colours

#: The 16 Boolean functions of two inputs, keyed by their outputs on 00, 01, 10, 11.
BOOLEAN_FUNCTIONS: dict[tuple[int, ...], str] = {
    (0, 0, 0, 0): "FALSE",
    (0, 0, 0, 1): "AND",
    (0, 0, 1, 0): "x1 AND NOT x2",
    (0, 0, 1, 1): "x1",
    (0, 1, 0, 0): "NOT x1 AND x2",
    (0, 1, 0, 1): "x2",
    (0, 1, 1, 0): "XOR",
    (0, 1, 1, 1): "OR",
    (1, 0, 0, 0): "NOR",
    (1, 0, 0, 1): "XNOR",
    (1, 0, 1, 0): "NOT x2",
    (1, 0, 1, 1): "x1 OR NOT x2",
    (1, 1, 0, 0): "NOT x1",
    (1, 1, 0, 1): "NOT x1 OR x2",
    (1, 1, 1, 0): "NAND",
    (1, 1, 1, 1): "TRUE",
}


def _grid(lo: float, hi: float, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Points of an n x n grid over [lo, hi]^2, shape (n*n, 2), and the axis ticks, shape (n,)."""
    t = np.linspace(lo, hi, n)
    xx, yy = np.meshgrid(t, t)
    return np.column_stack([xx.ravel(), yy.ravel()]), t


def _line_through_box(w: np.ndarray, b: float, lo: float, hi: float) -> tuple[list, list]:
    """End points of the line ``w . x + b = 0`` across the box [lo, hi]^2 (empty if none)."""
    w1, w2 = float(w[0]), float(w[1])
    if abs(w2) > 1e-12:
        xs = np.array([lo, hi])
        return list(xs), list(-(w1 * xs + b) / w2)
    if abs(w1) > 1e-12:
        x = -b / w1
        return [x, x], [lo, hi]
    return [], []


def _scatter_classes(ax: Any, X: np.ndarray, y: np.ndarray, size: float = 28) -> list:
    """Scatter the two classes; return the two collections."""
    out = []
    for label, color, marker in ((0, _C0, "o"), (1, _C1, "s")):
        pts = X[y == label]
        out.append(
            ax.scatter(
                pts[:, 0],
                pts[:, 1],
                s=size,
                c=color,
                marker=marker,
                edgecolors="k",
                linewidths=0.5,
                zorder=3,
                label=f"class {label}",
            )
        )
    return out


# --- chapter 2: the formal neuron -------------------------------------------------------------
def neuron_figure(
    w_values: Any = (-1.0, -0.5, 0.0, 0.5, 1.0),
    b_values: Any = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5),
    default: tuple[float, float, float] = (1.0, 1.0, -1.5),
) -> InteractiveFigure:
    """A McCulloch-Pitts neuron on two binary inputs: its decision line and truth table.

    Sliders set ``w1``, ``w2`` and the bias ``b`` of ``a(x) = [w1 x1 + w2 x2 + b > 0]``
    (:class:`nnlib.neurons.ThresholdNeuron`). The plot shades the half-plane where the neuron
    fires and marks the four inputs; beside it, the truth table and the name of the Boolean
    function the neuron computes. No setting gives XOR.

    Args:
        w_values: grid of both weights.
        b_values: grid of the bias.
        default: initial ``(w1, w2, b)``; the lecture's AND neuron by default.

    Returns:
        An :class:`InteractiveFigure` with controls ``w1``, ``w2``, ``b``.
    """
    lo, hi = -0.5, 1.5
    points, ticks = _grid(lo, hi, 100)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)

    def setup(fig: Any) -> dict[str, Any]:
        ax = fig.add_subplot()
        region = ax.imshow(
            np.zeros((ticks.size, ticks.size)),
            extent=(lo, hi, lo, hi),
            origin="lower",
            cmap=_REGION,
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        (line,) = ax.plot([], [], color="k", lw=2)
        dots = ax.scatter(
            corners[:, 0],
            corners[:, 1],
            s=160,
            c=["w"] * 4,
            edgecolors="k",
            linewidths=1.5,
            zorder=3,
        )
        labels = [ax.text(x + 0.07, y + 0.07, "", fontsize=10) for x, y in corners]
        ax.set(
            xlim=(lo, hi),
            ylim=(lo, hi),
            xlabel="$x_1$",
            ylabel="$x_2$",
            aspect="equal",
            xticks=[0, 1],
            yticks=[0, 1],
        )
        title = ax.set_title("")
        animate(region, line, dots, *labels, title)
        return {"region": region, "line": line, "dots": dots, "labels": labels, "title": title}

    def update(state: dict[str, Any], w1: float, w2: float, b: float) -> str:
        neuron = ThresholdNeuron([w1, w2], b)
        state["region"].set_data(neuron(points).reshape(ticks.size, ticks.size))
        state["line"].set_data(*_line_through_box(neuron.weights, b, lo, hi))
        inputs, outputs = truth_table(neuron, 2)
        z = neuron.preactivation(inputs.astype(float))
        state["dots"].set_facecolors([_C1 if a else "w" for a in outputs])
        for text, a in zip(state["labels"], outputs, strict=True):
            text.set_text(f"a={a}")
        name = BOOLEAN_FUNCTIONS[tuple(int(a) for a in outputs)]
        # Plain text, not mathtext: parsing TeX on every update would cost ~20 ms.
        state["title"].set_text(f"[{w1:g}·x1 {w2:+g}·x2 {b:+g} > 0] computes {name}")
        rows = "".join(
            f"<tr><td>{x1}</td><td>{x2}</td><td>{zi:+.1f}</td><td><b>{a}</b></td></tr>"
            for (x1, x2), zi, a in zip(inputs, z, outputs, strict=True)
        )
        return (
            "<table><tr><th>x1</th><th>x2</th><th>z = w&middot;x + b</th><th>a</th></tr>"
            f"{rows}</table><p>This neuron computes <b>{name}</b>.</p>"
        )

    w1, w2, b = default
    return InteractiveFigure(
        setup,
        update,
        [
            slider("w1", w_values, default=w1, label="w1"),
            slider("w2", w_values, default=w2, label="w2"),
            slider("b", b_values, default=b, label="bias b"),
        ],
        title="A threshold neuron on two binary inputs",
        caption="Shaded orange: the half-plane where the neuron fires. Filled circles: inputs "
        "with output 1.",
        figsize=(4.2, 4.0),
    )


# --- chapter 3: the perceptron ----------------------------------------------------------------
def default_perceptron_datasets(seed: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The two data sets of chapter 3: two separable blobs, and noisy XOR.

    Returns:
        ``{name: (X, y)}`` with ``X`` of shape ``(40, 2)`` and labels ``y`` of shape ``(40,)``.
    """
    blobs = make_blobs(n=40, centers=[[0.0, 1.1], [1.1, 0.0]], std=0.25, seed=seed)
    xor = make_xor(n=40, noise=0.15, seed=seed)
    return {"separable blobs": blobs, "XOR": xor}


def perceptron_figure(
    datasets: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    max_epochs: int = 12,
    seed: int = 0,
) -> InteractiveFigure:
    """Rosenblatt's perceptron epoch by epoch: the moving line and the falling error count.

    For each data set one :class:`nnlib.perceptron.Perceptron` is trained for at most
    ``max_epochs`` epochs; ``history_`` gives the line after each epoch. On separable data the
    mistakes fall to zero and the line stops; on XOR they never do.

    Args:
        datasets: ``{name: (X, y)}`` with ``X`` of shape ``(N, 2)`` and 0/1 labels of shape
            ``(N,)``; :func:`default_perceptron_datasets` if None.
        max_epochs: the most epochs shown.
        seed: the perceptron's shuffling seed.

    Returns:
        An :class:`InteractiveFigure` with controls ``data`` and ``epoch``.
    """
    datasets = datasets or default_perceptron_datasets()
    runs = {}
    for name, (X, y) in datasets.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # XOR is meant not to converge
            runs[name] = Perceptron(max_epochs=max_epochs, seed=seed).fit(X, y)
    all_X = np.vstack([X for X, _ in datasets.values()])
    lo = float(np.floor(all_X.min() * 2) / 2) - 0.5
    hi = float(np.ceil(all_X.max() * 2) / 2) + 0.5
    points, ticks = _grid(lo, hi, 100)

    def setup(fig: Any) -> dict[str, Any]:
        ax, ax_err = fig.subplots(1, 2, width_ratios=[1.1, 1])
        region = ax.imshow(
            np.zeros((ticks.size, ticks.size)),
            extent=(lo, hi, lo, hi),
            origin="lower",
            cmap=_REGION,
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        (line,) = ax.plot([], [], "k", lw=2)
        c0 = ax.scatter([], [], s=26, c=_C0, marker="o", edgecolors="k", linewidths=0.5, zorder=3)
        c1 = ax.scatter([], [], s=26, c=_C1, marker="s", edgecolors="k", linewidths=0.5, zorder=3)
        wrong = ax.scatter(
            [], [], s=110, facecolors="none", edgecolors="crimson", linewidths=1.6, zorder=4
        )
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        title = ax.set_title("", fontsize=10)
        (curve,) = ax_err.plot([], [], "o-", color="0.3", ms=4)
        (marker,) = ax_err.plot([], [], "o", color="crimson", ms=9)
        ax_err.set(
            xlim=(0.5, max_epochs + 0.5),
            xlabel="epoch",
            ylabel="mistakes in the epoch",
            title="Updates per epoch",
        )
        ax_err.grid(alpha=0.3)
        animate(region, line, c0, c1, wrong, title, curve, marker)
        return {
            "ax_err": ax_err,
            "region": region,
            "line": line,
            "c0": c0,
            "c1": c1,
            "wrong": wrong,
            "title": title,
            "curve": curve,
            "marker": marker,
            "data": None,
        }

    def update(state: dict[str, Any], data: str, epoch: int) -> str:
        X, y = datasets[data]
        clf = runs[data]
        if state["data"] != data:  # a new data set: new points and a new error curve
            state["c0"].set_offsets(X[y == 0])
            state["c1"].set_offsets(X[y == 1])
            errors = clf.errors_
            state["curve"].set_data(np.arange(1, len(errors) + 1), errors)
            state["ax_err"].set_ylim(-0.5, max(max(errors), 1) + 1)
            state["data"] = data
        k = min(epoch, clf.n_epochs_)
        w, b = clf.history_[k]
        neuron = ThresholdNeuron(w, b) if np.any(w) else None
        y_hat = neuron(X) if neuron else np.zeros(len(y))
        state["region"].set_data(
            (neuron(points) if neuron else np.zeros(len(points))).reshape(ticks.size, ticks.size)
        )
        state["line"].set_data(*_line_through_box(w, b, lo, hi))
        wrong = X[y_hat != y]
        state["wrong"].set_offsets(wrong if len(wrong) else np.empty((0, 2)))
        if k >= 1:
            state["marker"].set_data([k], [clf.errors_[k - 1]])
        else:
            state["marker"].set_data([], [])
        done = clf.converged_ and k == clf.n_epochs_
        state["title"].set_text(
            f"after epoch {epoch}: {len(wrong)} of {len(y)} misclassified"
            + (" (converged)" if done else "")
        )
        status = (
            f"converged after {clf.n_epochs_} epochs"
            if clf.converged_
            else f"not converged after {clf.n_epochs_} epochs"
        )
        return (
            f"<p><b>{data}</b>, after epoch {epoch}</p>"
            f"<p>w = ({w[0]:.2f}, {w[1]:.2f}), b = {b:.2f}</p>"
            f"<p>misclassified now: {len(wrong)} / {len(y)}</p><p>{status}</p>"
        )

    names = list(datasets)
    return InteractiveFigure(
        setup,
        update,
        [
            dropdown("data", names, label="data"),
            player("epoch", range(max_epochs + 1), label="epoch", interval_ms=700),
        ],
        title="The perceptron, epoch by epoch",
        caption="Red rings: points on the wrong side of the current line. Right: how many "
        "updates (mistakes) each epoch made.",
        figsize=(7.6, 3.6),
    )


# --- chapter 4: linear regression by gradient descent -----------------------------------------
def default_regression_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The data of chapter 4: 30 noisy points of ``y = 2 x + 1`` on [-1, 1]."""
    return make_regression_1d(n=30, noise=0.3, seed=seed)


def gradient_descent_figure(
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    lrs: Any = (0.02, 0.1, 0.5, 0.9, 1.05),
    steps: Any = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 50),
    seed: int = 0,
) -> InteractiveFigure:
    """Gradient descent on the mean squared error of a line, for several learning rates.

    For each learning rate and number of steps ``t``, a
    :class:`nnlib.regression.LinearRegression` (``method="gd"``) is trained for ``t`` steps;
    the plot shows its line against the least-squares line of the normal equation, and the
    loss curve of the whole run.

    Args:
        X: inputs of shape ``(N, 1)``; :func:`default_regression_data` if None.
        y: targets of shape ``(N,)``.
        lrs: the learning rates offered.
        steps: the step counts offered.
        seed: seed of the initial weights.

    Returns:
        An :class:`InteractiveFigure` with controls ``lr`` and ``step``.
    """
    if X is None or y is None:
        X, y = default_regression_data()
    ones = np.ones((len(X), 1))
    best = normal_equation(np.hstack([X, ones]), y)  # (slope, intercept)
    best_loss = mse(X @ best[:1] + best[1], y)
    steps = tuple(int(s) for s in steps)
    lrs = tuple(float(lr) for lr in lrs)
    t_max = max(steps)
    xs = np.linspace(float(X.min()) - 0.1, float(X.max()) + 0.1, 2)
    cache: dict[float, dict[str, Any]] = {}

    def run(lr: float) -> dict[str, Any]:
        """Train once for each step count (cached per learning rate)."""
        if lr not in cache:
            full = LinearRegression(method="gd", lr=lr, epochs=t_max + 1, seed=seed).fit(X, y)
            params = {}
            for t in steps:
                model = LinearRegression(method="gd", lr=lr, epochs=t, seed=seed).fit(X, y)
                params[t] = (float(model.coef_[0]), float(model.intercept_))
            cache[lr] = {"loss": np.array(full.loss_history_), "params": params}
        return cache[lr]

    def setup(fig: Any) -> dict[str, Any]:
        ax, ax_loss = fig.subplots(1, 2)
        ax.scatter(X[:, 0], y, s=18, c=_C0, edgecolors="k", linewidths=0.4, zorder=3)
        ax.plot(xs, best[0] * xs + best[1], "--", color="0.4", lw=1.5, label="normal equation")
        (line,) = ax.plot([], [], color=_C1, lw=2.5, label="gradient descent")
        pad = 0.5 * (float(y.max()) - float(y.min()))
        ax.set(
            xlim=(xs[0], xs[1]),
            ylim=(float(y.min()) - pad, float(y.max()) + pad),
            xlabel="$x$",
            ylabel="$y$",
        )
        ax.legend(loc="upper left", fontsize=8)
        title = ax.set_title("", fontsize=10)
        (curve,) = ax_loss.plot([], [], color="0.75", lw=1.5)
        (done,) = ax_loss.plot([], [], color=_C1, lw=2)
        (marker,) = ax_loss.plot([], [], "o", color=_C1, ms=7)
        ax_loss.axhline(best_loss, ls="--", color="0.4", lw=1)
        ax_loss.set(
            yscale="log",
            xlim=(0, t_max),
            xlabel="step",
            ylabel="MSE (log scale)",
            title="Training loss",
        )
        ax_loss.grid(alpha=0.3)
        animate(line, title, curve, done, marker)
        return {
            "line": line,
            "title": title,
            "curve": curve,
            "done": done,
            "marker": marker,
            "ax_loss": ax_loss,
        }

    def update(state: dict[str, Any], lr: float, step: int) -> str:
        r = run(lr)
        slope, intercept = r["params"][step]
        state["line"].set_data(xs, slope * xs + intercept)
        loss = r["loss"]  # loss[t] is the loss after t steps
        t = np.arange(len(loss))
        state["curve"].set_data(t, loss)
        state["done"].set_data(t[: step + 1], loss[: step + 1])
        state["marker"].set_data([step], [loss[step]])
        top = max(float(loss.max()), float(loss[0])) * 3
        state["ax_loss"].set_ylim(best_loss / 3, top)
        state["title"].set_text(f"lr = {lr:g}, after {count(step, 'step')}")
        verdict = (
            "diverging: each step overshoots further"
            if loss[-1] > loss[0]
            else "converging" + (" slowly" if loss[-1] > 1.5 * best_loss else "")
        )
        return (
            f"<p>slope w = {slope:.3f}<br>intercept b = {intercept:.3f}</p>"
            f"<p>MSE = {loss[step]:.4g}<br>optimum = {best_loss:.4g}</p><p>{verdict}</p>"
        )

    return InteractiveFigure(
        setup,
        update,
        [
            slider(
                "lr", lrs, default=0.5 if 0.5 in lrs else lrs[len(lrs) // 2], label="learning rate"
            ),
            player("step", steps, default=steps[0], label="step", interval_ms=600),
        ],
        title="Gradient descent on the mean squared error",
        caption="Dashed: the least-squares line from the normal equation and its loss. Orange: "
        "gradient descent after the chosen number of steps.",
        figsize=(7.6, 3.4),
    )


# --- chapter 5: logistic regression -----------------------------------------------------------
def default_logistic_data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The data of chapter 5: two overlapping Gaussian blobs, 60 points."""
    return make_blobs(n=60, centers=[[-1.0, -0.5], [1.0, 1.0]], std=0.8, seed=seed)


def logistic_regression_figure(
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    w_values: Any = (-1.0, 0.0, 1.0, 2.0, 3.0),
    b_values: Any = (-2.0, -1.0, 0.0, 1.0, 2.0),
    default: tuple[float, float, float] = (1.0, 1.0, 0.0),
) -> InteractiveFigure:
    """The probability surface ``sigmoid(w . x + b)`` of a logistic neuron over data.

    Sliders set ``w1``, ``w2`` and ``b``. The colours are the predicted probability of class 1
    in bands of 0.1 (:func:`nnlib.functional.sigmoid`), the black line is the decision boundary
    ``p = 0.5``; beside it the mean log-loss, the accuracy and the gradient of the loss
    (:meth:`nnlib.regression.LogisticRegression.loss_and_gradient`).

    Args:
        X: inputs of shape ``(N, 2)``; :func:`default_logistic_data` if None.
        y: 0/1 labels of shape ``(N,)``.
        w_values: grid of both weights.
        b_values: grid of the bias.
        default: initial ``(w1, w2, b)``.

    Returns:
        An :class:`InteractiveFigure` with controls ``w1``, ``w2``, ``b``.
    """
    if X is None or y is None:
        X, y = default_logistic_data()
    lo, hi = -3.5, 3.5
    points, ticks = _grid(lo, hi, 90)
    objective = LogisticRegression()
    cmap = ListedColormap(
        [
            "#2b6ca3",
            "#4a8bc2",
            "#7aadd6",
            "#a9cbe6",
            "#d6e6f3",
            "#fde3c8",
            "#fcc690",
            "#f9a65a",
            "#ef8430",
            "#d9620b",
        ]
    )
    norm = BoundaryNorm(np.linspace(0, 1, 11), cmap.N)

    def setup(fig: Any) -> dict[str, Any]:
        ax = fig.add_subplot()
        surface = ax.imshow(
            np.zeros((ticks.size, ticks.size)),
            extent=(lo, hi, lo, hi),
            origin="lower",
            cmap=cmap,
            norm=norm,
            interpolation="nearest",
        )
        fig.colorbar(surface, ax=ax, label="$p(y=1\\mid x)$", ticks=[0, 0.5, 1], shrink=0.85)
        (line,) = ax.plot([], [], "k", lw=2)
        points_artists = _scatter_classes(ax, X, y, size=24)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
        title = ax.set_title("", fontsize=10)
        # The data are static but drawn above the animated surface, so they are animated too.
        animate(surface, line, title, *points_artists)
        return {"surface": surface, "line": line, "title": title}

    def update(state: dict[str, Any], w1: float, w2: float, b: float) -> str:
        w = np.array([w1, w2])
        p = sigmoid(points @ w + b)
        state["surface"].set_data(p.reshape(ticks.size, ticks.size))
        state["line"].set_data(*_line_through_box(w, b, lo, hi))
        state["title"].set_text(f"p = σ({w1:g}·x1 {w2:+g}·x2 {b:+g})")
        loss, grad_w, grad_b = objective.loss_and_gradient(X, y, w, b)
        accuracy = float(np.mean((sigmoid(X @ w + b) > 0.5) == y))
        return (
            f"<p>mean log-loss = <b>{loss:.3f}</b></p><p>accuracy = {accuracy:.0%}</p>"
            f"<p>gradient:<br>dL/dw1 = {grad_w[0]:+.3f}<br>dL/dw2 = {grad_w[1]:+.3f}<br>"
            f"dL/db = {grad_b:+.3f}</p>"
        )

    w1, w2, b = default
    return InteractiveFigure(
        setup,
        update,
        [
            slider("w1", w_values, default=w1, label="w1"),
            slider("w2", w_values, default=w2, label="w2"),
            slider("b", b_values, default=b, label="bias b"),
        ],
        title="Logistic regression: probability surface and decision boundary",
        caption="Colour: the predicted probability of class 1 (orange squares), in steps of 0.1. "
        "Black line: the decision boundary p = 0.5.",
        figsize=(5.0, 4.0),
    )
