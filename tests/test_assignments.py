"""The assignments and their autograders, proven with the real nbgrader.

Fast tests read the committed notebooks: the sources are clean, the releases leak no solution
and no hidden test. The ``grading`` tests build a temporary course, run ``nbgrader
generate_assignment``, ``validate`` and ``autograde`` (with its gradebook) and check the
scores: the release equals a fresh generation, the solution and correct alternative solutions
score full marks, the untouched release scores 0, and the in-process runner used by the
mutation sweep gives nbgrader's verdict on a sample of one-bug variants. The mutation sweep
then proves every assignment catches >= 90% of one-bug variants, and that every survivor is a
known equivalent.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import make_assignments  # noqa: E402
import nbmutate  # noqa: E402

from tests.mutation.alternatives import ALTERNATIVES  # noqa: E402
from tests.mutation.equivalent import EQUIVALENT  # noqa: E402

ASSIGNMENTS = make_assignments.configured_assignments()
MIN_KILL_RATE = 0.9
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION\n?", re.S)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def nbg(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def source_nb(name: str) -> dict:
    return load(ROOT / "solutions" / name / f"{name}.ipynb")


def release_nb(name: str) -> dict:
    return load(ROOT / "assignments" / name / f"{name}.ipynb")


# --- the committed notebooks ------------------------------------------------------------------
def test_every_configured_assignment_has_a_source_and_a_release():
    assert ASSIGNMENTS, "nbgrader_config.py lists no assignments"
    for name in ASSIGNMENTS:
        assert (ROOT / "solutions" / name / f"{name}.ipynb").is_file()
        assert (ROOT / "assignments" / name / f"{name}.ipynb").is_file()


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_is_clean_and_well_formed(name):
    nb = source_nb(name)
    ids = [c.get("id") for c in nb["cells"]]
    assert len(set(ids)) == len(ids) and all(ids), "cell ids must be present and unique"
    grade_ids = [nbg(c)["grade_id"] for c in nb["cells"] if nbg(c)]
    assert len(set(grade_ids)) == len(grade_ids)
    tests = [c for c in nb["cells"] if nbg(c).get("grade") and not nbg(c).get("solution")]
    manual = [c for c in nb["cells"] if nbg(c).get("grade") and nbg(c).get("solution")]
    assert len(manual) == 1 and manual[0]["cell_type"] == "markdown", "one reflection question"
    assert tests
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "no outputs"
        meta = nbg(cell)
        if meta:
            assert meta["schema_version"] == 3
    for cell in tests:
        meta, text = nbg(cell), source(cell)
        assert meta["grade_id"].startswith("test_") and meta["points"] > 0 and meta["locked"]
        assert text.startswith("# ") and f"({meta['points']:g} point" in text.splitlines()[0]
        visible = HIDDEN.sub("", text)
        assert "grading." in visible, f"{meta['grade_id']}: a visible check before the hidden one"
        assert "### BEGIN HIDDEN TESTS" in text or "there are no hidden tests" in text, (
            f"{meta['grade_id']}: hidden tests, or a line that says why there are none"
        )
    for cell in nb["cells"]:
        if nbg(cell).get("solution") and cell["cell_type"] == "code":
            assert "### BEGIN SOLUTION" in source(cell)


def _distinctive_lines(text: str, public: str) -> set[str]:
    """Lines of ``text`` long enough to be telling and absent from the public parts."""
    return {
        line.strip()
        for line in text.splitlines()
        if len(line.strip()) > 12 and line.strip() not in public and "###" not in line
    }


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_leaks_no_solution_and_no_hidden_test(name):
    src, rel = source_nb(name), release_nb(name)
    released = "\n".join(source(c) for c in rel["cells"])
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in released
    public = "\n".join(SOLUTION.sub("", HIDDEN.sub("", source(c))) for c in src["cells"])
    secret: set[str] = set()
    for cell in src["cells"]:
        text = source(cell)
        for block in SOLUTION.findall(text) + HIDDEN.findall(text):
            secret |= _distinctive_lines(block, public)
        if nbg(cell).get("solution") and cell["cell_type"] == "markdown":
            secret |= _distinctive_lines(text, public)
    assert secret, "the source has solutions to hide"
    leaked = sorted(line for line in secret if line in released)
    assert not leaked, f"solution or hidden-test lines in the release: {leaked}"
    for cell in rel["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
    stubs = [c for c in rel["cells"] if nbg(c).get("solution") and c["cell_type"] == "code"]
    assert stubs and all("raise NotImplementedError()" in source(c) for c in stubs)


def _cells_with(name: str, replacements: dict[str, str]) -> list[nbmutate.Cell]:
    cells = nbmutate.read_cells(nbmutate.source_path(name))
    unknown = set(replacements) - {c.grade_id for c in cells}
    assert not unknown, f"alternatives for unknown cells {unknown}"
    return [
        dataclasses.replace(c, source=replacements[c.grade_id]) if c.grade_id in replacements else c
        for c in cells
    ]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_and_alternatives_pass_in_process(name):
    nbmutate.warm_up()
    cells = nbmutate.read_cells(nbmutate.source_path(name))
    results = nbmutate.run_forked(cells, stop_early=False)
    assert nbmutate.score(cells, results)[0] == nbmutate.score(cells, results)[1], results
    if name in ALTERNATIVES:
        alt = _cells_with(name, ALTERNATIVES[name])
        results = nbmutate.run_forked(alt, stop_early=False)
        failed = [k for k, ok in (results or {}).items() if not ok]
        assert results and not failed, f"correct alternative solutions fail {failed}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_fails_only_where_work_is_left(name):
    """Run top to bottom, the untouched release fails in test cells only, and each failure
    says what to do (``not attempted``), never a bare error."""
    nbmutate.warm_up()
    cells = nbmutate.read_cells(ROOT / "assignments" / name / f"{name}.ipynb")
    namespace: dict = {"__name__": "__main__"}
    for cell in cells:
        if cell.cell_type != "code":
            continue
        try:
            exec(compile(cell.source, f"<{cell.grade_id}>", "exec"), namespace)
        except Exception as exc:
            assert cell.autograded, f"cell {cell.grade_id or cell.index} fails: {exc!r}"
            assert "not attempted" in str(exc), f"{cell.grade_id}: {exc}"


# --- real nbgrader ----------------------------------------------------------------------------
def _submission(release: dict, src: dict, replacements: dict[str, str]) -> dict:
    """The release notebook with solution cells filled in (by grade_id), as a student would."""
    nb = json.loads(json.dumps(release))
    by_id = {nbg(c)["grade_id"]: c for c in src["cells"] if nbg(c)}
    for cell in nb["cells"]:
        gid = nbg(cell).get("grade_id")
        if not nbg(cell).get("solution"):
            continue
        if gid in replacements:
            cell["source"] = replacements[gid]
        elif replacements.get("*") == "solution":
            text = source(by_id[gid])
            text = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", text)
            cell["source"] = text
    return nb


def _mutant_sample(name: str, k: int = 2) -> list[nbmutate.Mutant]:
    variants = nbmutate.mutants(nbmutate.read_cells(nbmutate.source_path(name)))
    step = max(1, len(variants) // k)
    return variants[::step][:k]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with every assignment generated, validated and autograded for a few
    students: ``solution``, ``untouched``, ``alternative`` and two ``mutant-<i>``."""
    root = tmp_path_factory.mktemp("course")
    make_assignments.make_course(root, ASSIGNMENTS)
    students: dict[str, dict[str, object]] = {}
    validate: dict[str, str] = {}
    for name in ASSIGNMENTS:
        make_assignments.nbgrader(root, "generate_assignment", name, "--force")
        release = load(root / "assignments" / name / f"{name}.ipynb")
        src = source_nb(name)
        subs: dict[str, object] = {
            "solution": _submission(release, src, {"*": "solution"}),
            "untouched": release,
        }
        if name in ALTERNATIVES:
            subs["alternative"] = _submission(release, src, {"*": "solution", **ALTERNATIVES[name]})
        for i, mutant in enumerate(_mutant_sample(name)):
            cell = src["cells"][mutant.cell_index]
            code = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", mutant.source)
            subs[f"mutant-{i}"] = _submission(
                release, src, {"*": "solution", nbg(cell)["grade_id"]: code}
            )
        for student, nb in subs.items():
            folder = root / "submitted" / student / name
            folder.mkdir(parents=True)
            (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
        students[name] = subs
        make_assignments.nbgrader(root, "autograde", name, "--force")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "nbgrader",
                "validate",
                str(root / "solutions" / name / f"{name}.ipynb"),
            ],
            cwd=root,
            env=make_assignments.nbgrader_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        validate[name] = proc.stdout + proc.stderr
    return root, students, validate


