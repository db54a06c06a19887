"""The judge: the process that runs test cells, and never runs student code.

Started by :mod:`nngrader.host.execute` next to each student's worker, in a sandbox of its own
(same bubblewrap set-up and limits) as ``python -I -m nngrader.sandbox.judge``. It speaks JSON
lines with the grader over two inherited pipes that no other process holds, and receives, for
each test, one end of a socket whose other end the grader gives to the student's worker.

For each test it forks a child that

1. imports what the instructor's cells before the test imported (``prelude``: only imports of
   numpy, nnlib and the standard modules the worker trusts, run here, never asked from the
   student side, so ``np`` and ``grading`` are the judge's own);
2. asks the student side for the other names the test reads; they arrive as data (by value)
   or as proxies (:mod:`nngrader.sandbox.remote`);
3. runs the test's source with the builtin ``exec`` and sends the verdict (``ok`` or
   ``error``, the outputs, the student side's report of tampering, and any reference use:
   a :class:`~nnlib.grading.ReferenceUsedError` raised by a stub of the student's nnlib
   and seen crossing the link) to the grader, tagged with the command's nonce.

Nothing received from the student side is unpickled or evaluated; a malformed reply fails the
test. The student side cannot write to this process's pipes: they are not in its sandbox.

As it never runs student code, one judge serves the submissions of one grading slot one after
the other (the student's worker is new for each). Before each submission the grader sends
``reset``: the judge kills every other process left in its sandbox (its own PID namespace) and
empties its private ``/tmp`` and ``/dev/shm``, so nothing a test's child left reaches the next
student's tests.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import signal
import socket
import sys

from nngrader.protocol import JsonLines, Quit, Reset, RunCell
from nngrader.sandbox.process import (
    Capture,
    ended_reason,
    fork,
    jsonable,
    preload,
    receive_link,
    safe_str,
    sandboxed_start,
    stream_outputs,
)

_exec, _compile, _eval = exec, compile, eval


class Judge(JsonLines):
    """Runs test cells on command; see the module docstring."""

    def __init__(self, rfd: int, wfd: int, fdsock: socket.socket, sandboxed: bool = False) -> None:
        super().__init__(rfd, wfd)
        self.fdsock = fdsock
        self.sandboxed = sandboxed
        self.work = os.getcwd()
        self.tmp_at_start = set(_entries("/tmp")) if sandboxed else set()

    def serve(self) -> None:
        received = self.receive_command()
        if received is None:
            return
        hello, nonce = received
        preload(list(getattr(hello, "modules", ())))
        from nngrader.sandbox import remote

        remote.delegate_to_student_side()  # (this process never runs student code: its own)

        self.send({"nonce": nonce, "status": "ready"})
        while True:
            received = self.receive_command()
            if received is None or isinstance(received[0], Quit):
                return
            cmd, nonce = received
            if isinstance(cmd, Reset):
                self.reset()
                reply = {"status": "ready"}
            elif isinstance(cmd, RunCell):
                reply = self.run_test(cmd, nonce)
            else:
                continue
            reply["nonce"] = nonce
            self.send(reply)

    def reset(self) -> None:
        """Leave the sandbox as it was at the start: no other process, no file left."""
        if self.sandboxed:  # (without a sandbox, /proc and /tmp are the host's: hands off)
            me = os.getpid()
            for entry in _entries("/proc"):  # this sandbox's own PID namespace
                if entry.isdigit() and int(entry) not in (1, me):  # 1: bubblewrap's init
                    try:
                        os.kill(int(entry), signal.SIGKILL)
                    except OSError:
                        pass
            for folder in ("/tmp", "/dev/shm"):
                for entry in _entries(folder):
                    if folder != "/tmp" or entry not in self.tmp_at_start:
                        _remove(os.path.join(folder, entry))
        while True:  # reap what was killed
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        for entry in _entries(self.work):
            _remove(os.path.join(self.work, entry))

    def run_test(self, cmd: RunCell, nonce: str) -> dict:
        link = receive_link(self.fdsock)
        if link is None:
            return {"status": "ended", "reason": "the grader passed no link for the test"}
        pid = fork()
        if pid == 0:
            try:
                self.fdsock.close()
                reply = _judge(cmd, link)
                reply["nonce"] = nonce
                self.send(jsonable(reply))
            finally:
                os._exit(0)
        link.close()
        _, status = os.waitpid(pid, 0)
        return {"status": "ended", "reason": ended_reason(status)}


def _judge(cmd: RunCell, link: socket.socket) -> dict:
    from nngrader.sandbox import remote

    os.setpgid(0, 0)
    name = f"<test:{cmd.grade_id}>"
    stdout, stderr = Capture("stdout"), Capture("stderr")

    def student_output(out: str, err: str) -> None:
        if out:
            sys.stdout.write(out)
        if err:
            sys.stderr.write(err)

    judge = remote.JudgeLink(link, student_output)
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    sys.stdout, sys.stderr = stdout, stderr
    error = value = None
    report: dict = {}
    lost = False
    try:
        for statement in cmd.prelude:
            try:
                _exec(_compile(statement, "<prelude>", "exec"), namespace)
            except Exception:
                pass
        tree = ast.parse(cmd.source, name)
        wanted = sorted(
            n for n in _free_names(tree) if n not in namespace and not hasattr(builtins, n)
        )
        namespace.update(judge.names(wanted))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        _exec(_compile(tree, name, "exec"), namespace)
        if last is not None:
            value = _eval(_compile(last, name, "eval"), namespace)
    except BaseException as exc:
        error = {"ename": type(exc).__name__, "evalue": safe_str(exc)}
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    if judge.broken is None:
        try:
            report = judge.finish()
        except remote.RemoteError:
            pass
    if judge.broken is not None:  # the verdict is an error, whatever the test did with it
        lost = "closed the link" in judge.broken or "is gone" in judge.broken
        error = {
            "ename": "StudentSideError",
            "evalue": f"the link to the student's code failed: {judge.broken}",
        }
    outputs = stream_outputs(stdout, stderr, merge=True)
    displays = report.get("displays") if type(report) is dict else None
    if type(displays) is str and len(displays) < 4_000_000:
        try:
            extra = json.loads(displays)
            outputs += [o for o in extra if type(o) is dict and o.get("output_type") in _RICH]
        except ValueError:
            pass
    reply = {"status": "error" if error else "ok", "outputs": outputs, "error": error}
    if value is not None:
        reply["value"] = value if type(value) in (int, float) else None
    reply["tamper"] = _strings(report.get("tamper"))
    # reference use: a stub of the student's nnlib raised (seen here), never a self-report
    reply["reference"] = sorted(set(judge.reference_used))
    if lost:
        reply["lost"] = True
    return reply


_RICH = ("display_data", "execute_result")


def _strings(value) -> list[str]:
    if type(value) is not list:
        return []
    return [v[:300] for v in value[:50] if type(v) is str]


def _free_names(tree: ast.AST) -> set[str]:
    """Every name the test reads (anywhere) and does not bind at its top level."""
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    stored: set[str] = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    todo = list(getattr(tree, "body", []))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stored.add(node.id)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
        if isinstance(node, scopes):
            if not isinstance(node, ast.Lambda):
                stored.add(node.name)
            continue  # names bound inside a function are its own
        todo.extend(ast.iter_child_nodes(node))
    return loaded - stored


def _entries(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _remove(path: str) -> None:
    import shutil

    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
    except OSError:
        pass


def main() -> None:
    rfd, wfd, fdsock, sandboxed = sandboxed_start()
    Judge(rfd, wfd, fdsock, sandboxed).serve()


if __name__ == "__main__":
    main()
