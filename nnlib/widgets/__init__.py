"""Interactive figures for the book: live ipywidgets in a kernel, precomputed frames in HTML.

The framework lives in :mod:`nnlib.widgets.core` (:class:`InteractiveFigure` and the controls
:func:`slider`, :func:`dropdown`, :func:`player`); the figures of each part of the book are built
with it in their own module (:mod:`nnlib.widgets.part1` for chapters 2 to 5).

Writing a new figure::

    from nnlib.widgets import InteractiveFigure, slider

    def setup(fig):
        ax = fig.add_subplot()
        (line,) = ax.plot([], [])
        ax.set(xlim=(-3, 3), ylim=(-0.1, 1.1))
        return line

    def update(line, k):
        x = np.linspace(-3, 3, 200)
        line.set_data(x, nnlib.functional.sigmoid(k * x))

    InteractiveFigure(setup, update, [slider("k", [0.5, 1, 2, 4])])   # end a cell with it
"""

from nnlib.widgets.core import (
    Control,
    InteractiveFigure,
    LiveView,
    StaticFrames,
    dropdown,
    player,
    slider,
    widgets_mode,
)
from nnlib.widgets.part1 import (
    BOOLEAN_FUNCTIONS,
    gradient_descent_figure,
    logistic_regression_figure,
    neuron_figure,
    perceptron_figure,
)

__all__ = [
    "BOOLEAN_FUNCTIONS",
    "Control",
    "InteractiveFigure",
    "LiveView",
    "StaticFrames",
    "dropdown",
    "gradient_descent_figure",
    "logistic_regression_figure",
    "neuron_figure",
    "perceptron_figure",
    "player",
    "slider",
    "widgets_mode",
]
