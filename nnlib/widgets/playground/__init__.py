"""The playground of chapter 10: a small TensorFlow Playground built on nnlib.

Three layers, each usable without the next, in modules with one job each:

* :mod:`~nnlib.widgets.playground.config`: :class:`PlaygroundConfig` is the whole configuration
  of a run (data set, noise, split, input features, hidden layers, activation, learning rate,
  L2, batch size, dropout, initialisation, seed, classes, points). It reads and writes one short
  string that a reader can copy::

      data=spirals noise=0.05 split=0.5 features=x1,x2 layers=8,8 act=tanh lr=0.1 l2=0
      batch=10 dropout=0 init=xavier seed=0 classes=2 points=500

  The module also holds the vocabulary (:data:`DATASETS`, :data:`FEATURES`, :data:`ACTIVATIONS`,
  :data:`INITS`) and the curated :data:`PRESETS`.
* :mod:`~nnlib.widgets.playground.session`: :class:`Playground` is one run: it draws the points
  with :mod:`nnlib.data` (:func:`make_points`), computes the input features
  (:func:`feature_matrix`), builds an :class:`nnlib.modules.MLP` and trains it epoch by epoch
  with :func:`nnlib.train.fit` and :class:`nnlib.optim.SGD`; :class:`Snapshot` is what a figure
  draws at one epoch. No matplotlib, no widgets.
* The two faces of the figure, both drawn by :mod:`~nnlib.widgets.playground.drawing`.
  :func:`presets_figure` (:mod:`~nnlib.widgets.playground.static`) trains the curated
  :data:`PRESETS` once and shows them as an :class:`~nnlib.widgets.core.InteractiveFigure` (a
  menu over runs, a player over epochs): that is what the built book shows.
  :class:`PlaygroundApp` (:mod:`~nnlib.widgets.playground.live`) is the live laboratory in a
  kernel: a control for every setting, play/pause/step/reset, a preset menu, and the
  configuration string, which also accepts a pasted one. :func:`playground`
  (:mod:`~nnlib.widgets.playground.faces`) returns an object that shows the app in a kernel and
  the precomputed presets in the book.

Every picture has the same parts: the input features and each hidden unit's output as small
maps over the plane (lines between them are the weights, orange positive, blue negative, width
the magnitude), the network's output over the plane with the training points (filled) and test
points (rings), and the training and test loss over the epochs.
"""

from nnlib.widgets.playground.config import (
    ACTIVATIONS,
    DATASETS,
    DEFAULT_CONFIG,
    FEATURES,
    INITS,
    PRESETS,
    PlaygroundConfig,
)
from nnlib.widgets.playground.faces import playground
from nnlib.widgets.playground.live import PlaygroundApp
from nnlib.widgets.playground.session import Playground, Snapshot, feature_matrix, make_points
from nnlib.widgets.playground.static import EPOCH_GRID, presets_figure

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "DEFAULT_CONFIG",
    "EPOCH_GRID",
    "FEATURES",
    "INITS",
    "PRESETS",
    "Playground",
    "PlaygroundApp",
    "PlaygroundConfig",
    "Snapshot",
    "feature_matrix",
    "make_points",
    "playground",
    "presets_figure",
]
