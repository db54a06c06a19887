"""Chapter 9, initialisation: how the spread of a deep net's activations depends on the init.

* :func:`init_explorer_figure`: the spread of the activations, layer by layer, of a deep net
  under three weight initialisations (:mod:`nnlib.init`) and two activations;
* :func:`deep_net` and :func:`layer_activations`, the net and the pass it is built on (the
  chapter uses them too).

The figure computes every histogram once, when it is built; a control only moves precomputed
artists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlib.modules import MLP, Linear, Sequential
from nnlib.viz import PALETTE
from nnlib.widgets.core import InteractiveFigure, animate, dropdown, slider

__all__ = ["INIT_LABELS", "deep_net", "init_explorer_figure", "layer_activations"]


#: How the figures name the initialisers of :mod:`nnlib.init`.
INIT_LABELS: dict[str, str] = {
    "normal": "normal, std 0.01",
    "xavier_normal": "Xavier (Glorot)",
    "he_normal": "He (Kaiming)",
    "xavier_uniform": "Xavier uniform",
    "zeros": "zeros",
}


def deep_net(
    depth: int, width: int, activation: str = "tanh", init: str = "xavier_normal", seed: int = 0
) -> MLP:
    """A stack of ``depth`` square layers ``Linear(width, width)``, each followed by ``activation``.

    Args:
        depth: number of layers L.
        width: units per layer, also the input size D.
        activation: a name from :data:`nnlib.modules.ACTIVATIONS`.
        init: a name from :data:`nnlib.init.INITIALIZERS`.
        seed: seed of every layer's weights.

    Returns:
        An :class:`~nnlib.modules.MLP` mapping ``(N, width)`` to ``(N, width)``.
    """
    return MLP(
        [width] * (depth + 1),
        activation=activation,
        output_activation=activation,
        init=init,
        seed=seed,
    )


def layer_activations(net: Sequential, X: np.ndarray) -> list[np.ndarray]:
    """Run ``X`` through ``net`` and keep the output of every activation layer.

    Args:
        net: a :class:`~nnlib.modules.Sequential` of ``Linear`` and activation modules.
        X: inputs of shape ``(N, D)``.

    Returns:
        One array per activation module, in order, each of shape ``(N, H_l)``.
    """
    outputs = []
    for module in net:
        X = module(X)
        if not isinstance(module, Linear):
            outputs.append(X)
    return outputs


@dataclass
class _LayerStats:
    """Per-layer summary of one net's activations (L layers, B histogram bins)."""

    edges: np.ndarray  # (B + 1,)
    hist: np.ndarray  # (L, B): fraction of the values in each bin (out-of-range values clipped)
    mean: np.ndarray  # (L,)
    std: np.ndarray  # (L,)
    special: np.ndarray  # (L,): fraction saturated (|a| > 0.99) for tanh, exactly 0 for ReLU


def _layer_stats(acts: list[np.ndarray], activation: str, bins: int) -> _LayerStats:
    lo, hi, label = (-1.0, 1.0, "tanh") if activation == "tanh" else (0.0, 4.0, "relu")
    edges = np.linspace(lo, hi, bins + 1)
    hist = np.array(
        [np.histogram(np.clip(a, lo, hi), bins=edges)[0] / a.size for a in acts], dtype=float
    )
    special = np.array(
        [np.mean(np.abs(a) > 0.99) if label == "tanh" else np.mean(a == 0) for a in acts]
    )
    return _LayerStats(
        edges,
        hist,
        np.array([a.mean() for a in acts]),
        np.array([a.std() for a in acts]),
        special,
    )


