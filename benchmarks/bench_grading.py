"""Batch grading: ``make grade`` (python -m nnlib.grader) against stock nbgrader.

Builds a small course with the real ``nbgrader generate_assignment``, makes N correct
submissions, then times, in the same run and on fresh copies of the course:

- baseline: plain sequential ``nbgrader autograde <assignment>`` (one kernel per notebook,
  no sandbox, no feedback);
- ours: ``python -m nnlib.grader grade`` (what ``make grade`` runs): sandboxed, ``--jobs`` =
  CPU count, gradebook and CSV; then ``make feedback`` (timed apart: stock autograde writes
  no feedback either).

Prints both times and the ratio (target: ours <= 0.6 x baseline on 16 submissions).
Usage: python benchmarks/bench_grading.py [N] (default 16).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from hostile.cases import CORRECT
from hostile.course import ASSIGNMENT, NOTEBOOK, make_course, release_notebook, venv_env


def correct_notebook(root: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(release_notebook(root))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in CORRECT:
            cell.source = CORRECT[gid]
    return nb


def timed(argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=venv_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = make_course(os.path.join(tmp, "course"))
        nb = correct_notebook(course)
        submissions = os.path.join(tmp, "submissions")
        for i in range(n):
            os.makedirs(os.path.join(submissions, f"student{i:02d}"))
            nbformat.write(nb, os.path.join(submissions, f"student{i:02d}", f"{NOTEBOOK}.ipynb"))

        stock = os.path.join(tmp, "stock")
        shutil.copytree(course, stock)
        for i in range(n):
            dest = os.path.join(stock, "submitted", f"student{i:02d}", ASSIGNMENT)
            os.makedirs(dest)
            shutil.copy(os.path.join(submissions, f"student{i:02d}", f"{NOTEBOOK}.ipynb"), dest)
        ours = os.path.join(tmp, "ours")
        shutil.copytree(course, ours)

        python = sys.executable
        baseline = timed(
            [python, "-m", "nbgrader", "autograde", ASSIGNMENT, "--log-level=ERROR"], stock
        )
        grader = timed(
            [
                python,
                "-m",
                "nnlib.grader",
                "grade",
                ASSIGNMENT,
                submissions,
                os.path.join(tmp, "g.csv"),
                "--no-progress",
            ],
            ours,
        )
        feedback = timed(
            [python, "-m", "nnlib.grader", "feedback", ASSIGNMENT, "--no-progress"], ours
        )
        with open(os.path.join(tmp, "g.csv")) as f:
            rows = f.read().splitlines()[1:]
        full = sum(1 for r in rows if r.split(",")[9] == r.split(",")[10])
        print(f"submissions: {n} (all correct; {full}/{n} got full marks from make grade)")
        print(f"jobs: {os.cpu_count()} cores")
        print(f"sequential nbgrader autograde:     {baseline:7.2f} s")
        print(f"make grade (sandboxed, parallel):  {grader:7.2f} s")
        print(f"ratio make grade / nbgrader: {grader / baseline:.2f} (target <= 0.60)")
        print(f"make feedback (HTML for {n} students, parallel): {feedback:7.2f} s")


if __name__ == "__main__":
    main()
