"""Validate = grader = visible checks: one verdict per part, whoever runs the notebook.

For each assignment a small class of notebooks is submitted: the correct solution, one per
catalogued bug (``tools/nbmutate.py``'s ``CATALOGUE``), one that calls nnlib's reference of an
exercise, the untouched release (blank) and the correct solution saved after running its cells
out of order (stale error outputs, shuffled execution counts). Each is judged three ways:

- the visible checks, run top to bottom in-process as a student's kernel would;
- ``nbgrader validate`` (the Validate button), a real kernel;
- ``python -m nngrader grade`` (``make grade``), the sandboxed class grader, per-part scores
  read from nbgrader's gradebook.

A part "passes" when Validate lists no failure in it and the grader gives its full points.
Catalogued bugs are caught by the visible checks, so all three must agree part for part.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_assignments import ASSIGNMENTS, _submission, load, make_assignments, source_nb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import nbmutate  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.grading]

#: One call of nnlib's own version of an exercise per assignment (a part that does this
#: scores 0 for it, with that reason).
FORBIDDEN: dict[str, nbmutate.Bug] = {
    "a1_neurons": nbmutate.Bug(
        "step calls nnlib.neurons.step",
        "neuron",
        "return (z > 0).astype(float)",
        "return __import__('nnlib.neurons').neurons.step(z)",
        "test_step",
        "reference",
    ),
    "a2_regression": nbmutate.Bug(
        "normal_equation calls nnlib.regression.normal_equation",
        "normal_equation",
        "return np.linalg.solve(X.T @ X, X.T @ y)",
        "return __import__('nnlib.regression').regression.normal_equation(X, y)",
        "test_normal_equation",
        "reference",
    ),
    "a3_autograd": nbmutate.Bug(
        "x + y builds an nnlib Value",
        "value",
        "self.grad += out.grad\n            other.grad += out.grad",
        "self.grad += __import__('nnlib.autograd').autograd.Value(out.grad).data\n"
        "            other.grad += out.grad",
        "test_add",
        "reference",
    ),
    "a4_layers": nbmutate.Bug(
        "Linear.forward calls nnlib's Linear",
        "linear",
        "return X @ self.weight.value + self.bias.value",
        "ref = __import__('nnlib.modules').modules.Linear(*self.weight.value.shape)\n"
        "        ref.weight.value, ref.bias.value = self.weight.value, self.bias.value\n"
        "        return ref.forward(X)",
        "test_linear_forward",
        "reference",
    ),
    "a5_mlp": nbmutate.Bug(
        "ReLU.forward calls nnlib's ReLU",
        "layers",
        "return X * self._cache",
        "return __import__('nnlib.modules').modules.ReLU().forward(X)",
        "test_mlp_forward",
        "reference",
    ),
}


def _strip(code: str) -> str:
    return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", code)


def _class(name: str, release: dict) -> dict[str, tuple[dict, list[nbmutate.Cell]]]:
    """student id -> (the submitted notebook, the cells the visible checks run on)."""
    src = source_nb(name)
    cells = nbmutate.read_cells(nbmutate.source_path(name))
    out: dict[str, tuple[dict, list[nbmutate.Cell]]] = {}

    def add(student: str, bugged: list[nbmutate.Cell], changed: str | None) -> None:
        replacements = {"*": "solution"}
        if changed:
            cell = next(c for c in bugged if c.grade_id == changed)
            replacements[changed] = _strip(cell.source)
        out[student] = (_submission(release, src, replacements), nbmutate.visible(bugged))

    add("correct", cells, None)
    for i, bug in enumerate([*nbmutate.CATALOGUE[name], FORBIDDEN[name]]):
        add(f"bug-{i:02d}", nbmutate.with_bug(cells, bug), bug.cell)
    # The untouched release: every part blank.
    out["blank"] = (release, nbmutate.read_cells(ROOT / "assignments" / name / f"{name}.ipynb"))
    # The correct solution as saved after running cells out of order: stale outputs, among
    # them an error in a test cell, and execution counts in no order.
    stale = json.loads(json.dumps(out["correct"][0]))
    for k, cell in enumerate(c for c in stale["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = 97 - 3 * k
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["outputs"] = [
                {
                    "output_type": "error",
                    "ename": "NameError",
                    "evalue": "name 'np' is not defined",
                    "traceback": ["NameError: name 'np' is not defined"],
                }
            ]
    out["out-of-order"] = (stale, out["correct"][1])
    return out


def _visible_verdicts(cells: list[nbmutate.Cell]) -> dict[str, bool]:
    return nbmutate.run_forked(cells, stop_early=False) or {}


#: ``nbgrader validate``, on many notebooks in one process: what the Validate button and the
#: command run (nbgrader's ``Validator`` with the course's configuration), one kernel each.
_VALIDATE = """
import json, sys
from nbgrader.apps import NbGrader
from nbgrader.validator import Validator

