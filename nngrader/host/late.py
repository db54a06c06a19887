"""Late work: submission times kept, nbgrader's due date and late penalty, extensions.

nbgrader decides lateness itself: the submission's time (``timestamp.txt`` in its
``submitted/`` folder) against the assignment's due date in the gradebook plus the student's
extension, and ``LateSubmissionPlugin.penalty_method`` (``none``, ``zero``, or a plugin of
the course) gives the penalty. The grader rebuilds ``submitted/``; this module keeps each
student's time in it:

* ``timestamp.txt`` anywhere in the student's folder (nbgrader's collect and exchange write
  one; an LMS export may carry one), as nbgrader writes it;
* otherwise the time of the newest notebook in the folder, which for an LMS zip is the time
  the zip records for it (:func:`nngrader.host.intake.unpack` keeps those times). This is a
  fallback, stated as such in the log: copying files loses their times.

``grade --due-date`` sets the assignment's due date in the gradebook; ``grade --extensions
extensions.csv`` (columns ``student_id`` and ``hours`` or ``days``) gives students more time.

nbgrader computes the penalty when it records a run (its autograde). The grader records a
stored run again whenever :func:`recording_keys` changes for its student: the submission
time, the due date and extension in the gradebook, or the course's late-penalty settings. So
a new due date or extension changes the grades on the next ``grade``, without running any
submission in the sandbox again.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import logging
import os

from nngrader.host import intake

log = logging.getLogger("nngrader")
TIMESTAMP = "timestamp.txt"


def parse_utc(text: str) -> datetime.datetime:
    """A time as nbgrader reads it (``nbgrader.utils.parse_utc``), naive in UTC.

    Kept here so that reading the class does not import nbgrader in the grading process
    before the cluster's workers start.
    """
    import dateutil.parser
    import dateutil.tz

    parts = text.split(" ")
    if len(parts) == 3:
        try:
            zone = int(parts[2])
        except ValueError:
            zone = dateutil.tz.gettz(parts[2])
        when = dateutil.parser.parse(" ".join([*parts[:2], "TZ"]), tzinfos={"TZ": zone})
    else:
        when = dateutil.parser.parse(text)
    if when.tzinfo is not None:
        when = (when - when.utcoffset()).replace(tzinfo=None)
    return when


def submission_time(folder: str) -> tuple[str | None, str]:
    """The student's submission time (nbgrader's format, UTC) and where it came from."""
    found: list[str] = []
    notebooks: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if root[len(folder) :].count(os.sep) > 3:
            continue
        found += [os.path.join(root, f) for f in files if f == TIMESTAMP]
        notebooks += [os.path.join(root, f) for f in files if f.endswith(".ipynb")]
    for path in sorted(found):
        try:  # a regular file of a few bytes, reached without following any link
            data = intake.read_regular(folder, os.path.relpath(path, folder), 200)
        except intake.Refused:
            continue
        text = data.decode(errors="replace").strip()
        try:
            return str(parse_utc(text)), TIMESTAMP
        except (ValueError, OverflowError):
            log.warning("%s: not a time (%r); the file's time is used instead", path, text[:40])
    times = [os.lstat(p).st_mtime for p in notebooks if not os.path.islink(p)]
    if not times:
        return None, "none"
    when = datetime.datetime.fromtimestamp(max(times), tz=datetime.UTC)
    return str(when.replace(tzinfo=None)), "file time"


def keep(folder: str, dest: str) -> str | None:
    """Write the submission time of ``folder`` into ``dest/timestamp.txt``; return it.

    The file is replaced atomically but not synced to the disk: it is derived from the class
    folder again on every run (a sync per student was a tenth of an unchanged re-run).
    """
    when, source = submission_time(folder)
    if when is not None:
        os.makedirs(dest, exist_ok=True)
        path = os.path.join(dest, TIMESTAMP)
        with open(path + ".tmp", "w") as f:
            f.write(when + "\n")
        os.replace(path + ".tmp", path)
        if source != TIMESTAMP:
            log.info("%s: no timestamp.txt; the newest notebook's time is used", folder)
    return when


def read_extensions(path: str) -> dict[str, datetime.timedelta]:
    """Student id -> extra time, from a CSV with ``student_id`` and ``hours`` or ``days``."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows or "student_id" not in rows[0] or not {"hours", "days"} & set(rows[0]):
        got = sorted(rows[0]) if rows else "an empty file"
        raise ValueError(f"extensions {path}: expected student_id and hours or days, got {got}")
    out = {}
    for line, row in enumerate(rows, start=2):
        try:
            hours = float(row.get("hours") or 0) + 24 * float(row.get("days") or 0)
        except ValueError:
            raise ValueError(
                f"extensions {path}, line {line}: not a number of hours/days"
            ) from None
        if hours < 0:
            raise ValueError(f"extensions {path}, line {line}: a negative extension")
        out[row["student_id"].strip()] = datetime.timedelta(hours=hours)
    return out


def apply(
    course: str,
    assignment: str,
    due: str | None,
    extensions: dict[str, datetime.timedelta],
    db_url: str | None = None,
) -> None:
    """Record the due date (if given) and the extensions in nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    from nngrader.host.nbgrader_steps import coursedir

    cd = coursedir(course, db_url)
    with Gradebook(cd.db_url, cd.course_id) as gb:
        if due:
            gb.update_or_create_assignment(assignment, duedate=parse_utc(due))
        else:
            gb.update_or_create_assignment(assignment)
        for sid, extra in extensions.items():
            gb.update_or_create_student(sid)
            gb.update_or_create_submission(assignment, sid, extension=extra)


def recording_keys(
    course: str,
    assignment: str,
    times: dict[str, str | None],
    db_url: str | None = None,
) -> dict[str, str]:
    """Student -> a digest of what nbgrader's late penalty for them depends on, now.

    ``times`` maps each student to the submission time kept in ``submitted/`` (or None).
    The digest covers that time, the assignment's due date and the student's extension as
    the gradebook holds them (one query for the class), and the course's
    ``LateSubmissionPlugin`` and ``AssignLatePenalties`` settings. A stored run recorded
    under another digest is recorded again (see :func:`nngrader.host.pipeline.grade`).
    """
    from nbgrader.api import Assignment, Gradebook, MissingEntry, SubmittedAssignment

    from nngrader.host.nbgrader_steps import course_config, coursedir

    cd = coursedir(course, db_url)
    cfg = course_config(course, db_url)
    policy = [
        sorted((k, repr(v)) for k, v in cfg.get(section, {}).items())
        for section in ("LateSubmissionPlugin", "AssignLatePenalties")
    ]
    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            due, extensions = None, {}
        else:
            query = (
                gb.db.query(SubmittedAssignment.student_id, SubmittedAssignment.extension)
                .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                .filter(Assignment.name == assignment, Assignment.course_id == cd.course_id)
            )
            extensions = dict(query.all())
    out = {}
    for sid, when in times.items():
        blob = json.dumps([when, due, extensions.get(sid), policy], default=str)
        out[sid] = hashlib.sha256(blob.encode()).hexdigest()
    return out
