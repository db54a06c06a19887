"""nbgrader's gradebook database: checked before any work, and read across assignments.

``--db-url`` names nbgrader's gradebook (SQLAlchemy's URL: ``sqlite:///gradebook.db``, the
default, or ``postgresql://user@host:5432/course`` for a server that several graders share).
:func:`check_url` connects once, before anything is graded, so that a typo, a missing driver,
a server that does not answer or a refused password is one clear line, not a traceback after
the cluster has started. PostgreSQL's driver is psycopg 3 (``postgresql://`` and
``postgresql+psycopg://``); ``postgresql+psycopg2://`` needs ``pip install psycopg2-binary``.

:func:`course_table` reads every assignment of the gradebook into one table per student (the
course's gradebook: ``python -m nngrader gradebook``, ``make gradebook``).
"""

from __future__ import annotations

import os

#: Seconds to wait for a database server before giving up.
CONNECT_TIMEOUT = 5


class GradebookError(RuntimeError):
    """The gradebook's URL cannot be used (malformed, no driver, no server, refused)."""


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unreadable URL>"


def check_url(url: str) -> None:
    """Connect to the gradebook at ``url`` once; raise :class:`GradebookError` saying why not.

    A SQLite file need not exist yet (nbgrader creates it), but its folder must.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise GradebookError(
            f"--db-url {url!r} is not a database URL: expected e.g. sqlite:///gradebook.db or "
            "postgresql://user@host:5432/course"
        ) from None
    shown = redact(url)
    if parsed.get_backend_name() == "sqlite":
        folder = os.path.dirname(os.path.abspath(parsed.database or "."))
        if parsed.database and not os.path.isdir(folder):
            raise GradebookError(f"--db-url {shown}: the folder {folder} does not exist")
    options = {}
    if parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    try:
        engine = create_engine(parsed, **options)
    except NoSuchModuleError:
        raise GradebookError(
            f"--db-url {shown}: SQLAlchemy has no database driver "
            f"{parsed.drivername!r}; use postgresql:// (psycopg 3) or sqlite:///"
        ) from None
    except ImportError as exc:
        raise GradebookError(
            f"--db-url {shown}: the driver for {parsed.drivername!r} is not installed "
            f"({exc}); postgresql:// uses psycopg 3, which nngrader installs"
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        raise GradebookError(f"cannot open the gradebook at {shown}: {reason}") from None
    finally:
        engine.dispose()


#: The PostgreSQL advisory lock that serializes setting a gradebook up (any fixed number).
SETUP_LOCK = 0x6E6E6772  # "nngr"


def prepare(url: str, course_id: str, students: list[str] = ()) -> None:
    """Make nbgrader's tables, the course's row and ``students`` exist, one process at a time.

    nbgrader creates its schema and rows on first use, from every process that opens the
    gradebook; two ``grade`` runs starting together on a new PostgreSQL database race on it
    (one fails on a duplicate table or row). On PostgreSQL this runs under an advisory lock,
    so the second run finds everything made. It also makes the course's row when its id is
    empty (nbgrader's default ``course_id = ""`` makes none, and PostgreSQL, unlike SQLite,
    refuses an assignment whose course does not exist). SQLite needs none of it.
    """
    from nbgrader.api import Course, Gradebook
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT})
    try:
        with engine.begin() as connection:
            connection.execute(text(f"SELECT pg_advisory_xact_lock({SETUP_LOCK})"))
            with Gradebook(url, course_id) as gb:  # (tables, alembic's version, the course)
                if gb.db.get(Course, course_id) is None:
                    gb.db.add(Course(id=course_id))
                    gb.db.commit()
                for sid in students:
                    gb.update_or_create_student(sid)
    finally:
        engine.dispose()


def course_table(
    course: str, db_url: str | None = None
) -> tuple[list[str], dict[str, float], list[dict]]:
    """Every assignment of the gradebook, per student (``make gradebook``).

    Returns the assignments (by due date, then name), each one's points, and one row per
    student: ``student_id``, names and email, each assignment's score after nbgrader's late
    penalty ("" without a submission), ``total``, ``max_total`` and ``incomplete`` (the
    assignments not submitted, and those whose hand-graded points are not graded yet).
    """
    from nbgrader.api import Gradebook, MissingEntry

    from nngrader.host.nbgrader_steps import coursedir

    cd = coursedir(course, db_url)
    rows = []
    with Gradebook(cd.db_url, cd.course_id) as gb:
        assignments = sorted(
            gb.assignments, key=lambda a: (a.duedate is None, a.duedate or 0, a.name)
        )
        names = [a.name for a in assignments]
        points = {a.name: float(a.max_score) for a in assignments}
        for student in sorted(gb.students, key=lambda s: s.id):
            row: dict = {
                "student_id": student.id,
                "last_name": student.last_name or "",
                "first_name": student.first_name or "",
                "email": student.email or "",
            }
            total, gaps = 0.0, []
            for name in names:
                try:
                    sub = gb.find_submission(name, student.id)
                except MissingEntry:
                    row[name] = ""
                    gaps.append(f"{name}: no submission")
                    continue
                score = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0))
                row[name] = round(score, 6)
                total += score
                if any(
                    g.needs_manual_grade and g.manual_score is None
                    for nb in sub.notebooks
                    for g in nb.grades
                ):
                    gaps.append(f"{name}: awaiting manual grading")
            row["total"] = round(total, 6)
            row["max_total"] = round(sum(points.values()), 6)
            row["incomplete"] = "; ".join(gaps)
            rows.append(row)
    return names, points, rows


def write_course_table(
    course: str,
    out: str,
    db_url: str | None = None,
    roster: str | None = None,
    formats: tuple[str, ...] = (),
) -> list[str]:
    """Write the course gradebook CSV ``out`` and, with ``roster``, its Canvas/Moodle import
    files (``<out>-canvas.csv``, ``<out>-moodle.csv``: one column per assignment and the
    total); return the paths written."""
    import csv
    import io

    from nngrader.host import lms
    from nngrader.host.pipeline import atomic_write

    names, points, rows = course_table(course, db_url)
    keys = ["student_id", "last_name", "first_name", "email", *names, "total"]
    keys += ["max_total", "incomplete"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out, buffer.getvalue())
    written = [out]
    people = lms.read_roster(roster) if roster else {}
    by_id = {r["student_id"]: r for r in rows}
    columns = [*names, "total"]
    tops = {**points, "total": sum(points.values())}
    for fmt in formats:
        buffer = io.StringIO()
        w = csv.writer(buffer, lineterminator="\n")
        if fmt == "canvas":
            w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *columns])
            w.writerow(["Points Possible", "", "", "", "", *(f"{tops[c]:g}" for c in columns)])
            fields = ("name", "canvas_id", "sis_user_id", "sis_login_id", "section")
        else:
            w.writerow(["First name", "Last name", "ID number", "Email address", *columns])
            fields = ("first_name", "last_name", "id_number", "email")
        for sid, person in people.items():
            row = by_id.get(sid, {})
            w.writerow(
                [person.get(f, "") for f in fields]
                + [f"{row[c]:g}" if row.get(c, "") != "" else "" for c in columns]
            )
        path = f"{out.removesuffix('.csv')}-{fmt}.csv"
        atomic_write(path, buffer.getvalue())
        written.append(path)
    return written
