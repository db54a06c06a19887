"""Grades as the CSV file that Canvas or Moodle imports, from the grades CSV and a roster.

The roster maps the grader's student ids (the submission folders) to the LMS's ids. It is a
CSV with a header; ``student_id`` is required, the rest as each LMS needs:

==================  ==========================================================
column              used for
==================  ==========================================================
``student_id``      the grader's id (the submission folder's name)
``name``            Canvas ``Student`` ("Last, First"; optional)
``canvas_id``       Canvas ``ID`` (the numeric user id)
``sis_user_id``     Canvas ``SIS User ID``
``sis_login_id``    Canvas ``SIS Login ID``
``section``         Canvas ``Section``
``first_name``      Moodle ``First name``
``last_name``       Moodle ``Last name``
``id_number``       Moodle ``ID number`` (map from it to "useridnumber")
``email``           Moodle ``Email address`` (map from it to "useremail")
==================  ==========================================================

Canvas (Gradebook, Import): the header is ``Student,ID,SIS User ID,SIS Login ID,Section``
followed by one column per assignment; a column named ``<assignment> (<assignment id>)``
fills that existing assignment, another name creates one. Canvas needs one of ``ID``, ``SIS
User ID`` or ``SIS Login ID`` per student. The optional second row, ``Points Possible``, gives
the assignment's points, as Canvas' own export does.

Moodle (Grades, Import, CSV file): the import format is the export's ("Plain text file"):
``First name,Last name,ID number,Email address`` and one column per grade item; on import
the instructor maps ``ID number`` to ``useridnumber`` (or ``Email address`` to ``useremail``)
and the grade column to the grade item.

A student of the grades CSV who is not in the roster cannot be imported: the export names
them and leaves them out. A roster student without a grade gets an empty cell, which both
LMSs read as "no change".

The export also says what its scores leave out, student by student (:func:`gaps`): points
that await manual grading (the score counts them as 0 until formgrader has them), a missing
submission, a submission not graded, a fault of the run (a timeout, a crash: the CSV's
``reason`` says which). The grades CSV carries the same in its ``incomplete`` column
(:func:`incomplete`), so a spreadsheet shows it too.
"""

from __future__ import annotations

import csv
import io

#: The words of the grades CSV's ``incomplete`` column, in the order they are listed.
AWAITING = "awaiting manual grading"
NO_SUBMISSION = "no submission"
NOT_GRADED = "not graded"
FAULT = "fault"
GAPS = (NO_SUBMISSION, NOT_GRADED, FAULT, AWAITING)
CANVAS_IDS = ("canvas_id", "sis_user_id", "sis_login_id")
MOODLE_IDS = ("id_number", "email")
FORMATS = ("canvas", "moodle")


class RosterError(ValueError):
    """The roster is missing, malformed, or lacks the ids an LMS needs."""


def incomplete(entry: dict, run_reasons: list[str], manual: str) -> str:
    """The grades CSV's ``incomplete`` cell: what this student's score leaves out.

    Args:
        entry: the student as ``pipeline.prepare`` read them (``notebooks``, ``notes``,
            ``invalid``).
        run_reasons: the unusual events of the sandboxed run (timeouts, crashes, ...).
        manual: nbgrader's "N points await manual grading", or "".

    Returns:
        ``"; "``-joined words of :data:`GAPS`, or "" when the score is the whole grade.
    """
    gaps = []
    notes = [str(n) for n in entry.get("notes", [])]
    if not entry.get("notebooks"):
        submitted = [n for n in notes if not n.startswith("no submission of ")]
        gaps.append(NOT_GRADED if submitted or entry.get("invalid") else NO_SUBMISSION)
    elif any(n.startswith("not graded") for n in notes):
        gaps.append(NOT_GRADED)
    if entry.get("notebooks") and run_reasons:
        gaps.append(FAULT)
    if manual:
        gaps.append(AWAITING)
    return "; ".join(gaps)


def gaps(grades: str, roster: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, str]]:
    """Per kind of gap (:data:`GAPS`): student id -> the CSV's reason, from a grades CSV.

    Roster students without a row count as missing submissions. A grades CSV written before
    the ``incomplete`` column existed is read from its ``reason`` column.
    """
    with open(grades, newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, dict[str, str]] = {kind: {} for kind in GAPS}
    for row in rows:
        sid, reason = row.get("student_id", ""), row.get("reason") or ""
        if "incomplete" in row:
            kinds = [k.strip() for k in (row["incomplete"] or "").split(";") if k.strip()]
        else:
            kinds = [NO_SUBMISSION] if reason == NO_SUBMISSION else []
            kinds += [AWAITING] if "manual grading" in reason else []
        for kind in kinds:
            out.setdefault(kind, {})[sid] = reason
    for sid in roster or {}:
        if sid not in {r.get("student_id") for r in rows}:
            out[NO_SUBMISSION][sid] = "no row in the grades CSV"
    return out


def warnings(found: dict[str, dict[str, str]], out: str, shown: int = 10) -> list[str]:
    """One line per kind of gap, naming up to ``shown`` students (for the terminal)."""
    lines = []
    for kind, students in found.items():
        if not students:
            continue
        names = sorted(students)
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        what = {
            AWAITING: "their score counts those points as 0 until they are graded by hand",
            NO_SUBMISSION: "no submission: an empty cell (no change in the LMS)",
            NOT_GRADED: "submitted but not graded: see the reason column",
            FAULT: "a fault cost points (a timeout, a crash): see the reason column",
        }.get(kind, kind)
        lines.append(
            f"WARNING: {len(names)} students in {out}: {kind}: {what}: "
            f"{', '.join(names[:shown])}{more}"
        )
    return lines


