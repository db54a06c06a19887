"""Run one notebook's cells in a sandboxed worker and keep every fault to its cell.

The host side of :mod:`nngrader.sandbox.worker`. Each cell gets a wall-clock deadline. When a cell
overruns it (an infinite loop, one that swallows interrupts: nothing is interrupted, the whole
sandbox is killed), crashes the worker, or floods the pipe, a new sandbox is started, the
student cells that ran before it are replayed silently, and the cell runs once more (a loaded
or failing machine may have been to blame); if it faults again, that cell alone is charged
and execution goes on with the next cell. There is no limit on the number of faults, so a
function that loops forever costs exactly the tests that call it; what bounds a submission's
time is its budget (``budget_end``): once it is spent, the cell it cut short (``budget`` is
``"cut"``) and the cells left (``"unrun"``) are faults. Every message to and from the
sandboxes is a record of :mod:`nngrader.protocol`, and each cell's result a
:class:`~nngrader.protocol.CellResult`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import secrets
import select
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from nngrader import protocol
from nngrader.host import containment
from nngrader.host.containment import Limits
from nngrader.protocol import CellReply, CellResult, ProtocolError

log = logging.getLogger("nngrader")

#: Modules the worker imports before any student code, so that the snapshot covers them.
PRELOAD = [
    "numpy",
    "numpy.linalg",
    "numpy.random",
    "numpy.testing",
    "nnlib",
    "nnlib.grading",
    "nnlib.gradcheck",
    "nnlib.functional",
    "nnlib.modules",
    "nnlib.losses",
    "nnlib.neurons",
    "nnlib.perceptron",
    "nnlib.optim",
    "nnlib.init",
    "nnlib.autograd",
    "nnlib.data",
    "nnlib.regression",
    "nnlib.train",
]
MESSAGE_LIMIT = protocol.LINE_LIMIT  # bytes of one reply: more is "huge output"


@dataclass
class Cell:
    """One code cell to run: ``kind`` is ``"state"`` (student code) or ``"test"``."""

    idx: int
    kind: str
    source: str
    grade_id: str | None = None
    hidden: bool = False
    carry: bool = False  # a test that defines names later cells use: also run in the kernel
    prelude: list[str] = field(default_factory=list)  # the instructor's imports, for the judge


class Fault(Exception):
    """The worker timed out, died or misbehaved; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Record = (
    protocol.Hello
    | protocol.RunCell
    | protocol.Reset
    | protocol.Spawn
    | protocol.Status
    | protocol.Kill
    | protocol.Quit
)
Reply = protocol.Ready | CellReply | protocol.Spawned | protocol.ChildStatus


