"""Correct code never loses a point to a busy machine: a5 graded with both cores busy.

a5's training test trains an MLP for 30 epochs. Driven from the judge one round trip per
step, it cost about 20 times its in-process time and ran past the 20 s test deadline on a
loaded machine; now ``fit`` runs where the student's objects live (``remote.STUDENT_SIDE``),
and a fault is retried once in a fresh sandbox. Two busy loops hold the cores meanwhile (the
measured ratio is in ``benchmarks/bench_judge_a5.py``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.test_assignments import _submission, load, make_assignments, source_nb

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap"),
]
NAME = "a5_mlp"


@pytest.fixture
def busy_cores():
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield len(loops)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def test_a5_reference_solution_gets_full_marks_with_every_core_busy(tmp_path, busy_cores):
    root = tmp_path
    make_assignments.make_course(root, [NAME])
    make_assignments.nbgrader(root, "generate_assignment", NAME, "--force")
    release = load(root / "assignments" / NAME / f"{NAME}.ipynb")
    folder = root / "incoming" / "solution"
    folder.mkdir(parents=True)
    nb = _submission(release, source_nb(NAME), {"*": "solution"})
    (folder / f"{NAME}.ipynb").write_text(json.dumps(nb))
    grades = root / "grades.csv"
    argv = [sys.executable, "-m", "nngrader", "grade", NAME, str(root / "incoming"), str(grades)]
    argv += ["--no-progress", "--jobs", "1"]
    done = subprocess.run(
        argv, cwd=root, env=make_assignments.nbgrader_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-4000:]
    with open(grades, newline="") as f:
        row = next(csv.DictReader(f))
    manual = re.fullmatch(r"(?:([0-9.]+) points? awaits? manual grading)?", row["reason"])
    assert manual, row["reason"]
    assert float(row["score"]) + float(manual.group(1) or 0) == float(row["max_score"]), row
