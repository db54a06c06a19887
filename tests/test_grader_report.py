"""The class report and the LMS export, on a small class graded once through the CLI.

The class (course ``tests/instructor/course.py`` without variants, 4 points): alice is right,
bob and dan forget the ``1/N`` of the mean (the check says "missing 1/N"), carol hands in the
untouched release, erin gets ``affine`` wrong and is not in the roster.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys

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

from nngrader.host import lms, report

pytestmark = [
    pytest.mark.grading,
    NEEDS_SANDBOX,
]
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "lms")
MISSING_1_N = "missing 1/N: the answer is N = 4 times too large (sum vs mean)"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    course = make_course(str(root / "course"), variants=False)  # the roster is for the LMS
    release = release_notebook(course)
    subs = str(root / "submissions")
    wrong_affine = "def affine(x):\n    return x"
    for sid, answers in {
        "alice": CORRECT,
        "bob": {**CORRECT, "grad_mse": SUM_NOT_MEAN},
        "carol": {},
        "dan": {**CORRECT, "grad_mse": SUM_NOT_MEAN.replace("y_hat - y", "-(y - y_hat)")},
        "erin": {**CORRECT, "affine": wrong_affine},
    }.items():
        write_submission(subs, sid, answer(release, answers))
    grades = str(root / "grades.csv")
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, subs, grades, *FAST]
    argv += ["--feedback", "--roster", os.path.join(FIXTURES, "roster.csv")]
    argv += ["--export", "canvas", "--export", "moodle", "--lms-column", "pv (4711)"]
    done = subprocess.run(argv, cwd=course, env=venv_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    page = os.path.join(course, "reports", ASSIGNMENT, "index.html")
    with open(page) as f:
        text = f.read()
    return {"course": course, "grades": grades, "page": page, "html": text, "log": done.stderr}


def _feedback_text(course: str, sid: str) -> str:
    path = os.path.join(course, "feedback", sid, ASSIGNMENT, f"{NOTEBOOK}.html")
    with open(path) as f:
        return html.unescape(re.sub(r"<[^>]+>", "", f.read()))


def _diagnosis_rows(page: str) -> list[tuple[str, str, int, list[str]]]:
    table = page.split('<table id="diagnoses">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr><td data-label="part">(.*?)</td><td data-label="diagnosis" class="diagnosis">'
        r'(.*?)</td><td data-label="students" class="count">(\d+)</td>'
        r'<td data-label="examples" class="examples">(.*?)</td></tr>',
        table,
    )
    return [
        (part, html.unescape(d), int(n), re.findall(r">([^<]+)</a>", who))
        for part, d, n, who in rows
    ]


def test_report_counts_equal_the_diagnoses_in_the_feedback(graded):
    rows = _diagnosis_rows(graded["html"])
    assert rows, graded["html"][:2000]
    students = ["alice", "bob", "carol", "dan", "erin"]
    feedback = {sid: _feedback_text(graded["course"], sid) for sid in students}
    for part, diagnosis, count, who in rows:
        assert count == len(who)
        if "likely bug" in diagnosis or diagnosis.startswith("not implemented"):
            continue
        shown = "NotImplementedError" if "NotImplementedError" in diagnosis else diagnosis
        assert {s for s in students if shown in feedback[s]} >= set(who), (part, diagnosis)
    by_key = {(part, d): who for part, d, _, who in rows}
    # the classic bug, counted over the class: exactly the students whose feedback says so
    assert by_key["test_grad_mse", MISSING_1_N] == ["bob", "dan"]
    assert sorted(s for s in students if f"likely bug: {MISSING_1_N}" in feedback[s]) == [
        "bob",
        "dan",
    ]
    assert by_key["test_affine", "GradingError: affine: value check failed"] == ["erin"]
    # carol's untouched parts are not attempted, counted apart from the diagnoses
    assert not any(d == report.NOT_ATTEMPTED for _, d in by_key)
    assert sum(len(w) for w in by_key.values()) == 3  # nothing counted twice, nothing else


def test_report_has_a_png_per_figure_and_links_to_each_feedback(graded):
    folder = os.path.dirname(graded["page"])
    images = re.findall(r'<img src="([^"]+)"', graded["html"])
    assert {"score_distribution.png", "points_per_part.png", "diagnoses.png"} <= set(images)
    for name in images:
        with open(os.path.join(folder, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    links = set(re.findall(r'<a href="([^"]+)">', graded["html"]))
    targets = {os.path.normpath(os.path.join(folder, link)) for link in links}
    want = {
        os.path.join(graded["course"], "feedback", sid, ASSIGNMENT, f"{NOTEBOOK}.html")
        for sid in ("alice", "bob", "carol", "dan", "erin")
    }
    assert targets == want
    assert all(os.path.exists(t) for t in targets)
    assert "5 students graded; mean 2.00, median 2 of 4 points" in graded["html"]


def test_report_command_rewrites_the_same_report(graded, tmp_path):
    out = tmp_path / "again"
    argv = [sys.executable, "-m", "nngrader", "report", ASSIGNMENT, "--out", str(out)]
    done = subprocess.run(
        [*argv, "--no-progress"],
        cwd=graded["course"],
        env=venv_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    again = (out / "index.html").read_text()
    assert _diagnosis_rows(again) == _diagnosis_rows(graded["html"])


@pytest.mark.parametrize("fmt", ["canvas", "moodle"])
def test_lms_files_from_grade_match_the_fixtures(graded, fmt):
    with open(graded["grades"].removesuffix(".csv") + f"-{fmt}.csv") as f:
        got = f.read()
    with open(os.path.join(FIXTURES, f"{fmt}.csv")) as f:
        assert got == f.read()
    assert "not in the roster, left out" in graded["log"] and "erin" in graded["log"]


def test_diagnosis_groups_students_by_the_bug_not_by_their_numbers():
    a = "f: value check failed at element (0,): expected 1, got 3 (2 of 2 elements differ)"
    b = "f: value check failed at element (1,): expected -2, got 5 (1 of 2 elements differ)"
    assert report.diagnosis("GradingError", a) == report.diagnosis("GradingError", b)
    assert report.diagnosis("GradingError", a) == "GradingError: f: value check failed"
    bug = a + "; likely bug: sign flipped (check a minus sign). Note: x"
    assert report.diagnosis("GradingError", bug) == "sign flipped (check a minus sign)"
    assert report.diagnosis("NotImplementedError", "") == "not implemented (NotImplementedError)"


def test_roster_errors_name_what_was_expected(tmp_path):
    bad = tmp_path / "roster.csv"
    bad.write_text("id,email\nx,y\n")
    with pytest.raises(lms.RosterError, match="expected a header with student_id"):
        lms.read_roster(str(bad))
    bad.write_text("student_id,email\nx,x@example.edu\nx,y@example.edu\n")
    with pytest.raises(lms.RosterError, match="'x' appears twice"):
        lms.read_roster(str(bad))
    bad.write_text("student_id,email\nx,x@example.edu\n")
    grades = tmp_path / "g.csv"
    grades.write_text("assignment,student_id,score,max_score\na,x,1.5,2\n")
    with pytest.raises(lms.RosterError, match="'x' needs one of canvas_id"):
        lms.export("canvas", str(grades), str(bad), str(tmp_path / "out.csv"))
    assert lms.export("moodle", str(grades), str(bad), str(tmp_path / "out.csv")) == []
    assert (tmp_path / "out.csv").read_text().splitlines() == [
        "First name,Last name,ID number,Email address,a",
        ",,,x@example.edu,1.5",
    ]
    with pytest.raises(ValueError, match="expected one of"):
        lms.export("blackboard", str(grades), str(bad), str(tmp_path / "out.csv"))


def test_figures_are_drawn_again_only_when_what_they_show_changed(tmp_path):
    """A report of an unchanged class keeps its PNGs (and never loads matplotlib); a changed
    score, a new diagnosis or a deleted PNG draws them again."""

    def klass(bob: float, diagnosis: str | None) -> report.ClassReport:
        students = [
            report.Student("alice", 4.0, 4.0, {"test_grad_mse": (2.0, 2.0)}),
            report.Student("bob", bob, 4.0, {"test_grad_mse": (bob - 2.0, 2.0)}),
        ]
        if diagnosis:
            students[1].diagnoses["test_grad_mse"] = diagnosis
        return report.ClassReport(
            ASSIGNMENT,
            4.0,
            ["test_grad_mse", "test_affine"],
            {"test_grad_mse": 2.0, "test_affine": 2.0},
            students,
        )

    def drawn() -> dict[str, int]:
        return {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.png")}

    first = report._figures(klass(2.0, "missing 1/N"), str(tmp_path))
    assert set(first.values()) == {"score_distribution.png", "points_per_part.png", "diagnoses.png"}
    before = drawn()
    assert report._figures(klass(2.0, "missing 1/N"), str(tmp_path)) == first
    assert drawn() == before  # unchanged: nothing drawn
    report._figures(klass(3.0, "missing 1/N"), str(tmp_path))
    changed = drawn()
    assert all(changed[n] != before[n] for n in before)  # a score changed: drawn again
    os.remove(tmp_path / "diagnoses.png")
    report._figures(klass(3.0, "missing 1/N"), str(tmp_path))
    assert (tmp_path / "diagnoses.png").exists()
    without = report._figures(klass(3.0, None), str(tmp_path))
    assert "Most frequent diagnoses" not in without  # (no diagnosis: no such figure)
    code = (
        "import sys; from nngrader.host import report\n"
        f"report._figures(report.ClassReport('pv', 4.0, [], {{}}, []), {str(tmp_path / 'x')!r})\n"
        f"report._figures(report.ClassReport('pv', 4.0, [], {{}}, []), {str(tmp_path / 'x')!r})\n"
    )
    os.makedirs(tmp_path / "x")
    probe = code + "print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # (drawn the first time in this process)
    again = "import sys; from nngrader.host import report\n" + code.split("\n", 1)[1].split("\n")[0]
    done = subprocess.run(
        [sys.executable, "-c", again + "\nprint('matplotlib' in sys.modules)"],
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "False", done.stderr  # unchanged: matplotlib never loaded
