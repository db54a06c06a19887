"""The zygote: a kept sandbox that forks each submission's worker with numpy and nnlib loaded.

A new worker sandbox spends about 0.2 s starting an interpreter and importing numpy, nnlib and
IPython, far more than a correct submission's cells and tests take. The zygote pays that once
per grading slot: started by :mod:`nngrader.host.execute` in the slot's sandbox (the same
bubblewrap set-up, user id and limits as a worker) as ``python -I -m nngrader.sandbox.zygote``, it
imports them and then, for each submission, forks a child that becomes the student's worker
(:mod:`nngrader.sandbox.worker`). It never runs student code itself. Its nnlib is the student
side's, with the assignment's forbidden names stubbed (:mod:`nngrader.host.stubs`), so a
zygote serves one assignment: the slot starts another for the next.

Each child is kept from the zygote and from the slot's earlier children as a new sandbox would be:

- it moves into new user, mount, PID, IPC, network and UTS namespaces (``unshare(2)``): in
  its PID namespace a small init reaps and the worker is its only child, so the zygote is
  neither visible nor signalable from the worker, and every process the student's code starts
  dies with the init (the kernel ends a PID namespace with its first process);
- an empty ``tmpfs`` is mounted on ``/tmp`` (the working directory ``/tmp/work``) and on
  ``/dev/shm``, each sized as the host says (within the memory limit): no file of an earlier
  child is left;
- the init and the worker have no capabilities (the bounding set is emptied too) and no new
  privileges; the user id and resource limits are the slot's, inherited from the sandbox; the
  worker runs in a session and process group of its own;
- its pipes to the grader and its stderr file are new, passed by the grader for this child
  over the zygote's socket; the zygote's own pipes are closed before anything else runs.

``/proc`` stays the sandbox's where the kernel refuses a new one below bubblewrap's (as it
does: bubblewrap covers parts of its ``/proc``), so the worker can list the zygote and its own
two ancestors there; it can neither signal them (they are outside its PID namespace) nor read
their memory or descriptors (none of them is dumpable).

Before each fork the zygote kills every process left in its sandbox but itself (and
bubblewrap's init): nothing of the previous child outlives it.

Protocol: JSON lines over two inherited pipes, each reply echoing its command's nonce.

- ``hello`` (``modules``): import them, try one isolated child, reply ``ready`` with ``forks``
  (whether children can be isolated here) and ``why`` (the error if not);
- ``spawn``, with four descriptors over the socket (command pipe, reply pipe, the test-link
  socket, stderr): reply ``spawned`` with the child's ``pid``;
- ``status`` (``pid``, ``timeout``): the child's ``returncode`` (negative: killed by that
  signal; ``None``: still running), as :mod:`subprocess` reports it;
- ``kill`` (``pid``): end the child and everything it started; reply ``killed``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time

from nngrader.protocol import JsonLines, Kill, Quit, Spawn, Status
from nngrader.sandbox.process import TMPFS_BYTES, fork, preload, sandboxed_start

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 1 << 14, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
CAP_LAST = 63  # beyond the last capability of any kernel: PR_CAPBSET_DROP says EINVAL
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option: int, arg: int = 0, arg3: int = 0) -> int:
    return _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(arg3), 0, 0)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def isolate() -> None:
    """Move this (single-threaded, just forked) process into new namespaces with a fresh /tmp.

    Raises :class:`OSError` saying which step the kernel refused.
    """
    uid, gid = os.getuid(), os.getgid()
    _prctl(PR_SET_DUMPABLE, 1)  # a process whose ids changed cannot write its own id maps
    _check(_libc.unshare(NAMESPACES), "unshare")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)  # nothing below leaks out of this namespace
    # A venv or checkout under /tmp is bound into the sandbox there: bind it again on the new
    # /tmp (through a descriptor opened before the tmpfs hides it), read-only as it was.
    kept = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in _binds_below("/tmp")]
    tmp, shm = TMPFS_BYTES  # sized: a tmpfs is memory no address-space limit counts
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={tmp}")
    for path, fd in kept:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        try:
            _mount("none", path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        except OSError:
            pass  # (a bind of a locked read-only mount is read-only already)
        os.close(fd)
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={shm}")
    os.makedirs("/tmp/work", mode=0o777, exist_ok=True)


def _binds_below(folder: str) -> list[str]:
    """The outermost mount points below ``folder`` (from /proc/self/mountinfo), in order."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(folder + "/"):
                points.append(point)
    return [p for p in points if not any(p.startswith(q + "/") for q in points if q != p)]


