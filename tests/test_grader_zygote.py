"""The zygote (nngrader.sandbox.zygote): each student's worker forked, isolated, clean.

Each test runs real sandboxes: a slot's kept judge and zygote, and workers forked from it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil

import pytest

from nngrader.host import containment, execute
from nngrader.host.containment import Limits
from nngrader.host.execute import Cell
from nngrader.protocol import CellResult

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap"),
]

LIMITS = Limits(cell_timeout=20, test_timeout=20, start_timeout=60)
ROOT = os.getuid() == 0
UID = containment.UID_BASE + 950 if ROOT else None
NPROC = LIMITS.nproc if ROOT else containment.user_nproc(LIMITS, 1)


@pytest.fixture
def kept():
    slot = execute.SlotSandboxes(LIMITS, UID, False, NPROC)
    yield slot
    slot.discard()


def run(kept: execute.SlotSandboxes, *sources: str) -> tuple[list[CellResult], execute.Worker]:
    """Run student cells in a new worker of the slot; their replies, and the worker (closed)."""
    kept.reset(30)
    worker = execute.Worker(LIMITS, UID, False, NPROC, kept, kept.student_nnlib)
    try:
        worker.start(60)
        cells = [Cell(i, "state", s) for i, s in enumerate(sources)]
        return [worker.request(execute._command(c), 30) for c in cells], worker
    finally:
        worker.close()


def alone(seen: dict) -> bool:
    """Nothing else runs: only the sandbox's init, the zygote and the worker's two ancestors
    (visible where the worker's /proc is the sandbox's), none of them readable."""
    return len(seen["names"]) <= 4 and "leftover" not in seen["names"] and not seen["readable"]


def printed(reply: CellResult) -> dict:
    assert reply.status == "ok", reply
    text = "".join(o.get("text", "") for o in reply.outputs if o["output_type"] == "stream")
    return json.loads(text)


LEAVE = """
import os, subprocess, sys, time
open('/tmp/left_by_the_last.txt', 'w').write('x')
open('here_too.txt', 'w').write('x')
open('/dev/shm/shared', 'w').write('x')
if os.fork() == 0:  # a daemon that would watch the next submission
    os.setsid()
    if os.fork() == 0:
        import ctypes
        ctypes.CDLL(None).prctl(15, b'leftover', 0, 0, 0)  # PR_SET_NAME: its /proc comm
        time.sleep(120)
    os._exit(0)
time.sleep(0.2)
"""

LOOK = """
import json, os, socket, sys
import nnlib
def fields(pid):
    text = open(f'/proc/{pid}/status').read()
    return dict(l.split(':\\t', 1) for l in text.splitlines() if ':\\t' in l)
def writable(folder):
    try:
        open(os.path.join(folder, 'planted.py'), 'w').close()
        return True
    except OSError:
        return False
def readable(path):
    try:
        open(path, 'rb').read(1)
        return True
    except OSError:
        return False
