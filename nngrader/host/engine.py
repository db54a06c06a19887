"""Where the sandboxed runs happen: tasks on a Dask ``distributed`` cluster.

The sandboxed run of one submission is one task, :func:`run_job`: a :class:`Job` (the plan of
each rebuilt notebook, the limits) in, the stored result (each cell's outputs for nbgrader and
the reasons for the CSV) out, as plain JSON-able data. Its task key is the submission's content
hash, so a task that is retried or submitted twice (two identical submissions) gives one result.

:class:`Engine` opens the cluster for one batch: an embedded ``LocalCluster`` (one worker
process with one thread per core, or ``jobs``) started and closed with the batch, or a running
``dask scheduler`` given by address. Scheduling, retries on another worker when a worker dies,
and worker health are distributed's; :meth:`Engine.results` only keeps a bounded number of
tasks in flight and yields each result as it arrives. Only the head (the grade command) runs
nbgrader and writes the gradebook; the workers need nnlib's ``.venv`` and bubblewrap, never the
course folder.

Each running task takes a *slot* on its machine, a number held with a file lock, so every
sandbox that runs at the same time on one machine has its own unprivileged user id
(``containment.UID_BASE + slot``), whatever the number of dask workers and threads there. A worker
process keeps the slots it took until it ends (one per thread at most), and with each slot two
sandboxes from one task to the next, neither of which ever runs
student code: the judge (reset before each submission) and the zygote, which forks each
submission's student worker with numpy and nnlib loaded, in namespaces of its own
(:mod:`nngrader.sandbox.zygote`).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nngrader.host import containment, execute, stubs
from nngrader.host.containment import Limits
from nngrader.protocol import CellResult, RunResult, StoredCell

log = logging.getLogger("nngrader")
#: Slots (and so user ids) a machine hands out at most at the same time.
MAX_SLOTS = 1000
#: Seconds a running scheduler is given to have a first worker.
WORKER_WAIT = 120


class NoWorkers(RuntimeError):
    """The running scheduler given has no worker to run the tasks."""


@dataclass(frozen=True)
class Job:
    """One submission's run: ``notebooks`` maps a notebook name to its cells, in order.

    ``assignment`` names the policy (:mod:`nnlib.grading.policy`) of the nnlib the student's
    code gets: its forbidden names are stubs there (:mod:`nngrader.host.stubs`).
    """

    key: str
    notebooks: dict[str, list[execute.Cell]]
    limits: Limits
    unsafe: bool = False
    assignment: str = ""


def slot_dir() -> str:
    """The folder of this machine's slot locks (``NNLIB_GRADER_SLOTS`` overrides it)."""
    return os.environ.get("NNLIB_GRADER_SLOTS") or os.path.join(
        tempfile.gettempdir(), "nnlib-grader-slots"
    )


