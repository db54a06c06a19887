"""The interactive figures of chapters 6 and 7: activations, universal approximation, softmax.

Each builder returns an :class:`~nnlib.widgets.core.InteractiveFigure` (end a notebook cell with
it: live sliders in Jupyter, precomputed frames in the built book). Everything the figures show
is computed by nnlib: the activation curves and their derivatives by the layers' ``forward`` and
``backward`` (:mod:`nnlib.modules`), the approximating networks are :class:`~nnlib.modules.MLP`
objects whose output layer is fitted by :func:`nnlib.regression.normal_equation`, and the
probabilities, losses and gradients of chapter 7 come from :func:`nnlib.functional.softmax` and
:class:`nnlib.losses.CrossEntropyLoss`. All training happens when a figure is built, so a live
update only moves artists (well under 150 ms).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnlib.functional import softmax
from nnlib.gradcheck import numerical_gradient
from nnlib.losses import CrossEntropyLoss
from nnlib.modules import ELU, MLP, LeakyReLU, Module, get_activation
from nnlib.regression import normal_equation
from nnlib.viz import PALETTE
from nnlib.widgets.core import InteractiveFigure, animate, dropdown, slider

__all__ = [
    "ACTIVATION_FORMULAS",
    "SOFTMAX_CLASSES",
    "activation_curves",
    "activation_figure",
    "activation_module",
    "bumpy_target",
    "hand_built_approximator",
    "softmax_figure",
    "universal_approximation_figure",
]

#: The activation zoo of chapter 6: name -> (f(x), f'(x)) written as plain HTML for the figure.
ACTIVATION_FORMULAS: dict[str, tuple[str, str]] = {
    "sigmoid": ("1 / (1 + e<sup>&minus;x</sup>)", "f(x) (1 &minus; f(x))"),
    "tanh": ("tanh x", "1 &minus; tanh<sup>2</sup> x"),
    "softsign": ("x / (1 + |x|)", "1 / (1 + |x|)<sup>2</sup>"),
    "step": ("[x &gt; 0]", "0 for x &ne; 0 (none at 0)"),
    "softplus": ("log(1 + e<sup>x</sup>)", "1 / (1 + e<sup>&minus;x</sup>)"),
    "relu": ("max(0, x)", "[x &gt; 0]"),
    "leaky_relu": ("x if x &gt; 0, else &alpha; x", "1 if x &gt; 0, else &alpha;"),
    "elu": (
        "x if x &gt; 0, else &alpha; (e<sup>x</sup> &minus; 1)",
        "1 if x &gt; 0, else &alpha; e<sup>x</sup>",
    ),
}

_NAMES = {
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softsign": "softsign",
    "step": "step",
    "softplus": "softplus",
    "relu": "ReLU",
    "leaky_relu": "leaky ReLU",
    "elu": "ELU",
}
_USES_ALPHA = ("leaky_relu", "elu")
_BLUE, _RED, _GREEN, _ORANGE = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]


# --- chapter 6: the activation zoo ------------------------------------------------------------
def activation_module(name: str, alpha: float = 0.1) -> Module:
    """A fresh activation layer of :mod:`nnlib.modules` by name.

    Args:
        name: one of the keys of :data:`ACTIVATION_FORMULAS`.
        alpha: the slope (leaky ReLU) or the negative saturation (ELU); ignored otherwise.

    Returns:
        The layer, e.g. ``LeakyReLU(alpha)`` for ``"leaky_relu"``.

    Raises:
        ValueError: unknown name.
    """
    if name not in ACTIVATION_FORMULAS:
        raise ValueError(f"name must be one of {list(ACTIVATION_FORMULAS)}, got {name!r}")
    if name == "leaky_relu":
        return LeakyReLU(alpha)
    if name == "elu":
        return ELU(alpha)
    return get_activation(name)


def activation_curves(
    name: str, x: np.ndarray, alpha: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """An activation and its derivative on a 1-D grid, from the layer's forward and backward.

    ``f'`` is ``backward(ones)`` after ``forward(x)``: for an elementwise layer the gradient of
    ``sum(f(x))`` with respect to ``x`` is exactly ``f'(x)``.

    Args:
        name: one of the keys of :data:`ACTIVATION_FORMULAS`.
        x: inputs, shape ``(M,)``.
        alpha: see :func:`activation_module`.

    Returns:
        ``(f, df)``, two arrays of shape ``(M,)``.
    """
    layer = activation_module(name, alpha)
    f = layer.forward(np.asarray(x, dtype=np.float64).reshape(-1, 1))
    df = layer.backward(np.ones_like(f))
    return f.ravel(), df.ravel()


def activation_figure(
    names: Sequence[str] = tuple(ACTIVATION_FORMULAS),
    alphas: Sequence[float] = (0.01, 0.1, 0.3, 1.0),
    x0_values: Sequence[float] = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0),
    default: tuple[str, float, float] = ("elu", 1.0, -1.0),
) -> InteractiveFigure:
    """An activation ``f`` with its tangent at a point, beside its derivative ``f'``.

    ``f`` and ``f'`` come from the layer's ``forward`` and ``backward``
    (:func:`activation_curves`). The slider ``x0`` moves a point along the curve: on the left
    the tangent line at ``x0`` has slope ``f'(x0)``, on the right the same value is marked on
    the derivative. Beside the plot, ``f'(x0)`` from ``backward`` is compared with a centred
    difference (:func:`nnlib.gradcheck.numerical_gradient`); they disagree only at a kink.

    Args:
        names: activation names offered (keys of :data:`ACTIVATION_FORMULAS`).
        alphas: values of ``alpha`` for the leaky ReLU and the ELU.
        x0_values: points where the tangent is drawn.
        default: initial ``(activation, alpha, x0)``; an activation with an ``alpha``, so that
            every control changes the picture from the start.

    Returns:
        An :class:`InteractiveFigure` with controls ``activation``, ``alpha``, ``x0``.
    """
    x = np.linspace(-4, 4, 321)
    half = 1.3  # half-length of the tangent segment along x

    def setup(fig: Any) -> dict[str, Any]:
        ax_f, ax_df = fig.subplots(1, 2)
        for ax in (ax_f, ax_df):
            ax.axhline(0, color="0.75", lw=0.8)
            ax.axvline(0, color="0.75", lw=0.8)
            ax.grid(alpha=0.3)
        ax_f.set(xlim=(-4, 4), ylim=(-1.6, 4.2), xlabel="$x$", title="$f(x)$ and its tangent")
        ax_df.set(xlim=(-4, 4), ylim=(-0.15, 1.15), xlabel="$x$", title="$f'(x)$ from backward")
        (f_line,) = ax_f.plot([], [], color=_BLUE, lw=2.2)
        (tangent,) = ax_f.plot([], [], color=_RED, lw=1.6)
        (f_dot,) = ax_f.plot([], [], "o", color=_RED, ms=6)
        (df_line,) = ax_df.plot([], [], color=_ORANGE, lw=2.2, ls="--")
        (df_dot,) = ax_df.plot([], [], "o", color=_RED, ms=6)
        label = ax_f.text(0.03, 0.95, "", transform=ax_f.transAxes, va="top", fontsize=10)
        animate(f_line, tangent, f_dot, df_line, df_dot, label)
        return {
            "f": f_line,
            "tangent": tangent,
            "f_dot": f_dot,
            "df": df_line,
            "df_dot": df_dot,
            "label": label,
        }

    def update(state: dict[str, Any], activation: str, alpha: float, x0: float) -> str:
        f, df = activation_curves(activation, x, alpha)
        state["f"].set_data(x, f)
        state["df"].set_data(x, df)
        (f0,), (slope,) = activation_curves(activation, np.array([x0]), alpha)
        xs = np.array([x0 - half, x0 + half])
        state["tangent"].set_data(xs, f0 + slope * (xs - x0))
        state["f_dot"].set_data([x0], [f0])
        state["df_dot"].set_data([x0], [slope])
        shown = _NAMES[activation] + (f" (α = {alpha:g})" if activation in _USES_ALPHA else "")
        state["label"].set_text(shown)
        return _activation_side(activation, alpha, x0, f0, slope)

    name, alpha, x0 = default
    return InteractiveFigure(
        setup,
        update,
        [
            dropdown("activation", {_NAMES[n]: n for n in names}, default=name, label="f"),
            slider("alpha", alphas, default=alpha, label="α (leaky ReLU, ELU)"),
            slider("x0", x0_values, default=x0, label="x0"),
        ],
        title="An activation function and its derivative",
        caption="Left: f (blue) and its tangent at x0 (red), whose slope is f'(x0). Right: "
        "f' as computed by the layer's backward pass, with f'(x0) marked.",
        figsize=(7.4, 3.2),
    )


def _activation_side(name: str, alpha: float, x0: float, f0: float, slope: float) -> str:
    """The read-out beside the activation figure: formulas, and f'(x0) two ways."""
    layer = activation_module(name, alpha)
    point = np.array([[x0]], dtype=np.float64)
    numeric = float(numerical_gradient(lambda p: float(layer.forward(p).sum()), point)[0, 0])
    formula, derivative = ACTIVATION_FORMULAS[name]
    if name in _USES_ALPHA:
        formula = formula.replace("&alpha; ", f"{alpha:g}&middot;")
        derivative = derivative.replace("&alpha; ", f"{alpha:g}&middot;")
        derivative = derivative.replace("&alpha;", f"{alpha:g}")
    # At a kink the centred difference averages the two one-sided slopes, so the two disagree.
    kink = abs(numeric - slope) > 1e-6 * max(1.0, abs(slope))
    verdict = (
        "x0 is a kink: the two one-sided slopes differ, so f has no derivative here; "
        "backward returns a convention and the centred difference averages the two sides."
        if kink
        else "They agree: backward is right here."
    )
    if name == "step" and x0 == 0:
        verdict = (
            "x0 is the jump: the centred difference blows up as the step shrinks; f has no "
            "derivative here, and 0 everywhere else, so no gradient ever flows through a step."
        )
    return (
        f"<p><b>{_NAMES[name]}</b><br>f(x) = {formula}<br>f&prime;(x) = {derivative}</p>"
        f"<p>at x0 = {x0:g}:<br>f(x0) = {f0:.4f}<br>f&prime;(x0), backward = {slope:.4f}<br>"
        f"f&prime;(x0), centred difference = {numeric:.4g}</p><p>{verdict}</p>"
    )


