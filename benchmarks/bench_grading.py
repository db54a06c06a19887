"""Batch grading: ``make grade`` (python -m nngrader) against stock nbgrader.

Builds a small course with the real ``nbgrader generate_assignment``, makes N correct
submissions, then, in the same run and on fresh copies of the course:

1. times plain sequential ``nbgrader autograde <assignment>`` (one kernel per notebook, no
   sandbox, no feedback: the baseline) and ``python -m nngrader grade`` (what ``make
   grade`` runs: sandboxed, an embedded Dask cluster of one worker per core, gradebook and
   CSV) on 16 and on 64 submissions; the ratio's target is <= 0.3;
2. prints the wall time per submission at 64 (target <= 0.25 s on 2 cores);
3. grades the 64 again with 1 and with 2 local workers (``--jobs``): the scaling;
4. breaks one submission's time down: the sandbox's start (bubblewrap and the interpreter),
   the imports (numpy, nnlib, IPython), the student's worker ready (forked by the slot's
   zygote, and for comparison in a sandbox of its own; the judge and the zygote, which a slot
   keeps from one submission to the next, and the judge's reset), the student's cells, the
   tests (in the judge), nbgrader's autograde and feedback of one student, and the start of
   the embedded cluster (paid once per batch).

Usage: python benchmarks/bench_grading.py [N ...] (default: 16 64).
"""

from __future__ import annotations

import copy
import json
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

TARGET_RATIO = 0.3
TARGET_PER_SUBMISSION = 0.25


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


def make_class(tmp: str, course: str, n: int) -> str:
    submissions = os.path.join(tmp, f"submissions-{n}")
    for i in range(n):
        nb = correct_notebook(course)
        answer = next(
            c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "double"
        )
        answer.source += f"\n# student {i}"  # no two alike: each is a task of its own
        folder = os.path.join(submissions, f"student{i:03d}")
        os.makedirs(folder)
        nbformat.write(nb, os.path.join(folder, f"{NOTEBOOK}.ipynb"))
    return submissions


def stock_autograde(tmp: str, course: str, submissions: str, n: int) -> float:
    stock = os.path.join(tmp, f"stock-{n}")
    shutil.copytree(course, stock)
    for sid in os.listdir(submissions):
        dest = os.path.join(stock, "submitted", sid, ASSIGNMENT)
        os.makedirs(dest)
        shutil.copy(os.path.join(submissions, sid, f"{NOTEBOOK}.ipynb"), dest)
    argv = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--log-level=ERROR"]
    return timed(argv, stock)


def make_grade(tmp: str, course: str, submissions: str, name: str, *extra: str) -> float:
    ours = os.path.join(tmp, name)
    shutil.copytree(course, ours)
    grades = os.path.join(ours, "grades.csv")
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, submissions, grades]
    elapsed = timed([*argv, "--no-progress", *extra], ours)
    with open(grades) as f:
        rows = [r.split(",") for r in f.read().splitlines()[1:]]
    full = sum(1 for r in rows if r[9] == r[10])
    if full != len(rows):
        sys.exit(f"make grade gave full marks to {full} of {len(rows)} correct submissions")
    return elapsed


