"""Interactive figures for the book: live ipywidgets in a kernel, precomputed frames in HTML.

The framework lives in :mod:`nnlib.widgets.core` (:class:`InteractiveFigure` and the controls
:func:`slider`, :func:`dropdown`, :func:`player`); the figures of the book are built with it in
modules of their own: :mod:`nnlib.widgets.part1` (chapters 2 to 5), :mod:`~nnlib.widgets.networks`
(6 and 7), :mod:`~nnlib.widgets.backprop` (8), :mod:`~nnlib.widgets.training` (9),
:mod:`~nnlib.widgets.playground` (10) and :mod:`~nnlib.widgets.autoencoders` (11), plus
:mod:`~nnlib.widgets.timeline` (chapter 1's history) and :mod:`~nnlib.widgets.descent` (paths
of gradient descent on loss contours, chapters 4 and 9).

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

from nnlib.widgets.autoencoders import autoencoder_figure
from nnlib.widgets.backprop import backprop_figure
from nnlib.widgets.core import (
    Control,
    InteractiveFigure,
    LiveView,
    StaticFrames,
    animate,
    dropdown,
    player,
    slider,
    widgets_mode,
)
from nnlib.widgets.descent import loss_contour_figure, momentum_valley_figure
from nnlib.widgets.networks import activation_figure, softmax_figure, universal_approximation_figure
from nnlib.widgets.part1 import (
    BOOLEAN_FUNCTIONS,
    gradient_descent_figure,
    logistic_regression_figure,
    neuron_figure,
    perceptron_figure,
)
from nnlib.widgets.playground import (
    Playground,
    PlaygroundApp,
    PlaygroundConfig,
    playground,
    presets_figure,
)
from nnlib.widgets.timeline import history_timeline_figure
from nnlib.widgets.training import (
    init_explorer_figure,
    optimizer_race_figure,
    regularization_figure,
)

__all__ = [
    "BOOLEAN_FUNCTIONS",
    "Control",
    "InteractiveFigure",
    "LiveView",
    "Playground",
    "PlaygroundApp",
    "PlaygroundConfig",
    "StaticFrames",
    "activation_figure",
    "animate",
    "autoencoder_figure",
    "backprop_figure",
    "dropdown",
    "gradient_descent_figure",
    "history_timeline_figure",
    "init_explorer_figure",
    "logistic_regression_figure",
    "loss_contour_figure",
    "momentum_valley_figure",
    "neuron_figure",
    "optimizer_race_figure",
    "perceptron_figure",
    "player",
    "playground",
    "presets_figure",
    "regularization_figure",
    "slider",
    "softmax_figure",
    "universal_approximation_figure",
    "widgets_mode",
]
