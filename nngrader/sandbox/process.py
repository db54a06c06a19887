"""What every sandboxed process of the grader shares: its start, its streams, its forks.

The worker, the judge and the zygote all start with :func:`sandboxed_start`, speak
:class:`~nngrader.protocol.JsonLines` with the host, capture output with :class:`Capture` and
fork with :func:`fork`. This module is part of the sandbox half: it imports nothing of the host.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys

from nngrader.protocol import STREAM_LIMIT

# Captured before any student code runs; a student rebinding ``builtins.isinstance`` does not
# reach this object.
_isinstance = isinstance

#: Bytes of the ``/tmp`` and ``/dev/shm`` tmpfs mounts the zygote makes for each child (the
#: host's limits, from the environment; see :func:`sandboxed_start`).
TMPFS_BYTES = [256 * 1024 * 1024, 64 * 1024 * 1024]


class Capture(io.TextIOBase):
    """A bounded text stream: keeps the first ``STREAM_LIMIT`` characters."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        s = str(s)
        room = STREAM_LIMIT - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        if len(s) > room:
            self.truncated = True
        return len(s)

    def text(self) -> str:
        text = "".join(self.parts)
        if self.truncated:
            text += f"\n[output truncated at {STREAM_LIMIT} characters]\n"
        return text


def ended_reason(status: int) -> str:
    """Why a test's process ended, from its ``waitpid`` status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {
            signal.SIGXCPU: "CPU time limit exceeded",
            signal.SIGKILL: "killed (memory or CPU limit)",
            signal.SIGSEGV: "crashed (segmentation fault)",
            signal.SIGXFSZ: "file size limit exceeded",
        }.get(sig, f"killed by signal {signal.Signals(sig).name}")
    return f"the test's process exited early (exit code {os.WEXITSTATUS(status)})"


def receive_link(fdsock) -> object | None:
    """The socket the grader passes (as a file descriptor over ``fdsock``) for one test."""
    import socket

    fds = []
    try:
        _, fds, _, _ = socket.recv_fds(fdsock, 16, 1)
    except OSError:
        pass
    return socket.socket(fileno=fds[0]) if fds else None


def fork() -> int:
    """``os.fork``, retried for a few seconds while a neighbour's fork bomb holds the quota."""
    import time

    for attempt in range(50):
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.1 * (1 + attempt % 5))
    return os.fork()


def is_warning(line: str) -> bool:
    """Whether ``line`` shows a Python warning (``<name>Warning: ``), in time linear in it."""
    at = line.find("Warning: ")
    while at > 0:
        before = line[at - 1]
        if before.isalnum() or before == "_":
            return True
        at = line.find("Warning: ", at + 1)
    return False


def drop_warnings(text: str) -> str:
    """``text`` without Python's warnings: each ``...Warning: ...`` line and the indented
    source line printed under it.

    A numpy ``RuntimeWarning`` on stderr would cost a graded cell its points (nbgrader fails
    a cell with any stderr); filtering here, in the sandbox, costs the host nothing.
    """
    if "Warning: " not in text:
        return text
    kept, under = [], False
    for line in text.splitlines(keepends=True):
        if is_warning(line):
            under = True
            continue
        if under and line.startswith("  "):
            under = False
            continue
        under = False
        kept.append(line)
    return "".join(kept)


def stream_outputs(stdout: Capture, stderr: Capture, merge: bool = False) -> list[dict]:
    """The cell's stream outputs (stderr without warnings); ``merge``: all as stdout."""
    outputs = []
    for stream in (stdout, stderr):
        text = stream.text()
        if stream is stderr:
            text = drop_warnings(text)
        if text:
            name = "stdout" if merge else stream.name
            outputs.append({"output_type": "stream", "name": name, "text": text})
    return outputs


def safe_str(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "<an exception whose message could not be shown>"
    return text[:2000]


def jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        if _isinstance(value, dict):
            return {str(k): jsonable(v) for k, v in value.items()}
        if _isinstance(value, list | tuple):
            return [jsonable(v) for v in value]
        return str(value)


def preload(modules: list[str]) -> None:
    """Import the modules named (an optional one that is missing is left out)."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # an optional module (e.g. nnlib.grading not written yet)
            pass


def sandboxed_start():
    """What a process the grader started in a sandbox does first (worker, judge or zygote).

    Returns its command and reply pipes, its socket for test links, and whether it runs in
    bubblewrap, all taken out of the environment. Student code must not find the grader's
    source tree on its path through the working directory, and a process started as root in
    the sandbox drops to its slot's user.
    """
    import socket

    rfd, wfd = int(os.environ.pop("NNLIB_GRADER_RFD")), int(os.environ.pop("NNLIB_GRADER_WFD"))
    fdsock = socket.socket(fileno=int(os.environ.pop("NNLIB_GRADER_FDS")))
    sandboxed = os.environ.pop("NNLIB_GRADER_SANDBOXED", None) == "1"
    sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
    sizes = os.environ.pop("NNLIB_GRADER_TMPFS", "").split(",")
    if len(sizes) == 2 and all(s.isdigit() for s in sizes):
        TMPFS_BYTES[:] = [int(s) for s in sizes]
    nnlib_path = os.environ.pop("NNLIB_GRADER_NNLIB", None)
    if nnlib_path:  # without a sandbox: the stubbed nnlib comes first (see host.stubs)
        sys.path.insert(0, nnlib_path)
    uid = os.environ.pop("NNLIB_GRADER_UID", None)
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
    return rfd, wfd, fdsock, sandboxed
