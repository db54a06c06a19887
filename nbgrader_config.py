"""nbgrader configuration of the course (read by every ``nbgrader`` command run from here).

nbgrader's steps map onto the repository's folders: the instructor's notebooks (solutions and
hidden tests) live in ``solutions/``, the student versions that ``make assignments`` generates
from them in ``assignments/``. The grading folders (``submitted/``, ``autograded/``,
``feedback/``) and ``gradebook.db`` are working data and never committed.
"""

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

#: The course's assignments, in order. ``tools/make_assignments.py`` releases exactly these.
ASSIGNMENTS = ["a1_neurons", "a2_regression", "a3_autograd", "a4_layers", "a5_mlp"]

c.CourseDirectory.course_id = "nnlib"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# Never copy editor leftovers or caches into a release or a submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
c.CourseDirectory.max_file_size = 10_000  # kB: a notebook of this course is far smaller

# Student versions: the stubs students replace, and no leftover outputs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True

# Autograding limits: a cell that runs longer than this fails (the MLP training cell of a5 takes
# a few seconds); huge outputs and tracebacks are cut so one notebook cannot flood feedback.
# (nbgrader's Execute always runs on after an error: allow_errors is not configurable there.)
c.Execute.timeout = 300
# Validate's kernels talk to nbgrader over CurveZMQ (the kernel spec declares support), so
# ipykernel does not warn students about plain-text TCP on every run.
c.KernelManager.transport_encryption = "auto"
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# No c.IgnorePattern: its regex (r"\w+Warning: ") costs the square of a student's stderr on the
# grading machine. The class grader drops numpy's warnings in linear time itself
# (nngrader.host.nbgrader_steps.DropWarnings), and the visible checks silence numpy themselves.
# A deleted or edited test cell is restored from the gradebook before grading.
c.OverwriteCells.add_missing_cells = True
