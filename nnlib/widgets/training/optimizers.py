"""Chapter 9, optimizers: SGD, SGD with momentum and Adam racing on the two moons.

* :func:`optimizer_race` trains the same seeded net with each optimizer of :data:`OPTIMIZERS`
  at several learning rates and keeps snapshots of its predictions (:class:`RaceRun`);
* :func:`optimizer_race_figure`: the three nets trained side by side, epoch by epoch, for each
  learning rate, on :func:`default_race_data`.

The figure trains its networks once, when it is built; a control only moves precomputed
artists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlib.data import make_moons
from nnlib.functional import sigmoid
from nnlib.losses import BCEWithLogitsLoss
from nnlib.modules import MLP, Module, Parameter
from nnlib.optim import SGD, Adam, Optimizer
from nnlib.train import fit
from nnlib.viz import PALETTE
from nnlib.widgets.core import InteractiveFigure, animate, player, slider
from nnlib.widgets.training._common import _BAND_NORM, _BANDS, _C0, _C1, _square_grid

__all__ = [
    "OPTIMIZERS",
    "RaceRun",
    "default_race_data",
    "optimizer_race",
    "optimizer_race_figure",
]


#: The three optimizers of the race, each built from ``(parameters, learning rate)``.
OPTIMIZERS: dict[str, Callable[[list[Parameter], float], Optimizer]] = {
    "SGD": lambda params, lr: SGD(params, lr=lr),
    "SGD + momentum": lambda params, lr: SGD(params, lr=lr, momentum=0.9),
    "Adam": lambda params, lr: Adam(params, lr=lr),
}


@dataclass
class RaceRun:
    """One optimizer's run in :func:`optimizer_race`.

    Attributes:
        loss: the training loss recorded by :func:`~nnlib.train.fit` in each epoch, shape
            ``(E,)``.
        accuracy: the training accuracy after each epoch, shape ``(E,)``.
        maps: ``{epoch: p}``, the probability of class 1 on the figure's grid after that many
            epochs (0: the initial net), each of shape ``(G, G)``.
        net: the trained network.
    """

    loss: np.ndarray
    accuracy: np.ndarray
    maps: dict[int, np.ndarray] = field(default_factory=dict)
    net: Module | None = None


def default_race_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The data of the optimizer race: 300 points of the two moons, noise 0.2.

    Returns:
        ``(X, y)`` with ``X`` of shape ``(300, 2)`` and float 0/1 targets of shape ``(300, 1)``.
    """
    X, y = make_moons(300, noise=0.2, seed=seed)
    return X, y[:, None].astype(float)


def optimizer_race(
    X: np.ndarray,
    y: np.ndarray,
    lrs: Sequence[float],
    epochs: int,
    snapshots: Sequence[int] = (),
    sizes: Sequence[int] = (2, 16, 16, 1),
    activation: str = "tanh",
    batch_size: int = 32,
    seed: int = 0,
    grid: np.ndarray | None = None,
) -> dict[tuple[float, str], RaceRun]:
    """Train the same seeded net with each optimizer of :data:`OPTIMIZERS` at each learning rate.

    Each run is ``fit(net, BCEWithLogitsLoss(), optimizer, X, y, epochs, batch_size,
    seed=seed)``, done one epoch at a time (with one shared shuffling generator, so the result
    is the same as one call) to take snapshots of the predicted probabilities.

    Args:
        X: inputs of shape ``(N, 2)``.
        y: 0/1 targets of shape ``(N, 1)``.
        lrs: learning rates.
        epochs: epochs per run E.
        snapshots: epochs after which to evaluate the net on ``grid`` (0: before training).
        sizes: layer widths of the :class:`~nnlib.modules.MLP`.
        activation: its hidden activation.
        batch_size: minibatch size.
        seed: seed of the weights and of the shuffling (the same for every run).
        grid: points of shape ``(G * G, 2)`` for the snapshots (needed if ``snapshots``).

    Returns:
        ``{(lr, optimizer name): RaceRun}``.
    """
    runs = {}
    loss = BCEWithLogitsLoss()
    side = round(np.sqrt(len(grid))) if grid is not None else 0
    wanted = set(snapshots)
    if wanted and grid is None:
        raise ValueError("snapshots need a grid of points to evaluate the net on")
    for lr in lrs:
        for name, make in OPTIMIZERS.items():
            net = MLP(list(sizes), activation=activation, seed=seed)
            optimizer = make(net.parameters(), lr)
            shuffler = np.random.default_rng(seed)  # fit draws each epoch's order from it
            run = RaceRun(np.zeros(epochs), np.zeros(epochs), net=net)
            net.eval()
            if 0 in wanted:
                run.maps[0] = sigmoid(net(grid)).reshape(side, side)
            for epoch in range(1, epochs + 1):
                h = fit(
                    net,
                    loss,
                    optimizer,
                    X,
                    y,
                    epochs=1,
                    batch_size=batch_size,
                    seed=shuffler,
                    progress=False,
                )
                run.loss[epoch - 1] = h["loss"][0]
                run.accuracy[epoch - 1] = h["accuracy"][0]
                if epoch in wanted:
                    run.maps[epoch] = sigmoid(net(grid)).reshape(side, side)
            runs[(float(lr), name)] = run
    return runs