def breakdown(tmp: str, course: str, jobs: int) -> list[tuple[str, float]]:
    """Seconds of each stage of one correct submission (the best of three)."""
    from nngrader.host import containment, engine, execute, notebook, pipeline
    from nngrader.host import nbgrader_steps as steps
    from nngrader.host.containment import Limits

    os.environ["PATH"] = venv_env()["PATH"]
    work = os.path.join(tmp, "breakdown")
    shutil.copytree(course, work)
    submissions = make_class(tmp, course, 3)
    limits = Limits()
    uid = containment.UID_BASE + 900 if os.getuid() == 0 else None
    nproc = limits.nproc if os.getuid() == 0 else containment.user_nproc(limits, 1)
    argv, _ = containment.command(0, 1, None)
    python = os.path.abspath(sys.executable)
    bwrap = [*argv[: argv.index(python)], python]
    imports = "import numpy, nnlib, nnlib.grading, IPython.core.interactiveshell"

    def best(run, times: int = 3) -> float:
        out = []
        for _ in range(times):
            start = time.perf_counter()
            run()
            out.append(time.perf_counter() - start)
        return min(out)

    def probe(code: str) -> None:
        subprocess.run([*bwrap, "-I", "-c", code], check=True)

    stages = [("sandbox start (bubblewrap + interpreter)", best(lambda: probe("pass")))]
    stages.append(("imports (numpy, nnlib, IPython)", best(lambda: probe(imports)) - stages[0][1]))
    options = pipeline.Options(ASSIGNMENT, submissions, os.path.join(work, "g.csv"), course=work)
    students, sources = pipeline.prepare(options)
    entry = next(iter(students.values()))
    cells = notebook.plan(entry["notebooks"][NOTEBOOK], sources[NOTEBOOK][0])
    ready, state, tests, resets = [], [], [], []
    kept = execute.SlotSandboxes(limits, uid, False, nproc)  # the slot's, kept (as in run_job)
    for _ in range(4):
        start = time.perf_counter()
        kept.reset(60)
        resets.append(time.perf_counter() - start)
        start = time.perf_counter()
        worker = execute.Worker(limits, uid, False, nproc, kept)
        worker.start(60)
        ready.append(time.perf_counter() - start)
        spent = {"state": 0.0, "test": 0.0}
        for cell in cells:
            start = time.perf_counter()
            if cell.kind == "test":
                worker.test(execute._command(cell), 60)
            else:
                worker.request(execute._command(cell), 60)
            spent[cell.kind] += time.perf_counter() - start
        worker.close()
        state.append(spent["state"])
        tests.append(spent["test"])
    forked = kept.forks
    kept.discard()
    alone = []  # a worker in a sandbox of its own: what each submission paid before the zygote
    for _ in range(3):
        kept = execute.SlotSandboxes(limits, uid, False, nproc)
        kept.forks = False
        worker = execute.Worker(limits, uid, False, nproc, kept)
        worker.start(60)  # (the judge first: it is kept)
        worker.close()
        start = time.perf_counter()
        worker = execute.Worker(limits, uid, False, nproc, kept)
        worker.start(60)
        alone.append(time.perf_counter() - start)
        worker.close()
        kept.discard()
    how = "forked by the slot's zygote" if forked else f"own sandbox: {kept.why}"
    stages += [
        ("judge + zygote sandboxes ready, first worker (a slot's first)", ready[0]),
        (f"worker ready ({how})", min(ready[1:])),
        ("worker ready in a sandbox of its own (no zygote)", min(alone)),
        ("judge reset between submissions", min(resets[1:])),
        ("student cells", min(state)),
        (f"tests in the judge ({sum(c.kind == 'test' for c in cells)})", min(tests)),
    ]
    state_dir = os.path.join(work, ".nnlib-grader", ASSIGNMENT)
    os.makedirs(state_dir, exist_ok=True)
    for sid, entry in students.items():
        result = engine.run_job(pipeline.job(entry, sources, options))
        pipeline.atomic_write(os.path.join(state_dir, f"{sid}.json"), json.dumps(result))
    autograder = steps.Autograder(work, ASSIGNMENT, state_dir)
    sids = iter(sorted(students))
    stages.append(("nbgrader autograde (head)", best(lambda: autograder.run(next(sids)))))
    maker = steps.Feedback(work, ASSIGNMENT, False)
    sids = iter(sorted(students))
    stages.append(("nbgrader feedback HTML (head)", best(lambda: maker.run(next(sids)))))

    def cluster() -> None:
        engine.Engine(None, jobs).close()

    stages.append((f"embedded cluster start, {jobs} workers (once per batch)", best(cluster, 1)))
    return stages


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [16, 64]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = make_course(os.path.join(tmp, "course"))
        print(f"{cores} cores; every submission correct (each gets full marks from both)")
        print(f"{'submissions':>12} {'nbgrader':>10} {'make grade':>11} {'ratio':>6}")
        results = {}
        for n in sizes:
            submissions = make_class(tmp, course, n)
            baseline = stock_autograde(tmp, course, submissions, n)
            ours = make_grade(tmp, course, submissions, f"ours-{n}")
            results[n] = (submissions, ours)
            print(f"{n:12d} {baseline:9.2f}s {ours:10.2f}s {ours / baseline:6.2f}")
        print(f"target ratio <= {TARGET_RATIO}")
        n = max(sizes)
        submissions, ours = results[n]
        print(
            f"wall time per submission at {n}: {ours / n:.3f} s "
            f"(target <= {TARGET_PER_SUBMISSION} s on 2 cores)"
        )
        feedback = timed(
            [sys.executable, "-m", "nngrader", "feedback", ASSIGNMENT, "--no-progress"],
            os.path.join(tmp, f"ours-{n}"),
        )
        print(f"make feedback, {n} students: {feedback:.2f} s ({feedback / n:.3f} s each)")
        one = make_grade(tmp, course, submissions, f"jobs1-{n}", "--jobs", "1")
        two = make_grade(tmp, course, submissions, f"jobs2-{n}", "--jobs", "2")
        print(f"scaling at {n}: 1 worker {one:.2f} s, 2 workers {two:.2f} s: x{one / two:.2f}")
        print("one submission's time (best of 3):")
        for what, seconds in breakdown(tmp, course, min(cores, 2)):
            print(f"  {what:58s} {1000 * seconds:8.0f} ms")


if __name__ == "__main__":
    main()
