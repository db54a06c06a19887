"""The grading host's rebuild and plan of a submitted notebook, against hostile and odd input.

Nothing here runs student code: these are the host's own steps (read, rebuild from the
source, plan, write into nbgrader's folder), each of which a submission used to be able to
crash for the whole class. A Hypothesis property throws random and malformed notebooks at
them; the cases that once stopped a batch are pinned as examples.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import time

import nbformat
import pytest
from hypothesis import HealthCheck, example, given, settings

sys.path.insert(0, os.path.dirname(__file__))

from hostile.cases import CORRECT
from hostile.course import ASSIGNMENT, NOTEBOOK, source_notebook
from strategies import notebook_documents

from nngrader.host import nbgrader_steps, notebook, pipeline

pytestmark = pytest.mark.grading
GRADE_IDS = ["setup", "sigmoid", "relu", "double", "test_sigmoid", "test_relu", "test_double"]
DEEP = "x = a" + ".b" * 10_000  # 20 kB of chained attribute access: RecursionError in ast.parse
MINUS = "x = " + "-" * 100_000 + "1"  # MemoryError in ast.parse


def _gid(cell) -> str | None:
    meta = cell.get("metadata", {})
    return meta.get("nbgrader", {}).get("grade_id") if isinstance(meta, dict) else None


def student_notebook() -> dict:
    """The source notebook with the hidden tests stripped and correct answers: a good student."""
    nb = json.loads(nbformat.writes(source_notebook()))
    for cell in nb["cells"]:
        if _gid(cell) in CORRECT:
            cell["source"] = CORRECT[_gid(cell)]
        elif notebook.HIDDEN_BEGIN in "".join(cell["source"]):
            cell["source"] = notebook.strip_hidden("".join(cell["source"]), replacement=None)
    return nb


def rebuild(nb: dict):
    """What the grading host does with a submitted notebook before anything runs."""
    source = source_notebook()
    fixed = notebook.sanitize(notebook.parse(json.dumps(nb).encode()), source)
    return fixed, notebook.plan(fixed.notebook, source)


def at(nb: dict, gid: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if _gid(c) == gid)


def test_a_good_notebook_plans_every_test():
    fixed, cells = rebuild(student_notebook())
    assert fixed.notes == []
    assert [c.grade_id for c in cells if c.kind == "test"] == list(source_tests())


def source_tests():
    return [_gid(c) for c in source_notebook().cells if notebook.is_test(c)]


def test_grade_true_without_grade_id_is_graded_as_plain_code():
    nb = student_notebook()
    cell = nbformat.v4.new_code_cell("y = 1")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 5}
    nb["cells"].insert(at(nb, "test_relu") + 1, json.loads(json.dumps(cell)))
    fixed, cells = rebuild(nb)
    assert [c.grade_id for c in cells if c.kind == "test"] == source_tests()
    plain = [c for c in fixed.notebook.cells if c.source == "y = 1"]
    assert len(plain) == 1 and "nbgrader" not in plain[0].metadata
    assert "cell with malformed nbgrader metadata graded as plain code" in fixed.notes


@pytest.mark.parametrize("source", [DEEP, MINUS], ids=["attribute-chain", "unary-minus"])
def test_code_the_parser_cannot_hold_does_not_stop_the_plan(source):
    nb = student_notebook()
    nb["cells"].append(json.loads(json.dumps(nbformat.v4.new_code_cell(source))))
    nb["cells"][at(nb, "double")]["source"] = CORRECT["double"] + "\n" + source
    _, cells = rebuild(nb)
    assert [c.grade_id for c in cells if c.kind == "test"] == source_tests()
    assert notebook.parse_code(source) is None


def test_a_huge_cell_costs_the_head_no_parse():
    """5 MB of code after the first test: unparsed, it costs milliseconds (parsed: minutes)."""
    nb = student_notebook()
    huge = "x = 1\n" * 800_000
    nb["cells"].insert(
        at(nb, "test_sigmoid") + 1, json.loads(json.dumps(nbformat.v4.new_code_cell(huge)))
    )
    start = time.process_time()
    _, cells = rebuild(nb)
    assert time.process_time() - start < 20
    assert [c.grade_id for c in cells if c.kind == "test"] == source_tests()


WRONG = [None, 7, "text", [1, 2], {"x": {}}, True, 1.5]


@pytest.mark.parametrize("where", ["metadata", "nbgrader", "grade_id", "grade", "solution"])
@pytest.mark.parametrize("value", WRONG, ids=repr)
def test_metadata_of_every_wrong_type_on_a_solution_cell(where, value):
    nb = student_notebook()
    cell = nb["cells"][at(nb, "relu")]
    if where == "metadata":
        cell["metadata"] = value
    elif where == "nbgrader":
        cell["metadata"]["nbgrader"] = value
    else:
        cell["metadata"]["nbgrader"][where] = value
    try:
        _, cells = rebuild(nb)
    except notebook.Unreadable as exc:  # nbformat refuses some outright: a reason, no crash
        assert "unreadable notebook" in str(exc)
        return
    assert [c.grade_id for c in cells if c.kind == "test"] == source_tests()
    code = "\n".join(c.source for c in cells)
    assert CORRECT["relu"] in code  # the student's answer is kept (as plain code if need be)


def split(nb: dict, gid: str, at_line: int) -> dict:
    """JupyterLab's "split cell": two cells, each with a copy of the metadata."""
    i = at(nb, gid)
    first = nb["cells"][i]
    lines = "".join(first["source"]).splitlines(keepends=True)
    second = copy.deepcopy(first)
    second["id"] = first.get("id", "x") + "-split"
    first["source"], second["source"] = "".join(lines[:at_line]), "".join(lines[at_line:])
    nb["cells"].insert(i + 1, second)
    return nb


