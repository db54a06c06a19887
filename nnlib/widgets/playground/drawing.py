"""The playground's picture, drawn with matplotlib; shared by the static and the live face.

:class:`Board` puts every artist of the picture on a matplotlib Figure once and moves them to
the state of a :class:`~nnlib.widgets.playground.session.Snapshot`: the input features and
each hidden unit's output as small maps over the plane (lines between them are the weights,
orange positive, blue negative, width the magnitude), the network's output over the plane with
the training points (filled) and test points (rings), and the training and test loss over the
epochs. :func:`side_html` is the read-out printed beside the picture.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb
from matplotlib.figure import Figure

from nnlib.widgets.playground.config import FEATURE_LABELS, FEATURES, MAX_LAYERS, MAX_UNITS
from nnlib.widgets.playground.session import BOX, Snapshot

# The book's class colours (class 0 blue circles, class 1 orange squares in earlier chapters).
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
_CLASS_RGB = np.array([to_rgb(c) for c in CLASS_COLORS])  # (6, 3)
_BLUES = ["#2b6ca3", "#4a8bc2", "#7aadd6", "#a9cbe6", "#d6e6f3"]
_ORANGES = ["#fde3c8", "#fcc690", "#f9a65a", "#ef8430", "#d9620b"]
# Ten bands from blue (class 0 / negative) to orange (class 1 / positive): banded colours make
# the maps easy to read and their PNGs small.
# Grey ("bad", i.e. NaN) marks a unit whose output is 0 everywhere, such as a dead ReLU.
_BANDS = ListedColormap(_BLUES + _ORANGES).with_extremes(bad="#eeeeee")
_BAND_NORM = BoundaryNorm(np.linspace(0.0, 1.0, 11), 10)
# Where the parts of the picture go (figure fractions): the maps, the output, the loss.
_MAPS_X, _MAPS_Y = (0.065, 0.5), (0.14, 0.88)
_OUT_BOX = (0.545, 0.19, 0.27, 0.64)
FIGSIZE = (10.0, 4.8)
"""Size in inches of the playground's picture (both faces)."""
# The output map is paler, so that the points on it stay visible.
_PALE_BANDS = ListedColormap(0.4 + 0.6 * np.array([to_rgb(c) for c in _BLUES + _ORANGES]))


def _output_rgb(probs: np.ndarray) -> np.ndarray:
    """Colour of the output map: bands of p(class 1) for two classes; for more, the winning
    class's colour, paler where the winner is less sure. ``(n, n, C) -> (n, n, 3)``."""
    n_classes = probs.shape[-1]
    if n_classes == 2:
        return _PALE_BANDS(_BAND_NORM(probs[..., 1]))[..., :3]
    winner = probs.argmax(axis=-1)
    confidence = (probs.max(axis=-1) - 1.0 / n_classes) / (1.0 - 1.0 / n_classes)
    strength = 0.1 + 0.4 * np.floor(np.clip(confidence, 0, 0.999) * 5) / 4  # five bands
    base = _CLASS_RGB[winner]
    return 1.0 - strength[..., None] * (1.0 - base)


def _unit_image(values: np.ndarray) -> np.ndarray:
    """Scale one map to [0, 1] symmetrically around 0 (0.5 is zero); NaN if it is all zero."""
    top = float(np.max(np.abs(values)))
    if top < 1e-9:
        return np.full(values.shape, np.nan)
    return 0.5 + 0.5 * values / top