def _scores(root: Path, name: str, student: str) -> dict[str, float | None]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(name, name, student)
        return {g.cell.name: g.auto_score for g in nb.grades}


def _max_scores(root: Path, name: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_notebook(name, name)
        return {c.name: c.max_score for c in notebook.grade_cells}


def _autograded(scores: dict, maxima: dict, root: Path, name: str) -> dict[str, float]:
    src = nbmutate.read_cells(nbmutate.source_path(name))
    auto = {c.grade_id for c in src if c.autograded}
    return {k: (v or 0.0) for k, v in scores.items() if k in auto}


@pytest.mark.slow
@pytest.mark.grading
def test_released_notebooks_equal_a_fresh_generation(course):
    root, _, _ = course
    for name in ASSIGNMENTS:
        diff = make_assignments.differences(
            ROOT / "assignments" / name, root / "assignments" / name
        )
        assert not diff, f"assignments/{name} is stale, run `make assignments`: {diff}"


@pytest.mark.slow
@pytest.mark.grading
def test_nbgrader_validate_passes_every_solution(course):
    _, _, validate = course
    for name, output in validate.items():
        assert "Success! Your notebook passes all the tests." in output, f"{name}: {output}"


@pytest.mark.slow
@pytest.mark.grading
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_autograde_scores(course, name):
    root, students, _ = course
    maxima = _max_scores(root, name)
    src = nbmutate.read_cells(nbmutate.source_path(name))
    auto = {c.grade_id: c.points for c in src if c.autograded}
    total = sum(auto.values())

    def autoscore(student: str) -> dict[str, float]:
        return _autograded(_scores(root, name, student), maxima, root, name)

    solution = autoscore("solution")
    assert sum(solution.values()) == total, f"solution loses points: {solution}"
    untouched = autoscore("untouched")
    assert sum(untouched.values()) == 0, f"the untouched release scores: {untouched}"
    if "alternative" in students[name]:
        alternative = autoscore("alternative")
        assert sum(alternative.values()) == total, f"alternative loses points: {alternative}"
    # The mutation sweep's in-process runner gives nbgrader's verdict, cell for cell.
    cells = nbmutate.read_cells(nbmutate.source_path(name))
    for i, mutant in enumerate(_mutant_sample(name)):
        in_process = nbmutate.run_forked(nbmutate.apply(cells, mutant), stop_early=False)
        by_nbgrader = autoscore(f"mutant-{i}")
        expected = {gid: (auto[gid] if ok else 0.0) for gid, ok in in_process.items()}
        assert by_nbgrader == expected, (
            f"{mutant.key}: nbgrader {by_nbgrader}, in-process {expected}"
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_mutation_kill_rate(name):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "nbmutate.py"), name, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(proc.stdout)[0]
    print(
        f"{name}: hidden tests kill {report['killed']}/{report['mutants']} "
        f"({100 * report['kill_rate']:.1f}%), survivors {len(report['survivors'])}; visible "
        f"checks catch {100 * report['visible_catch']:.0f}% of {report['catalogued']} "
        "catalogued bugs"
    )
    assert report["visible_catch"] >= 1.0, (
        f"passed by the visible checks: {report['visible_missed']}"
    )
    assert report["solution_score"] == report["max_score"]
    known = EQUIVALENT.get(name, {})
    unexplained = [key for key in report["survivors"] if key not in known]
    assert not unexplained, "surviving mutants: strengthen the tests or explain them in " + (
        "tests/mutation/equivalent.py:\n" + "\n".join(unexplained)
    )
    stale = [key for key in known if key not in report["survivors"]]
    assert not stale, f"listed as equivalent but now killed or gone: {stale}"
    assert report["kill_rate"] >= MIN_KILL_RATE


def test_tools_find_nbgrader():
    assert shutil.which("alembic", path=make_assignments.nbgrader_env()["PATH"])
