"""The batch grader against a hostile class, run once through the CLI that `make grade` wraps.

One session-scoped run grades every case of ``tests/hostile/cases.py`` (plus correct
submissions around them) in a small nbgrader course; the tests then check each student's
score and reason, the gradebook, the feedback, idempotence, resuming and order independence.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys

import nbformat
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hostile.cases import CASES, build
from hostile.course import (
    ASSIGNMENT,
    MAX_SCORE,
    NOTEBOOK,
    make_course,
    release_notebook,
    venv_env,
)

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
    ),
]
FAST = ["--timeout", "4", "--test-timeout", "4", "--no-progress"]


def write_class(course: str, folder: str, cases, prefix: str = "") -> list[str]:
    release = release_notebook(course)
    ids = []
    for case in cases:
        sid = prefix + case.name
        ids.append(sid)
        student = os.path.join(folder, sid)
        os.makedirs(student)
        for name, text in case.files.items():
            os.makedirs(os.path.dirname(os.path.join(student, name)), exist_ok=True)
            with open(os.path.join(student, name), "w") as f:
                f.write(text)
        if case.missing:
            continue
        path = os.path.join(student, f"{NOTEBOOK}.ipynb")
        if case.raw is not None:
            with open(path, "w") as f:
                f.write(case.raw)
        else:
            nbformat.write(build(case, release, course), path)
    return ids


def grade(course: str, submissions: str, grades: str, *extra: str) -> subprocess.CompletedProcess:
    argv = [
        sys.executable,
        "-m",
        "nngrader",
        "grade",
        ASSIGNMENT,
        submissions,
        grades,
        *FAST,
        *extra,
    ]
    return subprocess.run(argv, cwd=course, env=venv_env(), capture_output=True, text=True)


def read_csv(path: str) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """The whole hostile class graded once (two correct neighbours around it)."""
    root = tmp_path_factory.mktemp("grader")
    course = make_course(str(root / "course"))
    submissions = str(root / "submissions")
    write_class(course, submissions, CASES)
    correct = next(c for c in CASES if c.name == "correct")
    for name in ("aaa_neighbour", "zzz_neighbour"):
        write_class(course, submissions, [correct], prefix=name + "_")
    grades = str(root / "grades.csv")
    done = grade(course, submissions, grades)
    assert done.returncode == 0, done.stderr[-4000:]
    argv = [sys.executable, "-m", "nngrader", "feedback", ASSIGNMENT, "--no-progress"]
    done = subprocess.run(argv, cwd=course, env=venv_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    return {
        "course": course,
        "submissions": submissions,
        "grades": grades,
        "rows": read_csv(grades),
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_case_score_and_reason(graded, case):
    row = graded["rows"][case.name]
    assert float(row["score"]) == case.score, row["reason"]
    assert float(row["max_score"]) == MAX_SCORE
    if case.reason:
        assert case.reason in row["reason"], row["reason"]
    else:
        assert row["reason"] == "", row["reason"]


def test_every_folder_gets_a_row_in_nbgrader_export_format(graded):
    folders = sorted(os.listdir(graded["submissions"]))
    assert sorted(graded["rows"]) == folders
    with open(graded["grades"]) as f:
        header = f.readline().strip().split(",")
    assert header[:11] == [
        "assignment",
        "duedate",
        "timestamp",
        "student_id",
        "last_name",
        "first_name",
        "email",
        "raw_score",
        "late_submission_penalty",
        "score",
        "max_score",
    ]
    assert header[11:] == ["reason", "incomplete"]  # (what the score leaves out: lms.incomplete)


def test_perfect_code_next_to_hostile_neighbours_gets_full_marks(graded):
    for sid in ("correct", "aaa_neighbour_correct", "zzz_neighbour_correct"):
        assert float(graded["rows"][sid]["score"]) == MAX_SCORE


def test_gradebook_holds_the_csv_scores_and_nothing_else(graded):
    from nbgrader.api import Grade, Gradebook

    url = "sqlite:///" + os.path.join(graded["course"], "gradebook.db")
    with Gradebook(url) as gb:
        for sid, row in graded["rows"].items():
            try:
                score = gb.find_submission(ASSIGNMENT, sid).score
            except Exception:
                score = 0.0
            assert score == float(row["score"]), sid
        assert max(g.auto_score or 0 for g in gb.db.query(Grade)) <= 2.0  # no 1000 points


def test_feedback_explains_failures_without_hidden_test_source(graded):
    feedback = os.path.join(graded["course"], "feedback")
    html = {}
    for sid in os.listdir(feedback):
        with open(os.path.join(feedback, sid, ASSIGNMENT, f"{NOTEBOOK}.html")) as f:
            html[sid] = f.read()
    assert "correct" in html and "wrong_sigmoid" in html
    for sid, text in html.items():
        assert "HIDDEN_SECRET" not in text, sid
        assert "BEGIN HIDDEN TESTS" not in text, sid
    assert "sigmoid differs from the reference" in html["wrong_sigmoid"]
    assert "Timeout" in html["infinite_loop_in_test"]
    assert "ReferenceUsed" in html["reference_use"]


def test_rerun_is_idempotent_and_resumes(graded, tmp_path):
    first = open(graded["grades"]).read()
    again = str(tmp_path / "again.csv")
    done = grade(graded["course"], graded["submissions"], again)
    assert done.returncode == 0, done.stderr[-3000:]
    assert open(again).read() == first
    # an interrupted run: one student's stored run is gone, the CSV was never written
    os.remove(os.path.join(graded["course"], ".nnlib-grader", ASSIGNMENT, "wrong_sigmoid.json"))
    resumed = str(tmp_path / "resumed.csv")
    done = grade(graded["course"], graded["submissions"], resumed)
    assert done.returncode == 0, done.stderr[-3000:]
    assert open(resumed).read() == first


def test_grades_do_not_depend_on_order_or_parallelism(graded, tmp_path):
    picked = [
        c
        for c in CASES
        if c.name
        in ("correct", "patch_allclose", "infinite_loop_in_test", "reference_use", "os_exit")
    ]
    course = make_course(str(tmp_path / "course"))
    submissions = str(tmp_path / "submissions")
    ids = write_class(course, submissions, reversed(picked), prefix="")
    grades = str(tmp_path / "grades.csv")
    done = grade(course, submissions, grades, "--jobs", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(grades)
    for sid in ids:
        assert rows[sid]["score"] == graded["rows"][sid]["score"], sid
        assert rows[sid]["reason"] == graded["rows"][sid]["reason"], sid


def test_refuses_without_sandbox_unless_unsafe(graded, tmp_path):
    """No bwrap where the runs happen: the batch stops with exit 2, no student is marked."""
    course = str(tmp_path / "course")
    shutil.copytree(graded["course"], course)
    submissions = str(tmp_path / "subs")
    write_class(course, submissions, [c for c in CASES if c.name == "correct"], prefix="new_")
    env = {**venv_env(), "PATH": os.path.dirname(sys.executable)}  # no bwrap on PATH
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, submissions, "g.csv"]
    done = subprocess.run(argv, cwd=course, env=env, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "bubblewrap (bwrap) is not installed" in done.stderr and "--unsafe" in done.stderr
    assert f"on {socket.gethostname()}:" in done.stderr  # which machine lacks it
    assert not os.path.exists(os.path.join(course, "g.csv"))


def test_help_documents_the_command():
    run = [sys.executable, "-m", "nngrader"]
    done = subprocess.run([*run, "grade", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for word in ("--jobs", "--unsafe", "--memory", "--timeout", "zip", "reason", "bubblewrap"):
        assert word in done.stdout
    done = subprocess.run([*run, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "feedback" in done.stdout


def test_accepts_the_zip_an_lms_exports(graded, tmp_path):
    import zipfile

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for sid in ("correct", "wrong_sigmoid", "empty_folder"):
            folder = os.path.join(graded["submissions"], sid)
            z.writestr(f"class/{sid}/", "")
            for name in os.listdir(folder):
                z.write(os.path.join(folder, name), f"class/{sid}/{name}")
    grades = str(tmp_path / "zip.csv")
    done = grade(graded["course"], str(archive), grades)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(grades)
    assert sorted(rows) == ["correct", "empty_folder", "wrong_sigmoid"]
    for sid, row in rows.items():
        assert row["score"] == graded["rows"][sid]["score"], sid