app = NbGrader()
app.config_file_paths.append(sys.argv[1])
app.load_config_file()
out = {}
for path in sys.argv[2:]:
    out[path] = Validator(config=app.config).validate(path).get("failed", [])
print(json.dumps(out))
"""


def _validate_all(course: Path, paths: list[Path]) -> dict[str, list[dict]]:
    done = subprocess.run(
        [sys.executable, "-c", _VALIDATE, str(course), *map(str, paths)],
        cwd=course,
        env=make_assignments.nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Config option" not in done.stderr, done.stderr[-3000:]  # no config warnings
    assert "WARNING" not in done.stderr, done.stderr[-3000:]  # e.g. ipykernel's plain TCP
    return json.loads(done.stdout.strip().splitlines()[-1])


def _validate_verdicts(failed: list[dict], parts: dict[str, str]) -> dict[str, str | None]:
    """Per part: ``None`` when Validate lists no failure in its cell, else Validate's error
    text. ``parts``: grade_id -> the first line of its test cell."""
    out: dict[str, str | None] = {}
    for gid, first in parts.items():
        errors = [f.get("raw_error", "") for f in failed if f["source"].startswith(first)]
        out[gid] = errors[0] if errors else None
    return out


def _grader_verdicts(root: Path, name: str, students: list[str]) -> dict[str, dict[str, bool]]:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in students:
            nb = gb.find_submission_notebook(name, name, student)
            out[student] = {g.cell.name: g.auto_score == g.max_score for g in nb.grades}
    return out


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (the grader's sandbox)")
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_visible_checks_validate_and_grader_agree(tmp_path, name):
    nbmutate.warm_up()
    root = tmp_path / "course"
    root.mkdir()
    make_assignments.make_course(root, [name])
    make_assignments.nbgrader(root, "generate_assignment", name, "--force")
    release = load(root / "assignments" / name / f"{name}.ipynb")
    cells = nbmutate.read_cells(nbmutate.source_path(name))
    parts = {c.grade_id: c.source.splitlines()[0] for c in cells if c.autograded}
    students = _class(name, release)

    submissions = tmp_path / "incoming"
    visible, paths = {}, {}
    for student, (nb, run) in students.items():
        folder = submissions / student
        folder.mkdir(parents=True)
        paths[student] = folder / f"{name}.ipynb"
        paths[student].write_text(json.dumps(nb, indent=1))
        visible[student] = _visible_verdicts(run)
    failed = _validate_all(root, list(paths.values()))
    errors = {s: _validate_verdicts(failed[str(p)], parts) for s, p in paths.items()}
    validate = {s: {gid: e is None for gid, e in errors[s].items()} for s in students}

    grades = tmp_path / "grades.csv"
    argv = [sys.executable, "-m", "nngrader", "grade", name, str(submissions), str(grades)]
    done = subprocess.run(
        # a generous time per test: a loaded machine must not change a verdict here
        [*argv, "--no-progress", "--no-report", "--jobs", "2", "--test-timeout", "300"],
        cwd=root,
        env=make_assignments.nbgrader_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    graded = _grader_verdicts(root, name, list(students))

    disagreements = []
    forbidden = f"bug-{len(nbmutate.CATALOGUE[name]):02d}"  # the FORBIDDEN notebook
    for student in students:
        for gid in parts:
            seen = (visible[student].get(gid), validate[student][gid], graded[student].get(gid))
            if len(set(seen)) != 1:
                disagreements.append(f"{student} {gid}: visible, validate, grader = {seen}")
    assert not disagreements, "\n".join(disagreements)
    assert not visible[forbidden][FORBIDDEN[name].part], "the reference use is not caught"
    # Validate shows the diagnosis the visible check gives: the catalogued bug's own hint.
    for i, bug in enumerate(nbmutate.CATALOGUE[name]):
        text = " ".join((errors[f"bug-{i:02d}"][bug.part] or "").split())
        assert bug.hint in text, f"Validate on {bug.name}: {text[:500]}"
    assert all(visible["correct"].values()) and all(visible["out-of-order"].values())
    assert not any(visible["blank"].values())
