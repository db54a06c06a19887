"""A tiny nbgrader course (three graded parts) made with the real `nbgrader generate_assignment`.

Parts (6 points): ``sigmoid`` (test_sigmoid, 2 points), ``relu`` (test_relu, 2 points) and
``double`` (test_double, 2 points, not in nnlib). Each test checks the student's function
against nnlib's reference on visible and hidden inputs.
"""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat

# Named after a course assignment whose policy (nnlib.grading.policy) forbids
# nnlib.functional, so the reference_use case is graded under a declared policy.
ASSIGNMENT = "a4_layers"
NOTEBOOK = "ps1"
POINTS = {"test_sigmoid": 2.0, "test_relu": 2.0, "test_double": 2.0}
MAX_SCORE = sum(POINTS.values())

SOLUTIONS = {
    "sigmoid": "def sigmoid(z):\n    ### BEGIN SOLUTION\n    return 1 / (1 + np.exp(-z))\n"
    "    ### END SOLUTION",
    "relu": "def relu(z):\n    ### BEGIN SOLUTION\n    return np.maximum(z, 0.0)\n"
    "    ### END SOLUTION",
    "double": "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
}

TESTS = {
    "test_sigmoid": '''"""sigmoid matches the reference (2 points)"""
from nnlib.functional import sigmoid as reference_sigmoid
z = np.linspace(-5, 5, 11)
out = np.asarray(sigmoid(z), dtype=np.float64)
assert type(out) is np.ndarray and out.shape == z.shape, f"expected shape {z.shape}"
assert np.allclose(out, reference_sigmoid(z)), "sigmoid differs from the reference"
### BEGIN HIDDEN TESTS
z = np.random.default_rng(1).normal(size=(4, 3)) * 3
out = np.asarray(sigmoid(z), dtype=np.float64)
assert np.allclose(out, reference_sigmoid(z)), "HIDDEN_SECRET_SIGMOID: wrong on a batch"
### END HIDDEN TESTS''',
    "test_relu": '''"""relu matches the reference (2 points)"""
from nnlib.functional import relu as reference_relu
z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
out = np.asarray(relu(z), dtype=np.float64)
assert out.shape == z.shape and np.allclose(out, reference_relu(z)), "relu is wrong"
### BEGIN HIDDEN TESTS
z = np.random.default_rng(2).normal(size=(3, 5))
assert np.allclose(np.asarray(relu(z), dtype=np.float64), reference_relu(z)), "HIDDEN_SECRET_RELU"
### END HIDDEN TESTS''',
    "test_double": '''"""double doubles (2 points)"""
x = np.arange(4.0)
assert np.allclose(np.asarray(double(x), dtype=np.float64), 2 * x), "double is wrong"
### BEGIN HIDDEN TESTS
assert np.allclose(np.asarray(double(-x), dtype=np.float64), -2 * x), "HIDDEN_SECRET_DOUBLE"
### END HIDDEN TESTS''',
}


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = [
        _cell("markdown", "# Problem set 1"),
        _cell(
            "code", "import numpy as np", grade=False, solution=False, locked=True, grade_id="setup"
        ),
    ]
    for (name, solution), test in zip(SOLUTIONS.items(), TESTS, strict=True):
        cells.append(_cell("markdown", f"Implement `{name}`."))
        cells.append(
            _cell(
                "code",
                solution,
                grade=False,
                solution=True,
                locked=False,
                grade_id=name,
                task=False,
            )
        )
        cells.append(
            _cell(
                "code",
                TESTS[test],
                grade=True,
                solution=False,
                locked=True,
                grade_id=test,
                points=POINTS[test],
                task=False,
            )
        )
    nb.cells = cells
    return nb


def venv_env() -> dict[str, str]:
    """The environment with the venv's bin first on PATH (nbgrader runs `alembic`)."""
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def make_course(root: str) -> str:
    """Write the course into ``root`` and generate the release with nbgrader; return root."""
    os.makedirs(os.path.join(root, "solutions", ASSIGNMENT), exist_ok=True)
    with open(os.path.join(root, "nbgrader_config.py"), "w") as f:
        f.write(
            "c = get_config()\n"
            'c.CourseDirectory.source_directory = "solutions"\n'
            'c.CourseDirectory.release_directory = "assignments"\n'
        )
    nbformat.write(
        source_notebook(), os.path.join(root, "solutions", ASSIGNMENT, f"{NOTEBOOK}.ipynb")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            ASSIGNMENT,
            "--force",
            "--log-level=ERROR",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        env=venv_env(),
    )
    return root


def release_notebook(root: str) -> nbformat.NotebookNode:
    return nbformat.read(os.path.join(root, "assignments", ASSIGNMENT, f"{NOTEBOOK}.ipynb"), 4)