def init_explorer_figure(
    inits: Sequence[str] = ("normal", "xavier_normal", "he_normal"),
    activations: Sequence[str] = ("tanh", "relu"),
    depth: int = 10,
    width: int = 256,
    n: int = 1000,
    bins: int = 41,
    seed: int = 0,
) -> InteractiveFigure:
    """Histograms of the activations of each layer of a deep net, per initialisation.

    A batch of ``n`` standard-normal inputs goes through :func:`deep_net` (``depth`` layers of
    ``width`` units) for every pair of initialiser and activation. Left: the histogram of the
    chosen layer's outputs (the fraction of all ``n * width`` values in each bin; a bar that
    would leave the plot is cut and labelled with its height). Right: the standard deviation of
    each layer's outputs for every initialiser, on a log scale.

    Args:
        inits: initialiser names from :mod:`nnlib.init` (``"tanh"`` and ``"relu"`` layers).
        activations: ``"tanh"`` and/or ``"relu"``.
        depth: number of layers.
        width: units per layer (and input size).
        n: batch size.
        bins: histogram bins (odd, so that 0 is the centre of a tanh bin).
        seed: seed of the inputs and of the weights.

    Returns:
        An :class:`InteractiveFigure` with controls ``init``, ``activation`` and ``layer``.
    """
    for act in activations:
        if act not in ("tanh", "relu"):
            raise ValueError(f"activations must be 'tanh' or 'relu', got {act!r}")
    X = np.random.default_rng(seed).standard_normal((n, width))
    stats = {
        (init, act): _layer_stats(
            layer_activations(deep_net(depth, width, act, init, seed), X), act, bins
        )
        for init in inits
        for act in activations
    }
    layers = np.arange(1, depth + 1)
    y_max = 0.25  # histogram height shown; taller bars are cut and labelled
    all_std = np.concatenate([s.std for s in stats.values()])
    std_lo = max(float(all_std[all_std > 0].min()) / 3, 1e-300)
    std_hi = float(all_std.max()) * 3

    def setup(fig: Any) -> dict[str, Any]:
        ax, ax_std = fig.subplots(1, 2, width_ratios=[1.25, 1])
        first = next(iter(stats.values()))
        bars = ax.stairs(
            np.zeros(bins), first.edges, fill=True, color="#6b9cc8", edgecolor="#3f7fb5"
        )
        cut = ax.text(0, y_max, "", ha="left", va="top", fontsize=9, color="crimson")
        ax.set(ylim=(0, y_max), xlabel="activation value", ylabel="fraction of values")
        title = ax.set_title("", fontsize=10)
        lines = {}
        for k, init in enumerate(inits):
            (lines[init],) = ax_std.plot([], [], "o-", ms=3, color=PALETTE[k + 2], label="")
        (marker,) = ax_std.plot([], [], "o", ms=11, mfc="none", mec="k", mew=1.5)
        ax_std.set(
            yscale="log",
            xlim=(0.5, depth + 0.5),
            ylim=(std_lo, std_hi),
            xlabel="layer",
            ylabel="std of the activations",
            xticks=layers,
        )
        ax_std.grid(alpha=0.3)
        ax_std.legend([lines[i] for i in inits], [INIT_LABELS.get(i, i) for i in inits], fontsize=7)
        std_title = ax_std.set_title("", fontsize=10)
        animate(bars, cut, title, marker, std_title, *lines.values())
        return {
            "ax": ax,
            "bars": bars,
            "cut": cut,
            "title": title,
            "lines": lines,
            "marker": marker,
            "std_title": std_title,
        }

    def update(state: dict[str, Any], init: str, activation: str, layer: int) -> str:
        s = stats[(init, activation)]
        h = s.hist[layer - 1]
        state["bars"].set_data(np.minimum(h, y_max), s.edges)
        state["ax"].set_xlim(s.edges[0], s.edges[-1])
        top = int(np.argmax(h))
        if h[top] > y_max:
            state["cut"].set_position((s.edges[top + 1], y_max * 0.97))
            state["cut"].set_text(f"← {h[top]:.0%} of the values")
        else:
            state["cut"].set_text("")
        state["title"].set_text(f"{INIT_LABELS.get(init, init)}, {activation}: layer {layer}")
        for k, (name, line) in enumerate(state["lines"].items()):
            line.set_data(layers, stats[(name, activation)].std)
            line.set_linewidth(2.5 if name == init else 1.0)
            line.set_alpha(1.0 if name == init else 0.45)
            line.set_zorder(3 if name == init else 2)
            line.set_color(PALETTE[k + 2])
        state["marker"].set_data([layer], [s.std[layer - 1]])
        state["std_title"].set_text(f"{activation} layers: spread by depth")
        special = "saturated (|a| > 0.99)" if activation == "tanh" else "exactly 0"
        return (
            f"<p><b>layer {layer}</b> of {depth}<br>{INIT_LABELS.get(init, init)}, "
            f"{activation}</p>"
            f"<table><tr><th>mean</th><td>{s.mean[layer - 1]:.3g}</td></tr>"
            f"<tr><th>std</th><td>{s.std[layer - 1]:.3g}</td></tr>"
            f"<tr><th>{special}</th><td>{s.special[layer - 1]:.0%}</td></tr></table>"
        )

    return InteractiveFigure(
        setup,
        update,
        [
            dropdown("init", {INIT_LABELS.get(i, i): i for i in inits}, label="initialisation"),
            dropdown("activation", list(activations), label="activation"),
            slider("layer", list(layers), default=int(layers[-1]), label="layer"),
        ],
        title="Activations layer by layer under three initialisations",
        caption=f"A batch of {n} standard-normal inputs through {depth} layers of {width} units. "
        "Left: histogram of the chosen layer's outputs. Right: their standard deviation at "
        "every layer (log scale) for each initialisation; the ring marks the chosen layer.",
        figsize=(8.0, 3.3),
    )
