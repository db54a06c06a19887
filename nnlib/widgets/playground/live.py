"""The live face of the playground: :class:`PlaygroundApp`, the laboratory in a kernel.

The app (ipywidgets) has a control for every setting, play/pause/step/reset, a preset menu, and
the configuration string, which also accepts a pasted one. While it plays, it trains its
:class:`~nnlib.widgets.playground.session.Playground` a few epochs per frame and redraws the
picture of :mod:`nnlib.widgets.playground.drawing` with blitting, sent to the browser as a PNG.
ipywidgets and PIL are imported only when an app is built.
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nnlib.widgets.playground.config import (
    ACTIVATIONS,
    DATASETS,
    DEFAULT_CONFIG,
    FEATURE_LABELS,
    FEATURES,
    INITS,
    MAX_CLASSES,
    MAX_LAYERS,
    MAX_UNITS,
    PRESET_CONFIGS,
    PRESETS,
    PlaygroundConfig,
    as_config,
    format_number,
)
from nnlib.widgets.playground.drawing import FIGSIZE, Board, side_html
from nnlib.widgets.playground.session import Playground, Snapshot


class _LiveCanvas:
    """A Figure with a :class:`~nnlib.widgets.playground.drawing.Board`, drawn with blitting and
    encoded as PNG for the app."""

    def __init__(self, figsize: tuple[float, float] = FIGSIZE, dpi: float = 90) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.figure = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(self.figure)
        self.board = Board(self.figure, log_epochs=False, max_epoch=50)
        self._background: Any = None
        self._key: Any = None

    def png(self, snap: Snapshot) -> bytes:
        """Draw ``snap`` and return the PNG bytes."""
        from PIL import Image

        self.board.show(snap)
        fig, canvas = self.figure, self.figure.canvas
        key = (self.board.ax_loss.get_xlim(), self.board.ax_loss.get_ylim())
        if key != self._key:
            canvas.draw()  # everything that never moves
            self._background = canvas.copy_from_bbox(fig.bbox)
            self._key = key
        else:
            canvas.restore_region(self._background)
        for artist in sorted(self.board.animated, key=lambda a: a.get_zorder()):
            fig.draw_artist(artist)
        for spine in self.board.ax_out.spines.values():  # the frame over the output image
            fig.draw_artist(spine)
        image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
        buf = io.BytesIO()
        image.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()


# The values offered by the live controls (a pasted config may add its own value to a menu).
_MENUS: dict[str, tuple[Any, ...]] = {
    "noise": tuple(round(0.05 * k, 2) for k in range(11)),
    "split": tuple(round(0.1 * k, 1) for k in range(1, 10)),
    "points": (100, 200, 500, 1000),
    "lr": (0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    "l2": (0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
    "batch": (1, 2, 5, 10, 20, 30, 50, 100, 500),
    "dropout": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
}
_SPEEDS = (1, 2, 5, 10, 20, 50)
_STYLE, _WIDTH = {"description_width": "90px"}, "260px"  # of the sliders and menus
_LABELS = {
    "data": "data",
    "noise": "noise",
    "split": "train fraction",
    "points": "points",
    "seed": "seed",
    "classes": "classes",
    "n_layers": "hidden layers",
    "act": "activation",
    "init": "init",
    "lr": "learning rate",
    "l2": "L2",
    "batch": "batch size",
    "dropout": "dropout",
}


def _options(values: Sequence[Any]) -> list[tuple[str, Any]]:
    """``(label, value)`` pairs for a menu or selection slider."""
    return [(format_number(v) if isinstance(v, float) else str(v), v) for v in values]


class PlaygroundApp:
    """The live playground (ipywidgets): a control for every setting, play/pause, step, reset,
    a preset menu, and the configuration string (edit it or paste one and press Enter).

    Any change restarts the run from epoch 0, so that the string always reproduces what is
    shown: ``Playground(app.config).step(app.session.epoch)`` trains the same network.

    Args:
        config: the starting configuration (:data:`DEFAULT_CONFIG` if None).
        epochs_per_frame: epochs trained between two redraws while playing.
        interval_ms: time between two frames of the play button.

    Attributes:
        session: the current :class:`Playground`.
        controls: the setting widgets by name: the config keys, except that ``layers`` is
            ``n_layers`` plus one slider per layer in :attr:`units` and ``features`` is one
            checkbox per feature in :attr:`feature_boxes`.
        play: the ``ipywidgets.Play`` that drives training; :attr:`speed` sets epochs per frame.
        config_text: the configuration string; :attr:`message` shows errors.
        widget: the whole app, an ``ipywidgets.VBox`` (display it).
    """

    def __init__(
        self,
        config: PlaygroundConfig | str | None = None,
        epochs_per_frame: int = 5,
        interval_ms: int = 100,
    ) -> None:
        import ipywidgets as w

        cfg = as_config(DEFAULT_CONFIG if config is None else config)
        self._syncing = False
        self._last_tick = 0.0
        self.canvas = _LiveCanvas()
        self.controls = self._make_controls(w)
        self.units = [self._slider(w, f"layer {i + 1}", 1, MAX_UNITS) for i in range(MAX_LAYERS)]
        self.feature_boxes = {
            name: w.Checkbox(
                description=FEATURE_LABELS[name], indent=False, layout=w.Layout(width="72px")
            )
            for name in FEATURES
        }
        self.presets = w.Dropdown(
            options=[("presets ...", None), *PRESETS.items()], layout=w.Layout(width="340px")
        )
        self.play = w.Play(value=0, min=0, max=10**9, interval=interval_ms, show_repeat=False)
        self.speed = w.SelectionSlider(
            options=_SPEEDS,
            value=epochs_per_frame if epochs_per_frame in _SPEEDS else 5,
            description="epochs/frame",
            layout=w.Layout(width=_WIDTH),
        )
        self.step_button = w.Button(description="step 1 epoch", layout=w.Layout(width="110px"))
        self.reset_button = w.Button(description="reset", layout=w.Layout(width="70px"))
        self.config_text = w.Text(
            description="config", continuous_update=False, layout=w.Layout(width="98%")
        )
        self.message = w.HTML()
        self.image = w.Image(format="png")
        self.side = w.HTML()

        for widget in [*self.controls.values(), *self.units, *self.feature_boxes.values()]:
            widget.observe(self._on_control, names="value")
        self.presets.observe(self._on_preset, names="value")
        self.config_text.observe(self._on_text, names="value")
        self.play.observe(self._on_tick, names="value")
        self.step_button.on_click(lambda _: self.step(1))
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = self._layout(w)
        self.set_config(cfg)

    # -- building ----------------------------------------------------------------------------------
    @staticmethod
    def _slider(w: Any, description: str, lo: int, hi: int) -> Any:
        return w.IntSlider(
            min=lo,
            max=hi,
            description=description,
            continuous_update=False,
            style=_STYLE,
            layout=w.Layout(width=_WIDTH),
        )

    def _make_controls(self, w: Any) -> dict[str, Any]:
        style, layout = _STYLE, w.Layout(width=_WIDTH)
        controls: dict[str, Any] = {}
        for key in ("data", "act", "init", "lr", "l2"):
            options = {"data": DATASETS, "act": tuple(ACTIVATIONS), "init": tuple(INITS)}
            controls[key] = w.Dropdown(
                options=_options(options.get(key) or _MENUS[key]),
                description=_LABELS[key],
                style=style,
                layout=layout,
            )
        for key in ("noise", "split", "points", "batch", "dropout"):
            controls[key] = w.SelectionSlider(
                options=_options(_MENUS[key]),
                description=_LABELS[key],
                continuous_update=False,
                style=style,
                layout=layout,
            )
        controls["classes"] = self._slider(w, "classes", 2, MAX_CLASSES)
        controls["n_layers"] = self._slider(w, "hidden layers", 0, MAX_LAYERS)
        controls["seed"] = w.BoundedIntText(
            min=0, max=2**31 - 1, description="seed", style=style, layout=layout
        )
        return controls

    def _layout(self, w: Any) -> Any:
        c = self.controls
        column = w.Layout(margin="0 14px 0 0")
        boxes = w.GridBox(
            list(self.feature_boxes.values()),
            layout=w.Layout(grid_template_columns="repeat(3, 76px)"),
        )
        data = w.VBox([c[k] for k in ("data", "classes", "noise", "split", "points", "seed")])
        net = w.VBox([w.HTML("<b>input features</b>"), boxes, c["n_layers"], *self.units])
        training = w.VBox([c[k] for k in ("act", "init", "lr", "l2", "batch", "dropout")])
        for box in (data, net, training):
            box.layout = column
        buttons = [self.play, self.step_button, self.reset_button, self.speed, self.presets]
        return w.VBox(
            [
                w.HBox(buttons),
                w.HBox([data, net, training]),
                self.config_text,
                self.message,
                w.HBox([self.image, self.side]),
            ]
        )

    # -- configuration <-> controls ----------------------------------------------------------------
    @property
    def config(self) -> PlaygroundConfig:
        """The configuration of the current run."""
        return self.session.config

    def _read_controls(self) -> PlaygroundConfig:
        """The configuration the controls show (``ValueError`` if they show an invalid one)."""
        c = self.controls
        values = {key: c[key].value for key in _LABELS if key not in ("n_layers", "classes")}
        return PlaygroundConfig(
            features=tuple(name for name, box in self.feature_boxes.items() if box.value),
            layers=tuple(s.value for s in self.units[: c["n_layers"].value]),
            classes=c["classes"].value if c["data"].value == "gaussians" else 2,
            **values,
        )

    def _write_controls(self, cfg: PlaygroundConfig) -> None:
        c = self.controls
        for key, values in _MENUS.items():
            value = getattr(cfg, key)
            if value not in values:  # a pasted config may hold a value that no menu offers
                c[key].options = _options(sorted({*values, value}))
            elif len(c[key].options) != len(values):
                c[key].options = _options(values)
            c[key].value = value
        for key in ("data", "act", "init", "seed", "classes"):
            c[key].value = getattr(cfg, key)
        c["classes"].disabled = cfg.data != "gaussians"
        c["n_layers"].value = len(cfg.layers)
        for i, slider in enumerate(self.units):
            slider.value = cfg.layers[i] if i < len(cfg.layers) else 4
            slider.layout.display = None if i < len(cfg.layers) else "none"
        for name, box in self.feature_boxes.items():
            box.value = name in cfg.features
        self.config_text.value = str(cfg)
        matching = [v for k, v in PRESETS.items() if PRESET_CONFIGS[k] == cfg]
        self.presets.value = matching[0] if matching else None

    def set_config(self, config: PlaygroundConfig | str) -> None:
        """Show ``config`` in every control and start a new run from it."""
        cfg = as_config(config)
        self._syncing = True
        try:
            self._write_controls(cfg)
        finally:
            self._syncing = False
        self.message.value = ""
        self.session = Playground(cfg)
        self.refresh()

    def _error(self, exc: Exception) -> None:
        self.message.value = f"<span style='color:#b00020'>{html.escape(str(exc))}</span>"

    # -- callbacks ---------------------------------------------------------------------------------
    def _on_control(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            cfg = self._read_controls()
        except ValueError as exc:
            self._error(exc)
            if not any(box.value for box in self.feature_boxes.values()):
                self._syncing = True
                change["owner"].value = True  # keep at least one feature
                self._syncing = False
            return
        self.set_config(cfg)

    def _on_preset(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] is not None:
            self.set_config(change["new"])

    def _on_text(self, change: dict[str, Any]) -> None:
        if self._syncing or change["new"] == str(self.config):
            return
        try:
            cfg = PlaygroundConfig.parse(change["new"])
        except (ValueError, TypeError) as exc:
            self._error(exc)
            return
        self.set_config(cfg)

    def _on_tick(self, change: dict[str, Any]) -> None:
        # While the kernel is busy the browser keeps sending ticks; skip those that queued up
        # during the last frame, so that the pause button takes effect at once.
        if time.perf_counter() - self._last_tick < 0.25 * self.play.interval / 1000:
            return
        self.tick()
        self._last_tick = time.perf_counter()

    # -- actions -----------------------------------------------------------------------------------
    def tick(self) -> None:
        """One frame of play: train ``speed`` (epochs per frame) epochs, then redraw."""
        self.step(self.speed.value)

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` more epochs and redraw."""
        self.session.step(epochs)
        self.refresh()

    def reset(self) -> None:
        """Restart the current configuration from epoch 0."""
        self.session = Playground(self.config)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the picture and the read-out for the current run."""
        snap = self.session.snapshot(60, 32)
        self.image.value = self.canvas.png(snap)
        self.side.value = side_html(snap)
        if snap.diverged:
            self._error(RuntimeError(snap.diverged))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self.widget._repr_mimebundle_()
