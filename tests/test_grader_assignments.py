"""The five real assignments graded by ``python -m nngrader``: the instructor's solution
and the correct alternative solutions, submitted as students, get full marks.

Every test of these notebooks runs in the judge and reaches the student's functions, classes
and objects (a scalar autograd ``Value``, layers, an MLP, an optimizer given the check's own
Parameters) only through :mod:`nngrader.sandbox.remote`, so this proves the split loses nothing a
real check needs.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys

import pytest

from tests.test_assignments import (
    ALTERNATIVES,
    ASSIGNMENTS,
    _submission,
    load,
    make_assignments,
    source_nb,
)

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grader-course")
    make_assignments.make_course(root, ASSIGNMENTS)
    rows = {}
    for name in ASSIGNMENTS:
        make_assignments.nbgrader(root, "generate_assignment", name, "--force")
        release = load(root / "assignments" / name / f"{name}.ipynb")
        src = source_nb(name)
        subs = {"solution": _submission(release, src, {"*": "solution"})}
        if name in ALTERNATIVES:
            subs["alternative"] = _submission(release, src, {"*": "solution", **ALTERNATIVES[name]})
        submissions = root / "incoming" / name
        for student, nb in subs.items():
            folder = submissions / student
            folder.mkdir(parents=True)
            (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
        grades = root / f"{name}.csv"
        argv = [sys.executable, "-m", "nngrader", "grade", name, str(submissions)]
        argv += [str(grades), "--no-progress"]
        done = subprocess.run(
            argv, cwd=root, env=make_assignments.nbgrader_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-4000:]
        with open(grades, newline="") as f:
            rows[name] = {r["student_id"]: r for r in csv.DictReader(f)}
    return rows


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solutions_get_full_marks_from_the_grader(graded, name):
    for student, row in graded[name].items():
        manual = re.fullmatch(r"(?:([0-9.]+) points? awaits? manual grading)?", row["reason"])
        assert manual, (student, row["reason"])  # nothing but the hand-graded parts left
        awaiting = float(manual.group(1) or 0)
        assert float(row["score"]) + awaiting == float(row["max_score"]) > 0, (student, row)
