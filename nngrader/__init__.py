"""Batch grading of a class's nbgrader submissions, sandboxed and fault-isolated.

Run ``python -m nngrader --help`` (or ``make grade``). This package imports nbgrader and
other heavy tools only inside its submodules; ``import nnlib`` never imports it.

Modules:
    pipeline: the whole batch (collect, rebuild, run, autograde, feedback, CSV).
    notebook: rebuilds a submission on the instructor's source notebook.
    engine: a submission's run as a Dask distributed task (embedded cluster or a running one).
    execute: runs one notebook's cells in a sandboxed worker, one fault per cell.
    worker: the process inside the sandbox (student cells in it, each test in a fork).
    sandbox: bubblewrap, resource limits and the clean environment.
    nbgrader_steps: nbgrader's gradebook, autograde and feedback, with our outputs.
    variants: per-student parameters (HMAC of the course secret), released and graded.
    report: the class report (scores, points per part, diagnoses over the class).
    lms: the grades as Canvas' or Moodle's import CSV, from a roster.
    similarity: pairs of alike submissions (copydetect's winnowing), for a human to read.
    instructor_cli: the commands report, export, similarity and release-variants.
"""
