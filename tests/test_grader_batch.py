"""No submission stops the batch or bends another's grade: a class of batch killers, graded.

One module-scoped run of ``python -m nngrader grade`` (what ``make grade`` wraps) grades a
class in which every folder but two holds something that once stopped the whole batch, read a
host file, or lost a correct student points: a cell with ``grade: true`` and no ``grade_id``,
20 kB of chained attribute access, metadata of the wrong type, invalid JSON, a notebook over
``max_file_size``, links to the instructor's solutions and to a host file, a FIFO, a reason
flood (followed by ``--export canvas``), and a split solution cell. The two correct neighbours
keep full marks. Then the regrade tests: a failed nbgrader step, a deleted stored result, a
machine fault, ``--regrade`` with manual grades.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hostile.cases import CASES, build
from hostile.course import ASSIGNMENT, MAX_SCORE, NOTEBOOK, make_course, release_notebook, venv_env

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
    ),
]
# generous deadlines: nothing here loops, and a loaded machine must not turn a pass into a fault
ARGS = ["--timeout", "60", "--test-timeout", "60", "--no-progress", "--no-report"]
MAX_KB = 1000  # the test course's max_file_size
HOST_SECRET = "HOST_SECRET_FIRST_LINE"
CORRECT = next(c for c in CASES if c.name == "correct")


def grade(course: str, submissions: str, grades: str, *extra: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT, submissions, grades]
    return subprocess.run(
        [*argv, *ARGS, *extra],
        cwd=course,
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=900,  # a FIFO that blocked the grader would hang here: fail instead
    )


def read_csv(path: str) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def _gid(cell) -> str | None:
    meta = cell.get("metadata", {})
    return meta.get("nbgrader", {}).get("grade_id") if isinstance(meta, dict) else None


def correct_nb(course: str) -> dict:
    return json.loads(nbformat.writes(build(CORRECT, release_notebook(course), course)))


def at(nb: dict, gid: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if _gid(c) == gid)


def code_cell(source: str, **nbgrader) -> dict:
    cell = json.loads(json.dumps(nbformat.v4.new_code_cell(source)))
    if nbgrader:
        cell["metadata"]["nbgrader"] = nbgrader
    return cell


def killers(course: str) -> dict[str, str | dict | None]:
    """Student id -> notebook (a dict), raw text, or None (set up by the fixture itself)."""
    out: dict = {}
    nb = correct_nb(course)
    nb["cells"].insert(at(nb, "test_relu") + 1, code_cell("y = 1", grade=True, solution=False))
    out["no_grade_id"] = nb
    nb = correct_nb(course)
    nb["cells"].append(code_cell("x = a" + ".b" * 10_000))
    out["attribute_chain"] = nb
    nb = correct_nb(course)
    nb["cells"].append(code_cell("x = " + "-" * 100_000 + "1"))
    out["minus_flood"] = nb
    nb = correct_nb(course)
    nb["cells"][at(nb, "relu")]["metadata"]["nbgrader"] = "not a mapping"
    out["metadata_string"] = nb
    nb = correct_nb(course)
    nb["cells"][at(nb, "double")]["metadata"]["nbgrader"]["grade_id"] = ["a", "list"]
    out["grade_id_list"] = nb
    out["invalid_json"] = '{"cells": [ this is not json'
    nb = correct_nb(course)
    nb["cells"].append(code_cell("# " + "x" * (MAX_KB * 1000 + 5000)))
    out["over_max_file_size"] = nb
    nb = correct_nb(course)  # a reason flood: grade_ids the source does not know
    nb["cells"].append(code_cell("z = 1", grade=True, grade_id="G" * 400_000))
    nb["cells"] += [code_cell("pass", grade=True, grade_id=f"g{i}") for i in range(2000)]
    out["reason_flood"] = nb
    nb = correct_nb(course)  # JupyterLab's split cell: both halves carry the metadata
    i = at(nb, "sigmoid")
    first = nb["cells"][i]
    second = copy.deepcopy(first)
    first["source"], second["source"] = "import math", first["source"]
    second["id"] = "split-half"
    nb["cells"].insert(i + 1, second)
    out["split_cell"] = nb
    for special in ("link_to_solutions", "link_to_host_file", "linked_folder", "fifo"):
        out[special] = None
    return out


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    course = make_course(str(root / "course"))
    with open(os.path.join(course, "nbgrader_config.py"), "a") as f:
        f.write(f"c.CourseDirectory.max_file_size = {MAX_KB}\n")
    subs = root / "subs"
    host_file = root / "host" / "secret.txt"
    os.makedirs(host_file.parent)
    host_file.write_text(HOST_SECRET + "\nline two\n")
    ids = []
    for sid, content in {
        "aaa_correct": correct_nb(course),
        **killers(course),
        "zzz_correct": correct_nb(course),
    }.items():
        ids.append(sid)
        folder = subs / sid
        path = folder / f"{NOTEBOOK}.ipynb"
        if sid == "linked_folder":
            os.symlink(subs / "aaa_correct", folder)
            continue
        os.makedirs(folder)
        if sid == "link_to_solutions":
            os.symlink(os.path.join(course, "solutions", ASSIGNMENT, f"{NOTEBOOK}.ipynb"), path)
        elif sid == "link_to_host_file":
            os.symlink(host_file, path)
        elif sid == "fifo":
            os.mkfifo(path)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content))
    roster = root / "roster.csv"
    roster.write_text(
        "student_id,canvas_id,name\n"
        + "".join(f"{sid},{1000 + k},Student {k}\n" for k, sid in enumerate(ids))
    )
    grades = str(root / "grades.csv")
    done = grade(course, str(subs), grades, "--roster", str(roster), "--export", "canvas")
    return {"course": course, "subs": str(subs), "grades": grades, "done": done, "ids": ids}


def test_the_batch_finishes_and_every_folder_gets_a_row(batch):
    done = batch["done"]
    assert done.returncode == 0, done.stderr[-4000:]
    assert sorted(read_csv(batch["grades"])) == sorted(batch["ids"])


def test_the_correct_neighbours_keep_full_marks(batch):
    rows = read_csv(batch["grades"])
    for sid in ("aaa_correct", "zzz_correct"):
        assert float(rows[sid]["score"]) == MAX_SCORE and rows[sid]["reason"] == "", rows[sid]


@pytest.mark.parametrize(
    "sid, score, reason",
    [
        ("no_grade_id", MAX_SCORE, "cell with malformed nbgrader metadata graded as plain code"),
        ("attribute_chain", MAX_SCORE, None),
        ("minus_flood", MAX_SCORE, None),
        ("metadata_string", MAX_SCORE, "cell with malformed nbgrader metadata"),
        ("grade_id_list", MAX_SCORE, "cell with malformed nbgrader metadata"),
        ("invalid_json", 0, "unreadable notebook"),
        ("over_max_file_size", 0, "kB, over the course's max_file_size of 1,000 kB: not read"),
        ("link_to_solutions", 0, "not graded: ps1.ipynb is a symbolic link"),
        ("link_to_host_file", 0, "not graded: ps1.ipynb is a symbolic link"),
        ("linked_folder", 0, "not graded: linked_folder is a symbolic link, not a folder"),
        ("fifo", 0, "not graded: ps1.ipynb is a FIFO, not a regular file"),
        ("reason_flood", MAX_SCORE, "cell claiming unknown grade_id 'GGGG"),
        ("split_cell", MAX_SCORE, ""),
    ],
)
def test_each_killer_costs_its_own_row_only(batch, sid, score, reason):
    row = read_csv(batch["grades"])[sid]
    assert float(row["score"]) == score, row["reason"][:500]
    if reason == "":
        assert row["reason"] == ""
    elif reason is not None:
        assert reason in row["reason"], row["reason"][:500]


def test_no_host_file_reaches_the_csv_and_no_link_scores(batch):
    with open(batch["grades"]) as f:
        text = f.read()
    assert HOST_SECRET not in text
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def test_a_reason_flood_is_capped_and_the_lms_export_reads_it(batch):
    row = read_csv(batch["grades"])["reason_flood"]
    assert len(row["reason"]) < 3000
    assert "characters cut]" in row["reason"] and "more reasons cut]" in row["reason"]
    canvas = batch["grades"].removesuffix(".csv") + "-canvas.csv"
    with open(canvas, newline="") as f:
        exported = {r["Student"]: r for r in csv.DictReader(f)}
    k = batch["ids"].index("reason_flood")
    assert float(exported[f"Student {k}"][ASSIGNMENT]) == MAX_SCORE


def test_a_zip_of_one_student_s_folder_grades_that_student(batch, tmp_path):
    archive = tmp_path / "one.zip"
    with zipfile.ZipFile(archive, "w") as z:  # nbgrader's <student>/<assignment>/ layout
        z.write(
            os.path.join(batch["subs"], "aaa_correct", f"{NOTEBOOK}.ipynb"),
            f"solo/{ASSIGNMENT}/{NOTEBOOK}.ipynb",
        )
    grades = str(tmp_path / "one.csv")
    done = grade(batch["course"], str(archive), grades)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(grades)
    assert sorted(rows) == ["solo"]  # no phantom student named after the assignment
    assert float(rows["solo"]["score"]) == MAX_SCORE, rows["solo"]["reason"]


# --- grades are never stale or silently wrong ------------------------------------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A course of two correct students, graded once."""
    root = tmp_path_factory.mktemp("regrade")
    course = make_course(str(root / "course"))
    subs = root / "subs"
    for sid in ("alice", "bob"):
        os.makedirs(subs / sid)
        (subs / sid / f"{NOTEBOOK}.ipynb").write_text(json.dumps(correct_nb(course)))
    grades = str(root / "grades.csv")
    done = grade(course, str(subs), grades)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(grades)
    assert [float(rows[s]["score"]) for s in ("alice", "bob")] == [MAX_SCORE, MAX_SCORE]
    return {"course": course, "subs": str(subs), "root": root}


