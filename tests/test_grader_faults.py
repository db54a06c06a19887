"""No fault cascade on a real assignment: code that hangs costs exactly the tests that reach it.

Three a1_neurons submissions, otherwise the instructor's solution, graded by the CLI:

- ``step_hangs``: ``step`` loops forever, ``threshold_neuron`` does not use it: only the
  parts that call ``step`` (test_step, the two-layer XOR) lose their points;
- ``step_hangs_everywhere``: the solution's ``threshold_neuron`` calls the looping ``step``, so
  every part that runs the student's neuron hangs (and an ungraded cell), while the gates
  (judged by their weights on the reference neuron), the product feature and the perceptron
  parts still get full marks;
- ``helper_hangs``: a helper that only ``xor_two_layer`` calls loops forever.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from tests.test_assignments import _submission, load, make_assignments, nbg, source, source_nb

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap"),
]
NAME = "a1_neurons"
HANG = "def step(z):\n    while True:\n        pass\n\n\n"
INLINE = "def threshold_neuron(X, w, b):\n    return ((X @ w + b) > 0).astype(float)\n"
CALLS_STEP = "def threshold_neuron(X, w, b):\n    return step(X @ w + b)\n"
STEP_CALLERS = ["test_step", "test_xor_two_layer"]
# The gates are judged by their weights and bias on the reference neuron (one bug costs its own
# part once), so a looping threshold_neuron reaches only these.
NEURON_CALLERS = ["test_step", "test_threshold_neuron", "test_xor_two_layer"]


def _xor_with_hanging_helper(src: dict) -> str:
    cell = next(c for c in src["cells"] if nbg(c).get("grade_id") == "xor")
    text = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", source(cell))
    assert "hidden = step(X @ W1 + b1)" in text
    text = text.replace("hidden = step(X @ W1 + b1)", "hidden = _hidden_layer(X, W1, b1)")
    return text + "\n\ndef _hidden_layer(X, W1, b1):\n    while True:\n        pass\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("faults-course")
    make_assignments.make_course(root, [NAME])
    make_assignments.nbgrader(root, "generate_assignment", NAME, "--force")
    release = load(root / "assignments" / NAME / f"{NAME}.ipynb")
    src = source_nb(NAME)
    subs = {
        "step_hangs": {"*": "solution", "neuron": HANG + INLINE},
        "step_hangs_everywhere": {"*": "solution", "neuron": HANG + CALLS_STEP},
        "helper_hangs": {"*": "solution", "xor": _xor_with_hanging_helper(src)},
    }
    for student, replacements in subs.items():
        folder = root / "incoming" / student
        folder.mkdir(parents=True)
        nb = _submission(release, src, replacements)
        (folder / f"{NAME}.ipynb").write_text(json.dumps(nb))
    argv = [sys.executable, "-m", "nngrader", "grade", NAME, str(root / "incoming")]
    argv += [str(root / "grades.csv"), "--no-progress", "--timeout", "3", "--test-timeout", "3"]
    done = subprocess.run(
        argv, cwd=root, env=make_assignments.nbgrader_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-4000:]
    tests = [nbg(c) for c in src["cells"] if nbg(c).get("grade") and c["cell_type"] == "code"]
    points = {t["grade_id"]: t["points"] for t in tests}
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in subs:
            scores[student] = {gid: gb.find_grade(gid, NAME, NAME, student).score for gid in points}
    reasons = {}
    for line in (root / "grades.csv").read_text().splitlines()[1:]:
        fields = line.split(",", 11)
        reasons[fields[3]] = fields[11]
    return {"points": points, "scores": scores, "reasons": reasons}


@pytest.mark.parametrize(
    ("student", "hanging"),
    [
        ("step_hangs", STEP_CALLERS),
        ("step_hangs_everywhere", NEURON_CALLERS),
        ("helper_hangs", ["test_xor_two_layer"]),
    ],
)
def test_a_hang_costs_only_the_tests_that_reach_it(graded, student, hanging):
    scores, points = graded["scores"][student], graded["points"]
    assert {g for g, s in scores.items() if s == 0} == set(hanging)
    for gid, score in scores.items():
        if gid not in hanging:
            assert score == points[gid], (gid, graded["reasons"][student])
    for gid in hanging:
        assert f"{gid}: timed out after 3 s" in graded["reasons"][student]
    assert "not run" not in graded["reasons"][student]
