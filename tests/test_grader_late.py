"""Late work and extensions (issue 19, item 3).

The course sets nbgrader's ``LateSubmissionPlugin.penalty_method = "zero"``; ``grade
--due-date`` records the due date, ``--extensions`` gives one student two more days. Four
correct submissions: on time (``timestamp.txt`` before the due date), late (after it),
extended (late, within the extension) and one without ``timestamp.txt`` whose notebook's
file time is before the due date (the stated fallback). Only the late one gets the penalty,
and every submission time is in the grades CSV.
"""

from __future__ import annotations

import csv
import datetime
import os
import subprocess
import sys
import zipfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from instructor.course import (
    ASSIGNMENT,
    CORRECT,
    FAST,
    NEEDS_SANDBOX,
    NOTEBOOK,
    answer,
    make_course,
    release_notebook,
    venv_env,
    write_submission,
)

from nngrader.host import intake, late

pytestmark = [
    pytest.mark.grading,
    NEEDS_SANDBOX,
]
DUE = "2026-10-01 17:00:00 UTC"
TIMES = {
    "ontime": "2026-10-01 16:59:00.000000 UTC",
    "late": "2026-10-01 17:30:00.000000 UTC",
    "extended": "2026-10-02 09:00:00.000000 UTC",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("late")
    course = make_course(str(root / "course"), variants=False)
    with open(os.path.join(course, "nbgrader_config.py"), "a") as f:
        f.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    release = release_notebook(course)
    subs = str(root / "submissions")
    for sid in (*TIMES, "filetime"):
        write_submission(subs, sid, answer(release, CORRECT))
        if sid in TIMES:
            with open(os.path.join(subs, sid, "timestamp.txt"), "w") as f:
                f.write(TIMES[sid] + "\n")
    before = datetime.datetime(2026, 9, 30, 12, 0, tzinfo=datetime.UTC).timestamp()
    os.utime(os.path.join(subs, "filetime", f"{NOTEBOOK}.ipynb"), (before, before))
    extensions = root / "extensions.csv"
    extensions.write_text("student_id,days\nextended,2\n")
    grades = str(root / "grades.csv")
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, subs, grades, *FAST]
    argv += ["--due-date", DUE, "--extensions", str(extensions)]
    done = subprocess.run(argv, cwd=course, env=venv_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    with open(grades, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def test_only_the_late_submission_is_penalised(graded):
    scores = {sid: (float(r["raw_score"]), float(r["score"])) for sid, r in graded.items()}
    assert scores == {
        "ontime": (4.0, 4.0),
        "late": (4.0, 0.0),  # penalty_method "zero"
        "extended": (4.0, 4.0),  # late, within two more days
        "filetime": (4.0, 4.0),
    }
    assert float(graded["late"]["late_submission_penalty"]) == 4.0
    assert all(r["duedate"].startswith("2026-10-01 17:00:00") for r in graded.values())


def test_submission_times_are_kept(graded):
    for sid, when in TIMES.items():
        assert graded[sid]["timestamp"].startswith(when[:19]), (sid, graded[sid]["timestamp"])
    assert graded["filetime"]["timestamp"].startswith("2026-09-30 12:00:00")


def test_a_zip_keeps_the_times_it_records(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo("bob/a.ipynb", date_time=(2026, 9, 29, 8, 30, 0))
        z.writestr(info, "{}")
        z.writestr("carol/a.ipynb", "{}")
        z.writestr("carol/timestamp.txt", "2026-09-28 10:00:00.000000 UTC")
    out = tmp_path / "out"
    assert intake.unpack(str(archive), str(out), 10_000) == []  # what grading unpacks
    when, source = late.submission_time(str(out / "bob"))
    local = datetime.datetime(2026, 9, 29, 8, 30).astimezone(datetime.UTC).replace(tzinfo=None)
    assert (when, source) == (str(local), "file time")
    assert late.submission_time(str(out / "carol")) == ("2026-09-28 10:00:00", "timestamp.txt")


def test_a_timestamp_that_is_a_link_or_a_fifo_is_not_read(tmp_path):
    folder = tmp_path / "eve"
    folder.mkdir()
    (folder / "a.ipynb").write_text("{}")
    os.mkfifo(folder / "timestamp.txt")  # reading it would block the grader
    assert late.submission_time(str(folder))[1] == "file time"
    (folder / "timestamp.txt").unlink()
    (tmp_path / "elsewhere.txt").write_text("2020-01-01 00:00:00 UTC")
    (folder / "timestamp.txt").symlink_to(tmp_path / "elsewhere.txt")
    assert late.submission_time(str(folder))[1] == "file time"


def test_extensions_csv_errors_say_what_was_expected(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("student_id,weeks\nbob,1\n")
    with pytest.raises(ValueError, match="expected student_id and hours or days"):
        late.read_extensions(str(bad))
    bad.write_text("student_id,hours\nbob,soon\n")
    with pytest.raises(ValueError, match="line 2: not a number"):
        late.read_extensions(str(bad))
    bad.write_text("student_id,hours,days\nbob,12,1\n")
    assert late.read_extensions(str(bad)) == {"bob": datetime.timedelta(hours=36)}


def _grade(course: str, subs: str, grades: str, *extra: str) -> dict[str, dict]:
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, subs, grades, *FAST, *extra]
    done = subprocess.run(argv, cwd=course, env=venv_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    with open(grades, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def _runs(course: str) -> dict[str, tuple[int, int]]:
    """Each stored sandboxed run's (inode, mtime): a run done again is a new file."""
    state = os.path.join(course, ".nnlib-grader", ASSIGNMENT)
    out = {}
    for name in sorted(os.listdir(state)):
        if name.endswith(".json"):
            st = os.stat(os.path.join(state, name))
            out[name[: -len(".json")]] = (st.st_ino, st.st_mtime_ns)
    return out


def test_changing_only_the_due_date_or_extensions_changes_the_grades(tmp_path):
    """Grade with no due date; then only --due-date, then only --extensions change: the late
    penalty follows the current settings on every run, without running any sandbox again."""
    course = make_course(str(tmp_path / "course"), variants=False)
    with open(os.path.join(course, "nbgrader_config.py"), "a") as f:
        f.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    release = release_notebook(course)
    subs = str(tmp_path / "submissions")
    for sid in ("ontime", "late"):
        write_submission(subs, sid, answer(release, CORRECT))
        with open(os.path.join(subs, sid, "timestamp.txt"), "w") as f:
            f.write(TIMES[sid] + "\n")
    grades = str(tmp_path / "grades.csv")

    def scores(rows: dict) -> dict[str, tuple[float, float]]:
        return {s: (float(r["raw_score"]), float(r["score"])) for s, r in rows.items()}

    rows = _grade(course, subs, grades)
    assert scores(rows) == {"ontime": (4.0, 4.0), "late": (4.0, 4.0)}  # no due date: no penalty
    runs = _runs(course)
    assert sorted(runs) == ["late", "ontime"]

    rows = _grade(course, subs, grades, "--due-date", DUE)  # only the due date is new
    assert scores(rows) == {"ontime": (4.0, 4.0), "late": (4.0, 0.0)}
    assert float(rows["late"]["late_submission_penalty"]) == 4.0
    assert rows["late"]["duedate"].startswith("2026-10-01 17:00:00")

    extensions = tmp_path / "extensions.csv"
    extensions.write_text("student_id,hours\nlate,1\n")
    rows = _grade(course, subs, grades, "--extensions", str(extensions))  # due date kept
    assert scores(rows) == {"ontime": (4.0, 4.0), "late": (4.0, 4.0)}

    extensions.write_text("student_id,hours\nlate,0\n")  # the extension withdrawn
    rows = _grade(course, subs, grades, "--extensions", str(extensions))
    assert scores(rows) == {"ontime": (4.0, 4.0), "late": (4.0, 0.0)}
    assert _runs(course) == runs  # no submission was run in the sandbox again
