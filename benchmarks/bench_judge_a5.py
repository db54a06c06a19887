"""a5's training check through the judge against the same check run in-process.

The hidden part of a5's ``test_training`` trains a fresh ``MLP`` with the student's ``SGD``
through ``nnlib.train.fit`` (30 epochs of the 8x8 digits). In the grader that check runs in
the judge and reaches the student's objects through :mod:`nngrader.sandbox.remote`: every
``forward``, ``backward``, ``zero_grad`` and ``step`` is a round trip, and Parameters are
mirrored across. This prints, in one run:

- the in-process time of ``grading.mlp.check_training`` on the reference solution's classes;
- the time of the same test cell graded by ``nngrader.host.execute.run_cells`` (sandboxed
  judge and worker; the test's cell alone, the worker's cells excluded), and the ratio
  (target: about 2 or less). Before ``fit`` ran on the student's side
  (``nngrader.sandbox.remote.STUDENT_SIDE``) it made about 9,200 round trips: 23x on the
  loaded machine where this was first measured.

Usage: python benchmarks/bench_judge_a5.py [repeats] (default 3; the best of each is kept).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK = (
    "grading.mlp.check_training(MLP, SGD, dict(hidden=64, lr=0.05, momentum=0.9, "
    "weight_decay=1e-4, num_epochs=30, batch_size=32), min_accuracy=0.93, seed=7)"
)


def solution_cells() -> tuple[str, list[str]]:
    """The setup cell and the solution cells of a5, as the instructor wrote them."""
    with open(os.path.join(ROOT, "solutions", "a5_mlp", "a5_mlp.ipynb")) as f:
        nb = json.load(f)
    setup, answers = "", []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        text = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", "".join(cell["source"]))
        if meta.get("grade_id") == "setup":
            setup = text
        elif meta.get("solution") and cell["cell_type"] == "code":
            answers.append(text)
    return setup, answers


def in_process() -> float:
    setup, answers = solution_cells()
    namespace: dict = {}
    for text in [setup, *answers]:
        exec(compile(text, "<cell>", "exec"), namespace)
    start = time.perf_counter()
    exec(compile(CHECK, "<check>", "exec"), namespace)
    return time.perf_counter() - start


def through_the_judge() -> float:
    from nngrader.host import containment, execute, stubs
    from nngrader.host.execute import Cell

    setup, answers = solution_cells()
    cells = [Cell(0, "state", setup)] + [
        Cell(i + 1, "state", text) for i, text in enumerate(answers)
    ]
    prelude = ["import numpy as np", "from nnlib import grading"]
    cells.append(Cell(len(cells), "test", CHECK, grade_id="test_training", prelude=prelude))
    limits = containment.Limits(test_timeout=300, cell_timeout=120)
    root = os.getuid() == 0
    uid = containment.UID_BASE + 990 if root else None
    nproc = limits.nproc if root else containment.user_nproc(limits, 1)
    kept = execute.SlotSandboxes(limits, uid, False, nproc)
    student_nnlib = stubs.stubbed_nnlib(*stubs.for_assignment("a5_mlp"))
    timings = {}
    test = execute.Worker.test

    def timed(self, message, timeout):
        start = time.perf_counter()
        try:
            return test(self, message, timeout)
        finally:
            timings[message.idx] = time.perf_counter() - start

    execute.Worker.test = timed
    try:
        results = execute.run_cells(cells, limits, uid, False, nproc, None, kept, student_nnlib)
    finally:
        execute.Worker.test = test
        kept.discard()
    verdict = results[cells[-1].idx]
    assert verdict.status == "ok", verdict
    return timings[cells[-1].idx]


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    local = min(in_process() for _ in range(repeats))
    judged = min(through_the_judge() for _ in range(repeats))
    print(f"a5 check_training in-process:     {local:7.2f} s")
    print(f"a5 check_training through judge:  {judged:7.2f} s")
    print(f"ratio judge / in-process:         {judged / local:7.2f}  (target <= 2)")


if __name__ == "__main__":
    main()