def test_a_split_solution_cell_keeps_both_halves_in_order():
    nb = student_notebook()
    i = at(nb, "sigmoid")
    nb["cells"][i]["source"] = "import math\n\n" + CORRECT["sigmoid"]
    nb = split(nb, "sigmoid", 2)  # "import math" | "def sigmoid(z): ..."
    fixed, cells = rebuild(nb)
    assert not any("ignored" in n for n in fixed.notes), fixed.notes
    test = next(k for k, c in enumerate(cells) if c.grade_id == "test_sigmoid")
    before = [c.source.strip() for c in cells[:test]]
    assert before.index("import math") < before.index(CORRECT["sigmoid"])
    graded = [c for c in fixed.notebook.cells if _gid(c) == "sigmoid"]
    assert len(graded) == 1  # one graded cell for nbgrader; the other half is plain code


def test_a_split_written_answer_is_one_answer():
    source = source_notebook()
    answer = nbformat.v4.new_markdown_cell("YOUR ANSWER HERE")
    answer.metadata["nbgrader"] = {
        "schema_version": 3,
        "grade": True,
        "solution": True,
        "locked": False,
        "grade_id": "reflection",
        "points": 1,
        "task": False,
    }
    source.cells.append(answer)
    nb = json.loads(nbformat.writes(source))
    nb["cells"][-1]["source"] = "First thought.\n\nSecond thought."
    nb = split(nb, "reflection", 1)
    fixed = notebook.sanitize(notebook.parse(json.dumps(nb).encode()), source)
    graded = [c for c in fixed.notebook.cells if _gid(c) == "reflection"]
    assert len(graded) == 1
    assert "First thought." in graded[0].source and "Second thought." in graded[0].source