def _acquire(limit: int = MAX_SLOTS) -> tuple[int, int]:
    """Lock the lowest free slot number of this machine; return it and the lock's descriptor.

    A slot is an exclusive ``flock`` on ``<slot_dir>/<n>.lock``: it is free again as soon as its
    descriptor is closed, however its holder ends (a killed dask worker's locks go with it).
    """
    folder = slot_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for number in range(limit):
        fd = os.open(os.path.join(folder, f"{number}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return number, fd
    raise RuntimeError(f"all {limit} grading slots in {folder} are taken on this machine")


@contextlib.contextmanager
def slot(limit: int = MAX_SLOTS) -> Iterator[int]:
    """Hold a free slot number of this machine (the lowest) meanwhile."""
    number, fd = _acquire(limit)
    try:
        yield number
    finally:
        os.close(fd)


_KEPT: dict[int, execute.SlotSandboxes] = {}  # this process's kept sandboxes, by slot
_LOCKS: dict[int, int] = {}  # the slots this process holds -> their lock's descriptor
_IDLE: list[int] = []  # those of them no task of this process runs in now
_POOL_LOCK = threading.Lock()


@contextlib.contextmanager
def _task_slot() -> Iterator[int]:
    """A slot for one task: one this process holds already, else a new one, kept afterwards.

    The process keeps each slot it took until it ends, so the judge and the zygote it keeps
    for that slot always run under a lock it holds: no other process can take their user id.
    A worker process with ``n`` threads holds at most ``n`` slots.
    """
    with _POOL_LOCK:
        number = _IDLE.pop() if _IDLE else None
    if number is None:
        number, fd = _acquire()
        with _POOL_LOCK:
            _LOCKS[number] = fd
    try:
        yield number
    finally:
        with _POOL_LOCK:
            _IDLE.append(number)


def run_job(job: Job) -> RunResult:
    """Run one submission's notebooks in sandboxes; return the result the head stores.

    The whole submission shares one time budget (``Limits.budget``), and its stored outputs
    one size budget (:data:`OUTPUTS_BUDGET`). A fault of the grading machine that remains
    after its retry is named in ``machine_fault`` (such a result is not to be cached). Raises
    :class:`~nngrader.host.containment.SandboxUnavailable` when this machine cannot start a
    sandbox at all (no bubblewrap, no namespaces): that is the machine's fault, not the
    submission's, and the head stops the batch with the reason.
    """
    with _task_slot() as number:
        root = os.getuid() == 0
        uid = None if job.unsafe or not root else containment.UID_BASE + number
        nproc = job.limits.nproc if root else containment.user_nproc(job.limits, 1)
        result = RunResult(job.key)
        budget_end = time.monotonic() + job.limits.budget
        kept = _kept(number, (job.limits, uid, job.unsafe, nproc))
        student_nnlib = stubs.stubbed_nnlib(*stubs.for_assignment(job.assignment))
        kept.reset(job.limits.start_timeout)  # nothing of the slot's last submission is left
        cut, unrun, not_started = [], [], False
        room = [OUTPUTS_BUDGET]
        for name, cells in job.notebooks.items():
            replies = execute.run_cells(
                cells, job.limits, uid, job.unsafe, nproc, budget_end, kept, student_nnlib
            )
            stored = {}
            for cell in cells:
                reply = replies.get(cell.idx) or CellResult.fault("not run")
                not_started |= reply.reason.startswith(execute.START_FAILED)
                if reply.machine and not result.machine_fault:
                    result.machine_fault = _cap(reply.reason)
                outputs, reasons = cell_outputs(cell, reply)
                outputs = _within(outputs, room, reasons)
                where = cell.grade_id or f"cell {cell.idx}"
                if reply.budget == "cut":
                    cut.append(where)
                elif reply.budget:  # one line for them all, below
                    unrun += [where] if cell.kind == "test" else []
                else:
                    result.reasons += [_cap(r) for r in reasons]
                digest = execute.source_hash(cell.source)
                stored[cell.idx] = StoredCell(digest, tuple(outputs))
            result.notebooks[name] = stored
        if not job.unsafe and not_started:
            containment.check_available()  # (a sandbox that works, failing once, keeps its results)
        if cut or unrun:
            where = f" during {cut[0]}" if cut else ""
            result.reasons.append(
                _cap(
                    f"the submission's time budget ({job.limits.budget:g} s) ran out{where}; "
                    f"tests not run: {', '.join(unrun) or 'none'}"
                )
            )
    return result


#: Bytes of outputs (as stored JSON) kept per submission; beyond it only errors are kept.
OUTPUTS_BUDGET = 8 * 1024 * 1024
#: Characters of one reason in the CSV.
REASON_LIMIT = 300


def _cap(reason: str, limit: int = REASON_LIMIT) -> str:
    """A reason cut to ``limit`` characters, the cut marked."""
    return reason if len(reason) <= limit else reason[: limit - 20] + " [... reason cut]"


def _within(outputs: list[dict], room: list[int], reasons: list[str]) -> list[dict]:
    """The outputs that fit in what is left of the submission's output budget (``room``).

    Error outputs always stay (nbgrader grades by them); anything else that does not fit
    is replaced by one line that says so.
    """
    kept, dropped = [], 0
    for output in outputs:
        size = len(json.dumps(output))
        if output.get("output_type") == "error" or size <= room[0]:
            room[0] -= min(size, room[0])
            kept.append(output)
        else:
            dropped += 1
    if dropped:
        note = f"[{dropped} output(s) left out: this submission's outputs passed "
        note += f"{OUTPUTS_BUDGET // (1024 * 1024)} MiB]\n"
        kept.insert(0, {"output_type": "stream", "name": "stdout", "text": note})
        if not any("outputs passed" in r for r in reasons):
            reasons.append(f"outputs cut: more than {OUTPUTS_BUDGET // (1024 * 1024)} MiB")
    return kept


def _kept(number: int, settings: tuple) -> execute.SlotSandboxes:
    """The judge and zygote kept for slot ``number`` in this process (new if settings changed).

    Only the task holding the slot uses them, so no two tasks share a judge or a zygote.
    """
    kept = _KEPT.get(number)
    if kept is None or kept.settings != settings:
        if kept is not None:
            kept.discard()
        kept = _KEPT[number] = execute.SlotSandboxes(*settings)
    return kept


@atexit.register
def release() -> None:
    """End this process's kept sandboxes, then free its slots (at exit; tests call it too)."""
    with _POOL_LOCK:
        for kept in _KEPT.values():
            kept.discard()
        _KEPT.clear()
        for fd in _LOCKS.values():
            os.close(fd)
        _LOCKS.clear()
        _IDLE.clear()


def cell_outputs(cell: execute.Cell, reply: CellResult) -> tuple[list[dict], list[str]]:
    """The cell's outputs for nbgrader, and the reasons worth a line in the CSV.

    The one place a cell's result is read.
    """
    reasons: list[str] = []
    where = cell.grade_id or f"cell {cell.idx}"

    def error(ename: str, evalue: str) -> dict:
        return {
            "output_type": "error",
            "ename": ename,
            "evalue": evalue,
            "traceback": [f"{ename}: {evalue}"],
        }

    if reply.status == "fault":
        reason = reply.reason or "crashed"
        kind = "Timeout" if "timed out" in reason or reply.budget else "KernelDied"
        if "memory" in reason:
            kind = "MemoryLimit"
        if reply.machine:
            kind = "GraderFault"
        reasons.append(f"{where}: {reason}")
        return [error(kind, reason)], reasons
    err = reply.error
    if cell.kind == "state":
        if reply.status == "error" and err is not None and err.ename == "ReferenceUsedError":
            # a stub of the student's nnlib raised while the cell ran: said in the CSV too
            reasons.append(f"{where}: uses nnlib's reference implementation ({err.evalue})")
        return list(reply.outputs), reasons
    tamper = sorted(set(reply.tamper))
    during = [t for t in tamper if t.startswith("during the test")]
    before = [t for t in tamper if t not in during]
    if before:  # undone before the test ran: the verdict stands, the attempt is reported
        shown = "; ".join(before[:3]) + ("; ..." if len(before) > 3 else "")
        reasons.append(f"tampering detected and undone before the tests ({shown})")
    if during:
        shown = "; ".join(t.removeprefix("during the test: ") for t in during[:3])
        reasons.append(f"{where}: tampering detected during the test, part scored 0 ({shown})")
    if reply.reference:
        used = "; ".join(reply.reference[:3])
        reasons.append(f"{where}: uses nnlib's reference implementation ({used})")
        return [
            error("ReferenceUsed", f"this part uses nnlib's reference implementation: {used}")
        ], reasons
    if during:
        return [error("Tampering", "the tested code changed the checking machinery")], reasons
    if reply.status == "error":
        ename, evalue = (err.ename, err.evalue) if err is not None else ("Error", "")
        if ename == "MemoryError":
            reasons.append(f"{where}: memory limit exceeded")
            evalue = evalue or "memory limit exceeded"
        out = [] if cell.hidden else list(reply.outputs)
        return [*out, error(ename, evalue)], reasons
    outputs = [] if cell.hidden else list(reply.outputs)
    if reply.value is not None:
        outputs.append(
            {
                "output_type": "execute_result",
                "data": {"text/plain": repr(reply.value)},
                "metadata": {},
                "execution_count": None,
            }
        )
    return outputs, reasons


class Engine:
    """A Dask cluster for one batch: embedded (``scheduler=None``) or running at an address.

    ``jobs`` is the number of local worker processes of the embedded cluster (0: one per core).
    Use as a context manager; closing it closes the client, and the embedded cluster with it.
    """

    def __init__(self, scheduler: str | None = None, jobs: int = 0) -> None:
        import dask
        from distributed import Client, LocalCluster

        if not log.isEnabledFor(logging.INFO):  # distributed's start-up chatter (-v shows it)
            logging.getLogger("distributed").setLevel(logging.WARNING)
        self.cluster = None
        if scheduler is None:
            workers = jobs or os.cpu_count() or 1
            # forked from one process that imported distributed: half the start of spawning
            with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    memory_limit=0,  # the sandboxes have memory limits of their own
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self.cluster)
        else:
            self.client = Client(scheduler, timeout="30s")
            try:  # a scheduler without workers would take the tasks and never run them
                self.client.wait_for_workers(1, timeout=WORKER_WAIT)
            except TimeoutError:
                self.client.close()
                raise NoWorkers(
                    f"no dask worker joined the scheduler at {scheduler} within {WORKER_WAIT} s: "
                    f"start some with `.venv/bin/dask worker {scheduler} --nthreads 1`"
                ) from None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def threads(self) -> int:
        """Task slots of the cluster's workers right now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def results(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, RunResult | BaseException]]:
        """Run the jobs; yield ``(job, result or the exception it raised)`` as each finishes.

        At most about two tasks per worker thread are in flight: a class of 10,000 never sits
        in the scheduler's memory at once, and a worker that joins later gets work too. The
        first ones are submitted before this returns, so the thread that starts the engine
        gets them running while the grader is still loading nbgrader.
        """
        from distributed import as_completed

        pending = iter(jobs)
        running: dict = {}
        flow = as_completed([])

        def submit_more() -> None:
            while len(running) < 2 * self.threads():
                job = next(pending, None)
                if job is None:
                    return
                future = self.client.submit(run_job, job, key=f"nnlib-grade-{job.key}")
                running[future.key] = job
                flow.add(future)

        submit_more()
        return self._stream(flow, running, submit_more)

    @staticmethod
    def _stream(
        flow, running: dict, submit_more
    ) -> Iterator[tuple[Job, RunResult | BaseException]]:
        for future in flow:
            job = running.pop(future.key)
            try:
                outcome: RunResult | BaseException = future.result()
            except Exception as exc:  # our own bug or a task that killed every worker it met
                outcome = exc
            future.release()
            submit_more()  # before the head's own work on this result
            yield job, outcome