def drop_capabilities() -> None:
    """No capability left, none to gain: the bounding and ambient sets too, and no new privs."""
    for cap in range(CAP_LAST + 1):
        if _prctl(PR_CAPBSET_DROP, cap) != 0:
            break  # past the kernel's last capability
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]

    header, data = Header(_LINUX_CAPABILITY_VERSION_3, 0), (Data * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")


class Zygote(JsonLines):
    """Forks isolated workers on command; see the module docstring."""

    def __init__(self, rfd: int, wfd: int, fdsock: socket.socket) -> None:
        super().__init__(rfd, wfd)
        self.fdsock = fdsock
        self.children: dict[int, int | None] = {}  # pid -> wait status once reaped

    def serve(self) -> None:
        received = self.receive_command()
        if received is None:
            return
        hello, nonce = received
        preload(list(getattr(hello, "modules", ())))
        import IPython.core.interactiveshell  # noqa: F401  (the worker's shell, made per child)

        why = self.probe()
        self.send({"nonce": nonce, "status": "ready", "forks": not why, "why": why})
        while True:
            received = self.receive_command()
            if received is None or isinstance(received[0], Quit):
                return
            cmd, nonce = received
            if isinstance(cmd, Spawn):
                reply = self.spawn()
            elif isinstance(cmd, Status):
                reply = {"status": "status", "returncode": self.wait(cmd.pid, cmd.timeout)}
            elif isinstance(cmd, Kill):
                self.kill(cmd.pid)
                reply = {"status": "killed"}
            else:
                reply = {"status": "error", "reason": f"unexpected command {type(cmd).__name__}"}
            reply["nonce"] = nonce
            self.send(reply)

    def probe(self) -> str:
        """Whether a child can be isolated here: '' if so, else the kernel's refusal."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                isolate()
                if os.fork() == 0:  # the first process of the new PID namespace
                    drop_capabilities()
                    os._exit(0)
                _, status = os.wait()
                os._exit(0 if os.waitstatus_to_exitcode(status) == 0 else 3)
            except BaseException as exc:
                os.write(write, str(exc).encode()[:500])
                os._exit(3)
        os.close(write)
        with os.fdopen(read, "rb") as f:
            said = f.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            return ""
        return said or f"the probe child ended with status {status}"

    def spawn(self) -> dict:
        try:
            _, fds, _, _ = socket.recv_fds(self.fdsock, 16, 4)
        except OSError as exc:
            return {"status": "error", "reason": f"no descriptors for the child ({exc})"}
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            return {"status": "error", "reason": f"expected 4 descriptors, got {len(fds)}"}
        self.clean()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = fork()
        if pid == 0:
            try:
                self.rfile.close()
                os.close(self.wfd)
                self.fdsock.close()
                _child(*fds)
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        self.children[pid] = None
        return {"status": "spawned", "pid": pid}

    def clean(self) -> None:
        """Kill every process in this sandbox but this one and bubblewrap's init; reap them."""
        try:
            os.kill(-1, signal.SIGKILL)  # (atomic for the kernel: a fork bomb cannot outrun it)
        except OSError:
            pass  # nothing to kill
        self._reap()

    def wait(self, pid: int, timeout: float) -> int | None:
        """The child's return code as subprocess gives it, waiting up to ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            self._reap()
            status = self.children.get(pid)
            if status is not None:
                return os.waitstatus_to_exitcode(status)
            if pid not in self.children or time.monotonic() >= end:
                return None
            time.sleep(0.005)

    def kill(self, pid: int) -> None:
        if pid in self.children and self.children[pid] is None:
            try:
                os.kill(pid, signal.SIGKILL)  # its init dies of it, and the namespace with it
            except OSError:
                pass
            try:
                _, status = os.waitpid(pid, 0)
                self.children[pid] = status
            except ChildProcessError:
                pass
        self.children.pop(pid, None)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self.children[pid] = status


def _child(cmd_r: int, res_w: int, fds: int, stderr: int) -> None:
    """In the fork: isolate, start the init of the new PID namespace, report how the worker ended.

    The init's wait status of the worker comes back over a pipe, and this process ends the same
    way (the same exit code, or the same signal), so the grader reads the worker's end from the
    zygote's ``status`` as it would from a sandbox of its own.
    """
    read, write = os.pipe()
    isolate()
    _prctl(PR_SET_DUMPABLE, 0)  # (dumpable only to write its id maps)
    init = os.fork()
    if init == 0:
        os.close(read)
        _init(cmd_r, res_w, fds, stderr, write)
    os.close(write)
    for fd in (cmd_r, res_w, fds, stderr):
        os.close(fd)
    with os.fdopen(read, "rb") as f:
        said = f.read(4)
    os.waitpid(init, 0)
    if len(said) == 4:
        status = int.from_bytes(said, "little", signed=True)
        if os.WIFSIGNALED(status):
            _die_of(os.WTERMSIG(status))
        os._exit(os.WEXITSTATUS(status))
    _die_of(signal.SIGKILL)  # the init was killed before the worker ended: so was the worker


def _die_of(sig: int) -> None:
    if sig not in (signal.SIGKILL, signal.SIGSTOP):  # (those two cannot be caught anyway)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
    os.kill(os.getpid(), sig)
    os._exit(128 + sig)


def _init(cmd_r: int, res_w: int, fds: int, stderr: int, report: int) -> None:
    """Process 1 of the child's PID namespace: start the worker, reap, report its end."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote's kill of the parent reaches here
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        pass  # the sandbox's /proc stays (see the module docstring)
    drop_capabilities()
    worker = fork()
    if worker == 0:
        os.close(report)
        _worker(cmd_r, res_w, fds, stderr)
    for fd in (cmd_r, res_w, fds, stderr):
        os.close(fd)
    while True:
        pid, status = os.wait()
        if pid == worker:
            os.write(report, status.to_bytes(4, "little", signed=True))
            os._exit(0)  # the kernel ends whatever the worker left running


def _worker(cmd_r: int, res_w: int, fds: int, stderr: int) -> None:
    """The student's worker, as :func:`nngrader.sandbox.worker.main` starts it in a new sandbox."""
    from nngrader.sandbox import worker

    code = 0
    try:
        _prctl(PR_SET_DUMPABLE, 1)  # its own /proc/self, as in a sandbox of its own
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(stderr, 2)
        for fd in (null, stderr):
            os.close(fd)
        os.chdir("/tmp/work")
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        for sig in (signal.SIGTERM, signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        worker.Worker(cmd_r, res_w, socket.socket(fileno=fds)).serve()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def main() -> None:
    rfd, wfd, fdsock, _ = sandboxed_start()
    _prctl(PR_SET_DUMPABLE, 0)  # no child may read this process's memory or descriptors
    Zygote(rfd, wfd, fdsock).serve()


if __name__ == "__main__":
    main()
