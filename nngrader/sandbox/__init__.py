"""The sandbox half of the grader: the processes that run inside bubblewrap.

- :mod:`~nngrader.sandbox.worker` runs the student's cells;
- :mod:`~nngrader.sandbox.judge` runs the test cells, reaching the student's objects only
  through :mod:`~nngrader.sandbox.remote`'s proxies;
- :mod:`~nngrader.sandbox.zygote` forks each student's worker with the imports done.

Nothing here imports :mod:`nngrader.host` (a test walks the imports): what crosses to the
host is defined in :mod:`nngrader.protocol`.
"""
