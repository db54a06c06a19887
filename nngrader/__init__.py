"""nngrader: autograde a class's nbgrader submissions, sandboxed and fault-isolated.

Run ``python -m nngrader --help`` (or ``make grade``). Two halves, joined by one protocol:

- :mod:`nngrader.host`, outside the sandboxes: the batch (:mod:`~nngrader.host.pipeline`),
  submissions rebuilt on the instructor's source (:mod:`~nngrader.host.notebook`), the Dask
  engine (:mod:`~nngrader.host.engine`), the sandboxed processes' host side
  (:mod:`~nngrader.host.execute`) and their containment (:mod:`~nngrader.host.containment`:
  bubblewrap, limits), nbgrader's gradebook and feedback (:mod:`~nngrader.host.nbgrader_steps`),
  per-student variants, the class report, LMS exports and similarity;
- :mod:`nngrader.sandbox`, inside them: the student's worker, the judge that runs the tests,
  the zygote that forks workers, and the proxies through which the judge reaches student
  objects. It never imports the host half.
- :mod:`nngrader.protocol`: what crosses between the two.

nnlib never imports this package; this package imports nbgrader and other heavy tools only
inside the host modules that need them.
"""
