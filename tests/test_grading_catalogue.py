"""The visible checks against the course's catalogue of typical mistakes.

``tools/nbmutate.py``'s ``CATALOGUE`` lists, per assignment, the bugs a teaching assistant sees
every week (a missing bias, ``>=`` for ``>``, a missing transpose, the wrong axis, ``=`` for
``+=`` ...), each as one edit of the solution. With the hidden tests removed (what a student
runs), each bug must

- fail the visible check of its own part (never "passed" for wrong code),
- be named there by its own hint (the diagnosis names the bug), and
- cost no other part, neither in the visible checks nor with the hidden tests (one bug, one
  part: later parts are judged with the student's own earlier functions or with nnlib's in
  their place).

The correct solution gets no diagnosis at all. The run is in-process (one forked "kernel" per
bug), a few seconds per assignment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import nbmutate  # noqa: E402
from make_assignments import configured_assignments  # noqa: E402

ASSIGNMENTS = configured_assignments()
#: The share of catalogued bugs the visible checks must catch (issue 16: all of them).
VISIBLE_TARGET = 1.0


def test_every_assignment_has_a_catalogue():
    assert set(nbmutate.CATALOGUE) == set(ASSIGNMENTS)
    for name, bugs in nbmutate.CATALOGUE.items():
        cells = nbmutate.read_cells(nbmutate.source_path(name))
        parts = {c.grade_id for c in cells if c.autograded}
        for bug in bugs:
            assert bug.part in parts, f"{name}: {bug.name}: no test cell {bug.part}"
            nbmutate.with_bug(cells, bug)  # raises if the edit no longer applies


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_correct_solution_gets_no_diagnosis(name):
    nbmutate.warm_up()
    cells = nbmutate.visible(nbmutate.read_cells(nbmutate.source_path(name)))
    verdicts = nbmutate.run_forked(cells, stop_early=False, messages=True)
    assert verdicts and all(m is None for m in verdicts.values()), verdicts


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_visible_checks_catch_and_name_every_catalogued_bug(name):
    report = nbmutate.check_catalogue(name)
    rows = report["bugs"]
    print(
        f"{name}: the visible checks catch {sum(r['caught'] for r in rows)}/{len(rows)} "
        f"catalogued bugs ({100 * report['visible_catch']:.0f}%)"
    )
    missed = [r["bug"] for r in rows if not r["caught"]]
    assert report["visible_catch"] >= VISIBLE_TARGET, f"visible checks pass wrong code: {missed}"
    unnamed = [(r["bug"], r["message"]) for r in rows if r["caught"] and not r["hinted"]]
    assert not unnamed, f"diagnoses that do not name their bug: {unnamed}"
    double = [(r["bug"], r["collateral"]) for r in rows if r["collateral"]]
    assert not double, f"bugs that cost other parts too: {double}"
    graded = [(r["bug"], r["collateral_hidden"]) for r in rows if r["collateral_hidden"]]
    assert not graded, f"bugs that cost other parts in grading (hidden tests): {graded}"


def test_the_catalogue_run_fails_when_a_check_is_weakened(monkeypatch):
    """Break the check (a visible step case without zeros, as before issue 16) and watch."""
    bug = next(b for b in nbmutate.CATALOGUE["a1_neurons"] if b.after == "(z >= 0)")
    monkeypatch.setitem(nbmutate.CATALOGUE, "a1_neurons", [bug])
    from nnlib.grading import neurons

    real = neurons.check_function

    def without_zeros(student, reference, cases, *args, **kwargs):
        cases = [tuple(a + (a == 0) * 0.5 for a in case) for case in cases]
        return real(student, reference, cases, *args, **kwargs)

    monkeypatch.setattr(neurons, "check_function", without_zeros)
    report = nbmutate.check_catalogue("a1_neurons")
    assert report["visible_catch"] == 0.0
