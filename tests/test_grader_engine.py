"""The grading task itself (nngrader.host.engine): machine-wide slots and the time budget."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from nngrader.host import engine
from nngrader.host.containment import Limits
from nngrader.host.execute import Cell


@pytest.fixture(autouse=True)
def no_judge_left():
    """The sandboxes run_job keeps in this process end with each test (their user id is reused)."""
    yield
    engine.release()


HOLD = """
import sys, time
from nngrader.host import engine
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
    stored = result.notebooks["nb"]
    assert stored[1].outputs == ()  # passed
    assert stored[2].outputs[0]["ename"] == "Timeout"
    assert "not run" in stored[3].outputs[0]["evalue"]
    assert result.reasons == [
        "the submission's time budget (6 s) ran out during test_hangs; "
        "tests not run: test_after, test_last"
    ]
    assert result.key == "k" and os.path.isdir(engine.slot_dir())


LEAVE = """import os, time
open('/tmp/left_by_the_last.txt', 'w').write('x')
open('here_too.txt', 'w').write('x')
if os.fork() == 0:
    os.setsid()
    time.sleep(60)
    os._exit(0)
"""
CHECK = """import os
assert not os.path.exists('/tmp/left_by_the_last.txt')
assert not os.path.exists('here_too.txt')
mine = (1, os.getpid(), os.getppid())
others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in mine]
assert not others, others
"""


@pytest.mark.grading
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_the_slots_judge_is_kept_and_left_clean_for_the_next_submission(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    limits = Limits(cell_timeout=20, test_timeout=20, memory_mb=1024)
    first = engine.run_job(engine.Job("a", {"nb": [Cell(0, "test", LEAVE, grade_id="t")]}, limits))
    assert first.notebooks["nb"][0].outputs == (), first
    judge = engine._KEPT[0].judge
    second = engine.run_job(engine.Job("b", {"nb": [Cell(0, "test", CHECK, grade_id="t")]}, limits))
    assert engine._KEPT[0].judge is judge  # the same judge, not a new sandbox
    assert second.notebooks["nb"][0].outputs == (), second


@pytest.mark.grading
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_slot_whose_sandboxes_are_kept_stays_locked_until_released(tmp_path, monkeypatch):
    """Between tasks no other process may take the user id of the judge and zygote kept."""
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    limits = Limits(cell_timeout=20, test_timeout=20, memory_mb=1024)
    engine.run_job(engine.Job("a", {"nb": [Cell(0, "state", "x = 1")]}, limits))
    assert list(engine._KEPT) == [0] and engine._KEPT[0].judge is not None

    def other_process_slot() -> int:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        number = int(holder.stdout.readline())
        holder.communicate("\n")
        return number

    assert other_process_slot() == 1  # slot 0 is still this process's, task or not
    engine.run_job(engine.Job("b", {"nb": [Cell(0, "state", "x = 2")]}, limits))
    assert list(engine._KEPT) == [0]  # the next task took the slot it holds, and its sandboxes
    engine.release()
    assert other_process_slot() == 0 and engine._KEPT == {}


# --- faults of the grading machine: retried once in a fresh sandbox, never cached ------------


def _flaky(monkeypatch, method: str, failures: int, reason: str = "timed out") -> list:
    """Make ``execute.Worker.<method>`` fail ``failures`` times as a loaded machine would."""
    from nngrader.host import execute

    original = getattr(execute.Worker, method)
    calls = []

    def flaky(self, *args, **kwargs):
        calls.append(args)
        if len(calls) <= failures:
            raise execute.Fault(reason)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(execute.Worker, method, flaky)
    return calls


@pytest.mark.grading
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_timeout_the_machine_caused_is_retried_and_costs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    _flaky(monkeypatch, "test", failures=1)
    cells = [Cell(0, "state", "def f():\n    return 1"), Cell(1, "test", "assert f() == 1", "t")]
    limits = Limits(cell_timeout=20, test_timeout=20, memory_mb=1024)
    result = engine.run_job(engine.Job("k", {"nb": cells}, limits))
    assert result.notebooks["nb"][1].outputs == () and result.reasons == [], result
    assert result.machine_fault == ""


@pytest.mark.grading
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_the_students_own_fault_happens_again_and_is_theirs(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    cells = [Cell(0, "state", "import os\nos._exit(3)"), Cell(1, "test", "assert True", "t")]
    limits = Limits(cell_timeout=20, test_timeout=20, memory_mb=1024)
    result = engine.run_job(engine.Job("k", {"nb": cells}, limits))
    assert result.reasons == ["cell 0: the kernel exited (code 3)"], result.reasons
    assert result.notebooks["nb"][1].outputs == ()  # the rest of the notebook ran
    assert result.machine_fault == ""


@pytest.mark.grading
def test_a_sandbox_that_never_starts_is_the_machines_fault_and_never_cached(tmp_path, monkeypatch):
    from nngrader.host import pipeline

    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    calls = _flaky(monkeypatch, "start", failures=99, reason="bwrap: out of memory")
    cells = [Cell(0, "state", "x = 1"), Cell(1, "test", "assert x == 1", "t")]
    limits = Limits(cell_timeout=20, test_timeout=20, memory_mb=1024)
    result = engine.run_job(engine.Job("k", {"nb": cells}, limits, unsafe=True))
    assert len(calls) == 2  # the start, and one retry with a fresh sandbox
    assert "the sandbox failed to start: bwrap: out of memory" in result.machine_fault
    assert result.notebooks["nb"][1].outputs[0]["ename"] == "GraderFault"
    stored = tmp_path / "student.json"
    stored.write_text(json.dumps(result.to_json()))
    assert pipeline._stored_key(str(stored)) is None  # the next run grades it again


@pytest.mark.grading
def test_a_sandbox_that_starts_at_the_second_try_grades_normally(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    _flaky(monkeypatch, "start", failures=1, reason="bwrap: out of memory")
    cells = [Cell(0, "state", "x = 1"), Cell(1, "test", "assert x == 1", "t")]
    limits = Limits(cell_timeout=20, test_timeout=20, memory_mb=1024)
    result = engine.run_job(engine.Job("k", {"nb": cells}, limits, unsafe=True))
    assert result.machine_fault == "" and result.reasons == [], result


@pytest.mark.grading
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_stored_outputs_are_capped_per_submission_errors_kept(tmp_path, monkeypatch):
    """Each reply is within its own limits; together they pass the submission's budget."""
    monkeypatch.setenv("NNLIB_GRADER_SLOTS", str(tmp_path / "slots"))
    big = "from IPython.display import HTML, display\nfor _ in range(4):\n"
    big += "    display(HTML('x' * 900_000))\n"
    cells = [Cell(i, "state", big) for i in range(3)]
    cells.append(Cell(3, "test", "assert False, 'the verdict stays'", "t"))
    limits = Limits(cell_timeout=30, test_timeout=30, memory_mb=1024)
    result = engine.run_job(engine.Job("k", {"nb": cells}, limits))
    stored = sum(len(json.dumps(o)) for c in result.notebooks["nb"].values() for o in c.outputs)
    assert stored <= engine.OUTPUTS_BUDGET + 10_000, stored
    assert any("outputs cut" in r for r in result.reasons), result.reasons
    assert result.notebooks["nb"][3].outputs[-1]["evalue"] == "the verdict stays"
