"""Interactive figures with two faces: live ipywidgets in a kernel, precomputed frames in HTML.

A figure is written once, as two functions and a list of controls:

* ``setup(fig) -> state`` draws everything that does not move (axes, data points) on a
  matplotlib :class:`~matplotlib.figure.Figure` and returns the artists that will (any object).
* ``update(state, **values) -> str | None`` moves those artists for one combination of control
  values (``values`` maps each control's name to its value) and may return a short HTML
  fragment shown beside the picture (a truth table, a read-out of the loss).
* ``controls``: :func:`slider`, :func:`dropdown` and :func:`player` objects, each with the grid of
  values that the static face precomputes.

:class:`InteractiveFigure` then has two faces, chosen when it is displayed:

* **live** (a Jupyter kernel: JupyterLab, Binder, Colab): ipywidgets controls whose callback
  calls ``update`` on one persistent figure and sends a PNG to an ``ipywidgets.Image``;
* **static** (the built book, where no kernel runs): every combination of the grid values is
  rendered once to a small palette PNG, identical frames are stored once, and the lot is
  embedded in one self-contained HTML block with its own sliders, menus and play buttons
  driven by a few lines of inline JavaScript (no CDN, no kernel; works from ``file://``).

The face is chosen by the environment variable ``NNLIB_WIDGETS_MODE``: ``"static"``,
``"live"``, ``"both"`` (a bundle with the widget view and the HTML fallback) or ``"auto"``
(the default: live inside an IPython kernel, static elsewhere). The book's Sphinx extension
sets it to ``"static"`` before the chapters run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

__all__ = [
    "Control",
    "InteractiveFigure",
    "LiveView",
    "StaticFrames",
    "animate",
    "count",
    "dropdown",
    "player",
    "slider",
    "widgets_mode",
]

MODES = ("auto", "live", "static", "both")
MIN_SCALE = 0.75
"""The smallest fraction of its CSS size to which a narrow screen shrinks a static frame."""
_KINDS = ("slider", "dropdown", "player")


def count(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1: ``count(1, "step") == "1 step"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def animate(*artists: Any) -> None:
    """Mark the artists that a figure's ``update`` changes: each update redraws only them.

    The live face then blits: it restores the static background and draws these artists on it,
    instead of drawing the whole figure again (most of the 150 ms budget on a slow machine).
    """
    for artist in artists:
        artist.set_animated(True)


# --- controls --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Control:
    """One control of an interactive figure and the grid of values it can take.

    Build it with :func:`slider`, :func:`dropdown` or :func:`player`.

    Attributes:
        name: keyword under which ``update`` receives the value.
        values: the grid of values, a tuple (the static face renders one frame for each).
        labels: how each value is shown to the reader, a tuple of str of the same length.
        default: index into ``values`` of the initial value.
        label: text shown next to the control.
        kind: ``"slider"``, ``"dropdown"`` or ``"player"`` (a slider with a play button).
        interval_ms: time between two frames when a player plays.
        unit: what the value counts (e.g. ``"epochs"``), read out by screen readers after it.
    """

    name: str
    values: tuple
    labels: tuple[str, ...]
    default: int
    label: str
    kind: str
    interval_ms: int = 500
    unit: str = ""

    def value_text(self, index: int) -> str:
        """The value at ``index`` as a screen reader says it: its label and the unit."""
        return f"{self.labels[index]} {self.unit}".strip()

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"control name must be a Python identifier, got {self.name!r}")
        if self.kind not in _KINDS:
            raise ValueError(f"control kind must be one of {_KINDS}, got {self.kind!r}")
        if len(self.values) == 0:
            raise ValueError(f"control {self.name!r} needs at least one value, got none")
        if len(self.labels) != len(self.values):
            raise ValueError(
                f"control {self.name!r} has {len(self.values)} values but {len(self.labels)} labels"
            )
        if not 0 <= self.default < len(self.values):
            raise ValueError(
                f"control {self.name!r}: default index {self.default} is outside "
                f"0..{len(self.values) - 1}"
            )

    @property
    def default_value(self) -> Any:
        """The initial value, ``values[default]``."""
        return self.values[self.default]


def _format(fmt: str, value: Any) -> str:
    """``fmt.format(value)`` for numbers, ``str(value)`` for anything the format rejects."""
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _default_index(name: str, values: tuple, default: Any) -> int:
    if default is None:
        return 0
    for i, v in enumerate(values):
        if v == default or (isinstance(v, float) and np.isclose(v, default)):
            return i
    raise ValueError(f"control {name!r}: default {default!r} is not one of its values {values}")


def slider(
    name: str,
    values: Sequence[float],
    *,
    default: float | None = None,
    label: str | None = None,
    fmt: str = "{:g}",
    unit: str = "",
) -> Control:
    """A slider over a grid of numbers.

    Args:
        name: keyword passed to ``update``.
        values: the grid, e.g. ``np.linspace(-1, 1, 5)``; the static face renders one frame per
            value (times the other controls' values), so keep it short (3 to 15 values).
        default: the initial value (one of ``values``; the first one if None).
        label: text next to the slider (``name`` if None).
        fmt: format of the displayed value.
        unit: what the value counts, read out after it (``aria-valuetext``), e.g. ``"units"``.

    Returns:
        A :class:`Control`.
    """
    vals = tuple(float(v) if isinstance(v, (float, np.floating)) else v for v in values)
    labels = tuple(_format(fmt, v) for v in vals)
    index = _default_index(name, vals, default)
    return Control(name, vals, labels, index, label or name, "slider", unit=unit)


def dropdown(
    name: str,
    options: Sequence[Any] | dict[str, Any],
    *,
    default: Any = None,
    label: str | None = None,
) -> Control:
    """A menu of choices.

    Args:
        name: keyword passed to ``update``.
        options: a list of values (shown with ``str``) or a dict ``{shown label: value}``.
        default: the initial value (the first one if None).
        label: text next to the menu (``name`` if None).

    Returns:
        A :class:`Control`.
    """
    if isinstance(options, dict):
        labels, vals = tuple(str(k) for k in options), tuple(options.values())
    else:
        vals = tuple(options)
        labels = tuple(str(v) for v in vals)
    return Control(
        name, vals, labels, _default_index(name, vals, default), label or name, "dropdown"
    )


def player(
    name: str,
    values: Sequence[int],
    *,
    default: int | None = None,
    label: str | None = None,
    interval_ms: int = 500,
    fmt: str = "{:g}",
    unit: str = "",
) -> Control:
    """A slider with a play button that steps through its values, e.g. training epochs.

    Args:
        name: keyword passed to ``update``.
        values: the steps in order (they need not be evenly spaced).
        default: the initial value (the first one if None).
        label: text next to the slider (``name`` if None).
        interval_ms: pause between two frames while playing.
        fmt: format of the displayed value.
        unit: what the value counts, read out after it (``aria-valuetext``), e.g. ``"epochs"``.

    Returns:
        A :class:`Control`.
    """
    vals = tuple(values)
    labels = tuple(_format(fmt, v) for v in vals)
    return Control(
        name,
        vals,
        labels,
        _default_index(name, vals, default),
        label or name,
        "player",
        int(interval_ms),
        unit,
    )


# --- mode -------------------------------------------------------------------------------------
def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_mode() -> str:
    """The face that interactive figures show: ``"live"``, ``"static"`` or ``"both"``.

    Read from ``NNLIB_WIDGETS_MODE``; ``"auto"`` (or unset) means live inside an IPython kernel
    and static anywhere else.

    Raises:
        ValueError: ``NNLIB_WIDGETS_MODE`` holds an unknown value.
    """
    mode = os.environ.get("NNLIB_WIDGETS_MODE", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"NNLIB_WIDGETS_MODE must be one of {MODES}, got {mode!r}")
    if mode == "auto":
        return "live" if _in_kernel() else "static"
    return mode


# --- rendering helpers ------------------------------------------------------------------------
def _encode_png(fig: Figure, colors: int | None) -> bytes:
    """Encode what the canvas holds as PNG.

    With ``colors``, the image is quantised to a palette of at most that many colours and
    compressed hard (3-4x smaller files, for the static frames); without, it is compressed
    lightly (fast, for the live face).
    """
    from PIL import Image  # Pillow is a dependency of matplotlib

    image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    buf = io.BytesIO()
    if colors is None:
        image.save(buf, format="PNG", compress_level=1)
    else:
        # Fast octree quantisation, then zlib at its default level: at twice the pixel density,
        # median cut and zlib level 9 (or ``optimize``) cost 4x the time for 8 % fewer bytes.
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
        image.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI (the built book replaces it by a file beside the page)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_size(png: bytes) -> tuple[int, int]:
    """``(width, height)`` in pixels of a PNG, read from its header.

    Raises:
        ValueError: ``png`` is not a PNG.
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError(f"expected PNG bytes, got bytes starting with {png[:16]!r}")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


@dataclass
class StaticFrames:
    """Every frame of a figure's grid, de-duplicated.

    Frame ``k`` is the combination of control indices ``np.unravel_index(k, shape)`` (the last
    control varies fastest). ``images[frame_image[k]]`` is its PNG and ``htmls[frame_html[k]]``
    its HTML fragment.

    Attributes:
        shape: number of values of each control, a tuple of ints.
        images: distinct PNG images, a list of bytes.
        htmls: distinct HTML fragments, a list of str.
        frame_image: for each frame, the index of its image, a list of ints.
        frame_html: for each frame, the index of its HTML fragment, a list of ints.
    """

    shape: tuple[int, ...]
    images: list[bytes] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    frame_image: list[int] = field(default_factory=list)
    frame_html: list[int] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        """Number of frames, the product of ``shape``."""
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        """Total size of the distinct images in bytes."""
        return sum(len(b) for b in self.images)

    def frame_index(self, indices: Sequence[int]) -> int:
        """Flat frame number of one combination of control indices."""
        return int(np.ravel_multi_index(tuple(indices), self.shape))

    def image(self, indices: Sequence[int]) -> bytes:
        """The PNG of one combination of control indices."""
        return self.images[self.frame_image[self.frame_index(indices)]]

    def html(self, indices: Sequence[int]) -> str:
        """The HTML fragment of one combination of control indices."""
        return self.htmls[self.frame_html[self.frame_index(indices)]]


# The slider's geometry in the static face's CSS (in em of the controls' text): the track's
# length between the thumb's two extreme centres, and a tick label's character width and the
# least room between two labels (monospace at 0.75em).
TRACK_EM = 12.0 - 1.1
TICK_CHAR_EM = 0.75 * 0.6
TICK_GAP_EM = 0.8


def _ticks_fit(labels: Sequence[str], indices: Sequence[int], n: int) -> bool:
    """Whether the labels at ``indices`` (of ``n`` slider positions) stand apart on the track."""
    for a, b in itertools.pairwise(indices):
        room = TRACK_EM * (b - a) / (n - 1)
        need = TICK_CHAR_EM * (len(labels[a]) + len(labels[b])) / 2 + TICK_GAP_EM
        if room < need:
            return False
    return True


def _tick_labels(control: Control) -> list[int]:
    """Indices of the values to write under a slider: as many as fit, if unevenly spaced.

    A slider moves by index, so evenly spaced values need no marks (the ends and the read-out
    say it all); for others (epochs 0, 1, 2, 5, 10, 50, ...) the reader sees where they lie.
    Every ``step``-th value is written, the ends always, with the smallest step whose labels do
    not overlap on the track (the last regular one gives way to the end if they would).
    Returns ``[]`` for dropdowns, short or non-numeric grids and even spacing.
    """
    values = control.values
    numeric = all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in values
    )
    if control.kind == "dropdown" or len(values) < 3 or not numeric:
        return []
    steps = np.diff(np.asarray(values, dtype=float))
    if np.allclose(steps, steps[0], rtol=1e-6, atol=1e-12):
        return []
    n = len(values)
    for step in range(1, n):
        ticks = [*range(0, n - 1, step), n - 1]
        if len(ticks) > 2 and not _ticks_fit(control.labels, ticks[-2:], n):
            ticks.pop(-2)
        if _ticks_fit(control.labels, ticks, n):
            return ticks
    return [0, n - 1] if _ticks_fit(control.labels, [0, n - 1], n) else [0]


