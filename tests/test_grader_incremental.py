"""Feedback is rendered again only for students whose graded result changed (issue 19, item 1).

A class of three is graded with ``--feedback``. Then: ``feedback`` again renders no page; bob
fixes his bug and the class is graded again: only bob's page is rendered; the instructor
writes a comment for carol in the gradebook: only carol's page is rendered. Renders are
counted by the pages' modification times (nanoseconds) and inode numbers (a page is written
anew, never edited in place).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from instructor.course import (
    ASSIGNMENT,
    CORRECT,
    FAST,
    NEEDS_SANDBOX,
    NOTEBOOK,
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
STUDENTS = ("alice", "bob", "carol")


def _run(course: str, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nngrader", *argv],
        cwd=course,
        env=venv_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stderr


def _pages(course: str) -> dict[str, tuple[int, int]]:
    out = {}
    for sid in STUDENTS:
        st = os.stat(os.path.join(course, "feedback", sid, ASSIGNMENT, f"{NOTEBOOK}.html"))
        out[sid] = (st.st_ino, st.st_mtime_ns)
    return out


def _rendered(before: dict, after: dict) -> list[str]:
    return sorted(sid for sid in before if before[sid] != after[sid])


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    course = make_course(str(root / "course"), variants=False)
    release = release_notebook(course)
    subs = str(root / "submissions")
    for sid, answers in {
        "alice": CORRECT,
        "bob": {**CORRECT, "grad_mse": SUM_NOT_MEAN},
        "carol": {},
    }.items():
        write_submission(subs, sid, answer(release, answers))
    grades = str(root / "grades.csv")
    _run(course, "grade", ASSIGNMENT, subs, grades, *FAST, "--feedback")
    return course, subs, grades, release


def test_only_changed_students_get_their_feedback_rendered_again(course):
    course, subs, grades, release = course
    first = _pages(course)
    time.sleep(0.05)

    _run(course, "feedback", ASSIGNMENT, "--no-progress", "--no-report")
    second = _pages(course)
    assert _rendered(first, second) == []  # nothing changed: nothing rendered

    shutil.rmtree(os.path.join(subs, "bob"))
    write_submission(subs, "bob", answer(release, CORRECT))  # bob fixes his bug
    _run(course, "grade", ASSIGNMENT, subs, grades, *FAST, "--feedback")
    third = _pages(course)
    assert _rendered(second, third) == ["bob"]
    with open(os.path.join(course, "feedback", "bob", ASSIGNMENT, f"{NOTEBOOK}.html")) as f:
        assert "Score: 4.0 / 4.0" in f.read()

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:  # the instructor writes a comment
        comment = gb.find_comment("grad_mse", NOTEBOOK, ASSIGNMENT, "carol")
        comment.manual_comment = "Start with the mean of the squared differences."
        gb.db.commit()
    _run(course, "feedback", ASSIGNMENT, "--no-progress", "--no-report")
    fourth = _pages(course)
    assert _rendered(third, fourth) == ["carol"]
    with open(os.path.join(course, "feedback", "carol", ASSIGNMENT, f"{NOTEBOOK}.html")) as f:
        assert "Start with the mean of the squared differences." in f.read()


def test_a_deleted_page_is_rendered_again(course):
    course, *_ = course
    before = _pages(course)
    os.remove(os.path.join(course, "feedback", "alice", ASSIGNMENT, f"{NOTEBOOK}.html"))
    _run(course, "feedback", ASSIGNMENT, "--no-progress", "--no-report")
    after = _pages(course)
    assert _rendered(before, after) == ["alice"]


def test_grade_says_what_it_does_within_a_second(course):
    course, subs, grades, _ = course
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, subs, grades, "--jobs", "1"]
    start = time.monotonic()
    run = subprocess.Popen(argv, cwd=course, env=venv_env(), stderr=subprocess.PIPE, text=True)
    first = run.stderr.readline()
    elapsed = time.monotonic() - start
    run.communicate(timeout=300)
    assert first.startswith(f"grading {ASSIGNMENT}: the submissions in {subs}"), first
    assert elapsed < 1.5, f"{elapsed:.2f} s before the first line"  # (0.3 s on a quiet machine)


SHARED_TEMPLATES = """
import json
import jinja2
import nbformat
from nbconvert import HTMLExporter
from nngrader.host import incremental

nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
plain = HTMLExporter().from_notebook_node(nb)[0]
incremental.share_compiled_templates()
compiled = []
compile_ = jinja2.Environment.compile
def counting(self, *args, **kwargs):
    compiled.append(1)
    return compile_(self, *args, **kwargs)
jinja2.Environment.compile = counting
first = HTMLExporter().from_notebook_node(nb)[0]  # (a new exporter per student, as nbgrader)
once = len(compiled)
second = HTMLExporter().from_notebook_node(nb)[0]
print(json.dumps([plain == first == second, once, len(compiled) - once]))
"""


def test_feedback_processes_compile_the_page_templates_once():
    """nbgrader makes a new exporter per student, nbconvert a new template environment per
    exporter; the feedback processes share the compiled templates (the same pages)."""
    done = subprocess.run(
        [sys.executable, "-c", SHARED_TEMPLATES], capture_output=True, text=True, env=venv_env()
    )
    assert done.returncode == 0, done.stderr[-3000:]
    same, first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert same  # the same page as without the shared templates
    assert first > 0 and second == 0  # compiled for the first exporter, reused by the next
