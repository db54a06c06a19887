"""A real PostgreSQL gradebook (issue 19, item 5).

A PostgreSQL server (Debian's package, an unprivileged cluster in a temporary folder on
127.0.0.1, see ``tests/instructor/postgres.py``) holds the gradebook of a course with two
assignments, ``pv`` and ``pv2`` (the same notebook). Two ``grade`` runs, one per assignment,
write into it at the same time; each CSV equals the one the default SQLite gradebook gives.
A URL that cannot be used stops ``grade`` with one line, before any work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from instructor import postgres
from instructor.course import (
    ASSIGNMENT,
    CORRECT,
    SUM_NOT_MEAN,
    answer,
    make_course,
    release_notebook,
    venv_env,
    write_submission,
)

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
    ),
]
FAST = ["--timeout", "10", "--test-timeout", "10", "--no-progress", "--jobs", "1"]
SECOND = "pv2"


def _course(root: str) -> str:
    course = make_course(root, variants=False)
    shutil.copytree(f"{course}/solutions/{ASSIGNMENT}", f"{course}/solutions/{SECOND}")
    argv = [sys.executable, "-m", "nbgrader", "generate_assignment", SECOND, "--force"]
    subprocess.run(
        [*argv, "--log-level=ERROR"], cwd=course, check=True, capture_output=True, env=venv_env()
    )
    return course


def _grade(course: str, assignment: str, subs: str, grades: str, *extra: str):
    argv = [sys.executable, "-m", "nngrader", "grade", assignment, subs, grades, *FAST, *extra]
    return subprocess.Popen(
        argv, cwd=course, env=venv_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def pg():
    yield from postgres.server()


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    root = tmp_path_factory.mktemp("pg")
    lite, shared = _course(str(root / "lite")), _course(str(root / "shared"))
    release = release_notebook(lite)
    subs = str(root / "submissions")
    for sid, answers in {
        "alice": CORRECT,
        "bob": {**CORRECT, "grad_mse": SUM_NOT_MEAN},
        "carol": {},
    }.items():
        write_submission(subs, sid, answer(release, answers))
    return root, lite, shared, subs


def test_two_assignments_graded_at_once_into_postgres_equal_sqlite(pg, classes):
    root, lite, shared, subs = classes
    url = postgres.create_database(pg, "course")
    runs = {
        "sqlite": _grade(lite, ASSIGNMENT, subs, str(root / "lite.csv")),
        ASSIGNMENT: _grade(shared, ASSIGNMENT, subs, str(root / "pg.csv"), "--db-url", url),
        SECOND: _grade(shared, SECOND, subs, str(root / "pg2.csv"), "--db-url", url),
    }
    for name, run in runs.items():
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, (name, err[-9000:])
    expected = (root / "lite.csv").read_text()
    assert expected.count("\n") == 4 and ",alice," in expected
    assert (root / "pg.csv").read_text() == expected
    second = expected.replace(f"\n{ASSIGNMENT},", f"\n{SECOND},")
    assert (root / "pg2.csv").read_text() == second
    import sqlite3  # (the release step made the course's SQLite gradebook: nothing graded in it)

    with sqlite3.connect(os.path.join(shared, "gradebook.db")) as lite_db:
        assert lite_db.execute("SELECT count(*) FROM submitted_assignment").fetchone() == (0,)

    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT assignment.name, count(*) FROM submitted_assignment JOIN assignment "
            "ON assignment.id = submitted_assignment.assignment_id GROUP BY assignment.name "
            "ORDER BY assignment.name"
        ).fetchall()
    assert rows == [(ASSIGNMENT, 3), (SECOND, 3)]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://nngrader@127.0.0.1:{closed}/course", "cannot open the gradebook at"),
        ("postgresql://nngrader@127.0.0.1:{port}/no_such_db", 'database "no_such_db"'),
        ("postgres-ql:/nonsense", "is not a database URL"),
        ("postgresql+psycopg2://nngrader@127.0.0.1:{port}/course", "is not installed"),
    ],
)
def test_a_bad_db_url_is_one_line_before_any_work(pg, classes, tmp_path, url, says):
    _, _, shared, subs = classes
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    url = url.format(closed=closed, port=pg.rsplit(":", 1)[1])
    state = os.path.join(shared, ".nnlib-grader", "pv3")
    start = time.monotonic()
    run = _grade(shared, "pv3", subs, str(tmp_path / "g.csv"), "--db-url", url)
    _, err = run.communicate(timeout=120)
    assert run.returncode != 0
    assert err.startswith("ERROR: ") and says in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not os.path.exists(tmp_path / "g.csv") and not os.path.exists(state)
    assert time.monotonic() - start < 30
