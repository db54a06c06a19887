"""Per-student variants: released per student, graded against each student's own parameters.

A class of 8 on the course of ``tests/instructor/course.py`` (``affine`` uses the student's
``FACTOR`` and ``OFFSET``; ``grad_mse`` is the same for everyone), released with
``release-variants`` and graded with ``grade --roster``:

* s1-s4 answer correctly in their own notebooks (with their own parameters): full marks;
* s5 overwrites ``FACTOR``/``OFFSET`` in its namespace and forges the grader's metadata to
  make a wrong ``affine`` pass: it must not;
* s6 hard-codes its own numbers: full marks; s7 submits s6's answers in its own notebook and
  s8 submits s1's whole notebook: each loses ``affine`` (its numbers differ) and keeps
  ``grad_mse``.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import stat
import subprocess
import sys

import nbformat
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from instructor.course import (
    ASSIGNMENT,
    CORRECT,
    NOTEBOOK,
    PARAMETERS,
    SPEC,
    answer,
    make_course,
    release_notebook,
    venv_env,
    write_submission,
)

from nngrader.host import variants

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "test-secret-0123456789abcdef"
STUDENTS = [f"s{i}" for i in range(1, 9)]
FAST = ["--timeout", "10", "--test-timeout", "10", "--jobs", "2"]
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
)


def _run(course: str, *argv: str) -> subprocess.CompletedProcess:
    env = {**venv_env(), variants.SECRET_ENV: SECRET}
    cmd = [sys.executable, "-m", "nngrader", *argv, "--no-progress"]
    return subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)


def _hard_coded(params: dict) -> str:
    return f"def affine(x):\n    return {params['FACTOR']!r} * x + {params['OFFSET']!r}"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = tmp_path_factory.mktemp("variants")
    course = make_course(str(root / "course"))
    roster = root / "roster.csv"
    roster.write_text("student_id,email\n" + "".join(f"{s},{s}@example.edu\n" for s in STUDENTS))
    done = _run(course, "release-variants", ASSIGNMENT, str(roster))
    assert done.returncode == 0, done.stderr
    out = os.path.join(course, "variants", ASSIGNMENT)
    notebooks = {
        s: nbformat.read(os.path.join(out, s, f"{NOTEBOOK}.ipynb"), as_version=4) for s in STUDENTS
    }
    with open(os.path.join(out, "parameters.csv"), newline="") as f:
        table = {r["student_id"]: r for r in csv.DictReader(f)}
    return {"root": root, "course": course, "roster": str(roster), "nbs": notebooks, "table": table}


def _cell_params(nb) -> dict:
    return variants.defaults(nb)  # what the student's parameter cell assigns


def test_each_released_notebook_holds_its_students_parameters(released):
    key = SECRET.encode()
    seen = set()
    release = release_notebook(released["course"])
    for sid, nb in released["nbs"].items():
        want = variants.parameters(nb, key, ASSIGNMENT, sid)
        assert _cell_params(nb) == want
        assert float(released["table"][sid]["FACTOR"]) == want["FACTOR"]
        assert want["FACTOR"] in SPEC["FACTOR"]["choice"]
        assert SPEC["OFFSET"]["randint"][0] <= want["OFFSET"] <= SPEC["OFFSET"]["randint"][1]
        seen.add((want["FACTOR"], want["OFFSET"]))
        # everything but the parameter cell is the committed release
        cells = [c.source for i, c in enumerate(nb.cells) if i not in variants.variant_cells(nb)]
        assert cells == [
            c.source for i, c in enumerate(release.cells) if i not in variants.variant_cells(nb)
        ]
        assert "# Your parameters" in nb.cells[variants.variant_cells(nb)[0]].source
    assert len(seen) == len(STUDENTS)  # eight students, eight variants


@needs_bwrap
@pytest.mark.grading
def test_a_class_of_8_is_graded_against_each_students_own_parameters(released):
    nbs, key = released["nbs"], SECRET.encode()
    params = {s: variants.parameters(nbs[s], key, ASSIGNMENT, s) for s in STUDENTS}
    default = variants.defaults(release_notebook(released["course"]))
    assert all(params[s] != default for s in STUDENTS)  # a default-parameter judge would fail
    assert params["s6"]["FACTOR"] != params["s7"]["FACTOR"] or (
        params["s6"]["OFFSET"] != params["s7"]["OFFSET"]
    )
    subs = str(released["root"] / "submissions")
    for sid in ("s1", "s2", "s3", "s4"):
        write_submission(subs, sid, answer(nbs[sid], CORRECT))
    forged = answer(
        nbs["s5"],
        {**CORRECT, "affine": "FACTOR, OFFSET = 0.0, 0.0\n\ndef affine(x):\n    return 0.0 * x"},
    )
    forged.metadata["nnlib"] = {"judge_prelude": ["FACTOR = 0.0", "OFFSET = 0.0"]}
    write_submission(subs, "s5", forged)
    write_submission(
        subs, "s6", answer(nbs["s6"], {**CORRECT, "affine": _hard_coded(params["s6"])})
    )
    write_submission(
        subs, "s7", answer(nbs["s7"], {**CORRECT, "affine": _hard_coded(params["s6"])})
    )
    write_submission(subs, "s8", copy.deepcopy(answer(nbs["s1"], CORRECT)))
    grades = str(released["root"] / "grades.csv")
    done = _run(
        released["course"],
        "grade",
        ASSIGNMENT,
        subs,
        grades,
        *FAST,
        "--roster",
        released["roster"],
    )
    assert done.returncode == 0, done.stderr[-4000:]
    with open(grades, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    scores = {s: float(rows[s]["score"]) for s in STUDENTS}
    assert scores == {
        "s1": 4.0,
        "s2": 4.0,
        "s3": 4.0,
        "s4": 4.0,
        "s5": 2.0,  # its own FACTOR/OFFSET and forged metadata are not what it is checked on
        "s6": 4.0,
        "s7": 2.0,  # a neighbour's numbers: affine lost, grad_mse kept
        "s8": 2.0,  # a neighbour's whole notebook: the same
    }, {s: rows[s]["reason"] for s in STUDENTS}


def test_seed_is_hmac_of_secret_assignment_and_student():
    a = variants.seed(b"k" * 16, "a1", "alice")
    assert a == variants.seed(b"k" * 16, "a1", "alice")
    assert (
        len(
            {
                a,
                variants.seed(b"k" * 16, "a1", "bob"),
                variants.seed(b"k" * 16, "a2", "alice"),
                variants.seed(b"j" * 16, "a1", "alice"),
            }
        )
        == 4
    )
    spec = {"P": {"uniform": [0.2, 0.8], "round": 2}, "Q": {"randint": [3, 5]}}
    values = [variants.draw(spec, s) for s in range(200)]
    assert all(0.2 <= v["P"] <= 0.8 and round(v["P"], 2) == v["P"] for v in values)
    assert {v["Q"] for v in values} == {3, 4, 5}


def test_render_replaces_only_the_literals():
    text = variants.render(PARAMETERS + "  # keep", {"FACTOR": 7.0, "OFFSET": 12})
    assert (
        text == "# Your parameters (drawn for your student id)\nFACTOR = 7.0\nOFFSET = 12  # keep"
    )
    assert variants.judge_prelude({"B": 2, "A": 0.5}) == ["A = 0.5", "B = 2"]
    with pytest.raises(variants.VariantError, match="not a plain literal"):
        variants.judge_prelude({"A": object()})


def test_declaration_errors_say_what_was_expected():
    nb = nbformat.v4.new_notebook()
    nb.metadata["nnlib"] = {"variants": {"A": {"pick": [1]}}}
    with pytest.raises(variants.VariantError, match="expected one of"):
        variants.declared(nb)
    nb.metadata["nnlib"] = {"variants": {"A": {"randint": [5, 1]}}}
    with pytest.raises(variants.VariantError, match=r"expects \[lo, hi\]"):
        variants.declared(nb)
    nb.metadata["nnlib"] = {"variants": {"A": {"choice": [1, 2]}}}
    with pytest.raises(variants.VariantError, match="not assigned in a parameter cell"):
        variants.defaults(nb)


def test_secret_is_created_private_once_and_env_wins(tmp_path, monkeypatch):
    monkeypatch.delenv(variants.SECRET_ENV, raising=False)
    with pytest.raises(variants.VariantError, match="no course secret"):
        variants.secret(str(tmp_path))
    first = variants.secret(str(tmp_path), create=True)
    path = tmp_path / variants.SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert variants.secret(str(tmp_path), create=True) == first  # never replaced
    monkeypatch.setenv(variants.SECRET_ENV, "from-the-environment-123")
    assert variants.secret(str(tmp_path)) == b"from-the-environment-123"


def test_secret_file_is_git_ignored():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        ["git", "check-ignore", "-q", variants.SECRET_FILE], cwd=root, capture_output=True
    )
    assert done.returncode == 0, f"{variants.SECRET_FILE} must be in .gitignore"


# --- a real assignment: a1's Part 4 trains with each student's LR and DATA_SEED ---------------
def test_every_a1_variant_is_gradable():
    """Each value a1 may draw gives data the reference perceptron learns (the check's premise)."""
    from nnlib.data import make_and
    from nnlib.perceptron import Perceptron

    a1 = nbformat.read(os.path.join(ROOT, "solutions", "a1_neurons", "a1_neurons.ipynb"), 4)
    spec = variants.declared(a1)
    assert set(spec) == {"LR", "DATA_SEED"}
    assert variants.defaults(a1) == {"LR": 1.0, "DATA_SEED": 7}  # the committed release's
    lo, hi = spec["DATA_SEED"]["randint"]
    for data_seed in range(lo, hi + 1):
        X, y = make_and(n=40, noise=0.1, seed=data_seed)
        for lr in spec["LR"]["choice"]:
            fitted = Perceptron(lr=lr, max_epochs=100, shuffle=False).fit(X, y.astype(float))
            assert fitted.converged_, (data_seed, lr)


@needs_bwrap
@pytest.mark.grading
def test_a1_variants_released_and_graded_with_a_roster(tmp_path):
    from tests.test_assignments import _submission, load, make_assignments, source_nb

    make_assignments.make_course(tmp_path, ["a1_neurons"])
    make_assignments.nbgrader(tmp_path, "generate_assignment", "a1_neurons", "--force")
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\nann\nben\n")
    done = _run(str(tmp_path), "release-variants", "a1_neurons", str(roster))
    assert done.returncode == 0, done.stderr
    subs = tmp_path / "incoming"
    src = source_nb("a1_neurons")
    drawn = {}
    for sid in ("ann", "ben"):
        path = tmp_path / "variants" / "a1_neurons" / sid / "a1_neurons.ipynb"
        nb = load(path)
        drawn[sid] = variants.defaults(nbformat.reads(path.read_text(), 4))
        (subs / sid).mkdir(parents=True)
        (subs / sid / "a1_neurons.ipynb").write_text(
            json.dumps(_submission(nb, src, {"*": "solution"}))
        )
    assert drawn["ann"] != drawn["ben"]
    grades = tmp_path / "grades.csv"
    done = _run(
        str(tmp_path), "grade", "a1_neurons", str(subs), str(grades), "--roster", str(roster)
    )
    assert done.returncode == 0, done.stderr[-4000:]
    with open(grades, newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    for sid in ("ann", "ben"):  # full marks but the reflection, graded by hand
        assert float(rows[sid]["score"]) + 2.0 == float(rows[sid]["max_score"]), rows[sid]


def test_the_judge_gets_the_graders_parameters_not_the_students(tmp_path):
    from instructor.course import source_notebook

    from nngrader.host import notebook

    source = source_notebook()
    student = copy.deepcopy(source)
    student.metadata["nnlib"] = {"judge_prelude": ["FACTOR = 0.0"]}  # forged: dropped
    rebuilt = notebook.sanitize(student, source).notebook
    assert variants.prelude_of(rebuilt) == []
    variants.for_grading(rebuilt, source, b"k" * 16, ASSIGNMENT, "s1")
    want = variants.parameters(source, b"k" * 16, ASSIGNMENT, "s1")
    tests = [c for c in notebook.plan(rebuilt, source) if c.kind == "test"]
    assert tests and all(
        c.prelude[:2] == [f"FACTOR = {want['FACTOR']!r}", f"OFFSET = {want['OFFSET']!r}"]
        for c in tests
    )
    # without a roster (no key): the defaults of the source's cell, still from the grader
    plain = notebook.sanitize(student, source).notebook
    variants.for_grading(plain, source, None, ASSIGNMENT, "s1")
    assert variants.prelude_of(plain) == ["FACTOR = 3.0", "OFFSET = 1"]
