"""The instructor's whole flow against grading alone, and the re-run of an unchanged class.

Builds the tiny course of ``tests/instructor/course.py`` (two graded parts), makes N distinct
submissions (each with a comment of its own, so that no two are one run; a third have the
classic missing-1/N bug), then in one run times, each as ``python -m nngrader`` runs it:

1. ``grade`` alone (sandboxed runs, nbgrader's autograde, the CSV): the baseline;
2. ``feedback`` of the whole class (rendered in parallel, one page per task);
3. ``report``;
4. the whole flow (1 + 2 + 3) as a ratio to grading alone (issue 19's target: <= 2);
5. ``grade --feedback`` again on the unchanged class (target: within 10 s), and ``feedback``
   alone on it (no page is rendered again).

Usage: python benchmarks/bench_instructor_flow.py [N ...] (default: 64).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from instructor.course import (
    ASSIGNMENT,
    CORRECT,
    SUM_NOT_MEAN,
    answer,
    make_course,
    release_notebook,
    venv_env,
    write_submission,
)


def _timed(course: str, *argv: str) -> float:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "nngrader", *argv, "--no-progress"],
        cwd=course,
        env=venv_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - start


def flow(n: int) -> None:
    """Time the flow for ``n`` submissions and print the ratios."""
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as root:
        course = make_course(os.path.join(root, "course"), variants=False)
        release = release_notebook(course)
        subs = os.path.join(root, "submissions")
        for i in range(n):
            answers = CORRECT if i % 3 else {**CORRECT, "grad_mse": SUM_NOT_MEAN}
            answers = {k: f"{v}\n# student {i}" for k, v in answers.items()}
            write_submission(subs, f"s{i:03d}", answer(release, answers))
        grades = os.path.join(root, "grades.csv")
        grading = _timed(course, "grade", ASSIGNMENT, subs, grades, "--no-report")
        feedback = _timed(course, "feedback", ASSIGNMENT, "--no-report")
        report = _timed(course, "report", ASSIGNMENT)
        whole = grading + feedback + report
        again = _timed(course, "grade", ASSIGNMENT, subs, grades, "--feedback")
        unchanged = _timed(course, "feedback", ASSIGNMENT, "--no-report")
    print(
        f"{n} submissions: grading {grading:.1f} s, feedback {feedback:.1f} s "
        f"({feedback / n * 1000:.0f} ms per page), report {report:.1f} s; whole flow "
        f"{whole:.1f} s = {whole / grading:.2f}x grading (target <= 2); re-run of the "
        f"unchanged class {again:.1f} s = {again / grading:.2f}x grading (target <= 10 s); "
        f"feedback of the unchanged class {unchanged:.1f} s"
    )


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [64]:
        flow(size)
