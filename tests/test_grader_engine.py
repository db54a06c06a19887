"""The grading task itself (nnlib.grader.engine): machine-wide slots and the time budget."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from nnlib.grader import engine
from nnlib.grader.execute import Cell
from nnlib.grader.sandbox import Limits

HOLD = """
import sys, time
from nnlib.grader import engine
with engine.slot() as n:
    print(n, flush=True)
    sys.stdin.readline()
"""


def test_slots_are_distinct_across_processes_and_free_again(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    with engine.slot() as first:
        other = subprocess.Popen(
            [sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            held_elsewhere = int(other.stdout.readline())
            with engine.slot() as nested:  # a second thread of this worker, say
                assert len({first, held_elsewhere, nested}) == 3
        finally:
            other.kill()  # however its holder ends, the slot is free again
            other.wait()
        with engine.slot() as again:
            assert again == held_elsewhere
    with engine.slot() as after:
        assert after == first == 0


def test_all_slots_taken_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    with engine.slot(limit=1), pytest.raises(RuntimeError, match="all 1 grading slots"):
        with engine.slot(limit=1):
            pass


@pytest.mark.grading
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_budget_cuts_the_submission_and_names_the_tests_not_run():
    cells = [
        Cell(0, "state", "def hang():\n    while True:\n        pass", grade_id="answer"),
        Cell(1, "test", "assert 1 + 1 == 2", grade_id="test_before"),
        Cell(2, "test", "hang()", grade_id="test_hangs"),
        Cell(3, "test", "assert True", grade_id="test_after"),
        Cell(4, "test", "assert 2 > 1", grade_id="test_last"),
    ]
    limits = Limits(cell_timeout=30, test_timeout=30, memory_mb=1024, budget=6)
    start = time.monotonic()
    result = engine.run_job(engine.Job("k", {"nb": cells}, limits))
    assert time.monotonic() - start < 15  # the budget, not the 30 s test deadline, ended it
    stored = result["notebooks"]["nb"]["cells"]
    assert stored["1"]["outputs"] == []  # passed
    assert stored["2"]["outputs"][0]["ename"] == "Timeout"
    assert "not run" in stored["3"]["outputs"][0]["evalue"]
    assert result["reasons"] == [
        "the submission's time budget (6 s) ran out during test_hangs; "
        "tests not run: test_after, test_last"
    ]
    assert result["key"] == "k" and os.path.isdir(engine.slot_dir())