def names_to_gradebook(roster_path: str, course: str, db_url: str | None = None) -> int:
    """Record the roster's names and emails in nbgrader's gradebook; return how many.

    nbgrader's grades CSV (``last_name``, ``first_name``, ``email``), formgrader and the
    feedback take them from there. ``first_name``/``last_name`` columns, or Canvas' ``name``
    ("Last, First"); an empty roster cell leaves the gradebook's value as it is.
    """
    from nbgrader.api import Gradebook

    from nngrader.host.nbgrader_steps import coursedir

    roster = read_roster(roster_path)
    cd = coursedir(course, db_url)
    done, changed = 0, False
    with Gradebook(cd.db_url, cd.course_id) as gb:
        known = {s.id: s for s in gb.students}  # (one query, not one per student)
        for sid, row in roster.items():
            first, last = row.get("first_name", ""), row.get("last_name", "")
            if not (first or last) and row.get("name"):
                last, _, first = (x.strip() for x in row["name"].partition(","))
            fields = {"first_name": first, "last_name": last, "email": row.get("email", "")}
            fields = {k: v for k, v in fields.items() if v}
            if not fields:
                continue
            done += 1
            student = known.get(sid)
            if student is None:  # a new student: nbgrader adds them (and commits)
                gb.update_or_create_student(sid, **fields)
                continue
            for key, value in fields.items():
                if getattr(student, key) != value:
                    setattr(student, key, value)
                    changed = True
        if changed:  # every change in one transaction; none (a re-run): no write at all
            gb.db.commit()
    return done


def read_roster(path: str) -> dict[str, dict[str, str]]:
    """Student id -> that student's roster row (stripped strings), in the roster's order."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from exc
    if not rows or "student_id" not in rows[0]:
        got = sorted(rows[0]) if rows else "an empty file"
        raise RosterError(f"roster {path}: expected a header with student_id, got {got}")
    roster: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        sid = clean["student_id"]
        if not sid:
            raise RosterError(f"roster {path}, line {line}: empty student_id")
        if sid in roster:
            raise RosterError(f"roster {path}, line {line}: student_id {sid!r} appears twice")
        roster[sid] = clean
    return roster


def read_grades(path: str) -> tuple[dict[str, float], float]:
    """Student id -> score, and the assignment's max score, from a grades CSV."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"student_id", "score", "max_score"} <= set(rows[0]):
        raise ValueError(
            f"grades {path}: expected the columns student_id, score, max_score, "
            f"got {sorted(rows[0])}"
        )
    scores = {r["student_id"]: float(r["score"] or 0.0) for r in rows}
    top = max((float(r["max_score"] or 0.0) for r in rows), default=0.0)
    return scores, top


def _number(x: float) -> str:
    return f"{round(x, 4):g}"


def canvas(
    scores: dict[str, float], max_score: float, roster: dict[str, dict[str, str]], column: str
) -> str:
    """The Canvas gradebook import CSV (see the module docstring)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
    w.writerow(["Points Possible", "", "", "", "", _number(max_score)])
    for sid, row in roster.items():
        if not any(row.get(k) for k in CANVAS_IDS):
            raise RosterError(
                f"roster: student {sid!r} needs one of {', '.join(CANVAS_IDS)} for Canvas"
            )
        score = _number(scores[sid]) if sid in scores else ""
        w.writerow(
            [
                row.get("name", ""),
                row.get("canvas_id", ""),
                row.get("sis_user_id", ""),
                row.get("sis_login_id", ""),
                row.get("section", ""),
                score,
            ]
        )
    return out.getvalue()


def moodle(scores: dict[str, float], roster: dict[str, dict[str, str]], column: str) -> str:
    """The Moodle CSV grade import file (see the module docstring)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["First name", "Last name", "ID number", "Email address", column])
    for sid, row in roster.items():
        if not any(row.get(k) for k in MOODLE_IDS):
            raise RosterError(
                f"roster: student {sid!r} needs one of {', '.join(MOODLE_IDS)} for Moodle"
            )
        score = _number(scores[sid]) if sid in scores else ""
        w.writerow(
            [
                row.get("first_name", ""),
                row.get("last_name", ""),
                row.get("id_number", ""),
                row.get("email", ""),
                score,
            ]
        )
    return out.getvalue()


def export(
    fmt: str, grades: str, roster_path: str, out: str, column: str | None = None
) -> list[str]:
    """Write the ``fmt`` ("canvas" or "moodle") import file ``out`` from a grades CSV.

    ``column`` names the LMS's grade column (Canvas: ``"a1 (12345)"`` for an existing
    assignment); by default the assignment's name from the grades CSV. Returns the graded
    students missing from the roster (left out of the file).
    """
    from nngrader.host.pipeline import atomic_write

    if fmt not in FORMATS:
        raise ValueError(f"export format: expected one of {FORMATS}, got {fmt!r}")
    roster = read_roster(roster_path)
    scores, max_score = read_grades(grades)
    if column is None:
        with open(grades, newline="") as f:
            first = next(csv.DictReader(f), {})
        column = first.get("assignment") or "grade"
    if fmt == "canvas":
        atomic_write(out, canvas(scores, max_score, roster, column))
    else:
        atomic_write(out, moodle(scores, roster, column))
    return sorted(set(scores) - set(roster))
