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
