"""The nbgrader side: its gradebook, its autograde pipeline and its feedback, reused.

nbgrader's own ``Execute`` step is replaced by :class:`ReplayExecute`, which fills in the
outputs our sandboxed run produced, and its ``IgnorePattern`` (a regular expression whose cost
grows with the square of a student's stderr) by :class:`DropWarnings`, which does the same in
linear time; everything else (sanitizing, saving the grades in the gradebook, late penalties,
the autograded notebooks, the feedback HTML) is nbgrader's code. When nbgrader fails on a
student, :class:`StepFailed` says why, and :func:`void` leaves no stale score behind.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, GetGrades, IgnorePattern, NbGraderPreprocessor
from traitlets import Bool, Unicode
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from nngrader.host.execute import source_hash
from nngrader.host.notebook import HIDDEN_BEGIN, strip_hidden

log = logging.getLogger("nngrader")


class ReplayExecute(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute: outputs come from the sandboxed run's results."""

    results_dir = Unicode("", help="Folder of <student>.json results").tag(config=True)

    def preprocess(self, nb, resources):
        student = resources["nbgrader"]["student"]
        notebook = resources["nbgrader"]["notebook"]
        from nngrader.protocol import RunResult

        run = RunResult.load(os.path.join(self.results_dir, f"{student}.json"))
        cells = run.notebooks.get(notebook, {})
        for idx, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            entry = cells.get(idx)
            if entry is None or entry.hash != source_hash(cell.source):
                cell.outputs = [_error("GraderError", "this cell was not run by the grader")]
            else:
                cell.outputs = [nbformat_output(o) for o in entry.outputs]
            cell.execution_count = None
        return nb, resources


class StepFailed(RuntimeError):
    """nbgrader failed on one student; ``reason`` is the last line of its error, for the CSV."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


WARNING = "Warning: "


def has_warning(text: str) -> bool:
    """Whether ``text`` matches ``\\w+Warning: `` somewhere (nbgrader's numpy-warning filter).

    The same answer as ``re.search(r"\\w+Warning: ", text)``, in one pass: that regular
    expression retries ``\\w+`` from every character of a long word, so its cost grows with
    the square of the text (60,000 characters: 30 s); here each ``Warning: `` found costs one
    look at the character before it.
    """
    at = text.find(WARNING, 1)
    while at != -1:
        before = text[at - 1]
        if before.isalnum() or before == "_":  # (what ``\\w`` matches)
            return True
        at = text.find(WARNING, at + 1)
    return False


class DropWarnings(NbGraderPreprocessor):
    """nbgrader's ``IgnorePattern`` with the pattern ``\\w+Warning: ``, in linear time.

    A stderr output with a warning line (a numpy ``RuntimeWarning`` a test provoked) would
    make nbgrader fail the test cell; such an output is dropped, as nbgrader's filter does.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.outputs
                if not (
                    o.get("output_type") == "stream"
                    and o.get("name") == "stderr"
                    and has_warning(o.get("text", ""))
                )
            ]
        return cell, resources


def nbformat_output(output: dict):
    import nbformat

    return nbformat.from_dict(output)


def _error(ename: str, evalue: str) -> dict:
    import nbformat

    return nbformat.from_dict(
        {
            "output_type": "error",
            "ename": ename,
            "evalue": evalue,
            "traceback": [f"{ename}: {evalue}"],
        }
    )


_ENGINES: dict = {}  # (url, options) -> the SQLAlchemy engine every Gradebook of it shares
_CHECKED: set = set()  # engines whose tables nbgrader already checked
_COURSES: set = set()  # (engine, course id) whose course row nbgrader already made sure of


def share_engines() -> None:
    """Let nbgrader's Gradebooks share one database engine per URL in this process.

    nbgrader opens a ``Gradebook`` about ten times per student autograded, and each one makes a
    new SQLAlchemy engine, checks every table of the schema, makes sure the course's row
    exists, and on closing throws the engine's connections away: most of autograde's own time.
    Engines are made to be shared (their pool keeps the connections), the tables exist after
    the first check and the course's row after the first (nothing removes a course), so the
    gradebook is the same, at a third of the cost. A process forked from this one calls
    :func:`fresh_engines` first (an engine's connections must not cross a fork).
    """
    import nbgrader.api as api

    if getattr(api.create_engine, "shared", False):
        return
    create_engine, create_all = api.create_engine, api.Base.metadata.create_all
    check_course = api.Gradebook.check_course

    def shared_engine(url, **options):
        key = (str(url), tuple(sorted(options.items())))
        if key not in _ENGINES:
            _ENGINES[key] = create_engine(url, **options)
        return _ENGINES[key]

    def checked_create_all(bind=None, **options):
        if bind is None or bind not in _CHECKED:
            create_all(bind=bind, **options)
            _CHECKED.add(bind)

    def course_checked_once(gradebook, course_id="default_course", **fields):
        key = (gradebook.engine, course_id)
        if fields or key not in _COURSES:
            course = check_course(gradebook, course_id, **fields)
            _COURSES.add(key)
            return course
        return gradebook.db.get(api.Course, course_id)

    def close(gradebook) -> None:
        gradebook.db.remove()  # (the shared engine keeps its pool for the next Gradebook)

    shared_engine.shared = True
    api.create_engine = shared_engine
    api.Base.metadata.create_all = checked_create_all
    api.Gradebook.check_course = course_checked_once
    api.Gradebook.close = close


