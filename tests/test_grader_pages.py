"""The pages `grade` writes, in headless Chromium: inert student HTML, a report to act on.

A class of the tiny course (``tests/instructor/course.py`` with a hand-graded reflection) is
graded through the CLI with ``--feedback``: alice is right, bob, dan and fay forget the ``1/N``
(one diagnosis, three students), carol hands in the release untouched, and mallory answers
correctly but puts script everywhere a student can: a ``display(HTML(...))`` and an SVG in
her solution cell, a script in her reflection, a markdown cell of her own, a student id
nobody can make HTML of. Then:

* no dialog opens and no handler fires in her feedback page, the class report or the
  similarity page (issue 15, item 7), while her score and the diagnosis still show;
* the report counts carol's parts as not attempted (not as a diagnosis), shows the reflection
  as awaiting grading (not as lost points), links each diagnosis to two example pages, fits
  1366 px and stacks at 390 px (issue 19, item 2); its pages are 0644 (item 8).
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import nbformat
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from instructor.browser import Tab, launch
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
    pytest.mark.browser,
    NEEDS_SANDBOX,
]
HOSTILE_CODE = (
    "from IPython.display import HTML, SVG, display\n"
    "display(HTML('<img src=x onerror=\"alert(1)\"><script>alert(2)</script><b>hi</b>'))\n"
    'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)">'
    '<rect width="4" height="4"/></svg>\'))\n' + CORRECT["grad_mse"]
)
HOSTILE_REFLECTION = (
    "I learned $\\frac{1}{N}$ matters. <script>alert(4)</script>"
    '<img src=x onerror="alert(5)"><a href="javascript:alert(6)" id="js">more</a>'
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    course = make_course(str(root / "course"), variants=False, reflection=True)
    release = release_notebook(course)
    subs = str(root / "submissions")
    for sid, answers in {
        "alice": {**CORRECT, "reflection": "The mean divides by N."},
        "bob": {**CORRECT, "grad_mse": SUM_NOT_MEAN},
        "carol": {},
        "dan": {**CORRECT, "grad_mse": SUM_NOT_MEAN},
        "fay": {**CORRECT, "grad_mse": SUM_NOT_MEAN},
        "mallory": {**CORRECT, "grad_mse": HOSTILE_CODE, "reflection": HOSTILE_REFLECTION},
    }.items():
        nb = answer(release, answers)
        if sid == "mallory":
            nb.cells.insert(1, nbformat.v4.new_markdown_cell("<script>alert(7)</script>mine"))
        write_submission(subs, sid, nb)
    grades = str(root / "grades.csv")
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, subs, grades, *FAST]
    done = subprocess.run(
        [*argv, "--feedback"], cwd=course, env=venv_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-4000:]
    sim = subprocess.run(
        [sys.executable, "-m", "nngrader", "similarity", ASSIGNMENT, "--no-progress"],
        cwd=course,
        env=venv_env(),
        capture_output=True,
        text=True,
    )
    assert sim.returncode == 0, sim.stderr[-3000:]
    return course


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _feedback(course: str, sid: str) -> str:
    return os.path.join(course, "feedback", sid, ASSIGNMENT, f"{NOTEBOOK}.html")


def _report(course: str) -> str:
    return os.path.join(course, "reports", ASSIGNMENT, "index.html")


def test_no_student_script_runs_in_any_page(graded, browser):
    similarity = os.path.join(graded, "similarity", ASSIGNMENT, "index.html")
    for path in (_feedback(graded, "mallory"), _report(graded), similarity):
        tab = Tab(browser, path)
        for i in range(tab.page.locator("a[href^='javascript']").count()):
            tab.page.locator("a[href^='javascript']").nth(i).click(no_wait_after=True)
        tab.page.wait_for_timeout(200)
        assert tab.dialogs == [], (path, tab.dialogs)
        if path == _feedback(graded, "mallory"):
            text = tab.page.inner_text("body")
            assert "Score: 4.0 / 5.0" in text  # (the reflection awaits its point)
            assert "I learned" in text and "mine" in text and "hi" in text
        tab.close()


def test_feedback_shows_the_diagnosis_without_scrolling_sideways(graded, browser):
    for width in (1366, 390):
        tab = Tab(browser, _feedback(graded, "bob"), width=width)
        p = tab.page
        assert p.evaluate("document.documentElement.scrollWidth") <= width
        error = p.locator(".output_error").first
        assert "missing 1/N" in error.inner_text()
        box = error.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        tab.close()


def _cells(page: str, table: str) -> list[list[str]]:
    body = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL) for row in rows]


def test_report_counts_not_attempted_and_awaiting_apart(graded):
    with open(_report(graded)) as f:
        page = f.read()
    diagnoses = _cells(page, "diagnoses")
    assert all("not implemented" not in row[1] for row in diagnoses), diagnoses
    assert all(row[0] != "reflection" for row in diagnoses)
    parts = {row[0]: row[1:] for row in _cells(page, "parts")}
    # points, mean, full marks, lost points, not attempted, awaiting grading
    assert parts["test_grad_mse"][2:] == ["2", "3", "1", "0"]
    assert parts["reflection"][2:] == ["0", "0", "4", "2"]  # alice and mallory answered
    assert "2 hand-graded answers await grading" in page
    students = {re.sub(r"<[^>]+>", "", row[0]): row for row in _cells(page, "students")}
    assert students["carol"][3] == "reflection, test_affine, test_grad_mse"
    assert students["bob"][2] == "test_grad_mse (-2)"
    assert students["alice"][4] == "reflection"


def test_each_diagnosis_links_two_example_feedback_pages(graded):
    with open(_report(graded)) as f:
        page = f.read()
    rows = _cells(page, "diagnoses")
    (row,) = [r for r in rows if "missing 1/N" in r[1]]
    assert row[2] == "3"
    examples = re.findall(r'<a class="example" href="([^"]+)">', row[3])
    assert len(examples) == 2
    folder = os.path.dirname(_report(graded))
    for href in examples:
        assert os.path.exists(os.path.join(folder, href))
    assert "1 more" in row[3]


@pytest.mark.parametrize("width", [1366, 390])
def test_report_fits_the_page_and_stacks_on_a_phone(graded, browser, width):
    tab = Tab(browser, _report(graded), width=width)
    p = tab.page
    assert p.evaluate("document.documentElement.scrollWidth") <= width
    for table in ("diagnoses", "parts", "students"):
        box = p.locator(f"#{table}").bounding_box()
        assert box["x"] + box["width"] <= width, (table, box)
    for img in p.locator("img").all():
        box = img.bounding_box()
        assert box["x"] + box["width"] <= width
    cells = p.locator("#students tr:not(.head) td")
    first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
    if width == 390:  # a row's cells one under the other, each labelled
        assert second["y"] >= first["y"] + first["height"] - 1
        assert (
            cells.nth(1)
            .evaluate("e => getComputedStyle(e, '::before').content")
            .startswith('"score')
        )
    else:  # a row's cells side by side
        assert abs(second["y"] - first["y"]) < 2
    tab.close()


def test_report_and_similarity_pages_are_readable_by_the_group(graded):
    similarity = os.path.join(graded, "similarity", ASSIGNMENT, "index.html")
    for path in (_report(graded), similarity):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path
