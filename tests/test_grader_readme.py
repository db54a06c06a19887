"""The README's instructor commands, run exactly as written, and the export's warnings.

A course folder in a temporary directory looks like this repository (its Makefile included,
run on its .venv; its solutions and assignments) with a roster of three: alice hands in her
own variant of a1_neurons solved, bob his variant untouched, carol nothing. The fenced block of the
README's "An instructor runs a course, end to end" runs line by line through ``bash`` in that
folder, unchanged: release-variants, grade (feedback, roster, Canvas export), export (Moodle),
report, similarity. Then the grades CSV names everyone from the roster, and the export warns
about what its scores leave out (issue 19, item 4).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hostile.course import venv_env

from nngrader.host import lms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNMENT = "a1_neurons"
ROSTER = """student_id,name,canvas_id,sis_user_id,first_name,last_name,id_number,email
alice,"Liddell, Alice",10001,S1001,Alice,Liddell,1001,alice@example.edu
bob,"Marley, Bob",10002,S1002,Bob,Marley,1002,bob@example.edu
carol,"Danvers, Carol",10003,S1003,Carol,Danvers,1003,carol@example.edu
"""

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
    ),
]


def readme_block(heading: str) -> list[str]:
    """The shell commands of the first fenced block after ``heading``, continuations joined."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    after = text.split(heading, 1)[1]
    block = after.split("```bash\n", 1)[1].split("```", 1)[0]
    commands, line = [], ""
    for raw in block.splitlines():
        line += raw
        if line.endswith("\\"):
            line = line[:-1]
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
        line = ""
    return commands


def solved(variant: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student's variant with every solution cell answered as the instructor's solution."""
    source = nbformat.read(os.path.join(ROOT, "solutions", ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), 4)
    answers = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            code = re.sub(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", "", cell.source, flags=re.M)
            answers[meta["grade_id"]] = code
    for cell in variant.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return variant


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("readme") / "course")
    os.makedirs(os.path.join(root, "nngrader"))
    for name in ("pyproject.toml", "requirements", "solutions", "nngrader/pyproject.toml"):
        os.symlink(os.path.join(ROOT, name), os.path.join(root, name))
    os.makedirs(os.path.join(root, ".venv"))  # (the install stamp, newer than its sources:
    open(os.path.join(root, ".venv", ".installed"), "w").close()  # the .venv is this one)
    with open(os.path.join(root, "Makefile"), "w") as f:  # this repository's, on its .venv
        f.write(f"include {ROOT}/Makefile\nBIN := {ROOT}/.venv/bin\n")
    shutil.copytree(
        os.path.join(ROOT, "assignments", ASSIGNMENT), f"{root}/assignments/{ASSIGNMENT}"
    )
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), root)
    with open(os.path.join(root, "roster.csv"), "w") as f:
        f.write(ROSTER)
    env = {**venv_env(), "NNLIB_COURSE_SECRET": "readme-test-secret", "JOBS": "2"}
    # (the stamp's nngrader/ folder must not shadow the installed package: no cwd on sys.path)
    env["PYTHONSAFEPATH"] = "1"
    env.pop("MAKEFLAGS", None)
    commands = readme_block("**An instructor runs a course, end to end.**")
    assert [c.split()[1] for c in commands] == [
        "release-variants",
        "grade",
        "export",
        "report",
        "similarity",
    ], commands
    logs = {}
    for command in commands:
        if command.split()[1] == "grade":  # the students hand in their variants
            for sid in ("alice", "bob"):
                nb = nbformat.read(f"{root}/variants/{ASSIGNMENT}/{sid}/{ASSIGNMENT}.ipynb", 4)
                os.makedirs(f"{root}/submissions/{sid}")
                nb = solved(nb) if sid == "alice" else nb
                nbformat.write(nb, f"{root}/submissions/{sid}/{ASSIGNMENT}.ipynb")
        done = subprocess.run(
            ["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-4000:])
        logs[command.split()[1]] = done.stderr
    return root, logs


def _rows(path: str) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def test_the_readme_commands_write_what_the_readme_says(course):
    root, _ = course
    for name in (
        f"grades-{ASSIGNMENT}.csv",
        f"grades-{ASSIGNMENT}-canvas.csv",
        f"grades-{ASSIGNMENT}-moodle.csv",
        f"reports/{ASSIGNMENT}/index.html",
        f"similarity/{ASSIGNMENT}/index.html",
        f"feedback/alice/{ASSIGNMENT}/{ASSIGNMENT}.html",
    ):
        assert os.path.isfile(os.path.join(root, name)), name


def test_grades_csv_has_names_from_the_roster_and_what_is_left_out(course):
    root, _ = course
    rows = _rows(os.path.join(root, f"grades-{ASSIGNMENT}.csv"))
    assert (rows["alice"]["first_name"], rows["alice"]["last_name"]) == ("Alice", "Liddell")
    assert rows["bob"]["email"] == "bob@example.edu"
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"]) - 2
    assert rows["alice"]["incomplete"] == lms.AWAITING  # her reflection, graded by hand
    assert rows["bob"]["incomplete"] == ""  # untouched: zero, and nothing awaits grading
    assert "carol" not in rows  # (no folder: the export finds her from the roster)


def test_export_warns_about_every_student_it_leaves_out(course):
    root, logs = course
    for step in ("grade", "export"):
        log = logs[step]
        assert re.search(r"WARNING: 1 students in \S+: awaiting manual grading: .*: alice", log)
        assert re.search(r"WARNING: 1 students in \S+: no submission: .*: carol", log), log
    moodle = list(csv.reader(open(os.path.join(root, f"grades-{ASSIGNMENT}-moodle.csv"))))
    assert moodle[0][:4] == ["First name", "Last name", "ID number", "Email address"]
    assert [r[0] for r in moodle[1:]] == ["Alice", "Bob", "Carol"]
    assert moodle[3][4] == ""  # carol: no change in the LMS


def test_export_of_a_missing_grades_file_is_a_clear_error(course, tmp_path):
    root, _ = course
    done = subprocess.run(
        ["make", "export", "ASSIGNMENT=a9_nothing", "LMS=canvas", "ROSTER=roster.csv"],
        cwd=root,
        env=venv_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "no grades CSV grades-a9_nothing.csv: grade first" in done.stderr
    assert "Traceback" not in done.stderr


def test_gaps_reads_the_incomplete_column_and_a_fault(tmp_path):
    grades = tmp_path / "g.csv"
    grades.write_text(
        "student_id,score,max_score,reason,incomplete\n"
        "a,1,4,test_x: timed out,fault\n"
        "b,0,4,not graded: the grader failed,not graded\n"
        "c,4,4,,\n"
    )
    found = lms.gaps(str(grades), {"a": {}, "b": {}, "c": {}, "d": {}})
    assert found[lms.FAULT] == {"a": "test_x: timed out"}
    assert list(found[lms.NOT_GRADED]) == ["b"]
    assert list(found[lms.NO_SUBMISSION]) == ["d"]
    assert not found[lms.AWAITING]
    lines = lms.warnings(found, "out.csv")
    assert len(lines) == 3 and all(line.startswith("WARNING: 1 students") for line in lines)