_VALIDATORS: dict = {}  # a JSON schema's text -> its jsonschema validator


def check_schemas_once() -> None:
    """Let nbgrader check its cell-metadata schema once per process, not once per cell.

    nbgrader validates each graded cell's metadata with ``jsonschema.validate``, which first
    checks the schema itself against the JSON Schema meta-schema: a quarter of autograde's time.
    This does what ``jsonschema.validate`` does (the same error, the best match, for metadata
    that does not fit) with a validator made once per schema.
    """
    import types

    import jsonschema
    import nbgrader.nbgraderformat.common as common

    if getattr(common.jsonschema, "checks_once", False):
        return

    def validate(instance, schema, cls=None, *args, **kwargs):
        key = (json.dumps(schema, sort_keys=True), cls, args, tuple(sorted(kwargs.items())))
        validator = _VALIDATORS.get(key)
        if validator is None:
            kind = cls or jsonschema.validators.validator_for(schema)
            kind.check_schema(schema)
            validator = _VALIDATORS[key] = kind(schema, *args, **kwargs)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    common.jsonschema = types.SimpleNamespace(validate=validate, checks_once=True)


def fresh_engines() -> None:
    """Forget the shared engines (in a forked child: its parent's connections stay unused)."""
    _ENGINES.clear()
    _CHECKED.clear()
    _COURSES.clear()


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows a test cell without its hidden tests (unless configured otherwise)."""

    show_hidden_tests = Bool(False, help="Print the hidden tests' source in feedback").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        if not self.show_hidden_tests:
            for cell in nb.cells:
                if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
                    cell.source = strip_hidden(cell.source)
        return nb, resources


def course_config(course: str, db_url: str | None = None) -> Config:
    """The course's nbgrader_config.py (if any), rooted at ``course``.

    ``db_url`` (e.g. ``postgresql://host/course``) replaces the gradebook's URL; by default it is
    the course's own setting, nbgrader's ``sqlite:///<course>/gradebook.db`` unless configured.
    """
    cfg = Config()
    path = os.path.join(course, "nbgrader_config.py")
    if os.path.exists(path):
        cfg.merge(PyFileConfigLoader("nbgrader_config.py", path=course).load_config())
    cfg.CourseDirectory.root = os.path.abspath(course)
    if db_url:
        cfg.CourseDirectory.db_url = db_url
    cfg.Exchange.root = tempfile.gettempdir()
    return cfg


def coursedir(course: str, db_url: str | None = None) -> CourseDirectory:
    return CourseDirectory(config=course_config(course, db_url))


def ensure_gradebook(course: str, assignment: str, db_url: str | None = None) -> None:
    """Record the assignment's notebooks and graded cells in the gradebook if missing.

    Runs nbgrader's generate_assignment into a scratch release folder, so the committed
    student versions are never rewritten.
    """
    cd = coursedir(course, db_url)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            if gb.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as release:
        cfg = course_config(course, db_url)
        cfg.CourseDirectory.release_directory = release
        cfg.CourseDirectory.assignment_id = assignment
        cfg.GenerateAssignment.create_assignment = True
        cfg.BaseConverter.force = True
        cfg.GenerateAssignment.preprocessors = [
            p for p in GenerateAssignment.class_traits()["preprocessors"].default()
        ]
        converter = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
        converter.log.setLevel(logging.WARNING)
        converter.start()


class Autograder:
    """nbgrader's autograde for one student at a time, with the sandboxed run's outputs."""

    def __init__(
        self, course: str, assignment: str, results_dir: str, db_url: str | None = None
    ) -> None:
        cfg = course_config(course, db_url)
        cfg.CourseDirectory.assignment_id = assignment
        steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
        swap = {Execute: ReplayExecute, IgnorePattern: DropWarnings}
        cfg.Autograde.autograde_preprocessors = [swap.get(s, s) for s in steps]
        share_engines()
        check_schemas_once()
        cfg.ReplayExecute.results_dir = results_dir
        cfg.Autograde.create_student = True
        cfg.BaseConverter.force = True
        self.coursedir = CourseDirectory(config=cfg)
        self.assignment = assignment
        self.converter = Autograde(coursedir=self.coursedir, config=cfg)
        self.converter.log.setLevel(logging.ERROR)

    def has_output(self, student: str) -> bool:
        cd = self.coursedir
        return os.path.isdir(cd.format_path(cd.autograded_directory, student, self.assignment))

    def run(self, student: str) -> None:
        """Autograde one student; raise :class:`StepFailed` with nbgrader's reason if it fails."""
        _start(self.converter, self.coursedir, student, strict=True)


class Feedback:
    """nbgrader's feedback HTML for one student at a time, without hidden tests' source."""

    def __init__(
        self, course: str, assignment: str, show_hidden: bool, db_url: str | None = None
    ) -> None:
        cfg = course_config(course, db_url)
        cfg.CourseDirectory.assignment_id = assignment
        cfg.GenerateFeedback.preprocessors = [
            GetGrades,
            CSSHTMLHeaderPreprocessor,
            HideHiddenTests,
        ]
        cfg.HideHiddenTests.show_hidden_tests = show_hidden
        cfg.BaseConverter.force = True
        self.coursedir = CourseDirectory(config=cfg)
        self.converter = GenerateFeedback(coursedir=self.coursedir, config=cfg)
        self.converter.log.setLevel(logging.ERROR)

    def run(self, student: str) -> None:
        _start(self.converter, self.coursedir, student)


def feedback_many(
    course: str, assignment: str, show_hidden: bool, students, progress=None, db_url=None
):
    """Feedback for several students with one converter; returns how many."""
    fresh_engines()  # (this may be a forked child of the grader)
    share_engines()
    check_schemas_once()
    maker = Feedback(course, assignment, show_hidden, db_url)
    for student in students:
        maker.run(student)
        if progress is not None:
            progress()
    return len(students)


class _Errors(logging.Handler):
    """Keeps the error records nbgrader logs while it converts one student."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:
            pass


def _start(converter, cd: CourseDirectory, student: str, strict: bool = False) -> None:
    """Run ``converter`` for one student; with ``strict``, a failure raises StepFailed.

    nbgrader catches a failing preprocessor, logs its traceback and ends with a generic
    ``NbGraderException``; the reason kept is the last line of the first traceback it logged.
    """
    cd.student_id = student
    errors = _Errors()
    converter.log.addHandler(errors)
    try:
        converter.start()
    except Exception as exc:
        log.error("nbgrader failed for %s: %s", student, exc)
        if strict:
            raise StepFailed(_reason(errors.messages, exc)) from exc
    finally:
        converter.log.removeHandler(errors)


def _reason(messages: list[str], exc: Exception) -> str:
    for message in messages:
        if "Traceback (most recent call last)" in message:
            lines = [line for line in message.strip().splitlines() if line.strip()]
            return lines[-1][:200]
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def scores(course: str, assignment: str, db_url: str | None = None) -> tuple[dict, dict]:
    """Per student: nbgrader's export fields for this assignment; and the assignment's."""
    cd = coursedir(course, db_url)
    rows = {}
    with Gradebook(cd.db_url, cd.course_id) as gb:
        a = gb.find_assignment(assignment)
        info = {"assignment": a.name, "duedate": a.duedate or "", "max_score": a.max_score}
        for student in gb.students:
            row = {
                "student_id": student.id,
                "last_name": student.last_name or "",
                "first_name": student.first_name or "",
                "email": student.email or "",
            }
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                pass
            else:
                manual = sum(
                    g.max_score
                    for nb in sub.notebooks
                    for g in nb.grades
                    if g.needs_manual_grade and g.manual_score is None
                )
                if manual:
                    row["manual"] = f"{manual:g} points await manual grading"
                row.update(
                    timestamp=sub.timestamp or "",
                    raw_score=sub.score,
                    late_submission_penalty=sub.late_submission_penalty,
                    score=max(0.0, sub.score - sub.late_submission_penalty),
                )
            rows[student.id] = row
    return rows, info


def void(course: str, assignment: str, student: str, db_url: str | None = None) -> None:
    """Leave no automatic score of a student nbgrader failed on (manual grades stay).

    A failed autograde may have left the submission's earlier grades, or new ones without a
    score ("awaiting manual grading"): every automatic score becomes 0, needing no review.
    """
    cd = coursedir(course, db_url)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return
        for nb in submission.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def forget(course: str, assignment: str, students: list[str], db_url: str | None = None) -> None:
    """Remove stale submissions of students who now have nothing gradable."""
    cd = coursedir(course, db_url)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        for student in students:
            gb.update_or_create_student(student)
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass
