"""nnlib's reference cannot be used for credit: the student's sandbox has no reference to use.

For each real assignment, five students each reach nnlib's version of one graded part (the
parts taken in turn, so every part is covered) through a trick that beat the old watcher:
a ``functools.partial``, an alias whose ``__module__`` was changed, the profile hook switched
off, the report to the judge forged through ``gc``, or nnlib's source file executed afresh.
In the student's sandbox every forbidden name of the assignment's policy
(:mod:`nnlib.grading.policy`) is a stub that raises ``ReferenceUsedError``
(:mod:`nngrader.host.stubs`), so each of those parts scores 0 with the reason "uses nnlib's
reference implementation", nothing else is lost but through that use, and the instructor's
solution, graded beside them, keeps full marks.
"""

from __future__ import annotations

import ast
import csv
import importlib
import json
import re
import shutil
import subprocess
import sys

import pytest

from nngrader.host import stubs
from tests.test_assignments import ASSIGNMENTS, _submission, load, make_assignments, nbg, source_nb

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap"),
]

#: nnlib's counterpart of a solution's name where nnlib names it differently.
COUNTERPART = {
    "a1_neurons": {
        "and_neuron": "nnlib.neurons.AND",
        "or_neuron": "nnlib.neurons.OR",
        "not_neuron": "nnlib.neurons.NOT",
        "nand_neuron": "nnlib.neurons.NAND",
        "perceptron_update": "nnlib.perceptron.Perceptron",
        "train_perceptron": "nnlib.perceptron.Perceptron",
        "add_product_feature": "nnlib.neurons.xor_with_feature",
        "xor_feature_neuron": "nnlib.neurons.xor_with_feature",
        "xor_two_layer_weights": "nnlib.neurons.xor_two_layer",
        "threshold_neuron": "nnlib.neurons.ThresholdNeuron",
    },
    "a2_regression": {
        "gradient_descent": "nnlib.regression.LinearRegression",
        "train_logistic_regression": "nnlib.regression.LogisticRegression",
        "log_loss_grad": "nnlib.regression.log_loss",
    },
    "a4_layers": {"SoftmaxCrossEntropy": "nnlib.losses.CrossEntropyLoss"},
}

TRICKS = {
    "partial": "import functools, importlib\n"
    "{name} = functools.partial(getattr(importlib.import_module({module!r}), {attr!r}))\n",
    "alias_module": "import importlib\n"
    "{name} = getattr(importlib.import_module({module!r}), {attr!r})\n"
    "{name}.__module__ = '__main__'\n{name}.__qualname__ = {name!r}\n",
    "hook_off": "import sys, threading\nsys.setprofile(None)\n"
    "sys.setprofile = lambda *a, **k: None\nthreading.setprofile = lambda *a, **k: None\n"
    "from {module} import {attr} as {name}\n",
    "forged_report": "import gc\nfrom {module} import {attr} as _ref_{name}\n"
    "def {name}(*args, **kwargs):\n"
    "    for o in gc.get_objects():\n"
    "        if type(o).__name__ == 'StudentServer':\n"
    "            o.finish = lambda: {{'tamper': [], 'reference': [], 'displays': '[]'}}\n"
    "        if type(o).__name__ == '_ReferenceHook':\n"
    "            o.hits.clear()\n"
    "    return _ref_{name}(*args, **kwargs)\n",
    "exec_source": "import importlib\n_m = importlib.import_module({module!r})\n"
    "_ns = {{'__name__': {module!r}}}\n"
    "exec(compile(open(_m.__file__).read(), _m.__file__, 'exec'), _ns)\n"
    "{name} = _ns[{attr!r}]\n",
}


def counterpart(assignment: str, name: str) -> str:
    """The dotted nnlib name a solution's ``name`` would be taken from."""
    if name in COUNTERPART.get(assignment, {}):
        return COUNTERPART[assignment][name]
    forbidden, _ = stubs.for_assignment(assignment)
    for dotted in forbidden:
        if dotted.rpartition(".")[2] == name:
            return dotted
        try:
            module = importlib.import_module(dotted)
        except ImportError:
            continue
        if hasattr(module, name):
            return f"{dotted}.{name}"
    raise AssertionError(f"no counterpart of {name} in {assignment}'s policy")