class Channel:
    """The grader's side of one sandboxed process: its command and reply pipes, the socket
    that carries each test's link to it, and the file its stderr goes to.

    A subclass gets the process going with the far ends (``cmd_r``, ``res_w``, ``fd_end``,
    ``stderr``) and then calls :meth:`_handed_over`; it says how the process ended
    (:meth:`returncode`) and how to end it (:meth:`_end`).
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cmd_r, self.cmd_w = os.pipe()
        self.res_r, self.res_w = os.pipe()
        self.fdsock, self.fd_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.tmp = tempfile.TemporaryDirectory(prefix="nnlib-grader-")
        self.stderr = open(os.path.join(self.tmp.name, "stderr"), "wb")
        self.buffer = bytearray()
        self.replies: list[Reply] = []
        self.closed = False

    def _handed_over(self) -> None:
        """The process holds the far ends now: only it may, so ours are closed."""
        os.close(self.cmd_r)
        os.close(self.res_w)
        self.fd_end.close()
        os.set_blocking(self.cmd_w, False)

    def request(self, message: Record, timeout: float, until: str | None = None) -> list[Reply]:
        """Send one command; return the replies that echo its nonce.

        Waits for one reply, or (``until``) for the reply whose status is ``until``.
        """
        deadline = time.monotonic() + timeout
        nonce = self.send(message, deadline)
        return self.collect(nonce, deadline, until)

    def send(self, message: Record, deadline: float, fd: int | None = None) -> str:
        """Send one command (and a descriptor for it); return its nonce."""
        nonce = secrets.token_hex(16)
        self._write(protocol.encode_line(protocol.to_wire(message, nonce)), deadline)
        if fd is not None:
            try:
                socket.send_fds(self.fdsock, [b"L"], [fd])
            except OSError:
                raise Fault(self._died()) from None
        return nonce

    def collect(self, nonce: str, deadline: float, until: str | None = None) -> list[Reply]:
        """The replies echoing ``nonce``, up to the first (or the one whose status is ``until``).

        Each is checked against its record (:func:`nngrader.protocol.reply`): one that does
        not follow it is a fault of the cell, as a crash would be.
        """
        replies = self.replies = []
        while True:
            message = self._read_line(deadline)
            if message.get("nonce") != nonce:
                continue  # not an answer to this command: ignore it
            try:
                reply = protocol.reply(message)
            except ProtocolError as exc:
                raise Fault(f"the kernel sent a malformed reply ({exc})") from None
            replies.append(reply)
            if until is None or reply.status == until:
                return replies

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fault("timed out")
            _, ready, _ = select.select([], [self.cmd_w], [], left)
            if ready:
                try:
                    view = view[os.write(self.cmd_w, view) :]
                except BrokenPipeError:
                    raise Fault(self._died()) from None

    def _read_line(self, deadline: float) -> dict:
        """The next line's message, read in time linear in its length and at most
        :data:`MESSAGE_LIMIT` long (a longer one is the cell's fault)."""
        end = self.buffer.find(b"\n")
        while end < 0:
            if len(self.buffer) > MESSAGE_LIMIT:
                raise Fault("produced too much output")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fault("timed out")
            ready, _, _ = select.select([self.res_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.res_r, 1 << 20)
            if not chunk:
                raise Fault(self._died())
            at = chunk.find(b"\n")  # (only the new bytes are searched)
            if at >= 0:
                end = len(self.buffer) + at
            self.buffer += chunk
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        if len(line) > MESSAGE_LIMIT:
            raise Fault("produced too much output")
        try:
            return protocol.decode_line(line)
        except ProtocolError as exc:
            raise Fault(f"the kernel sent a malformed reply ({exc})") from None

    def returncode(self, timeout: float) -> int | None:
        """How the process ended (as :mod:`subprocess` says it), waiting up to ``timeout``."""
        raise NotImplementedError

    def _died(self) -> str:
        code = self.returncode(5)
        if code is None:
            return "the kernel stopped answering"
        if code < 0:
            return f"the kernel was killed (signal {signal.Signals(-code).name})"
        return f"the kernel exited (code {code}){self._stderr_tail()}"

    def _stderr_tail(self) -> str:
        try:
            self.stderr.flush()
            with open(self.stderr.name, "rb") as f:
                f.seek(max(0, os.path.getsize(self.stderr.name) - 300))
                lines = f.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f": {lines[-1]}" if lines else ""

    def _end(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """End the process and everything it started; free the pipes and the files."""
        if self.closed:
            return
        self.closed = True
        self._end()
        for fd in (self.cmd_w, self.res_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.fdsock.close()
        self.stderr.close()
        self.tmp.cleanup()


class Process(Channel):
    """A sandbox of its own (a judge, a zygote, or a worker when none can be forked)."""

    def __init__(
        self,
        limits: Limits,
        uid: int | None,
        unsafe: bool,
        nproc: int | None,
        module: str = "nngrader.sandbox.worker",
        student_nnlib: str | None = None,
    ):
        super().__init__(limits)
        fds = self.fd_end.fileno()
        argv, env = containment.command(
            self.cmd_r,
            self.res_w,
            None if unsafe else uid,
            unsafe=unsafe,
            fds=fds,
            module=module,
            limits=limits,
            student_nnlib=student_nnlib,
        )
        self.proc: subprocess.Popen | None = None
        try:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=self.tmp.name,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self.stderr,
                pass_fds=(self.cmd_r, self.res_w, fds),
                start_new_session=True,
                preexec_fn=lambda: containment.set_limits(limits, nproc),
            )
        except OSError as exc:  # (no bubblewrap, or no process left to start)
            self._handed_over()
            self.close()
            raise Fault(f"{os.path.basename(argv[0])} could not be started: {exc}") from None
        self._handed_over()

    def returncode(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout) if self.proc else None
        except subprocess.TimeoutExpired:
            return None

    def _end(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


class Forked(Channel):
    """A student's worker forked by the slot's zygote (:mod:`nngrader.sandbox.zygote`)."""

    def __init__(self, limits: Limits, zygote: Process, deadline: float) -> None:
        super().__init__(limits)
        self.zygote = zygote
        self.pid: int | None = None
        try:
            nonce = zygote.send(protocol.Spawn(), deadline)
            ends = [self.cmd_r, self.res_w, self.fd_end.fileno(), self.stderr.fileno()]
            try:
                socket.send_fds(zygote.fdsock, [b"S"], ends)
            except OSError:
                raise Fault(zygote._died()) from None
            reply = zygote.collect(nonce, deadline)[-1]
        finally:
            self._handed_over()
        if not isinstance(reply, protocol.Spawned) or reply.pid is None:
            why = getattr(reply, "reason", "") or type(reply).__name__
            raise Fault(f"the zygote did not fork a worker: {why}")
        self.pid = reply.pid

    def returncode(self, timeout: float) -> int | None:
        try:
            reply = self.zygote.request(protocol.Status(self.pid, timeout), timeout + 5)[-1]
        except Fault:
            return None
        return reply.returncode if isinstance(reply, protocol.ChildStatus) else None

    def _end(self) -> None:
        if self.pid is not None and not self.zygote.closed:
            try:
                self.zygote.request(protocol.Kill(self.pid), 30)
            except Fault:  # a zygote that cannot end its child is ended with it
                self.zygote.close()


class SlotSandboxes:
    """The sandboxes a grading slot keeps from one submission to the next: judge and zygote.

    Neither ever runs student code, so neither need be new for each submission. The judge
    (:mod:`nngrader.sandbox.judge`) runs the tests; :meth:`reset` before each submission clears what
    the previous one left. The zygote (:mod:`nngrader.sandbox.zygote`) has numpy, nnlib and IPython
    loaded and forks each student's worker (:meth:`student`) isolated in new namespaces, which
    saves the worker's interpreter start and imports; where the kernel does not allow that
    (``forks`` is False, ``why`` says why), each worker is a new sandbox of its own, as it is
    without a sandbox (``unsafe``). After a fault the judge is thrown away (:meth:`discard`);
    the next :meth:`start` starts what is missing.

    The student's side (the zygote, and each worker) gets the nnlib of the assignment being
    graded, its forbidden names stubbed (:meth:`use`); the judge keeps the real one.
    """

    def __init__(self, limits: Limits, uid: int | None, unsafe: bool, nproc: int | None):
        self.settings = (limits, uid, unsafe, nproc)
        self.student_nnlib: str | None = None
        self.judge: Process | None = None
        self.zygote: Process | None = None
        self.judge_ready = False
        self.forks: bool | None = False if unsafe else None  # None: not known yet
        self.why = "no sandbox (--unsafe)" if unsafe else ""

    def use(self, student_nnlib: str | None) -> None:
        """Give the student's side this nnlib from now on (a zygote preloaded another goes)."""
        if student_nnlib != self.student_nnlib:
            self.discard_zygote()
            self.student_nnlib = student_nnlib

    def start(self, deadline: float) -> None:
        """Start the judge and the zygote if they are not running; wait until both are ready."""
        hello = protocol.Hello(tuple(PRELOAD))
        if self.zygote is not None and self.zygote.closed:
            self.zygote = None
        starting = []
        if self.judge is None or not self.judge_ready:
            self.discard_judge()
            self.judge = Process(*self.settings, module="nngrader.sandbox.judge")
            starting.append(("judge", self.judge, self.judge.send(hello, deadline)))
        if self.zygote is None and self.forks is not False:
            zygote = Process(
                *self.settings, module="nngrader.sandbox.zygote", student_nnlib=self.student_nnlib
            )
            try:
                starting.append(("zygote", zygote, zygote.send(hello, deadline)))
                self.zygote = zygote
            except Fault as error:
                zygote.close()
                self._no_forks(f"the zygote did not start: {error.reason}")
        for role, process, nonce in starting:
            if role == "judge":
                try:
                    if not isinstance(process.collect(nonce, deadline)[-1], protocol.Ready):
                        raise Fault("it did not report ready")
                except Fault:
                    if self.forks is None:  # (its hello is left unread: start it anew next time)
                        self.discard_zygote()
                    raise
                self.judge_ready = True
                continue
            try:
                reply = process.collect(nonce, deadline)[-1]
            except Fault as error:
                reply = protocol.Ready("", False, f"the zygote did not start: {error.reason}")
            if isinstance(reply, protocol.Ready) and reply.status == "ready" and reply.forks:
                self.forks = True
            else:
                why = getattr(reply, "why", "")
                self.discard_zygote()
                self._no_forks(why or "the zygote cannot isolate a child here")

    def student(self, deadline: float) -> Channel:
        """A new worker for the next submission: forked by the zygote, or a sandbox of its own."""
        limits, uid, unsafe, nproc = self.settings
        if self.zygote is not None and self.forks:
            try:
                return Forked(limits, self.zygote, deadline)
            except Fault as error:  # a zygote that fails is replaced; this worker starts anew
                log.warning("the zygote of a grading slot failed (%s): replaced", error.reason)
                self.discard_zygote()
        return Process(limits, uid, unsafe, nproc, student_nnlib=self.student_nnlib)

    def _no_forks(self, why: str) -> None:
        self.forks, self.why = False, why
        if why not in _WARNED:
            _WARNED.add(why)
            log.warning(
                "workers are not forked from a zygote here (%s): each submission starts a "
                "sandbox of its own, which is slower",
                why,
            )

    def reset(self, timeout: float) -> None:
        """Before a new submission: the judge ends every leftover process and empties /tmp.

        (The zygote kills what its last child left before it forks the next.)
        """
        if self.judge is not None and self.judge_ready:
            try:
                replies = self.judge.request(protocol.Reset(), timeout)
                if isinstance(replies[-1], protocol.Ready):
                    return
            except Fault:
                pass
        self.discard_judge()

    def discard_judge(self) -> None:
        if self.judge is not None:
            self.judge.close()
        self.judge, self.judge_ready = None, False

    def discard_zygote(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
        self.zygote = None

    def discard(self) -> None:
        self.discard_judge()
        self.discard_zygote()


_WARNED: set[str] = set()


class Worker:
    """A student's worker and the judge that runs its tests.

    The worker is new for each run (forked by the slot's zygote, or a sandbox of its own); the
    judge is the slot's (``kept``), or one of its own.
    """

    def __init__(
        self,
        limits: Limits,
        uid: int | None,
        unsafe: bool,
        nproc: int | None,
        kept: SlotSandboxes | None = None,
        student_nnlib: str | None = None,
    ):
        self.own = kept is None
        self.kept = kept or SlotSandboxes(limits, uid, unsafe, nproc)
        self.kept.use(student_nnlib)
        self.student: Channel | None = None
        self.judge: Process | None = None
        self.replies: list[Reply] = []

    def start(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.kept.start(deadline)
        self.judge = self.kept.judge
        self.student = self.kept.student(deadline)
        nonce = self.student.send(protocol.Hello(tuple(PRELOAD)), deadline)
        if not isinstance(self.student.collect(nonce, deadline)[-1], protocol.Ready):
            raise Fault("it did not report ready")

    def request(self, message: Record, timeout: float) -> CellResult:
        """Run a student cell; its result."""
        self.replies = []
        reply = self.student.request(message, timeout)[-1]
        if not isinstance(reply, CellReply) or reply.status not in ("ok", "error"):
            raise Fault("the kernel sent a reply of another command")
        return CellResult.from_reply(reply)

    def test(self, message: protocol.RunCell, timeout: float) -> CellResult:
        """Run a test: the judge runs its code, the student's worker serves its objects.

        Returns the judge's verdict, or a fault when the student's side died under the test.
        """
        deadline = time.monotonic() + timeout
        judge_end, student_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.replies = []
        try:
            # The student's side never sees the test; one whose names later cells use is run
            # there too (see worker.carry), but without its hidden part.
            visible = _visible(message.source) if message.carry else ""
            for_student = dataclasses.replace(message, source=visible, prelude=())
            j = self.judge.send(message, deadline, judge_end.fileno())
            s = self.student.send(for_student, deadline, student_end.fileno())
        finally:
            judge_end.close()
            student_end.close()
        judged = self.judge.collect(j, deadline, until="ended")
        verdicts = [r for r in judged if isinstance(r, CellReply) and r.status in ("ok", "error")]
        self.replies = verdicts
        ended = self.student.collect(s, deadline, until="ended")
        if not verdicts:  # the test's own code ended the judge's process
            return _fault(getattr(judged[-1], "reason", "") or "crashed")
        verdict = verdicts[0]
        if verdict.lost:  # the student's side died: say how, as before the split
            return _fault(getattr(ended[-1], "reason", "") or "crashed")
        return CellResult.from_reply(verdict)

    def close(self, fault: bool = False) -> None:
        """End the student's worker; and the judge, after a fault or if it is its own."""
        if self.student is not None:
            self.student.close()
        if self.own:
            self.kept.discard()
        elif fault:
            self.kept.discard_judge()


def run_cells(
    cells: list[Cell],
    limits: Limits,
    uid: int | None = None,
    unsafe: bool = False,
    nproc: int | None = None,
    budget_end: float | None = None,
    kept: SlotSandboxes | None = None,
    student_nnlib: str | None = None,
) -> dict[int, CellResult]:
    """Run the cells in order; return each cell's result (or fault) by its index.

    A fault (a timeout, a dead worker, a sandbox that did not start) is retried once with a
    fresh sandbox: a loaded or failing grading machine does not cost the student the cell,
    and only a fault that happens again is the student's. A sandbox that still does not
    start is the machine's (``machine`` is set: such a result is never cached). ``budget`` is
    ``"cut"`` or ``"unrun"`` when the time budget ending at ``budget_end`` (a
    ``time.monotonic()`` instant; default: ``limits.budget`` from now) ran out while the
    cell ran or before it. ``kept`` holds the slot's judge and zygote, kept after the run
    (the judge unless a fault ended it). ``student_nnlib`` is the nnlib the student's side
    gets (:mod:`nngrader.host.stubs`).
    """
    if budget_end is None:
        budget_end = time.monotonic() + limits.budget
    results: dict[int, CellResult] = {}
    skipped: set[int] = set()  # student cells that faulted: never replayed
    retried: set[int] = set()  # cells that faulted once (-1: the start): the next fault is theirs

    def timeout(own: float) -> tuple[float, bool]:
        """The deadline of the next step, and whether the budget (not its own limit) sets it."""
        left = budget_end - time.monotonic()
        return (own, False) if own <= left else (max(left, 0.0), True)

    def out_of_budget(start: int, cut: bool = False) -> None:
        for cell in cells[start:]:
            if cut:
                results[cell.idx] = CellResult.fault(f"timed out: {BUDGET_REASON}", "cut")
                cut = False
            elif cell.idx not in results:
                results[cell.idx] = CellResult.fault(f"not run: {BUDGET_REASON}", "unrun")

    position = 0
    while position < len(cells):
        if budget_end - time.monotonic() <= 0:
            out_of_budget(position)
            break
        worker = Worker(limits, uid, unsafe, nproc, kept, student_nnlib)
        phase, current, by_budget, fault = "start", None, False, True
        try:
            wait, by_budget = timeout(limits.start_timeout)
            worker.start(wait)
            phase = "replay"
            for cell in cells[:position]:  # rebuild the state a faulty cell destroyed
                if (cell.kind == "state" or cell.carry) and cell.idx not in skipped:
                    current = cell
                    wait, by_budget = timeout(limits.cell_timeout)
                    worker.request(_command(cell, quiet=True), wait)
            phase = "run"
            for cell in cells[position:]:
                current = cell
                if cell.kind == "test":
                    wait, by_budget = timeout(limits.test_timeout)
                    results[cell.idx] = worker.test(_command(cell), wait)
                else:
                    wait, by_budget = timeout(limits.cell_timeout)
                    results[cell.idx] = worker.request(_command(cell), wait)
                position += 1
            fault = False
        except Fault as error:
            if by_budget and error.reason == "timed out":  # the budget ran out, not the cell
                out_of_budget(position, cut=phase == "run")
                break
            verdicts = [r for r in worker.replies if isinstance(r, CellReply)]
            if phase == "run" and current.kind == "test" and verdicts:
                results[current.idx] = CellResult.from_reply(verdicts[0])  # carrying it hung
                skipped.add(current.idx)
                position += 1
                continue
            where = -1 if phase == "start" else current.idx
            if phase != "replay" and where not in retried:
                retried.add(where)  # once more, in a fresh sandbox (the machine may be to blame)
                log.info("retrying after a fault (%s) with a fresh sandbox", error.reason)
                if phase == "start" and worker.kept is not None:
                    worker.kept.discard()
                continue
            if phase == "start":
                for cell in cells[position:]:
                    results[cell.idx] = CellResult.fault(
                        f"{START_FAILED}: {error.reason}", machine=True
                    )
                position = len(cells)
            elif phase == "replay":  # a replayed cell misbehaved this time: leave it out
                skipped.add(current.idx)
            else:
                own = limits.test_timeout if current.kind == "test" else limits.cell_timeout
                reason = error.reason
                if reason == "timed out":
                    reason = f"timed out after {own:g} s"
                results[current.idx] = CellResult.fault(reason)
                skipped.add(current.idx)
                position += 1
        finally:
            worker.close(fault)
    return results


BUDGET_REASON = "the submission's time budget ran out"
START_FAILED = "the sandbox failed to start"


def _command(cell: Cell, quiet: bool = False) -> protocol.RunCell:
    return protocol.RunCell(
        idx=cell.idx,
        kind=cell.kind,
        # a quiet test is a replay on the student's side: its hidden part stays with the judge
        source=_visible(cell.source) if quiet and cell.kind == "test" else cell.source,
        grade_id=cell.grade_id,
        hidden=cell.hidden,
        carry=cell.carry,
        quiet=quiet,
        prelude=() if quiet else tuple(cell.prelude),
    )


def _visible(source: str) -> str:
    """A test's source without its hidden blocks (what the student's release shows too)."""
    from nngrader.host.notebook import strip_hidden  # notebook imports this module

    return strip_hidden(source, replacement=None)


def source_hash(text: str) -> str:
    """The short hash that ties a stored cell's outputs to the cell's source."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fault(reason: str) -> CellResult:
    return CellResult.fault(reason)