status = fields('self')
me = os.readlink('/proc/self')  # (this process's number in the namespace of that /proc)
others = [p for p in os.listdir('/proc') if p.isdigit() and p != me]
print(json.dumps({
    'tmp': sorted(os.listdir('/tmp')),
    'work': sorted(os.listdir('.')),
    'shm': sorted(os.listdir('/dev/shm')),
    'names': sorted(fields(p)['Name'].strip() for p in others),
    'readable': [p for p in others if readable(f'/proc/{p}/environ') or readable(f'/proc/{p}/mem')],
    'me': os.getpid(),
    'parent': os.getppid(),
    'sid': os.getsid(0) == os.getpid(),
    'uid': os.getuid(),
    'cap_eff': status['CapEff'].strip(),
    'cap_bnd': status['CapBnd'].strip(),
    'no_new_privs': status['NoNewPrivs'].strip(),
    'hostname': socket.gethostname(),
    'writable': [d for d in (sys.prefix, os.path.dirname(nnlib.__file__)) if writable(d)],
}))
"""


def test_each_worker_is_forked_clean_in_namespaces_of_its_own(kept):
    replies, first = run(kept, LEAVE)
    assert replies[0].status == "ok", replies
    assert kept.forks, kept.why
    assert isinstance(first.student, execute.Forked)
    zygote = kept.zygote

    replies, second = run(kept, LOOK)
    seen = printed(replies[0])
    assert isinstance(second.student, execute.Forked) and kept.zygote is zygote  # kept
    assert second.student.pid != first.student.pid
    # nothing the last submission wrote, in /tmp, the working directory or /dev/shm
    assert "left_by_the_last.txt" not in seen["tmp"] and seen["work"] == [] and seen["shm"] == []
    # its own PID namespace: its init (1) and itself; no daemon of the last one, no zygote
    assert (seen["me"], seen["parent"]) == (2, 1), seen
    assert alone(seen), seen
    assert seen["sid"], "the worker leads a session of its own"
    assert seen["cap_eff"] == seen["cap_bnd"] == "0000000000000000", seen
    assert seen["no_new_privs"] == "1"
    assert seen["hostname"] == "sandbox"
    assert seen["writable"] == []  # the venv and nnlib stay read-only (also under /tmp)
    if ROOT:
        assert seen["uid"] == UID


def test_student_code_cannot_end_the_zygote_or_the_next_submission(kept):
    kill_all = "import os\ntry:\n    os.kill(-1, 9)\nexcept OSError as e:\n    print(e)"
    replies, _ = run(kept, kill_all)
    assert replies[0].outputs[0]["text"] == "[Errno 3] No such process\n", replies  # none to hit
    zygote = kept.zygote
    replies, worker = run(kept, LOOK)
    assert alone(printed(replies[0]))
    assert kept.zygote is zygote and isinstance(worker.student, execute.Forked)


def test_how_a_forked_worker_ended_is_reported_as_for_a_sandbox_of_its_own(kept):
    for source, reason in [
        ("import os\nos._exit(7)", "the kernel exited (code 7)"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "(signal SIGSEGV)"),
        ("import os, signal\nos.killpg(0, signal.SIGKILL)", "(signal SIGKILL)"),
    ]:
        results = execute.run_cells(
            [Cell(0, "state", source)], LIMITS, UID, False, NPROC, None, kept
        )
        assert results[0].status == "fault" and reason in results[0].reason, results
    assert kept.forks and kept.zygote is not None and not kept.zygote.closed


def test_a_worker_that_hangs_is_ended_with_all_it_started(kept):
    limits = Limits(cell_timeout=1, test_timeout=1, start_timeout=60)
    hang = "import os, time\nfor _ in range(5):\n    os.fork()\ntime.sleep(100)"
    results = execute.run_cells(
        [Cell(0, "state", hang), Cell(1, "state", LOOK)], limits, UID, False, NPROC, None, kept
    )
    assert results[0].status == "fault" and "timed out" in results[0].reason
    assert alone(printed(results[1]))  # the replayed worker is new and alone


def test_without_nested_namespaces_each_worker_gets_a_sandbox_of_its_own(kept, monkeypatch, caplog):
    """bubblewrap's --disable-userns: the zygote's probe is refused, workers start anew."""
    plain = containment.command

    def no_userns(*args, **kwargs):
        argv, env = plain(*args, **kwargs)
        if argv and argv[0].endswith("bwrap"):
            argv = [argv[0], "--unshare-user", "--disable-userns", *argv[1:]]
        return argv, env

    monkeypatch.setattr(containment, "command", no_userns)
    monkeypatch.setattr(execute, "_WARNED", set())
    slot = execute.SlotSandboxes(LIMITS, None, False, NPROC)  # (root maps to itself only)
    try:
        with caplog.at_level(logging.WARNING, logger="nngrader"):
            replies, worker = run(slot, "print(6 * 7)")
        assert slot.forks is False and "unshare" in slot.why, slot.why
        assert isinstance(worker.student, execute.Process)
        assert replies[0].outputs[0]["text"] == "42\n"
        assert "not forked from a zygote" in caplog.text
    finally:
        slot.discard()


USES = """
import json, nnlib.neurons, nnlib.modules
def tried(call):
    try:
        call()
        return 'works'
    except Exception as exc:
        return type(exc).__name__
source = open(nnlib.neurons.__file__).read()
print(json.dumps({
    'step': tried(lambda: nnlib.neurons.step(1.0)),
    'Linear': tried(lambda: nnlib.modules.Linear(2, 3)),
    'neurons_source_is_the_stub': '_nnlib_reference_used' in source,
}))
"""


def test_the_zygote_preloads_the_assignments_nnlib_and_is_replaced_for_another(kept):
    from nngrader.host import stubs

    seen = {}
    zygotes = {}
    for assignment in ("a1_neurons", "a4_layers", "a4_layers"):
        kept.use(stubs.stubbed_nnlib(*stubs.for_assignment(assignment)))
        replies, worker = run(kept, USES)
        assert isinstance(worker.student, execute.Forked), kept.why
        seen[assignment] = printed(replies[0])
        zygotes.setdefault(assignment, set()).add(kept.zygote.proc.pid)
    assert seen["a1_neurons"] == {
        "step": "ReferenceUsedError",
        "Linear": "works",
        "neurons_source_is_the_stub": True,
    }
    assert seen["a4_layers"] == {
        "step": "works",
        "Linear": "ReferenceUsedError",
        "neurons_source_is_the_stub": False,
    }
    assert len(zygotes["a4_layers"]) == 1  # kept for the same assignment
    assert zygotes["a1_neurons"].isdisjoint(zygotes["a4_layers"])  # a new one for another
