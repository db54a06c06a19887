"""Chapter 9, regularisation: L2 weight decay and dropout against overfitting.

* :func:`regularization_runs` trains :func:`dropout_mlp` on a few noisy points of the two moons
  (:func:`default_overfit_data`) for every pair of weight decay and dropout probability;
* :func:`regularization_figure`: a big net overfitting those points, with L2 weight decay and
  dropout set by sliders; :func:`weight_norm` is the size of its weights.

The figure trains its networks once, when it is built; a control only moves precomputed
artists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnlib.data import make_moons
from nnlib.functional import sigmoid
from nnlib.losses import BCEWithLogitsLoss
from nnlib.modules import Dropout, Linear, Module, Sequential, get_activation
from nnlib.optim import Adam
from nnlib.train import History, fit
from nnlib.widgets.core import InteractiveFigure, animate, slider
from nnlib.widgets.training._common import _BAND_NORM, _BANDS, _C0, _C1, _square_grid

__all__ = [
    "default_overfit_data",
    "dropout_mlp",
    "regularization_figure",
    "regularization_runs",
    "weight_norm",
]


def default_overfit_data(seed: int = 0) -> tuple[np.ndarray, ...]:
    """The data of chapter 9's regularisation experiments: few, noisy two moons.

    Returns:
        ``(X, y, X_val, y_val)``: 40 training points (``(40, 2)``, 0/1 targets ``(40, 1)``)
        and 200 validation points (``(200, 2)``, ``(200, 1)``), noise 0.3.
    """
    X, y = make_moons(40, noise=0.3, seed=seed)
    X_val, y_val = make_moons(200, noise=0.3, seed=seed + 1)
    return X, y[:, None].astype(float), X_val, y_val[:, None].astype(float)


def dropout_mlp(
    sizes: Sequence[int], p: float = 0.0, activation: str = "tanh", seed: int = 0
) -> Sequential:
    """An MLP with :class:`~nnlib.modules.Dropout` after every hidden activation.

    ``Linear -> act -> Dropout(p) -> ... -> Linear``. The weights are drawn as
    :class:`~nnlib.modules.MLP` draws them, so with ``p = 0`` this is ``MLP(sizes, activation,
    seed=seed)`` with identity layers inserted.

    Args:
        sizes: layer widths ``[D, H1, ..., C]``.
        p: dropout probability after each hidden layer.
        activation: hidden activation name.
        seed: seed of the weights (and, shifted, of the dropout masks).

    Returns:
        A :class:`~nnlib.modules.Sequential` mapping ``(N, D)`` to ``(N, C)``.
    """
    rng = np.random.default_rng(seed)
    layers: list[Module] = []
    for i in range(len(sizes) - 1):
        layers.append(Linear(sizes[i], sizes[i + 1], seed=rng))
        if i < len(sizes) - 2:
            layers += [get_activation(activation), Dropout(p, seed=seed + 1 + i)]
    return Sequential(*layers)


def regularization_runs(
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    weight_decays: Sequence[float],
    dropouts: Sequence[float],
    sizes: Sequence[int] = (2, 64, 64, 1),
    epochs: int = 400,
    lr: float = 0.01,
    seed: int = 0,
) -> dict[tuple[float, float], tuple[Module, History]]:
    """Train :func:`dropout_mlp` for every pair of weight decay and dropout probability.

    Each run is ``fit(net, BCEWithLogitsLoss(), Adam(net.parameters(), lr,
    weight_decay=wd), X, y, epochs, batch_size=N, validation=(X_val, y_val), seed=seed)``:
    full-batch Adam from the same initial weights.

    Args:
        X: training inputs, shape ``(N, D)``; ``y``: 0/1 targets, shape ``(N, 1)``.
        X_val: validation inputs, shape ``(M, D)``; ``y_val``: targets, shape ``(M, 1)``.
        weight_decays: the L2 coefficients lambda.
        dropouts: the dropout probabilities p.
        sizes: layer widths of the net.
        epochs: epochs per run.
        lr: Adam's learning rate.
        seed: seed of the weights, the masks and the shuffling.

    Returns:
        ``{(weight_decay, p): (trained net, History)}``.
    """
    runs = {}
    for wd in weight_decays:
        for p in dropouts:
            net = dropout_mlp(sizes, p=p, seed=seed)
            optimizer = Adam(net.parameters(), lr=lr, weight_decay=wd)
            history = fit(
                net,
                BCEWithLogitsLoss(),
                optimizer,
                X,
                y,
                epochs=epochs,
                batch_size=len(X),
                validation=(X_val, y_val),
                seed=seed,
                progress=False,
            )
            runs[(float(wd), float(p))] = (net, history)
    return runs


def weight_norm(net: Module) -> float:
    """Euclidean norm of all the weight matrices of a Sequential ``net`` (biases excluded)."""
    return float(np.sqrt(sum(np.sum(m.weight.value**2) for m in net if isinstance(m, Linear))))


def regularization_figure(
    data: tuple[np.ndarray, ...] | None = None,
    weight_decays: Sequence[float] = (0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    dropouts: Sequence[float] = (0.0, 0.2, 0.5),
    runs: dict[tuple[float, float], tuple[Module, History]] | None = None,
    resolution: int = 60,
) -> InteractiveFigure:
    """A big net fitted to 40 noisy points, with L2 weight decay and dropout on sliders.

    Left: the training points and the net's predicted probability (in eval mode, so without
    dropout). Right: the training and validation loss per epoch, the best validation loss
    marked.

    Args:
        data: ``(X, y, X_val, y_val)`` as :func:`default_overfit_data` returns.
        weight_decays: the values of the weight-decay slider.
        dropouts: the values of the dropout slider.
        runs: precomputed :func:`regularization_runs` over the same grid and data (trained
            here with the defaults if None).
        resolution: grid points per side of the probability map.

    Returns:
        An :class:`InteractiveFigure` with controls ``weight_decay`` and ``p``.
    """
    X, y, X_val, y_val = data if data is not None else default_overfit_data()
    wds = tuple(float(w) for w in weight_decays)
    ps = tuple(float(p) for p in dropouts)
    if runs is None:
        runs = regularization_runs(X, y, X_val, y_val, wds, ps)
    lo = float(np.floor(min(X.min(), X_val.min()))) - 0.25
    hi = float(np.ceil(max(X.max(), X_val.max()))) + 0.25
    grid = _square_grid(lo, hi, resolution)
    maps = {
        key: sigmoid(net(grid)).reshape(resolution, resolution)  # nets are in eval mode
        for key, (net, _) in runs.items()
    }
    every = np.concatenate([np.r_[h["loss"], h["val_loss"]] for _, h in runs.values()])
    loss_lo, loss_hi = max(float(every.min()) / 1.5, 1e-4), float(every.max()) * 1.5
    n_epochs = len(next(iter(runs.values()))[1])
    t = np.arange(1, n_epochs + 1)
    labels = y.ravel() > 0.5
    first = next(iter(runs.values()))[0]
    n_params = sum(p.value.size for p in first.parameters())
    shape = "-".join(str(m.in_features) for m in first if isinstance(m, Linear)) + "-1"

    def setup(fig: Any) -> dict[str, Any]:
        ax, ax_loss = fig.subplots(1, 2, width_ratios=[1, 1.3])
        image = ax.imshow(
            np.zeros((resolution, resolution)),
            extent=(lo, hi, lo, hi),
            origin="lower",
            cmap=_BANDS,
            norm=_BAND_NORM,
            interpolation="nearest",
        )
        dots = [
            ax.scatter(
                X[mask, 0],
                X[mask, 1],
                s=22,
                c=color,
                marker=marker,
                edgecolors="k",
                linewidths=0.6,
                zorder=3,
            )
            for mask, color, marker in ((~labels, _C0, "o"), (labels, _C1, "s"))
        ]
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xticks=[], yticks=[], aspect="equal")
        title = ax.set_title("", fontsize=9)
        (train,) = ax_loss.plot([], [], color=_C0, lw=1.5, label="training loss")
        (val,) = ax_loss.plot([], [], color=_C1, lw=1.5, ls="--", label="validation loss")
        (best,) = ax_loss.plot([], [], "v", color=_C1, ms=7, label="best validation loss")
        ax_loss.set(
            yscale="log",
            xlim=(0, n_epochs),
            ylim=(loss_lo, loss_hi),
            xlabel="epoch",
            ylabel="log-loss",
        )
        ax_loss.grid(alpha=0.3)
        ax_loss.legend(fontsize=7, loc="lower left")
        loss_title = ax_loss.set_title("", fontsize=9)
        animate(image, *dots, title, train, val, best, loss_title)
        return {
            "image": image,
            "title": title,
            "train": train,
            "val": val,
            "best": best,
            "loss_title": loss_title,
        }

    def update(state: dict[str, Any], weight_decay: float, p: float) -> str:
        net, h = runs[(weight_decay, p)]
        state["image"].set_data(maps[(weight_decay, p)])
        state["title"].set_text(f"weight decay λ = {weight_decay:g}, dropout p = {p:g}")
        val_loss = np.asarray(h["val_loss"])
        state["train"].set_data(t, h["loss"])
        state["val"].set_data(t, val_loss)
        k = int(np.argmin(val_loss))
        state["best"].set_data([k + 1], [val_loss[k]])
        state["loss_title"].set_text(
            f"after {n_epochs} epochs: training {h['loss'][-1]:.3f}, validation {val_loss[-1]:.3f}"
        )
        return (
            f"<p>after {n_epochs} epochs</p><table>"
            f"<tr><th>training loss</th><td>{h['loss'][-1]:.3f}</td></tr>"
            f"<tr><th>validation loss</th><td>{val_loss[-1]:.3f}</td></tr>"
            f"<tr><th>validation accuracy</th><td>{h['val_accuracy'][-1]:.0%}</td></tr>"
            f"<tr><th>best validation loss</th><td>{val_loss[k]:.3f} (epoch {k + 1})</td></tr>"
            f"<tr><th>‖W‖</th><td>{weight_norm(net):.1f}</td></tr></table>"
        )

    return InteractiveFigure(
        setup,
        update,
        [
            slider("weight_decay", wds, default=wds[0], label="weight decay λ"),
            slider("p", ps, default=ps[0], label="dropout p"),
        ],
        title="L2 weight decay and dropout against overfitting",
        caption=f"A {shape} tanh net ({n_params:,} parameters) trained with full-batch Adam on "
        f"{len(X)} noisy points. Colour: predicted probability of the red class (without "
        "dropout). The training loss of a net with dropout is that of the thinned nets, during "
        "training.",
        figsize=(8.4, 3.2),
    )
