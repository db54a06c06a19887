"""The static face of the playground: the curated runs, trained once and shown as frames.

:func:`presets_figure` trains each preset with
:class:`~nnlib.widgets.playground.session.Playground`, keeps a snapshot at each epoch of
:data:`EPOCH_GRID` and shows them as an :class:`~nnlib.widgets.core.InteractiveFigure` (a menu
over runs, a player over epochs): that is what the built book shows, without a kernel.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nnlib.widgets.core import InteractiveFigure, dropdown, player
from nnlib.widgets.playground.config import PRESETS, PlaygroundConfig
from nnlib.widgets.playground.drawing import FIGSIZE, Board, side_html
from nnlib.widgets.playground.session import Playground, Snapshot

EPOCH_GRID = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 300, 500)
"""The epochs at which the static figure shows each preset (denser at the start, where most
happens; 12 of them keep the page's 8 x 12 frames at twice the pixel density near 6 MB)."""


def presets_figure(
    presets: dict[str, str] | None = None,
    epochs: Sequence[int] = EPOCH_GRID,
    grid: int = 48,
    map_grid: int = 24,
) -> InteractiveFigure:
    """The curated runs, trained once: a menu over runs and a player over epochs.

    Each configuration of ``presets`` is trained by :class:`Playground` up to ``max(epochs)``
    and a :class:`Snapshot` is kept at each epoch of ``epochs``; the figure's frames are drawn
    from them, so the built book shows real training without a kernel.

    Args:
        presets: ``{name: config string}``; :data:`PRESETS` if None.
        epochs: the epochs shown (increasing, starting at 0).
        grid: resolution of the output map (``grid x grid`` points).
        map_grid: resolution of the small maps.

    Returns:
        An :class:`InteractiveFigure` with controls ``run`` (dropdown) and ``epoch`` (player),
        and one more attribute, ``snapshots``: ``{name: {epoch: Snapshot}}``, the runs it shows
        (so that a text can quote the very numbers its reader sees).
    """
    presets = dict(PRESETS if presets is None else presets)
    epochs = tuple(int(e) for e in epochs)
    if not epochs or epochs[0] != 0 or any(b <= a for a, b in itertools.pairwise(epochs)):
        raise ValueError(f"epochs must increase from 0, got {epochs}")
    runs: dict[str, dict[int, Snapshot]] = {}
    configs: list[PlaygroundConfig] = []
    for name, text in presets.items():
        session = Playground(text)
        configs.append(session.config)
        runs[name] = {}
        for e in epochs:
            session.step(e - session.epoch)
            runs[name][e] = session.snapshot(grid, map_grid)
    max_cols = 1 + max(len(c.layers) for c in configs)
    max_rows = max(max((len(c.features), *c.layers)) for c in configs)

    def setup(fig: Figure) -> dict[str, Any]:
        fig.set_layout_engine("none")  # the board places its axes itself
        board = Board(fig, max_cols, max_rows, log_epochs=True, max_epoch=max(epochs))
        return {"board": board, "run": None}

    def update(state: dict[str, Any], run: str, epoch: int) -> str:
        snap = runs[run][epoch]
        board = state["board"]
        if state["run"] != run:
            last = runs[run][epochs[-1]].history
            board.set_loss_limit(
                1.05 * float(max(np.max(last["train_loss"]), np.max(last["test_loss"])))
            )
            state["run"] = run
        board.show(snap)
        return side_html(snap)

    figure = InteractiveFigure(
        setup,
        update,
        [
            dropdown("run", list(presets), label="run"),
            player("epoch", epochs, label="epoch", interval_ms=450),
        ],
        title="Playground: curated runs, precomputed",
        caption=(
            "Left: the input features and every hidden unit's output over the plane (orange "
            "positive, blue negative, grey: zero everywhere); lines are the weights (orange "
            "positive, blue negative, thicker is larger). Middle: the output, p(class 1) in bands "
            "of 0.1 (or the winning class, paler where less sure), with training points filled "
            "and test points as rings. Right: training and test loss (log-scaled epochs)."
        ),
        figsize=FIGSIZE,
        static_dpi=72,
        colors=64,
    )
    figure.snapshots = runs
    return figure