# --- chapter 6: universal approximation -------------------------------------------------------
def bumpy_target(x: np.ndarray) -> np.ndarray:
    """The smooth, bumpy 1-D function that chapter 6 approximates, elementwise.

    ``sin(1.6 x) + 0.8 exp(-4 (x - 1)^2) - 0.6 exp(-3 (x + 1.6)^2)`` on about ``[-3, 3]``.

    Args:
        x: array of any shape.

    Returns:
        Array of the shape of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    return np.sin(1.6 * x) + 0.8 * np.exp(-4 * (x - 1) ** 2) - 0.6 * np.exp(-3 * (x + 1.6) ** 2)


def _hidden_layer(hidden: int, activation: str, lo: float, hi: float) -> tuple[np.ndarray, ...]:
    """Hand-set first-layer weights ``w`` and biases ``b`` (shape ``(hidden,)`` each).

    Sigmoid or tanh unit ``k`` is a smooth step ``f(w (x - c_k))`` centred at the ``k``-th of
    ``hidden`` evenly spaced interior points of ``[lo, hi]``, with a slope ``w = 4 H / (hi -
    lo)`` that grows with ``H`` (a staircase, as in the proofs). ReLU unit ``k`` is the hinge
    ``relu(x - c_k)`` with ``c_k = lo + k (hi - lo) / H`` (a piecewise-linear fit); doubling
    ``H`` keeps every old hinge, so the fit can only improve.
    """
    if activation == "relu":
        centres = lo + (hi - lo) / hidden * np.arange(hidden)
        return np.ones(hidden), -centres
    centres = np.linspace(lo, hi, hidden + 2)[1:-1]
    slope = 4.0 * hidden / (hi - lo)
    return np.full(hidden, slope), -slope * centres


def hand_built_approximator(
    x: np.ndarray,
    y: np.ndarray,
    hidden: int,
    activation: str = "sigmoid",
) -> MLP:
    """A one-hidden-layer :class:`~nnlib.modules.MLP` ``[1, hidden, 1]`` that fits ``y(x)``.

    The hidden layer is set by hand (:func:`_hidden_layer`: unit ``k`` is a step or hinge at
    the ``k``-th of ``hidden`` evenly spaced positions across the range of ``x``); the output
    layer is then the least-squares fit of ``y`` on the hidden units' outputs
    (:func:`nnlib.regression.normal_equation` with a column of ones for the bias). No
    gradient descent: the fit takes a millisecond, and it is the best output layer for these
    hidden units.

    Args:
        x: inputs, shape ``(N, 1)``.
        y: targets, shape ``(N,)``.
        hidden: number of hidden units ``H``.
        activation: ``"sigmoid"``, ``"tanh"`` or ``"relu"``.

    Returns:
        The network; ``net(x)`` has shape ``(N, 1)``.

    Raises:
        ValueError: ``activation`` is not one of the three, or ``x`` is not ``(N, 1)``.
    """
    if activation not in ("sigmoid", "tanh", "relu"):
        raise ValueError(f"activation must be 'sigmoid', 'tanh' or 'relu', got {activation!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 1:
        raise ValueError(f"x must have shape (N, 1), got {x.shape}")
    net = MLP([1, hidden, 1], activation=activation, seed=0)
    w, b = _hidden_layer(hidden, activation, float(x.min()), float(x.max()))
    net[0].weight.value[...] = w[None, :]
    net[0].bias.value[...] = b
    features = net[:2](x)  # (N, H): the hidden units' outputs
    design = np.hstack([features, np.ones((len(x), 1))])
    coef = normal_equation(design, np.asarray(y, dtype=np.float64))
    net[2].weight.value[...] = coef[:-1, None]
    net[2].bias.value[...] = coef[-1]
    return net


def universal_approximation_figure(
    hidden_values: Sequence[int] = (1, 2, 4, 8, 16, 32, 64),
    activations: Sequence[str] = ("sigmoid", "relu"),
    target: Callable[[np.ndarray], np.ndarray] = bumpy_target,
    lo: float = -3.0,
    hi: float = 3.0,
    default: tuple[str, int] = ("sigmoid", 4),
) -> InteractiveFigure:
    """A one-hidden-layer network approximating a 1-D function as its hidden layer grows.

    For every ``(activation, H)`` a network is built once, when the figure is made, by
    :func:`hand_built_approximator` on 200 points of ``target``. Top: the target (dashed) and
    the network's output. Bottom: the ``H`` hidden units' outputs ``h_k(x)``, blue where the
    output weight ``v_k`` is positive and red where it is negative; the network's output is
    ``sum_k v_k h_k(x) + c``. The bottom axis keeps its limits while only ``H`` changes, so
    a live update redraws the curves alone.

    Args:
        hidden_values: the numbers of hidden units offered.
        activations: the hidden activations offered (``"sigmoid"``, ``"tanh"``, ``"relu"``).
        target: the function to approximate, elementwise on arrays.
        lo: left end of the interval.
        hi: right end of the interval.
        default: initial ``(activation, H)``.

    Returns:
        An :class:`InteractiveFigure` with controls ``activation`` and ``hidden``.
    """
    x = np.linspace(lo, hi, 200).reshape(-1, 1)
    y = np.asarray(target(x[:, 0]), dtype=np.float64)
    nets = {(a, h): hand_built_approximator(x, y, h, a) for a in activations for h in hidden_values}
    h_max = max(hidden_values)
    pad = 0.35 * (float(y.max()) - float(y.min()))
    ylim = (float(y.min()) - pad, float(y.max()) + pad)
    unit_ylim = {"sigmoid": (-0.08, 1.08), "tanh": (-1.08, 1.08), "relu": (-0.3, 1.05 * (hi - lo))}

    def setup(fig: Any) -> dict[str, Any]:
        ax, ax_units = fig.subplots(2, 1, sharex=True, height_ratios=[1.4, 1])
        (fit,) = ax.plot([], [], color=_ORANGE, lw=2.6, label="network")
        # Animated (redrawn each frame) only so that it stays on top of the network's curve.
        (goal,) = ax.plot(x[:, 0], y, "--", color="k", lw=1.4, label="target", zorder=3)
        ax.set(xlim=(lo, hi), ylim=ylim, ylabel="$y$")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
        title = ax.set_title("", fontsize=10)
        units = [ax_units.plot([], [], lw=1.0)[0] for _ in range(h_max)]
        ax_units.axhline(0, color="0.75", lw=0.8)
        ax_units.set(xlabel="$x$", ylabel="$h_k(x)$")
        ax_units.grid(alpha=0.3)
        animate(fit, goal, title, *units)
        return {"fit": fit, "title": title, "units": units, "ax_units": ax_units}

    def update(state: dict[str, Any], activation: str, hidden: int) -> str:
        net = nets[(activation, hidden)]
        y_hat = net(x)[:, 0]
        state["fit"].set_data(x[:, 0], y_hat)
        units = net[:2](x)  # (N, H): the hidden units' outputs h_k(x)
        v = net[2].weight.value[:, 0]  # (H,): their output weights
        for k, line in enumerate(state["units"]):
            if k < hidden:
                line.set_data(x[:, 0], units[:, k])
                line.set_color(_BLUE if v[k] > 0 else _RED)
            else:
                line.set_data([], [])
        state["ax_units"].set_ylim(*unit_ylim[activation])
        rmse = float(np.sqrt(np.mean((y_hat - y) ** 2)))
        worst = float(np.abs(y_hat - y).max())
        state["title"].set_text(f"{activation}, H = {hidden}: RMSE = {rmse:.3f}")
        n_params = sum(p.value.size for p in net.parameters())
        return (
            f"<p><b>{hidden}</b> hidden {activation} unit{'s' if hidden > 1 else ''}<br>"
            f"{n_params} parameters (3H + 1)</p>"
            f"<p>RMSE = {rmse:.4f}<br>max |error| = {worst:.4f}</p>"
            f"<p>output weights v<sub>k</sub><br>from {v.min():+.3g} to {v.max():+.3g}</p>"
        )

    activation, hidden = default
    return InteractiveFigure(
        setup,
        update,
        [
            dropdown("activation", list(activations), default=activation, label="hidden units"),
            slider("hidden", hidden_values, default=hidden, label="H (hidden units)"),
        ],
        title="Universal approximation with one hidden layer",
        caption="Top: the target (dashed) and the network's output (orange). Bottom: the "
        "hidden units' outputs h<sub>k</sub>(x), blue if their output weight v<sub>k</sub> is "
        "positive, red if negative; the network outputs the sum of v<sub>k</sub> h<sub>k</sub>(x) "
        "plus a bias.",
        figsize=(6.4, 4.6),
    )


# --- chapter 7: softmax and cross-entropy -----------------------------------------------------
#: The three classes of chapter 7's example.
SOFTMAX_CLASSES = ("dog", "cat", "bug")


def softmax_figure(
    logit_values: Sequence[float] = (-3, -2, -1, 0, 1, 2, 3),
    default: tuple[float, float, str] = (2.0, 1.0, "dog"),
) -> InteractiveFigure:
    """The softmax of three logits and the cross-entropy of the true class.

    Sliders set the dog and cat logits; the bug logit stays 0, which loses nothing because
    adding a constant to all logits leaves the softmax unchanged. Left: the probabilities
    :func:`nnlib.functional.softmax` (the true class outlined). Right: the gradient of the
    cross-entropy with respect to the logits, ``p - onehot(y)``, from
    :meth:`nnlib.losses.CrossEntropyLoss.backward`; the title gives the loss ``-log p_y``.

    Args:
        logit_values: grid of both slider logits.
        default: initial ``(dog logit, cat logit, true class)``.

    Returns:
        An :class:`InteractiveFigure` with controls ``z_dog``, ``z_cat`` and ``label``.
    """
    classes = SOFTMAX_CLASSES
    colors = [_BLUE, _RED, _GREEN]
    pos = np.arange(len(classes))

    def setup(fig: Any) -> dict[str, Any]:
        ax_p, ax_g = fig.subplots(1, 2)
        bars_p = ax_p.bar(pos, np.zeros(3), color=colors, edgecolor="k", width=0.6)
        ax_p.set(ylim=(0, 1.12), xticks=pos, xticklabels=classes, ylabel="probability")
        ax_p.set_title("softmax(z)", fontsize=10)
        bars_g = ax_g.bar(pos, np.zeros(3), color=colors, edgecolor="k", width=0.6)
        ax_g.axhline(0, color="k", lw=0.8)
        ax_g.set(ylim=(-1.12, 1.12), xticks=pos, xticklabels=classes, ylabel="dL/dz")
        title_g = ax_g.set_title("", fontsize=10)
        for ax in (ax_p, ax_g):
            ax.grid(axis="y", alpha=0.3)
        texts_p = [ax_p.text(i, 0, "", ha="center", va="bottom", fontsize=9) for i in pos]
        texts_g = [ax_g.text(i, 0, "", ha="center", fontsize=9) for i in pos]
        animate(*bars_p, *bars_g, *texts_p, *texts_g, title_g)
        return {"bars_p": bars_p, "bars_g": bars_g, "texts_p": texts_p, "texts_g": texts_g,
                "title_g": title_g}  # fmt: skip

    def update(state: dict[str, Any], z_dog: float, z_cat: float, label: str) -> str:
        z = np.array([[z_dog, z_cat, 0.0]])
        y = np.array([classes.index(label)])
        p = softmax(z)[0]
        criterion = CrossEntropyLoss()
        loss = criterion(z, y)
        grad = criterion.backward()[0]  # (p - onehot(y)) / N with N = 1
        for i, (bar, text) in enumerate(zip(state["bars_p"], state["texts_p"], strict=True)):
            bar.set_height(p[i])
            bar.set_linewidth(3.0 if i == y[0] else 0.8)
            text.set_position((i, p[i] + 0.02))
            text.set_text(f"{p[i]:.2f}")
        for i, (bar, text) in enumerate(zip(state["bars_g"], state["texts_g"], strict=True)):
            bar.set_height(grad[i])
            bar.set_linewidth(3.0 if i == y[0] else 0.8)
            above = grad[i] >= 0
            text.set_position((i, grad[i] + (0.03 if above else -0.03)))
            text.set_verticalalignment("bottom" if above else "top")
            text.set_text(f"{grad[i]:+.2f}")
        state["title_g"].set_text(f"p - onehot({label}); loss = {loss:.3f}")
        rows = "".join(
            f"<tr><td>{'<b>' + c + '</b>' if c == label else c}</td><td>{zi:g}</td>"
            f"<td>{pi:.3f}</td><td>{gi:+.3f}</td></tr>"
            for c, zi, pi, gi in zip(classes, z[0], p, grad, strict=True)
        )
        return (
            "<table><tr><th>class</th><th>z</th><th>p</th><th>dL/dz</th></tr>"
            f"{rows}</table><p>true class: <b>{html.escape(label)}</b><br>"
            f"loss = &minus;log p<sub>{html.escape(label)}</sub> = <b>{loss:.3f}</b></p>"
        )

    z_dog, z_cat, label = default
    return InteractiveFigure(
        setup,
        update,
        [
            slider("z_dog", logit_values, default=z_dog, label="dog logit"),
            slider("z_cat", logit_values, default=z_cat, label="cat logit"),
            dropdown("label", list(classes), default=label, label="true class"),
        ],
        title="Softmax probabilities and the cross-entropy gradient",
        caption="The bug logit is fixed at 0. Left: the softmax probabilities (true class "
        "outlined). Right: the gradient of the loss with respect to each logit, p - onehot(y).",
        figsize=(6.8, 3.0),
    )
