"""The course's gradebook (issue 19, item 7): every assignment per student and the total.

Two assignments of the tiny course (``pv`` and ``pv2``, 4 points each) are graded; bob hands
in only ``pv`` (with the classic bug), alice both, carol (in the roster) nothing.
``python -m nngrader gradebook`` writes one CSV and the Canvas/Moodle import files.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from instructor.course import (
    ASSIGNMENT,
    CORRECT,
    FAST,
    NEEDS_SANDBOX,
    SUM_NOT_MEAN,
    answer,
    make_course,
    release_notebook,
    venv_env,
    write_submission,
)

pytestmark = [
    pytest.mark.grading,
    NEEDS_SANDBOX,
]
ROSTER = """student_id,name,canvas_id,first_name,last_name,id_number,email
alice,"Liddell, Alice",10001,Alice,Liddell,1001,alice@example.edu
bob,"Marley, Bob",10002,Bob,Marley,1002,bob@example.edu
carol,"Danvers, Carol",10003,Carol,Danvers,1003,carol@example.edu
"""


def _nngrader(course: str, *argv: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "nngrader", *argv],
        cwd=course,
        env=venv_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradebook")
    course = make_course(str(root / "course"), variants=False)
    shutil.copytree(f"{course}/solutions/{ASSIGNMENT}", f"{course}/solutions/pv2")
    release = release_notebook(course)
    (root / "roster.csv").write_text(ROSTER)
    for assignment, students in {
        ASSIGNMENT: {"alice": CORRECT, "bob": {**CORRECT, "grad_mse": SUM_NOT_MEAN}},
        "pv2": {"alice": CORRECT},
    }.items():
        subs = str(root / f"subs-{assignment}")
        for sid, answers in students.items():
            write_submission(subs, sid, answer(release, answers))
        grades = str(root / f"grades-{assignment}.csv")
        _nngrader(course, "grade", assignment, subs, grades, *FAST, "--roster", "../roster.csv")
    return course, root


def test_gradebook_has_every_assignment_and_the_total(course):
    course, root = course
    out = str(root / "gradebook.csv")
    _nngrader(course, "gradebook", "--out", out, "--roster", "../roster.csv", "--export", "canvas")
    with open(out, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["alice", "bob", "carol"]  # (the roster put carol in the gradebook)
    assert (rows["alice"]["pv"], rows["alice"]["pv2"], rows["alice"]["total"]) == (
        "4.0",
        "4.0",
        "8.0",
    )
    assert (rows["bob"]["pv"], rows["bob"]["pv2"], rows["bob"]["total"]) == ("2.0", "", "2.0")
    assert rows["bob"]["incomplete"] == "pv2: no submission"
    assert rows["carol"]["incomplete"] == "pv: no submission; pv2: no submission"
    assert rows["alice"]["max_total"] == "8.0" and rows["alice"]["first_name"] == "Alice"
    with open(str(root / "gradebook-canvas.csv"), newline="") as f:
        canvas = list(csv.reader(f))
    head = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[0] == [*head, "pv", "pv2", "total"]
    assert canvas[1][5:] == ["4", "4", "8"]
    assert canvas[2][0] == "Liddell, Alice" and canvas[2][5:] == ["4", "4", "8"]
    assert canvas[3][5:] == ["2", "", "2"] and canvas[4][5:] == ["", "", "0"]


def test_roster_names_reach_the_gradebook_and_follow_its_changes(tmp_path, monkeypatch):
    """``grade --roster`` records names and emails (new students and known ones) in one go; a
    changed roster changes them, an unchanged one writes nothing."""
    from nbgrader.api import Gradebook

    from nngrader.host import lms

    monkeypatch.setenv("PATH", venv_env()["PATH"])  # (nbgrader's gradebook runs alembic)
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    url = f"sqlite:///{course}/gradebook.db"
    with Gradebook(url) as gb:
        gb.add_student("alice")  # known to the gradebook, without a name
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    assert lms.names_to_gradebook(str(roster), str(course)) == 3

    def people() -> dict[str, tuple[str, str, str]]:
        with Gradebook(url) as gb:
            return {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}

    assert people() == {
        "alice": ("Alice", "Liddell", "alice@example.edu"),
        "bob": ("Bob", "Marley", "bob@example.edu"),
        "carol": ("Carol", "Danvers", "carol@example.edu"),
    }
    roster.write_text(ROSTER.replace("bob@example.edu", "robert@example.edu"))
    lms.names_to_gradebook(str(roster), str(course))
    assert people()["bob"] == ("Bob", "Marley", "robert@example.edu")
    before = os.stat(course / "gradebook.db").st_mtime_ns
    lms.names_to_gradebook(str(roster), str(course))  # unchanged: no write
    assert os.stat(course / "gradebook.db").st_mtime_ns == before
