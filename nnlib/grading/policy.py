"""Which of nnlib's names each assignment's code may not use: declared once, read everywhere.

Each assignment asks the student to write something nnlib already has (a1's threshold neuron,
a4's ``Linear`` ...). Using nnlib's version instead is reference use, and scores 0 for that
part. This module is the only place that says which names that is. Three readers share it:

- the visible checks (and so nbgrader's Validate, which runs them) disable these names while
  the student's code runs (:func:`nnlib.grading.forbid_reference`);
- the class grader (``nngrader``) gives the student's sandbox an nnlib in which these names
  exist only as stubs that raise :class:`~nnlib.grading.ReferenceUsedError`;
- the README's table of "nnlib parts you may not call", and each notebook's rules, say it
  in words (a test compares them).

A name is dotted: a module (everything it defines), a class or a function. ``allowed`` lists
names inside a forbidden module that stay usable (helpers the notebook itself imports).

*Per part* (one bug costs one part): ``exercises`` lists the student's functions and methods
(qualified names, e.g. ``"step"``, ``"Linear.backward"``) that the assignment's parts are
about. A forbidden name called from one of them counts against the part that checks it, not
against a later part that merely calls it (the student's ``threshold_neuron`` calling their
``step`` that calls ``nnlib.neurons.step`` costs the ``step`` part only). A call from any other
code of the student's (a helper, a test-cell lambda) counts against the part being checked.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

#: Grading's own answers (e.g. the gradient-descent trajectories a2 is compared with): never
#: callable from a solution, in any assignment.
GRADING_REFERENCE = "nnlib.grading._reference"

#: nnlib's layers, the things a4 and a5 ask the student to build.
LAYERS = tuple(
    f"nnlib.modules.{name}"
    for name in (
        "Linear Identity Sigmoid Tanh ReLU LeakyReLU ELU PReLU Maxout Softplus Softsign Step "
        "Softmax Dropout MLP"
    ).split()
)


@dataclass(frozen=True)
class Policy:
    """What one assignment's code may not use from nnlib.

    Attributes:
        assignment: the assignment's name (its folder under ``solutions/``).
        forbidden: dotted names of modules, classes or functions; grading's own reference
            answers are always included.
        allowed: dotted names inside a forbidden module that stay usable.
        exercises: qualified names of the student's functions and methods, one unit per
            part or less, to which a reference call is attributed (see the module's doc).
    """

    assignment: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every forbidden dotted name, grading's reference answers included."""
        return (*self.forbidden, GRADING_REFERENCE)


def _methods(classes: str, methods: str = "forward backward") -> tuple[str, ...]:
    return tuple(f"{c}.{m}" for c in classes.split() for m in methods.split())


POLICIES: dict[str, Policy] = {
    policy.assignment: policy
    for policy in (
        Policy(
            "a1_neurons",
            ("nnlib.neurons", "nnlib.perceptron"),
            exercises=tuple(
                "step threshold_neuron and_neuron or_neuron not_neuron nand_neuron "
                "add_product_feature xor_feature_neuron xor_two_layer_weights xor_with_feature "
                "xor_two_layer perceptron_update train_perceptron".split()
            ),
        ),
        Policy(
            "a2_regression",
            (
                "nnlib.regression",
                "nnlib.losses",
                "nnlib.functional.sigmoid",
                "nnlib.functional.sigmoid_grad",
                "nnlib.functional.log_sigmoid",
                "nnlib.functional.softplus",
            ),
            exercises=tuple(
                "mse mse_grad mae mae_grad normal_equation gradient_descent sigmoid log_loss "
                "log_loss_grad train_logistic_regression".split()
            ),
        ),
        Policy(
            "a3_autograd",
            ("nnlib.autograd.Value",),
            exercises=_methods("Value", "__add__ __mul__ __pow__ exp tanh sigmoid relu backward"),
        ),
        Policy(
            "a4_layers",
            (*LAYERS, "nnlib.functional", "nnlib.losses"),
            exercises=_methods("Linear ReLU Sigmoid Tanh Dropout")
            + _methods("SoftmaxCrossEntropy"),
        ),
        Policy(
            "a5_mlp",
            (*LAYERS, "nnlib.modules.Sequential", "nnlib.optim.SGD", "nnlib.optim.Adam"),
            exercises=_methods("MLP Linear ReLU", "__init__ forward backward")
            + _methods("SGD", "step"),
        ),
    )
}


@functools.cache
def exercise_names() -> frozenset[str]:
    """Every assignment's :attr:`Policy.exercises`: the student code a reference call is
    attributed to (the guard does not know which assignment a check belongs to)."""
    return frozenset(name for policy in POLICIES.values() for name in policy.exercises)


def policy_for(assignment: str) -> Policy:
    """The policy of ``assignment``; a clear error for a name no policy declares.

    Raises:
        ValueError: ``assignment`` is not one of :data:`POLICIES`.
    """
    if not isinstance(assignment, str) or assignment not in POLICIES:
        raise ValueError(
            f"no reference policy for assignment {assignment!r}: expected one of "
            f"{', '.join(sorted(POLICIES))}"
        )
    return POLICIES[assignment]
