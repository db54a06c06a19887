"""The playground with its two faces: :func:`playground`, what a chapter ends a cell with.

In a kernel it shows the live :class:`~nnlib.widgets.playground.live.PlaygroundApp`; in the
built book, the precomputed :func:`~nnlib.widgets.playground.static.presets_figure`; which one
(or both) follows :func:`nnlib.widgets.core.widgets_mode`. Each face is built on first use.
"""

from __future__ import annotations

from typing import Any

from nnlib.widgets.core import InteractiveFigure, widgets_mode
from nnlib.widgets.playground.config import PlaygroundConfig
from nnlib.widgets.playground.live import PlaygroundApp
from nnlib.widgets.playground.static import presets_figure


class _Playground:
    """What :func:`playground` returns: the live app in a kernel, the curated runs in the book."""

    def __init__(self, config: PlaygroundConfig | str | None, presets: dict[str, str] | None):
        self._config = config
        self._presets = presets
        self._app: PlaygroundApp | None = None
        self._figure: InteractiveFigure | None = None

    @property
    def app(self) -> PlaygroundApp:
        """The live face (built on first use)."""
        if self._app is None:
            self._app = PlaygroundApp(self._config)
        return self._app

    @property
    def figure(self) -> InteractiveFigure:
        """The static face, :func:`presets_figure` (trained on first use)."""
        if self._figure is None:
            self._figure = presets_figure(self._presets)
        return self._figure

    def __repr__(self) -> str:
        return "playground()"

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        mode = widgets_mode()
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        metadata: dict[str, Any] = {}
        if mode in ("live", "both"):
            bundle.update(self.app.widget._repr_mimebundle_())
        if mode in ("static", "both"):
            # The HTML block, and its default frame as image/png for the PDF.
            data, metadata = self.figure.static_bundle()
            bundle.update(data)
        return bundle, metadata


def playground(
    config: PlaygroundConfig | str | None = None, presets: dict[str, str] | None = None
) -> _Playground:
    """The playground with two faces: end a notebook cell with it.

    In a kernel it shows :class:`PlaygroundApp` (live training, starting from ``config``); in
    the built book it shows :func:`presets_figure` (the ``presets``, precomputed).
    """
    return _Playground(config, presets)
