"""A tiny course for the instructor's tools: two graded parts, one of them per-student.

Assignment ``pv`` (4 points): ``grad_mse`` (test_grad_mse, 2 points: the gradient of the mean
squared error, checked with :func:`nnlib.grading.assert_close`, whose message names the likely
bug such as a missing ``1/N``) and ``affine`` (test_affine, 2 points: ``FACTOR * x + OFFSET``
with ``FACTOR`` and ``OFFSET`` drawn per student). The parameter cell is a plain code cell
marked ``metadata.nnlib.variant``; the notebook's ``metadata.nnlib.variants`` declares how each
parameter is drawn (see :mod:`nngrader.host.variants`).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys

import nbformat
import pytest
from hostile.course import venv_env

#: The class grader's sandbox: tests that grade skip, saying why, where bubblewrap is missing.
NEEDS_SANDBOX = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
)
#: Short limits, no progress bar, two local workers: what a tiny test class needs.
FAST = ["--timeout", "10", "--test-timeout", "10", "--no-progress", "--jobs", "2"]
ASSIGNMENT = "pv"
NOTEBOOK = "pv"
POINTS = {"test_grad_mse": 2.0, "test_affine": 2.0}
MAX_SCORE = sum(POINTS.values())
SPEC = {
    "FACTOR": {"choice": [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]},
    "OFFSET": {"randint": [1, 50]},
}
PARAMETERS = "# Your parameters (drawn for your student id)\nFACTOR = 3.0\nOFFSET = 1"

GRAD_MSE = (
    "def grad_mse(y_hat, y):\n    ### BEGIN SOLUTION\n    return 2 * (y_hat - y) / y.shape[0]\n"
    "    ### END SOLUTION"
)
AFFINE = (
    "def affine(x):\n    ### BEGIN SOLUTION\n    return FACTOR * x + OFFSET\n    ### END SOLUTION"
)
TESTS = {
    "test_grad_mse": '''"""grad_mse is the gradient of the mean squared error (2 points)"""
y_hat, y = np.arange(4.0), np.array([1.0, -1.0, 0.5, 2.0])
grading.assert_close(grad_mse(y_hat, y), 2 * (y_hat - y) / 4, "grad_mse", batch=4)
### BEGIN HIDDEN TESTS
y_hat, y = np.linspace(-1, 1, 6), np.linspace(2, 0, 6)
grading.assert_close(grad_mse(y_hat, y), 2 * (y_hat - y) / 6, "grad_mse (hidden)", batch=6)
### END HIDDEN TESTS''',
    "test_affine": '''"""affine uses your FACTOR and OFFSET (2 points)"""
x = np.array([0.0, 1.0, -2.0])
grading.assert_close(affine(x), FACTOR * x + OFFSET, "affine")
### BEGIN HIDDEN TESTS
x = np.linspace(-3, 3, 7)
grading.assert_close(affine(x), FACTOR * x + OFFSET, "affine (hidden)")
### END HIDDEN TESTS''',
}
#: Correct answers as a student writes them (no solution markers).
CORRECT = {
    "grad_mse": "def grad_mse(y_hat, y):\n    return 2 * (y_hat - y) / y.shape[0]",
    "affine": "def affine(x):\n    return FACTOR * x + OFFSET",
}
#: The classic bug: the sum instead of the mean (the answer is N times too large).
SUM_NOT_MEAN = "def grad_mse(y_hat, y):\n    return 2 * (y_hat - y)"


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


REFLECTION = "What did the test of `grad_mse` teach you?"


def source_notebook(variants: bool = True, reflection: bool = False) -> nbformat.NotebookNode:
    """The source; without ``variants`` it declares none (everyone has the defaults).

    With ``reflection``, a last markdown answer cell ``reflection`` (1 point, graded by hand).
    """
    nb = nbformat.v4.new_notebook()
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = kernel
    params = _cell("code", PARAMETERS)
    if variants:
        nb.metadata["nnlib"] = {"variants": copy.deepcopy(SPEC)}
        params.metadata["nnlib"] = {"variant": True}
    setup = "import numpy as np\nfrom nnlib import grading"
    cells = [
        _cell("markdown", "# Problem set: gradients and your own numbers"),
        _cell("code", setup, grade=False, solution=False, locked=True, grade_id="setup"),
        params,
        _cell("markdown", "Implement `grad_mse(y_hat, y)`, the gradient of the mean squared error"),
        _cell("code", GRAD_MSE, grade=False, solution=True, locked=False, grade_id="grad_mse"),
        _cell(
            "code",
            TESTS["test_grad_mse"],
            grade=True,
            solution=False,
            locked=True,
            grade_id="test_grad_mse",
            points=POINTS["test_grad_mse"],
        ),
        _cell("markdown", "Implement `affine(x) = FACTOR * x + OFFSET` with your parameters."),
        _cell("code", AFFINE, grade=False, solution=True, locked=False, grade_id="affine"),
        _cell(
            "code",
            TESTS["test_affine"],
            grade=True,
            solution=False,
            locked=True,
            grade_id="test_affine",
            points=POINTS["test_affine"],
        ),
    ]
    if reflection:
        cells.append(_cell("markdown", REFLECTION))
        cells.append(
            _cell(
                "markdown",
                "YOUR ANSWER HERE",
                grade=True,
                solution=True,
                locked=False,
                grade_id="reflection",
                points=1.0,
            )
        )
    for cell in cells:
        if "nbgrader" in cell.metadata:
            cell.metadata["nbgrader"].setdefault("task", False)
    nb.cells = cells
    return nb


def make_course(root: str, variants: bool = True, reflection: bool = False) -> str:
    """Write the course into ``root`` and generate the release with nbgrader; return root."""
    os.makedirs(os.path.join(root, "solutions", ASSIGNMENT), exist_ok=True)
    with open(os.path.join(root, "nbgrader_config.py"), "w") as f:
        f.write(
            "c = get_config()\n"
            'c.CourseDirectory.source_directory = "solutions"\n'
            'c.CourseDirectory.release_directory = "assignments"\n'
        )
    nbformat.write(
        source_notebook(variants, reflection),
        os.path.join(root, "solutions", ASSIGNMENT, f"{NOTEBOOK}.ipynb"),
    )
    argv = [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"]
    subprocess.run(
        [*argv, "--log-level=ERROR"], cwd=root, check=True, capture_output=True, env=venv_env()
    )
    return root


def release_notebook(root: str) -> nbformat.NotebookNode:
    return nbformat.read(os.path.join(root, "assignments", ASSIGNMENT, f"{NOTEBOOK}.ipynb"), 4)


def answer(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """``release`` with the solution cells named in ``answers`` filled in."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def write_submission(folder: str, sid: str, nb: nbformat.NotebookNode) -> None:
    os.makedirs(os.path.join(folder, sid), exist_ok=True)
    nbformat.write(nb, os.path.join(folder, sid, f"{NOTEBOOK}.ipynb"))