def optimizer_race_figure(
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    lrs: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0),
    epochs: Sequence[int] = (0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 60, 80, 100),
    sizes: Sequence[int] = (2, 16, 16, 1),
    activation: str = "tanh",
    batch_size: int = 32,
    seed: int = 0,
    resolution: int = 60,
) -> InteractiveFigure:
    """SGD, SGD with momentum 0.9 and Adam on the same net and data, epoch by epoch.

    For each learning rate, :func:`optimizer_race` trains one seeded MLP (2-16-16-1, tanh, by
    default) with each optimizer. Three panels show each net's predicted probability (in bands
    of 0.1) after the chosen number of epochs; the fourth shows the three training-loss curves.

    Args:
        X: inputs of shape ``(N, 2)``; :func:`default_race_data` if None.
        y: 0/1 targets of shape ``(N, 1)``.
        lrs: learning rates offered by the slider (the same for all three optimizers).
        epochs: the epochs the player steps through; the last one is the length of the runs.
        sizes: layer widths of the :class:`~nnlib.modules.MLP`.
        activation: its hidden activation.
        batch_size: minibatch size.
        seed: seed of the weights and of the shuffling.
        resolution: grid points per side of the probability maps.

    Returns:
        An :class:`InteractiveFigure` with controls ``lr`` and ``epoch``.
    """
    if X is None or y is None:
        X, y = default_race_data()
    epochs = tuple(int(e) for e in epochs)
    lrs = tuple(float(lr) for lr in lrs)
    lo = float(np.floor(X.min())) - 0.5
    hi = float(np.ceil(X.max())) + 0.5
    grid = _square_grid(lo, hi, resolution)
    runs = optimizer_race(
        X, y, lrs, max(epochs), epochs, sizes, activation, batch_size, seed=seed, grid=grid
    )
    names = list(OPTIMIZERS)
    labels = y.ravel() > 0.5
    every = np.concatenate([r.loss for r in runs.values()])
    loss_lo, loss_hi = float(every.min()) / 1.5, float(every.max()) * 1.5
    t = np.arange(1, max(epochs) + 1)

    def setup(fig: Any) -> dict[str, Any]:
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.25])
        maps, titles, dots = [], [], []
        for ax, name in zip(axes[:3], names, strict=True):
            maps.append(
                ax.imshow(
                    np.zeros((resolution, resolution)),
                    extent=(lo, hi, lo, hi),
                    origin="lower",
                    cmap=_BANDS,
                    norm=_BAND_NORM,
                    interpolation="nearest",
                )
            )
            for mask, color, marker in ((~labels, _C0, "o"), (labels, _C1, "s")):
                dots.append(
                    ax.scatter(
                        X[mask, 0],
                        X[mask, 1],
                        s=6,
                        c=color,
                        marker=marker,
                        edgecolors="k",
                        linewidths=0.2,
                        zorder=3,
                    )
                )
            ax.set(xlim=(lo, hi), ylim=(lo, hi), xticks=[], yticks=[], aspect="equal")
            titles.append(ax.set_title(name, fontsize=9))
        ax_loss = axes[3]
        full, done, marks = [], [], []
        for k, name in enumerate(names):
            color = PALETTE[k + 2]
            full.append(ax_loss.plot([], [], color=color, lw=1, alpha=0.3)[0])
            done.append(ax_loss.plot([], [], color=color, lw=2, label=name)[0])
            marks.append(ax_loss.plot([], [], "o", color=color, ms=5)[0])
        ax_loss.set(
            yscale="log",
            xlim=(0, max(epochs)),
            ylim=(loss_lo, loss_hi),
            xlabel="epoch",
            title="training loss",
        )
        ax_loss.title.set_fontsize(9)
        ax_loss.grid(alpha=0.3)
        ax_loss.legend(fontsize=7, loc="lower left")
        animate(*maps, *dots, *titles, *full, *done, *marks)
        return {"maps": maps, "titles": titles, "full": full, "done": done, "marks": marks}

    def update(state: dict[str, Any], lr: float, epoch: int) -> str:
        rows = []
        for k, name in enumerate(names):
            run = runs[(lr, name)]
            state["maps"][k].set_data(run.maps[epoch])
            state["full"][k].set_data(t, run.loss)
            state["done"][k].set_data(t[:epoch], run.loss[:epoch])
            if epoch:
                state["marks"][k].set_data([epoch], [run.loss[epoch - 1]])
                loss_text = f"{run.loss[epoch - 1]:.3f}"
                acc_text = f"{run.accuracy[epoch - 1]:.0%}"
                state["titles"][k].set_text(f"{name}\nloss {loss_text}, acc. {acc_text}")
            else:
                state["marks"][k].set_data([], [])
                loss_text = acc_text = "–"
                state["titles"][k].set_text(f"{name}\nbefore training")
            rows.append(f"<tr><td>{name}</td><td>{loss_text}</td><td>{acc_text}</td></tr>")
        return (
            f"<p>learning rate <b>{lr:g}</b>, epoch <b>{epoch}</b></p>"
            "<table><tr><th>optimizer</th><th>loss</th><th>accuracy</th></tr>"
            + "".join(rows)
            + "</table>"
        )

    default_lr = 0.1 if 0.1 in lrs else lrs[len(lrs) // 2]
    return InteractiveFigure(
        setup,
        update,
        [
            slider("lr", lrs, default=default_lr, label="learning rate"),
            player("epoch", epochs, default=epochs[-1], label="epoch", interval_ms=500),
        ],
        title="SGD, momentum and Adam on the two moons",
        caption=f"The same {'-'.join(map(str, sizes))} {activation} net, the same data and "
        f"the same minibatches ({batch_size}), trained with three optimizers at one learning "
        "rate. Colour: predicted probability of "
        "the red class, in steps of 0.1. Right: the training loss per epoch (log scale).",
        figsize=(10.0, 2.9),
    )
