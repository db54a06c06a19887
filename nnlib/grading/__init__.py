"""Checks for the autograded assignments: forward against nnlib's reference, backward against
the reference and central differences, shapes, dtypes, finiteness, no mutation of inputs, and
no use of the reference implementation of the exercise itself.

A test cell calls one check per part; a passing check returns ``None`` and prints nothing, a
failing one raises :class:`GradingError` whose message says which check failed, at which
element, expected vs got, and the likely bug (sign flipped, transposed, missing ``1/N``,
wrong axis, forgot the bias, derivative of the wrong function, not numerically stable,
float32 precision). Checks never write to stderr for correct code: nbgrader zeroes a test cell
that does, and numpy warnings would.

The generic checks live in :mod:`nnlib.grading.checks`; one module per assignment bundles
them with that assignment's data, hints and off-limits references: :mod:`~nnlib.grading.neurons`
(a1), :mod:`~nnlib.grading.regression` (a2), :mod:`~nnlib.grading.autograd` (a3),
:mod:`~nnlib.grading.layers` (a4) and :mod:`~nnlib.grading.mlp` (a5).

Example (a test cell of ``a4_layers``)::

    from nnlib import grading, modules
    X = grading.random_array((5, 4), seed=1)
    grading.check_layer(lambda: Linear(4, 3), lambda: modules.Linear(4, 3), X, "Linear(4, 3)",
                        seed=2, forbid=[modules.Linear])
"""

from __future__ import annotations

# The assignment bundles are reached as ``grading.layers.check_linear(...)`` and so on.
from nnlib.grading import autograd, checks, layers, mlp, neurons, regression
from nnlib.grading._compare import assert_close, likely_bug
from nnlib.grading._guard import (
    REFERENCE_USES,
    ReferenceUsedError,
    counts_reference_use,
    forbid_reference,
)
from nnlib.grading._safe import GradingError, as_result, as_scalar, quiet
from nnlib.grading.checks import call, numerical_gradient, random_array


def _wrap_checks() -> None:
    """Every public ``check_*`` of the bundles fails when the student's code ran a forbidden
    reference inside it, whatever the check did with the error: the grader's verdict too."""
    for module in (checks, autograd, layers, mlp, neurons, regression):
        for name, value in list(vars(module).items()):
            defined_here = getattr(value, "__module__", None) == module.__name__
            if name.startswith("check_") and callable(value) and defined_here:
                setattr(module, name, counts_reference_use(value))


_wrap_checks()
check_function = checks.check_function
check_gradient = checks.check_gradient
check_layer = checks.check_layer
check_loss = checks.check_loss

__all__ = [
    "REFERENCE_USES",
    "GradingError",
    "ReferenceUsedError",
    "as_result",
    "as_scalar",
    "assert_close",
    "autograd",
    "call",
    "check_function",
    "check_gradient",
    "check_layer",
    "check_loss",
    "forbid_reference",
    "layers",
    "likely_bug",
    "mlp",
    "neurons",
    "numerical_gradient",
    "quiet",
    "random_array",
    "regression",
]