# The static face's controller. It finds its figure by id, reads the frame table from the JSON
# script beside it, and swaps the image (and HTML fragment) whenever a control moves. Written as
# plain ES5 so that it runs in any browser without a build step.
_CONTROLLER_JS = r"""
(function () {
  var root = document.getElementById("%(id)s");
  if (!root || root.getAttribute("data-nnlib-ready")) { return; }
  root.setAttribute("data-nnlib-ready", "1");
  var data = JSON.parse(root.querySelector("script.nnlib-frames").textContent);
  var img = root.querySelector("img.nnlib-frame");
  var side = root.querySelector(".nnlib-side");
  var inputs = root.querySelectorAll("[data-nnlib-control]");
  var strides = [], s = 1;
  for (var i = data.shape.length - 1; i >= 0; i--) { strides[i] = s; s *= data.shape[i]; }
  function show() {
    var k = 0, shown = [];
    for (var i = 0; i < inputs.length; i++) {
      var j = parseInt(inputs[i].value, 10);
      k += j * strides[i];
      var out = root.querySelector('output[data-for="' + inputs[i].id + '"]');
      if (out) { out.textContent = data.labels[i][j]; }
      if (inputs[i].type === "range") {
        inputs[i].setAttribute("aria-valuetext", data.valuetexts[i][j]);
      }
      shown.push(data.names[i] + " = " + data.labels[i][j]);
    }
    img.src = data.images[data.frame_image[k]];
    img.alt = data.title + " (" + shown.join(", ") + ")";
    if (side) { side.innerHTML = data.htmls[data.frame_html[k]]; }
    root.setAttribute("data-nnlib-frame", String(k));
    ahead(k);
  }
  // Frames are plain image URLs: data: URIs in a notebook, files beside the page in the built
  // book (book/_ext/nnlib_book.py moves them out). A file loads when first shown; once the
  // reader touches the figure, the frames one control move away are fetched ahead.
  var touched = false, fetched = {};
  function ahead(k) {
    if (!touched) { return; }
    for (var i = 0; i < strides.length; i++) {
      var j = Math.floor(k / strides[i]) %% data.shape[i];
      for (var v = 0; v < data.shape[i]; v++) {
        var url = data.images[data.frame_image[k + (v - j) * strides[i]]];
        if (fetched[url] || url.slice(0, 5) === "data:") { continue; }
        fetched[url] = 1;
        (new Image()).src = url;
      }
    }
  }
  function touch() {
    if (touched) { return; }
    touched = true;
    ahead(parseInt(root.getAttribute("data-nnlib-frame"), 10));
  }
  root.addEventListener("pointerdown", touch);
  root.addEventListener("focusin", touch);
  function bindPlay(button) {
    var input = document.getElementById(button.getAttribute("data-target"));
    var timer = null;
    function stop() { clearInterval(timer); timer = null; button.textContent = "\u25B6"; }
    button.addEventListener("click", function () {
      if (timer) { stop(); return; }
      if (parseInt(input.value, 10) >= parseInt(input.max, 10)) { input.value = 0; show(); }
      button.textContent = "\u275A\u275A";
      timer = setInterval(function () {
        var v = parseInt(input.value, 10);
        if (v >= parseInt(input.max, 10)) { stop(); return; }
        input.value = v + 1; show();
      }, parseInt(button.getAttribute("data-interval"), 10));
    });
  }
  for (var i = 0; i < inputs.length; i++) {
    inputs[i].addEventListener("input", show);
    inputs[i].addEventListener("change", show);
  }
  var buttons = root.querySelectorAll("button.nnlib-play");
  for (var i = 0; i < buttons.length; i++) { bindPlay(buttons[i]); }
  show();
})();
"""

