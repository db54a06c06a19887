"""nnlib: a small numpy library for an introductory neural-networks course.

The public API, by the chapter of the course where it appears:

- neurons and logic gates (:mod:`nnlib.neurons`), Rosenblatt's perceptron
  (:mod:`nnlib.perceptron`), linear and logistic regression (:mod:`nnlib.regression`);
- activation functions (:mod:`nnlib.functional`), layers with ``forward``/``backward``
  (:mod:`nnlib.modules`), weight initialisation (:mod:`nnlib.init`), losses
  (:mod:`nnlib.losses`), optimizers (:mod:`nnlib.optim`) and a training loop
  (:mod:`nnlib.train`);
- gradient checking (:mod:`nnlib.gradcheck`) and a scalar autograd (:mod:`nnlib.autograd`);
- toy data sets and the 8x8 digits (:mod:`nnlib.data`);
- plots (:mod:`nnlib.viz`) and the book's interactive figures (:mod:`nnlib.widgets`), which
  load matplotlib and ipywidgets only when first used, so ``import nnlib`` needs numpy alone.

Conventions: batch-first arrays; float64 by default, float32 accepted; ``Z = X @ W + b`` with
``W`` of shape ``(in_features, out_features)``; shapes in docstrings use ``N`` (batch), ``D``
(input features), ``H`` (hidden units) and ``C`` (classes).
"""

from __future__ import annotations

import importlib
from typing import Any

from nnlib import (
    autograd,
    data,
    functional,
    gradcheck,
    init,
    losses,
    modules,
    neurons,
    optim,
    perceptron,
    regression,
    train,
)
from nnlib.autograd import Value, draw_graph
from nnlib.data import (
    load_digits,
    make_and,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_1d,
    make_spirals,
    make_xor,
    train_test_split,
)
from nnlib.functional import (
    elu,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    one_hot,
    relu,
    sigmoid,
    softmax,
    softplus,
    softsign,
    tanh,
)
from nnlib.gradcheck import KinkWarning, check_loss, check_module, numerical_gradient, rel_error
from nnlib.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MAELoss, MSELoss
from nnlib.modules import (
    ELU,
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Softsign,
    Step,
    Tanh,
)
from nnlib.neurons import (
    AND,
    NAND,
    NOT,
    OR,
    ThresholdNeuron,
    step,
    truth_table,
    xor_two_layer,
    xor_with_feature,
)
from nnlib.optim import SGD, Adam
from nnlib.perceptron import ConvergenceWarning, Perceptron
from nnlib.regression import LinearRegression, LogisticRegression
from nnlib.train import History, fit

__version__ = "0.1.0"

# Sub-modules that need matplotlib or ipywidgets, imported on first attribute access.
_LAZY_MODULES = ("viz", "widgets", "grading")
_LAZY_NAMES = {
    "plot_activation": "viz",
    "plot_decision_boundary": "viz",
    "plot_history": "viz",
    "plot_linear_fit": "viz",
    "plot_truth_table": "viz",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"nnlib.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f"nnlib.{_LAZY_NAMES[name]}"), name)
    raise AttributeError(f"module 'nnlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


__all__ = [
    "AND",
    "ELU",
    "MLP",
    "NAND",
    "NOT",
    "OR",
    "SGD",
    "Adam",
    "BCELoss",
    "BCEWithLogitsLoss",
    "ConvergenceWarning",
    "CrossEntropyLoss",
    "Dropout",
    "History",
    "Identity",
    "KinkWarning",
    "LeakyReLU",
    "Linear",
    "LinearRegression",
    "LogisticRegression",
    "MAELoss",
    "MSELoss",
    "Module",
    "Parameter",
    "Perceptron",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "Step",
    "Tanh",
    "ThresholdNeuron",
    "Value",
    "autograd",
    "check_loss",
    "check_module",
    "data",
    "draw_graph",
    "elu",
    "fit",
    "functional",
    "gradcheck",
    "init",
    "leaky_relu",
    "load_digits",
    "log_sigmoid",
    "log_softmax",
    "losses",
    "make_and",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression_1d",
    "make_spirals",
    "make_xor",
    "modules",
    "neurons",
    "numerical_gradient",
    "one_hot",
    "optim",
    "perceptron",
    "regression",
    "rel_error",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "softsign",
    "step",
    "tanh",
    "train",
    "train_test_split",
    "truth_table",
    "xor_two_layer",
    "xor_with_feature",
]