def test_a_repeated_test_cell_is_still_ignored():
    nb = student_notebook()
    extra = copy.deepcopy(nb["cells"][at(nb, "test_double")])
    extra["source"] = "pass"
    nb["cells"].append(extra)
    fixed, cells = rebuild(nb)
    assert "duplicated cell test_double ignored" in fixed.notes
    assert [c.grade_id for c in cells if c.kind == "test"] == source_tests()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with the source notebook (no release needed to rebuild)."""
    root = tmp_path_factory.mktemp("course")
    os.makedirs(root / "solutions" / ASSIGNMENT)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        'c.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.release_directory = "assignments"\n'
    )
    nbformat.write(source_notebook(), str(root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"))
    return str(root)


def prepare_one(course: str, folder: str, data: bytes) -> dict:
    """pipeline.prepare_student on one notebook's bytes: the path inside a student's boundary."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{NOTEBOOK}.ipynb"), "wb") as f:
        f.write(data)
    options = pipeline.Options(ASSIGNMENT, "", "", course=course)
    sources = {NOTEBOOK: (source_notebook(), None)}
    entry: dict = {"notebooks": {}, "notes": []}
    pipeline.prepare_student(
        entry, "student", folder, sources, None, options, pipeline.CourseDirs(course)
    )
    return entry


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(nb=notebook_documents(GRADE_IDS))
@example(nb={"nbformat": 4, "nbformat_minor": 5, "cells": 7})
@example(
    nb={
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "code", "source": DEEP, "metadata": {"nbgrader": {"grade": True}}},
            {"cell_type": "code", "source": MINUS, "metadata": {"nbgrader": "x"}},
        ],
    }
)
def test_any_notebook_is_rebuilt_and_planned_or_refused_with_a_reason(course, tmp_path, nb):
    """Inside a student's fault boundary nothing may raise: a plan, or a reason for the CSV."""
    folder = str(tmp_path / "student")
    entry = prepare_one(course, folder, json.dumps(nb).encode())
    if entry["notebooks"]:
        job = entry["job"]
        tests = [c.grade_id for c in job.notebooks[NOTEBOOK] if c.kind == "test"]
        assert tests == source_tests()
        written = os.path.join(course, "submitted", "student", ASSIGNMENT, f"{NOTEBOOK}.ipynb")
        nbformat.validate(nbformat.read(written, as_version=4))
    else:
        assert any("unreadable notebook" in n for n in entry["notes"]), entry["notes"]


def test_invalid_json_and_deep_json_are_unreadable_not_fatal(course, tmp_path):
    for data in (b'{"cells": [ not json', b"[" * 100_000, b"\xff\xfe garbage"):
        entry = prepare_one(course, str(tmp_path / "s"), data)
        assert not entry["notebooks"] and "unreadable notebook" in entry["notes"][0]


def test_each_reason_and_the_whole_column_are_capped_with_the_cut_marked():
    flood = "x" * 6_000_000
    column = pipeline.cap_reasons([f"test_{i}: {flood}" for i in range(50)])
    assert len(column) <= pipeline.REASONS_LIMIT + 400
    assert "characters cut]" in column and "more reasons cut]" in column
    short = pipeline.cap_reasons(["a", "b", "a"])
    assert short == "a; b"


@given(text=notebook_documents(["w"]).map(json.dumps))
@settings(max_examples=50, deadline=None)
def test_the_warning_filter_agrees_with_nbgrader_s_regex(text):
    for sample in (text, text.replace("x", "RuntimeWarning: "), "aWarning: " + text):
        expected = re.search(r"\w+Warning: ", sample) is not None
        assert nbgrader_steps.has_warning(sample) == expected, sample


@pytest.mark.parametrize(
    "sample",
    ["x.py:3: RuntimeWarning: overflow", "é_Warning: x", " Warning: no", "Warning: no", "Warn"],
)
def test_the_warning_filter_on_words(sample):
    assert nbgrader_steps.has_warning(sample) == bool(re.search(r"\w+Warning: ", sample))


def test_the_warning_filter_is_linear_on_a_flood():
    """10 MB of one word (the regex's worst case: 60,000 characters took it 30 s)."""
    for flood in ("a" * 10_000_000, "aWarning:" * 1_000_000, " Warning: " * 1_000_000):
        start = time.process_time()
        nbgrader_steps.has_warning(flood)
        assert time.process_time() - start < 2.0


def test_the_grading_path_runs_no_ignore_pattern_regex(tmp_path, monkeypatch):
    from nbgrader.preprocessors import IgnorePattern

    course = str(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.IgnorePattern.enabled = True\nc.IgnorePattern.pattern = r"\\w+W"\n'
    )
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    grader = nbgrader_steps.Autograder(course, ASSIGNMENT, course)
    steps = grader.converter.autograde_preprocessors
    assert IgnorePattern not in steps and nbgrader_steps.DropWarnings in steps
    cell = nbformat.v4.new_code_cell("1")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="f.py:1: RuntimeWarning: x\n  y\n"),
        nbformat.v4.new_output("stream", name="stdout", text="RuntimeWarning: kept\n"),
    ]
    out, _ = nbgrader_steps.DropWarnings().preprocess_cell(cell, {}, 0)
    assert [o.name for o in out.outputs] == ["stdout"]


def test_the_course_config_has_no_quadratic_ignore_pattern():
    from traitlets.config.loader import PyFileConfigLoader

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    config = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    assert "IgnorePattern" not in config