def stored(pair: dict, sid: str) -> str:
    return os.path.join(pair["course"], ".nnlib-grader", ASSIGNMENT, f"{sid}.json")


def edit_run(pair: dict, sid: str, change) -> None:
    with open(stored(pair, sid)) as f:
        run = json.load(f)
    change(run)
    with open(stored(pair, sid), "w") as f:
        json.dump(run, f)


def cell_index(pair, gid: str = "test_relu") -> str:
    nb = nbformat.read(
        os.path.join(pair["course"], "submitted", "alice", ASSIGNMENT, f"{NOTEBOOK}.ipynb"), 4
    )
    return str(next(i for i, c in enumerate(nb.cells) if _gid(c) == gid))


def gradebook_score(course: str, sid: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + os.path.join(course, "gradebook.db")) as gb:
        return gb.find_submission(ASSIGNMENT, sid).score


def timed_out(idx: str):
    def change(run: dict) -> None:
        cell = run["notebooks"][NOTEBOOK]["cells"][idx]
        error = {"output_type": "error", "ename": "Timeout", "evalue": "timed out"}
        cell["outputs"] = [{**error, "traceback": ["Timeout: timed out"]}]
        run["reasons"] = ["test_relu: timed out after 60 s"]

    return change


def test_grades_are_never_stale(pair, tmp_path):
    """In order: a failed nbgrader step, a stored result deleted, a machine fault, --regrade."""
    course, subs = pair["course"], pair["subs"]
    idx = cell_index(pair)

    # 1. nbgrader fails on bob (a file where its autograded folder must go): "not graded", not 6
    edit_run(pair, "bob", lambda run: run["reasons"].append("stored anew"))  # recorded again
    autograded = os.path.join(course, "autograded", "bob", ASSIGNMENT)
    shutil.rmtree(autograded)
    with open(autograded, "w") as f:
        f.write("in the way")
    grades = str(tmp_path / "1.csv")
    done = grade(course, subs, grades)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(grades)
    assert rows["bob"]["reason"].startswith("not graded: nbgrader's autograde failed ("), rows
    assert "await manual grading" not in rows["bob"]["reason"]
    assert float(rows["bob"]["score"]) == 0 and gradebook_score(course, "bob") == 0
    assert float(rows["alice"]["score"]) == MAX_SCORE and rows["alice"]["reason"] == ""
    os.remove(autograded)

    # 2. a stored timeout is recorded; once its result is deleted, the score follows the rerun
    edit_run(pair, "alice", timed_out(idx))
    grades = str(tmp_path / "2.csv")
    assert grade(course, subs, grades).returncode == 0
    row = read_csv(grades)["alice"]
    assert (float(row["score"]), row["reason"]) == (
        MAX_SCORE - 2,
        "test_relu: timed out after 60 s",
    )
    os.remove(stored(pair, "alice"))
    grades = str(tmp_path / "3.csv")
    assert grade(course, subs, grades).returncode == 0
    row = read_csv(grades)["alice"]
    assert (float(row["score"]), row["reason"]) == (MAX_SCORE, "")

    # 3. a run spoiled by the machine (machine_fault) is recorded once, never reused
    edit_run(pair, "alice", timed_out(idx))
    edit_run(pair, "alice", lambda run: run.update(machine_fault="the sandbox did not start"))
    grades = str(tmp_path / "4.csv")
    assert grade(course, subs, grades).returncode == 0
    assert float(read_csv(grades)["alice"]["score"]) == MAX_SCORE

    # 4. --regrade bob: run again from scratch (bob's stored run still has the extra reason)
    grades = str(tmp_path / "5.csv")
    done = grade(course, subs, grades, "--regrade", "bob")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(grades)
    assert (float(rows["bob"]["score"]), rows["bob"]["reason"]) == (MAX_SCORE, "")


