"""The interactive figures of chapter 9 (training neural networks), one module per figure.

* :mod:`~nnlib.widgets.training.initialisation`: :func:`init_explorer_figure`, the spread of
  the activations, layer by layer, of a deep net under three weight initialisations
  (:mod:`nnlib.init`) and two activations;
* :mod:`~nnlib.widgets.training.optimizers`: :func:`optimizer_race_figure`, SGD, SGD with
  momentum and Adam trained side by side on the two moons, epoch by epoch, for several learning
  rates (:func:`optimizer_race` does the work);
* :mod:`~nnlib.widgets.training.regularisation`: :func:`regularization_figure`, a big net
  overfitting a few noisy points of the two moons, with L2 weight decay and dropout set by
  sliders (:func:`regularization_runs` does the work).

Their shared colours and helpers are in :mod:`~nnlib.widgets.training._common`. Every figure
trains its networks once, when it is built; a control only moves precomputed artists, so a live
update stays well under 150 ms. The figures of chapter 11 (autoencoders) are in
:mod:`nnlib.widgets.autoencoders`.
"""

from nnlib.widgets.training.initialisation import (
    INIT_LABELS,
    deep_net,
    init_explorer_figure,
    layer_activations,
)
from nnlib.widgets.training.optimizers import (
    OPTIMIZERS,
    RaceRun,
    default_race_data,
    optimizer_race,
    optimizer_race_figure,
)
from nnlib.widgets.training.regularisation import (
    default_overfit_data,
    dropout_mlp,
    regularization_figure,
    regularization_runs,
    weight_norm,
)

__all__ = [
    "INIT_LABELS",
    "OPTIMIZERS",
    "RaceRun",
    "deep_net",
    "default_overfit_data",
    "default_race_data",
    "dropout_mlp",
    "init_explorer_figure",
    "layer_activations",
    "optimizer_race",
    "optimizer_race_figure",
    "regularization_figure",
    "regularization_runs",
    "weight_norm",
]