_STYLE = """
.nnlib-figure{border:1px solid #d0d7de;border-radius:6px;padding:.6em .8em;margin:1em 0;
  max-width:100%;overflow-x:auto;text-align:left}
.nnlib-figure .nnlib-controls{display:flex;flex-wrap:wrap;gap:.4em 1.4em;margin-bottom:.5em;
  font-size:.9em;align-items:center}
.nnlib-figure .nnlib-controls label{display:inline-flex;align-items:center;gap:.4em}
.nnlib-figure .nnlib-controls output{min-width:3.2em;font-family:monospace}
.nnlib-figure .nnlib-controls button{min-width:2.4em;cursor:pointer}
.nnlib-figure .nnlib-range{position:relative;display:inline-block;padding-bottom:1.2em}
.nnlib-figure .nnlib-range input{width:12em;margin:0}
.nnlib-figure input:focus-visible,.nnlib-figure select:focus-visible,
.nnlib-figure button:focus-visible{outline:3px solid #0969da;outline-offset:2px}
.nnlib-figure .nnlib-ticks span{position:absolute;bottom:0;transform:translateX(-50%);
  font-size:.75em;line-height:1;color:#57606a;font-family:monospace}
.nnlib-figure .nnlib-body{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.nnlib-figure img.nnlib-frame{max-width:100%;height:auto}
.nnlib-figure .nnlib-side{font-size:.9em}
.nnlib-figure .nnlib-side table{border-collapse:collapse}
.nnlib-figure .nnlib-side td,.nnlib-figure .nnlib-side th{border:1px solid #d0d7de;
  padding:.1em .5em;text-align:center}
.nnlib-figure .nnlib-caption{font-size:.9em;color:#57606a;margin-top:.4em}
@media (max-width:600px){
.nnlib-figure{padding:.5em}
.nnlib-figure .nnlib-controls{flex-direction:column;align-items:flex-start;font-size:1em}
.nnlib-figure .nnlib-controls label{flex-wrap:wrap;max-width:100%}
.nnlib-figure .nnlib-controls select{max-width:100%;min-width:0}
.nnlib-figure img.nnlib-frame{min-width:0!important;width:100%}
.nnlib-figure .nnlib-side{max-width:100%;overflow-x:auto}
}
"""