def test_regrade_keeps_manual_grades(pair, tmp_path):
    from nbgrader.api import Gradebook

    course, subs = pair["course"], pair["subs"]
    url = "sqlite:///" + os.path.join(course, "gradebook.db")
    with Gradebook(url) as gb:  # a grader's override of alice's test_double: 0.5 of 2
        grade_row = gb.find_grade("test_double", NOTEBOOK, ASSIGNMENT, "alice")
        grade_row.manual_score = 0.5
        gb.db.commit()
    grades = str(tmp_path / "g.csv")
    done = grade(course, subs, grades, "--regrade")  # everyone
    assert done.returncode == 0, done.stderr[-3000:]
    rows = read_csv(grades)
    assert float(rows["alice"]["score"]) == MAX_SCORE - 1.5
    assert float(rows["bob"]["score"]) == MAX_SCORE
    with Gradebook(url) as gb:
        assert gb.find_grade("test_double", NOTEBOOK, ASSIGNMENT, "alice").manual_score == 0.5
    done = grade(course, subs, grades, "--regrade", "nobody")
    assert done.returncode != 0 and "no such student in the submissions: nobody" in done.stderr


def test_make_regrade_passes_the_students():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    argv = ["make", "-n", "--no-print-directory", "-C", root, "regrade", "ASSIGNMENT=a1"]
    some = subprocess.run([*argv, "STUDENTS=ada bob"], capture_output=True, text=True)
    assert some.returncode == 0, some.stderr
    command = some.stdout.strip().splitlines()[-1]
    assert '-m nngrader grade "a1"' in command and command.endswith("--regrade ada bob")
    everyone = subprocess.run(argv, capture_output=True, text=True)
    assert everyone.stdout.strip().splitlines()[-1].endswith("--regrade")
