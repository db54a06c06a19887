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

A forbidden name fails every part whose check runs it: the grader's sandbox has nothing to run
in its place, and nobody gets credit for output that nnlib's reference produced. When the call
is made by another of the student's functions (their ``threshold_neuron`` calling their
``step``, which calls ``nnlib.neurons.step``), the message names that function as the root to
fix first.
"""

from __future__ import annotations

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
    """

    assignment: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every forbidden dotted name, grading's reference answers included."""
        return (*self.forbidden, GRADING_REFERENCE)


POLICIES: dict[str, Policy] = {
    policy.assignment: policy
    for policy in (
        Policy("a1_neurons", ("nnlib.neurons", "nnlib.perceptron")),
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
        ),
        Policy("a3_autograd", ("nnlib.autograd.Value",)),
        Policy("a4_layers", (*LAYERS, "nnlib.functional", "nnlib.losses")),
        Policy(
            "a5_mlp",
            (*LAYERS, "nnlib.modules.Sequential", "nnlib.optim.SGD", "nnlib.optim.Adam"),
        ),
    )
}


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