# --- the figure -------------------------------------------------------------------------------
class InteractiveFigure:
    """A figure driven by controls, shown live in a kernel and as precomputed frames in HTML.

    Args:
        setup: ``setup(fig) -> state``, called once on a fresh matplotlib Figure; draws what
            does not move and returns whatever ``update`` needs (the artists to move). If None,
            ``update`` receives the Figure itself and must redraw it from scratch (``fig.clf()``
            first); that is simpler but slower.
        update: ``update(state, **values) -> str | None``; ``values`` has one keyword per
            control. Returns an optional HTML fragment shown beside the picture.
        controls: the :class:`Control` objects, in display order.
        title: a short description, used as the image's alt text.
        caption: a sentence shown under the figure (HTML allowed).
        figsize: matplotlib figure size in inches.
        dpi: resolution of the live face.
        static_dpi: CSS pixels per inch of the static frames: the page shows a frame
            ``figsize * static_dpi`` CSS pixels large (lower keeps pages small).
        colors: palette size of the static frames' PNGs (None keeps full colour).
        pixel_ratio: image pixels per CSS pixel of the static frames (2: sharp on phones and
            high-density screens; each frame has ``pixel_ratio**2`` times the pixels).

    Raises:
        ValueError: two controls share a name, or there are no controls.
    """

    def __init__(
        self,
        setup: Callable[[Figure], Any] | None,
        update: Callable[..., str | None],
        controls: Sequence[Control],
        *,
        title: str = "Interactive figure",
        caption: str | None = None,
        figsize: tuple[float, float] = (6.4, 3.6),
        dpi: float = 90,
        static_dpi: float = 72,
        colors: int | None = 96,
        pixel_ratio: float = 2.0,
    ) -> None:
        self.controls = tuple(controls)
        if not self.controls:
            raise ValueError("an interactive figure needs at least one control, got none")
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"control names must be unique, got {names}")
        self._setup = setup
        self._update = update
        self.title = title
        self.caption = caption
        self.figsize = figsize
        self.dpi = dpi
        self.static_dpi = static_dpi
        self.colors = colors
        if not pixel_ratio >= 1:
            raise ValueError(f"pixel_ratio must be at least 1, got {pixel_ratio!r}")
        self.pixel_ratio = float(pixel_ratio)
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.state = setup(self.figure) if setup is not None else self.figure
        self._frames: StaticFrames | None = None
        self._laid_out = False
        self._background: Any = None
        self._background_key: Any = None
        self._animated: list[Any] = []
        self.last_html: str | None = None

    def __repr__(self) -> str:
        names = ", ".join(f"{c.name}[{len(c.values)}]" for c in self.controls)
        return f"InteractiveFigure({self.title!r}, controls=({names}))"

    # -- one frame --
    @property
    def defaults(self) -> dict[str, Any]:
        """The initial value of every control, by name."""
        return {c.name: c.default_value for c in self.controls}

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of grid values of each control."""
        return tuple(len(c.values) for c in self.controls)

    def render(self, **values: Any) -> str | None:
        """Update the persistent figure to ``values`` (missing controls take their default).

        Returns:
            The HTML fragment returned by ``update`` (None if it returned nothing).

        Raises:
            TypeError: a keyword names no control.
        """
        unknown = set(values) - {c.name for c in self.controls}
        if unknown:
            raise TypeError(
                f"unknown control(s) {sorted(unknown)}; this figure has "
                f"{[c.name for c in self.controls]}"
            )
        merged = {**self.defaults, **values}
        self.last_html = self._update(self.state, **merged)
        if not self._laid_out:
            # Lay the figure out once, at its defaults, then keep the axes where they are: the
            # constrained layout costs more than the rest of an update, and frames whose axes
            # jump by a pixel from one slider position to the next look jittery.
            self.figure.canvas.draw()
            self.figure.set_layout_engine("none")
            self._laid_out = True
        return self.last_html

    def draw(self, dpi: float | None = None) -> None:
        """Draw the figure on its canvas, blitting when ``setup`` marked artists as animated.

        Drawing axes, ticks and labels costs most of an update, and they rarely change. So the
        artists that ``setup`` marked with ``set_animated(True)`` (the ones ``update`` moves)
        are drawn over a saved picture of everything else. That background is redrawn only
        when the resolution or some axis limits change (and so is the list of animated artists:
        mark them in ``setup``, not in ``update``). Animated artists are drawn in z-order
        above all static ones, so a figure that animates an image under its data should animate
        the data too.
        """
        fig = self.figure
        if dpi is not None and fig.dpi != dpi:
            fig.dpi = dpi
        canvas = fig.canvas
        key = (fig.dpi, tuple((ax.get_xlim(), ax.get_ylim()) for ax in fig.axes))
        if self._setup is None or key != self._background_key:
            # Walking the artist tree costs as much as drawing a frame: the animated artists
            # (marked in ``setup``) are looked up again only when the background is redrawn.
            self._animated = sorted(
                fig.findobj(lambda a: a is not fig and a.get_animated()),
                key=lambda a: a.get_zorder(),
            )
        animated = self._animated
        if not animated:
            canvas.draw()
            self._background_key = None
            return
        if key != self._background_key:
            canvas.draw()  # everything but the animated artists
            self._background = canvas.copy_from_bbox(fig.bbox)
            self._background_key = key
        else:
            canvas.restore_region(self._background)
        for artist in animated:
            fig.draw_artist(artist)
        for ax in {a.axes for a in animated if isinstance(a, AxesImage)}:
            for spine in ax.spines.values():  # keep the frame on top of an animated image
                fig.draw_artist(spine)

    def png(self, *, static: bool = False) -> bytes:
        """Draw the current state and return it as PNG bytes.

        With ``static``, a palette PNG at ``static_dpi * pixel_ratio`` (a static frame);
        otherwise a full-colour PNG at ``dpi`` (the live face).
        """
        self.draw(self.static_dpi * self.pixel_ratio if static else self.dpi)
        return _encode_png(self.figure, self.colors if static else None)

    def css_size(self) -> tuple[int, int]:
        """``(width, height)`` in CSS pixels at which the static face shows its frames."""
        width, height = png_size(self.frames().images[0])
        return round(width / self.pixel_ratio), round(height / self.pixel_ratio)

    def default_png(self) -> bytes:
        """The static frame of the controls' defaults (what a printed page shows)."""
        frames = self.frames()
        return frames.image([c.default for c in self.controls])

    # -- static face --
    def grid(self) -> Iterator[tuple[tuple[int, ...], dict[str, Any]]]:
        """Every combination of control values: ``(indices, values)``, last control fastest."""
        for indices in itertools.product(*(range(len(c.values)) for c in self.controls)):
            yield (
                indices,
                {c.name: c.values[i] for c, i in zip(self.controls, indices, strict=True)},
            )

    def frames(self) -> StaticFrames:
        """Render every grid combination once (cached) and return the de-duplicated frames."""
        if self._frames is not None:
            return self._frames
        frames = StaticFrames(self.shape)
        image_ids: dict[bytes, int] = {}
        html_ids: dict[str, int] = {}
        for _, values in self.grid():
            fragment = self.render(**values) or ""
            png = self.png(static=True)
            key = hashlib.sha1(png).digest()
            if key not in image_ids:
                image_ids[key] = len(frames.images)
                frames.images.append(png)
            if fragment not in html_ids:
                html_ids[fragment] = len(frames.htmls)
                frames.htmls.append(fragment)
            frames.frame_image.append(image_ids[key])
            frames.frame_html.append(html_ids[fragment])
        self.render()  # leave the live figure at the defaults
        self._frames = frames
        return frames

    def to_html(self) -> str:
        """The static face: one self-contained HTML block (frames, controls and controller)."""
        frames = self.frames()
        fig_id = "nnlib-fig-" + uuid.uuid4().hex[:10]
        payload = {
            "title": self.title,
            "shape": list(frames.shape),
            "names": [c.label for c in self.controls],
            "labels": [list(c.labels) for c in self.controls],
            "valuetexts": [[c.value_text(j) for j in range(len(c.values))] for c in self.controls],
            "images": [_data_uri(b) for b in frames.images],
            "htmls": frames.htmls,
            "frame_image": frames.frame_image,
            "frame_html": frames.frame_html,
        }
        # "</" inside a script element would end it early; JSON allows escaping the slash.
        data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
        default_k = frames.frame_index([c.default for c in self.controls])
        first_png = payload["images"][frames.frame_image[default_k]]
        first_html = frames.htmls[frames.frame_html[default_k]]
        parts = [f'<div class="nnlib-figure" id="{fig_id}">', f"<style>{_STYLE}</style>"]
        parts.append('<div class="nnlib-controls">')
        for i, c in enumerate(self.controls):
            parts.append(self._control_html(fig_id, i, c))
        parts.append("</div>")
        parts.append('<div class="nnlib-body">')
        width, height = self.css_size()
        # Shown at its CSS size, or narrower on a narrow screen, down to MIN_SCALE of it (the
        # fonts stay legible); below that the figure's box scrolls sideways.
        parts.append(
            f'<img class="nnlib-frame" src="{first_png}" loading="lazy" decoding="async" '
            f'width="{width}" height="{height}" style="min-width:{round(MIN_SCALE * width)}px" '
            f'alt="{html.escape(self.title)}">'
        )
        has_side = any(frames.htmls)
        if has_side:
            parts.append(f'<div class="nnlib-side">{first_html}</div>')
        parts.append("</div>")
        if self.caption:
            parts.append(f'<div class="nnlib-caption">{self.caption}</div>')
        parts.append(f'<script type="application/json" class="nnlib-frames">{data}</script>')
        parts.append(f"<script>{_CONTROLLER_JS % {'id': fig_id}}</script>")
        parts.append("</div>")
        return "\n".join(parts)

    @staticmethod
    def _control_html(fig_id: str, i: int, c: Control) -> str:
        cid = f"{fig_id}-c{i}"
        label = html.escape(c.label)
        if c.kind == "dropdown":
            options = "".join(
                f'<option value="{j}"{" selected" if j == c.default else ""}>'
                f"{html.escape(lab)}</option>"
                for j, lab in enumerate(c.labels)
            )
            return (
                f'<label for="{cid}">{label} <select id="{cid}" data-nnlib-control="{c.name}">'
                f"{options}</select></label>"
            )
        play = ""
        if c.kind == "player":
            play = (
                f'<button type="button" class="nnlib-play" data-target="{cid}" '
                f'data-interval="{c.interval_ms}" aria-label="play {label}">&#9654;</button>'
            )
        ticks = _tick_labels(c)
        slider_html = (
            f'<input type="range" id="{cid}" data-nnlib-control="{c.name}" min="0" '
            f'max="{len(c.values) - 1}" step="1" value="{c.default}" aria-label="{label}" '
            f'aria-valuetext="{html.escape(c.value_text(c.default))}">'
        )
        if ticks:
            # Unevenly spaced values (e.g. epochs 0, 1, 2, 5, 10, 50...): a few of them are
            # written under the track, where the thumb stands for them.
            marks = "".join(
                f'<span style="left:calc(8px + (100% - 16px) * {j / (len(c.values) - 1):.4f})">'
                f"{html.escape(c.labels[j])}</span>"
                for j in ticks
            )
            slider_html = (
                f'<span class="nnlib-range">{slider_html}'
                f'<span class="nnlib-ticks" aria-hidden="true">{marks}</span></span>'
            )
        return (
            f'<label for="{cid}">{play}{label} {slider_html}'
            f'<output data-for="{cid}">{html.escape(c.labels[c.default])}</output></label>'
        )

    # -- live face --
    def live(self) -> LiveView:
        """Build the live face: ipywidgets controls wired to this figure."""
        return LiveView(self)

    def static_bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The static face as a mime bundle and its metadata.

        ``text/html`` is the interactive block (what HTML pages show); ``image/png`` is the
        default frame, with its CSS size in the metadata (what the LaTeX/PDF builder, which
        cannot run scripts, prints instead).
        """
        width, height = self.css_size()
        data = {"text/html": self.to_html(), "image/png": self.default_png()}
        return data, {"image/png": {"width": width, "height": height}}

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        mode = widgets_mode()
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        metadata: dict[str, Any] = {}
        if mode in ("live", "both"):
            bundle.update(self.live().widget._repr_mimebundle_())
        if mode in ("static", "both"):
            data, metadata = self.static_bundle()
            bundle.update(data)
        return bundle, metadata

    def show(self) -> None:
        """Display the figure in the current mode (same as ending a cell with it)."""
        from IPython.display import display

        display(self)


class LiveView:
    """The live face of an :class:`InteractiveFigure`: ipywidgets controls, image, side HTML.

    Moving a control calls :meth:`refresh`, which updates the figure and replaces the PNG.
    Sliders and players move over the same grid as the static face, so both faces show the same
    frames.

    Attributes:
        figure: the :class:`InteractiveFigure`.
        controls: the ipywidgets control of each figure control, by name.
        image: the ``ipywidgets.Image`` holding the current PNG.
        side: the ``ipywidgets.HTML`` holding the current HTML fragment.
        widget: the whole face, an ``ipywidgets.VBox`` (display it).
    """

    def __init__(self, figure: InteractiveFigure) -> None:
        import ipywidgets as w

        self.figure = figure
        self.controls: dict[str, Any] = {}
        rows = []
        for c in figure.controls:
            options = list(zip(c.labels, c.values, strict=True))
            style = {"description_width": "initial"}
            if c.kind == "dropdown":
                ctl = w.Dropdown(options=options, index=c.default, description=c.label, style=style)
                rows.append(ctl)
            else:
                ctl = w.SelectionSlider(
                    options=options,
                    index=c.default,
                    description=c.label,
                    continuous_update=True,
                    style=style,
                    layout=w.Layout(width="320px"),
                )
                if c.kind == "player":
                    play = w.Play(
                        min=0, max=len(c.values) - 1, value=c.default, interval=c.interval_ms
                    )
                    # The Play widget counts indices; the slider shows the matching value.
                    w.jslink((play, "value"), (ctl, "index"))
                    rows.append(w.HBox([play, ctl]))
                else:
                    rows.append(ctl)
            ctl.observe(self._on_change, names="value")
            self.controls[c.name] = ctl
        self.image = w.Image(format="png")
        self.side = w.HTML()
        self.widget = w.VBox(
            [w.HBox(rows, layout=w.Layout(flex_flow="row wrap")), w.HBox([self.image, self.side])]
        )
        self.refresh()

    @property
    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: ctl.value for name, ctl in self.controls.items()}

    def _on_change(self, change: dict[str, Any]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Redraw the figure for the current control values (the controls' callback)."""
        fragment = self.figure.render(**self.values)
        self.image.value = self.figure.png()
        self.side.value = fragment or ""
