"""The host half of the grader: everything that runs outside the students' sandboxes.

It reads the class folder, rebuilds each submission on the instructor's source, plans its
cells, starts and talks to the sandboxed processes (:mod:`~nngrader.host.execute`), runs the
batch on Dask (:mod:`~nngrader.host.engine`), records results with nbgrader
(:mod:`~nngrader.host.nbgrader_steps`) and writes the CSV, feedback, report and exports.
It talks to the sandbox half only through :mod:`nngrader.protocol`.
"""