class Board:
    """The artists of the playground picture on a matplotlib Figure, and how to move them.

    Every artist that ever changes is animated (see
    :meth:`nnlib.widgets.core.InteractiveFigure.draw`): the map axes show nothing else (no spines,
    no patch), so they can be moved and hidden freely. The figure holds slots for ``max_cols``
    columns (inputs plus hidden layers) of ``max_rows`` maps.
    """

    def __init__(
        self,
        fig: Figure,
        max_cols: int = 1 + MAX_LAYERS,
        max_rows: int = max(MAX_UNITS, len(FEATURES)),
        log_epochs: bool = False,
        max_epoch: int = 50,
    ) -> None:
        self.fig = fig
        self.log_epochs = log_epochs
        self.max_epoch = max_epoch
        self.animated: list[Any] = []
        self.slots: list[list[tuple[Any, Any]]] = []
        for _ in range(max_cols):
            column = []
            for _ in range(max_rows):
                ax = fig.add_axes((0, 0, 0.01, 0.01))
                ax.set_axis_off()
                ax.patch.set_visible(False)
                for spine in ax.spines.values():
                    spine.set_visible(False)
                image = ax.imshow(
                    np.zeros((2, 2)),
                    extent=(-BOX, BOX, -BOX, BOX),
                    origin="lower",
                    cmap=_BANDS,
                    norm=_BAND_NORM,
                    interpolation="nearest",
                    visible=False,
                )
                column.append((ax, image))
                self.animated.append(image)
            self.slots.append(column)
        self.headers = [fig.text(0, 0.93, "", ha="center", fontsize=10) for _ in range(max_cols)]
        self.labels = [
            fig.text(0, 0, "", ha="right", va="center", fontsize=9.5) for _ in range(max_rows)
        ]
        # Without antialiasing the lines are a little jagged, but the PNGs shrink by a third.
        self.edges = LineCollection([], transform=fig.transFigure, antialiased=False, zorder=1)
        fig.add_artist(self.edges)
        self.animated += [*self.headers, *self.labels, self.edges]

        ax = self.ax_out = fig.add_axes(_OUT_BOX)
        self.out_image = ax.imshow(
            np.ones((2, 2, 3)), extent=(-BOX, BOX, -BOX, BOX), origin="lower",
            interpolation="nearest",
        )  # fmt: skip
        self.train_dots = ax.scatter([], [], s=13, linewidths=0.5, edgecolors="k", zorder=3)
        self.test_dots = ax.scatter([], [], s=13, linewidths=1.0, facecolors="white", zorder=3)
        ax.set(xlim=(-BOX, BOX), ylim=(-BOX, BOX), xticks=[-5, 0, 5], yticks=[-5, 0, 5])
        ax.tick_params(labelsize=9, length=2, labelleft=False)
        self.out_title = ax.set_title("", fontsize=10.5)
        self.animated += [self.out_image, self.train_dots, self.test_dots, self.out_title]
        self._legends(fig)

        ax = self.ax_loss = fig.add_axes((0.875, 0.24, 0.11, 0.6))
        (self.train_line,) = ax.plot([], [], color="0.15", lw=1.4, label="train")
        (self.test_line,) = ax.plot([], [], color="#9467bd", lw=1.4, ls="--", label="test")
        if log_epochs:
            ax.set_xscale("symlog", linthresh=1.0, linscale=0.4)
            ax.set_xticks([0, 1, 10, 100])
        ax.set_xlim(0, max_epoch)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=9, length=2)
        ax.set_xlabel("epoch", fontsize=9.5, labelpad=1)
        ax.set_title("loss", fontsize=10.5)
        ax.legend(fontsize=9, loc="upper right", frameon=False, handlelength=1.6)
        ax.grid(alpha=0.3)
        self.animated += [self.train_line, self.test_line]
        for artist in self.animated:
            artist.set_animated(True)
        self._key: Any = None

    def _legends(self, fig: Figure) -> None:
        """Colour keys under the maps (a unit's value) and under the output (the classes)."""
        x0, x1 = _MAPS_X
        width = min(0.3, x1 - x0)
        left = x0 + (x1 - x0 - width) / 2
        ax = fig.add_axes((left, 0.045, width, 0.035))
        ax.imshow(np.linspace(0.05, 0.95, 10)[None, :], cmap=_BANDS, norm=_BAND_NORM,
                  aspect="auto", extent=(0, 10, 0, 1))  # fmt: skip
        ax.set(xticks=[0, 5, 10], xticklabels=["-max", "0", "+max"], yticks=[])
        ax.tick_params(labelsize=8.5, length=2, pad=1)
        ax.set_title("unit output (grey: zero everywhere)", fontsize=8.5, pad=2)
        # The output's key depends on the number of classes: an animated image and labels.
        box = _OUT_BOX
        ax = self.ax_key = fig.add_axes((box[0], 0.045, box[2], 0.035))
        ax.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[])
        self.key_image = ax.imshow(np.ones((1, 2, 3)), extent=(0, 1, 0, 1), aspect="auto")
        self.key_labels = [
            ax.text(0, -0.25, "", ha="center", va="top", fontsize=8.5, transform=ax.transAxes)
            for _ in range(max(3, len(CLASS_COLORS)))
        ]
        self.key_title = ax.set_title("", fontsize=8.5, pad=2)
        self.animated += [self.key_image, *self.key_labels, self.key_title]

    def _set_key(self, n_classes: int) -> None:
        """The output's colour key: bands of p(class 1), or one colour per class."""
        if n_classes == 2:
            strip = _PALE_BANDS(np.arange(10))[None, :, :3]
            marks = [(0.0, "0"), (0.5, "0.5"), (1.0, "1")]
            title = "p(class 1): blue class 0, orange class 1"
        else:
            strip = 1.0 - 0.5 * (1.0 - _CLASS_RGB[None, :n_classes])
            marks = [((k + 0.5) / n_classes, f"class {k}") for k in range(n_classes)]
            title = "winning class (paler: less sure)"
        self.key_image.set_data(strip)
        for i, text in enumerate(self.key_labels):
            x, label = marks[i] if i < len(marks) else (0.0, "")
            text.set_x(x)
            text.set_text(label)
        self.key_title.set_text(title)

    # -- layout of the maps ------------------------------------------------------------------
    def _layout(self, n_features: int, layers: tuple[int, ...]) -> list[list[tuple]]:
        """Rectangles (figure fractions) of the maps: one list per column, inputs first."""
        width, height = self.fig.get_size_inches()
        counts = [n_features, *layers]
        (x0, x1), (y0, y1) = _MAPS_X, _MAPS_Y
        pitch_x = (x1 - x0) / len(counts)
        pitch_y = (y1 - y0) / max(counts)
        side = min(0.6 * pitch_x * width, 0.9 * pitch_y * height, 1.1)  # inches
        step_y = min(pitch_y, 1.18 * side / height)
        w, h = side / width, side / height
        rects = []
        for j, k in enumerate(counts):
            cx = x0 + (j + 0.5) * pitch_x
            mid = (y0 + y1) / 2
            rects.append(
                [(cx - w / 2, mid + ((k - 1) / 2 - i) * step_y - h / 2, w, h) for i in range(k)]
            )
        return rects

    def _arrange(self, snap: Snapshot) -> None:
        """Place and label the maps, draw the feature maps and the points, for a new run."""
        cfg = snap.config
        self.rects = self._layout(len(cfg.features), cfg.layers)
        for j, column in enumerate(self.slots):
            for i, (ax, image) in enumerate(column):
                used = j < len(self.rects) and i < len(self.rects[j])
                image.set_visible(used)
                if used:
                    ax.set_position(self.rects[j][i])
        for j, text in enumerate(self.headers):
            if j < len(self.rects):
                top = max(r[1] + r[3] for r in self.rects[j])
                text.set_position((self.rects[j][0][0] + self.rects[j][0][2] / 2, top + 0.02))
                units = len(self.rects[j])
                text.set_text("inputs" if j == 0 else f"layer {j}\n{units} unit{'s' * (units > 1)}")
            else:
                text.set_text("")
        for i, text in enumerate(self.labels):
            if i < len(cfg.features):
                x, y, _, h = self.rects[0][i]
                text.set_position((x - 0.004, y + h / 2))
                text.set_text(FEATURE_LABELS[cfg.features[i]])
            else:
                text.set_text("")
        self.train_dots.set_offsets(snap.points_train)
        self.train_dots.set_facecolors(_CLASS_RGB[snap.labels_train])
        self.test_dots.set_offsets(snap.points_test)
        self.test_dots.set_edgecolors(_CLASS_RGB[snap.labels_test])
        for i, values in enumerate(snap.features):
            self.slots[0][i][1].set_data(_unit_image(values))
        self._set_key(cfg.classes)

    def _edges(self, weights: list[np.ndarray]) -> None:
        """One line per weight between map columns (and into the output plot), width |w|."""
        segments, colors, widths = [], [], []
        out_box = self.ax_out.get_position()
        target = [(out_box.x0, out_box.y0 + out_box.height / 2)]
        for j, W in enumerate(weights):
            left = [(x + w, y + h / 2) for x, y, w, h in self.rects[j]]
            last = j == len(weights) - 1
            right = target if last else [(x, y + h / 2) for x, y, w, h in self.rects[j + 1]]
            pooled = last and W.shape[1] > 1
            if pooled:  # C softmax outputs, one line per unit: grey, width the RMS weight
                W = np.linalg.norm(W, axis=1, keepdims=True) / np.sqrt(W.shape[1])
            for a, start in enumerate(left):
                for b, end in enumerate(right):
                    value = float(W[a, b])
                    segments.append((start, end))
                    sign = _ORANGES[2] if value > 0 else _BLUES[2]
                    colors.append("#9a9a9a" if pooled else sign)
                    widths.append(0.1 + 0.5 * min(abs(value), 3.0))
        self.edges.set_segments(segments)
        self.edges.set_colors(colors)
        self.edges.set_linewidths(widths)

    def show(self, snap: Snapshot) -> None:
        """Move every artist to the state of ``snap``."""
        key = str(snap.config)
        if key != self._key:
            self._arrange(snap)
            self._key = key
        for j, maps in enumerate(snap.hidden, start=1):
            for i, values in enumerate(maps):
                self.slots[j][i][1].set_data(_unit_image(values))
        self._edges(snap.weights)
        self.out_image.set_data(_output_rgb(snap.output))
        hist = snap.history
        epochs = np.arange(len(hist["train_loss"]))
        self.train_line.set_data(epochs, hist["train_loss"])
        self.test_line.set_data(epochs, hist["test_loss"])
        if not self.log_epochs and snap.epoch > self.max_epoch:  # the live face: grow in steps
            while self.max_epoch < snap.epoch:
                self.max_epoch *= 2
            self.ax_loss.set_xlim(0, self.max_epoch)
        top = float(np.nanmax(np.concatenate([hist["train_loss"], hist["test_loss"]])))
        high = self.ax_loss.get_ylim()[1]
        if top > high or (not self.log_epochs and top < 0.4 * high):
            self.ax_loss.set_ylim(0, _nice_ceiling(1.1 * top))
        self.out_title.set_text(
            f"epoch {snap.epoch}: test loss {hist['test_loss'][-1]:.3f}, "
            f"accuracy {hist['test_accuracy'][-1]:.0%}"
        )

    def set_loss_limit(self, top: float) -> None:
        """Fix the loss axis to ``[0, top]`` (the static face: the whole run fits)."""
        self.ax_loss.set_ylim(0, _nice_ceiling(top))


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= x (x > 0)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(x))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= x - 1e-12))


def side_html(snap: Snapshot) -> str:
    """The read-out beside the picture: losses, accuracies and the configuration string."""
    h = snap.history
    rows = "".join(
        f"<tr><th>{name}</th><td>{h[name + '_loss'][-1]:.3f}</td>"
        f"<td>{h[name + '_accuracy'][-1]:.1%}</td><td>{n}</td></tr>"
        for name, n in (("train", len(snap.labels_train)), ("test", len(snap.labels_test)))
    )
    loss = "binary cross-entropy" if snap.config.classes == 2 else "softmax cross-entropy"
    note = f"<p><b>{html.escape(snap.diverged)}</b></p>" if snap.diverged else ""
    return (
        f"<p><b>epoch {snap.epoch}</b></p>"
        f"<table><tr><th></th><th>loss</th><th>accuracy</th><th>points</th></tr>{rows}</table>"
        f"<p style='font-size:.85em'>loss: {loss}<br>network: "
        f"{'-'.join(map(str, snap.config.sizes))}</p>{note}"
        f"<p style='font-size:.8em;max-width:24em'>config (copy it to rerun):<br>"
        f"<code style='word-break:break-word;user-select:all'>{html.escape(str(snap.config))}"
        "</code></p>"
    )