def parts(src: dict) -> list[tuple[str, list[str], list[str]]]:
    """Each solution cell: (grade_id, the names it defines, the tests that call one of them)."""
    found: list[tuple[str, list[str], list[str]]] = []
    for cell in src["cells"]:
        meta = nbg(cell)
        if cell["cell_type"] != "code" or not meta:
            continue
        text = "".join(cell["source"])
        if meta.get("solution"):
            tree = ast.parse(re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", text))
            names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
            found.append((meta["grade_id"], names, []))
        elif meta.get("grade"):
            used = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
            for _, names, tests in found:
                if used & set(names):
                    tests.append(meta["grade_id"])
    return [p for p in found if p[1]]


def cheat(assignment: str, names: list[str], trick: str) -> str:
    lines = []
    for name in names:
        module, _, attr = counterpart(assignment, name).rpartition(".")
        lines.append(TRICKS[trick].format(name=name, module=module, attr=attr))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("reference-course")
    make_assignments.make_course(root, ASSIGNMENTS)
    out = {}
    for name in ASSIGNMENTS:
        make_assignments.nbgrader(root, "generate_assignment", name, "--force")
        release = load(root / "assignments" / name / f"{name}.ipynb")
        src = source_nb(name)
        graded_parts = parts(src)
        subs = {"solution": _submission(release, src, {"*": "solution"})}
        cheated = {}
        for i, trick in enumerate(TRICKS):
            gid, names, tests = graded_parts[i % len(graded_parts)]
            subs[trick] = _submission(
                release, src, {"*": "solution", gid: cheat(name, names, trick)}
            )
            cheated[trick] = (gid, tests)
        folder = root / "incoming" / name
        for student, nb in subs.items():
            (folder / student).mkdir(parents=True)
            (folder / student / f"{name}.ipynb").write_text(json.dumps(nb))
        grades = root / f"{name}.csv"
        argv = [sys.executable, "-m", "nngrader", "grade", name, str(folder), str(grades)]
        argv += ["--no-progress"]
        done = subprocess.run(
            argv, cwd=root, env=make_assignments.nbgrader_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-4000:]
        with open(grades, newline="") as f:
            rows = {r["student_id"]: r for r in csv.DictReader(f)}
        tests = [nbg(c) for c in src["cells"] if nbg(c).get("grade") and c["cell_type"] == "code"]
        points = {t["grade_id"]: t["points"] for t in tests}
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
            scores = {
                student: {gid: gb.find_grade(gid, name, name, student).score for gid in points}
                for student in subs
            }
        out[name] = {"rows": rows, "scores": scores, "points": points, "cheated": cheated}
    return out


CASES = [(a, t) for a in ASSIGNMENTS for t in TRICKS]


@pytest.mark.parametrize(("assignment", "trick"), CASES, ids=[f"{a}-{t}" for a, t in CASES])
def test_reference_reached_by_a_trick_scores_zero_for_its_part_with_the_reason(
    graded, assignment, trick
):
    run = graded[assignment]
    _, tests = run["cheated"][trick]
    scores, reason = run["scores"][trick], run["rows"][trick]["reason"]
    assert "uses nnlib's reference implementation" in reason, reason
    for test in tests:
        assert scores[test] == 0, (test, reason)
    # nothing else is lost but through the same use (a later part calling the stub): no
    # other fault is named, and every test of the part lost its points
    for other in ("timed out", "the kernel", "crashed", "memory", "not graded", "during the test"):
        assert other not in reason, reason
    lost = [t for t, score in scores.items() if score != run["points"][t]]
    assert lost and set(tests) <= set(lost), (lost, reason)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_beside_them_keeps_full_marks(graded, assignment):
    run = graded[assignment]
    assert run["scores"]["solution"] == run["points"], run["rows"]["solution"]["reason"]
