"""The process that runs one student's notebook inside the sandbox.

It is started by :mod:`nngrader.host.execute` as ``python -I -m nngrader.sandbox.worker`` inside
bubblewrap and speaks JSON lines over two inherited pipe descriptors (its stdout and stderr
lead nowhere the grader reads). Nothing here is trusted once the first student cell ran; the
host only believes messages that echo the nonce of the command they answer.

Student cells run in this process, one after the other, like a Jupyter kernel. Test cells do
*not* run here: each runs in the judge (:mod:`nngrader.sandbox.judge`), a separate sandboxed
process that never runs student code and sends the verdict to the grader itself. For each
test this worker forks a child, so the test sees exactly the state the student's code left
and nothing a previous test left, background threads are gone, and a crash, ``os._exit`` or
memory bomb only ends that child. The child puts back what the student's code may have
patched (numpy, nnlib, builtins, ``sys.modules``, import paths, trace and profile hooks, the
global random state), notes every such change as tampering, and then only serves the judge's
operations on the student's objects (:mod:`nngrader.sandbox.remote`): whatever the student's code
does in there, it cannot reach the test's code, data or verdict.

The nnlib this process imports is the grader's copy for the assignment
(:mod:`nngrader.host.stubs`): the names the assignment forbids are stubs that raise
:class:`nnlib.grading.ReferenceUsedError`, so nothing here needs watching for reference use,
and nothing this process says about itself decides it (the judge sees the error cross).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import signal
import sys
import types

from nngrader.protocol import RICH_LIMIT, TRUSTED_PREFIXES, JsonLines, Quit, RunCell
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

# Captured before any student code runs; a student rebinding ``builtins.exec`` does not
# reach these objects.
_exec, _compile, _isinstance, _type, _id = exec, compile, isinstance, type, id


class _RequestStreams:
    """Collects what the student's code prints while it serves one request of a test."""

    def __enter__(self):
        self.old = sys.stdout, sys.stderr
        self.out, self.err = Capture("stdout"), Capture("stderr")
        sys.stdout, sys.stderr = self.out, self.err
        return self

    def __exit__(self, *exc) -> None:
        sys.stdout, sys.stderr = self.old

    def text(self) -> tuple[str, str]:
        return self.out.text(), self.err.text()


class Worker(JsonLines):
    """Runs cells on command; see the module docstring."""

    def __init__(self, rfd: int, wfd: int, fdsock=None) -> None:
        super().__init__(rfd, wfd)
        self.fdsock = fdsock
        self.shell = None
        self.user_ns: dict = {}
        self.outputs: list[dict] = []

    # --- set-up --------------------------------------------------------------------------
    def bootstrap(self, modules: list[str]) -> None:
        """Import what students and tests use, then snapshot everything a test relies on."""
        import numpy as np

        preload(modules)
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()
        # errors are reported once, as an error output (plain text, no colours)
        self.shell.showtraceback = self.shell.showsyntaxerror = lambda *a, **k: None
        _as_in_a_kernel(self.shell)
        self.shell.display_pub.publish = self._publish  # rich outputs come to us
        hook = _make_displayhook(self)
        self.shell.displayhook = self.shell.display_trap.hook = hook
        self.user_ns = self.shell.user_ns
        self.np = np
        self.snapshot = _Snapshot(np, self.shell)

    def _publish(self, data, metadata=None, **kwargs) -> None:
        self.outputs.append(_rich("display_data", data, metadata))

    # --- running cells -------------------------------------------------------------------
    def run_state(self, cmd: RunCell) -> dict:
        """Run a student (or ungraded) cell in this process, keeping its effects."""
        stdout, stderr = Capture("stdout"), Capture("stderr")
        self.outputs = []
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = stdout, stderr
        error = None
        try:
            result = self.shell.run_cell(cmd.source, store_history=False, silent=False)
            exc = result.error_before_exec or result.error_in_exec
            if exc is not None:
                error = {"ename": _type(exc).__name__, "evalue": safe_str(exc)}
                error["traceback"] = _student_traceback(exc)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt raised by the student
            error = {"ename": _type(exc).__name__, "evalue": safe_str(exc)}
        finally:
            sys.stdout, sys.stderr = old
        outputs = stream_outputs(stdout, stderr) + self.outputs
        if error:
            outputs.append(
                {
                    "output_type": "error",
                    "ename": error["ename"],
                    "evalue": error["evalue"],
                    "traceback": error.get("traceback") or [f"{error['ename']}: {error['evalue']}"],
                }
            )
        return {"status": "error" if error else "ok", "outputs": outputs, "error": error}

    def run_test(self, cmd: RunCell) -> dict:
        """Fork; the child restores trusted state and serves the judge's requests.

        The test itself runs in the judge (:mod:`nngrader.sandbox.judge`), which sends the verdict
        to the grader on its own pipe; the child only answers operations on the student's
        objects over the socket the grader passed for this test (:mod:`nngrader.sandbox.remote`).
        """
        link = receive_link(self.fdsock)
        if link is None:
            return {"status": "ended", "reason": "the grader passed no link for the test"}
        pid = fork()
        if pid == 0:  # the child: serve, then leave without running any exit handlers
            try:
                self.fdsock.close()
                self._serve_test(link)
            finally:
                os._exit(0)
        link.close()
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and cmd.carry:
            self.carry(cmd)
        reason = ended_reason(status)
        return {"status": "ended", "reason": reason}

    def carry(self, cmd: RunCell) -> None:
        """Run a test cell here too, silently, for the names later cells take from it.

        Stock nbgrader runs every cell in one kernel, so a test cell may define data that a
        later test uses; the verdict, though, only ever comes from the judge.
        """
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Capture("stdout"), Capture("stderr")
        try:
            _exec(_compile(cmd.source, f"<test:{cmd.grade_id}>", "exec"), self.user_ns)
        except BaseException:
            pass
        finally:
            sys.stdout, sys.stderr = old

    def _serve_test(self, link) -> None:
        from nngrader.sandbox import remote

        os.setpgid(0, 0)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        tamper = self.snapshot.restore()
        self.snapshot.hooks = self.snapshot._hooks()  # from now on, only the test's own changes
        self.outputs = []

        def finish() -> dict:
            notes = tamper + [f"during the test: {t}" for t in self.snapshot.restore()]
            return {
                "tamper": [str(t) for t in notes],
                "displays": json.dumps(jsonable(self.outputs[:50])),
            }

        server = remote.StudentServer(link, self.user_ns, _RequestStreams, finish)
        server.serve()

    def serve(self) -> None:
        received = self.receive_command()
        if received is None:
            return
        hello, nonce = received
        self.bootstrap(list(getattr(hello, "modules", ())))
        self.send({"nonce": nonce, "status": "ready"})
        while True:
            received = self.receive_command()
            if received is None or isinstance(received[0], Quit):
                return
            cmd, nonce = received
            if not isinstance(cmd, RunCell):
                continue
            if cmd.kind == "test" and cmd.quiet:  # a replay: only its names count
                self.carry(cmd)
                reply = {"status": "ok"}
            elif cmd.kind == "test":
                reply = self.run_test(cmd)
            else:
                reply = self.run_state(cmd)
                if cmd.quiet:
                    reply = {"status": reply["status"]}
            reply["nonce"] = nonce
            reply["idx"] = cmd.idx
            self.send(jsonable(reply))


def _as_in_a_kernel(shell) -> None:
    """Make what students put in cells behave as in a Jupyter kernel, never an error.

    A bare ``InteractiveShell`` has no GUI event loop (``enable_gui`` raises), so
    ``%matplotlib inline`` would fail the whole cell; a kernel's figures come out inline,
    and here every ``%matplotlib`` backend does (``display_data`` outputs, as in a kernel
    with the inline backend). The kernel's own magics (``%qtconsole``, ``%connect_info``)
    do nothing here.
    """
    shell.enable_gui = lambda gui=None: None

    def matplotlib(line: str = "") -> None:
        try:
            shell.enable_matplotlib("inline")
        except Exception:  # (no matplotlib: figures are simply not shown)
            pass

    def nothing(line: str = "", cell: str | None = None) -> None:
        return None

    shell.register_magic_function(matplotlib, "line", "matplotlib")
    for name in ("qtconsole", "connect_info", "gui"):
        shell.register_magic_function(nothing, "line", name)


def _make_displayhook(worker: Worker):
    """IPython's displayhook, sending the value of a cell's last expression to us."""
    from IPython.core.displayhook import DisplayHook

    class Hook(DisplayHook):
        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict, md_dict=None) -> None:
            worker.outputs.append(_rich("execute_result", format_dict, md_dict))

    return Hook(shell=worker.shell, cache_size=0)


class _Snapshot:
    """What a test relies on, recorded before any student code ran, and put back on demand."""

    def __init__(self, np, shell) -> None:
        self.np = np
        self.shell = shell
        self.hooks = self._hooks()
        self.modules = {
            name: (module, dict(module.__dict__))
            for name, module in list(sys.modules.items())
            if module is not None and name.split(".")[0] in TRUSTED_PREFIXES
        }
        self.functions = []
        self.classes = []
        seen: set[int] = set()
        for _module, namespace in self.modules.values():
            for value in namespace.values():
                if _id(value) in seen:
                    continue
                seen.add(_id(value))
                if _isinstance(value, types.FunctionType):
                    self.functions.append(
                        (value, value.__code__, value.__defaults__, value.__kwdefaults__)
                    )
                elif (
                    _isinstance(value, type)
                    and getattr(value, "__module__", "").split(".")[0] == "nnlib"
                    and "__dict__" in value.__dict__
                ):
                    self.classes.append((value, dict(value.__dict__)))
                    for attr in value.__dict__.values():
                        if _isinstance(attr, types.FunctionType):
                            self.functions.append(
                                (attr, attr.__code__, attr.__defaults__, attr.__kwdefaults__)
                            )
        self.paths = (list(sys.path), list(sys.meta_path), list(sys.path_hooks))
        self.sys_modules = sys.modules
        self.random_state = np.random.get_state()
        self.errstate = np.geterr()

    def _hooks(self) -> tuple:
        """IPython's and Python's hooks a student could use to rewrite or silence a test."""
        sh = self.shell
        return (
            tuple(sh.input_transformers_cleanup),
            tuple(sh.input_transformers_post),
            tuple(sh.ast_transformers),
            sh.custom_exceptions,
            sys.excepthook,
        )

    def restore(self) -> list[str]:
        """Undo every change to the recorded state; return a description of each change."""
        notes: list[str] = []
        if self._hooks() != self.hooks:  # harmless to the test (run outside IPython): noted
            notes.append("installed an IPython hook or excepthook")
        if sys.modules is not self.sys_modules:
            sys.modules = self.sys_modules
            notes.append("replaced sys.modules")
        for name, (module, namespace) in self.modules.items():
            if sys.modules.get(name) is not module:
                notes.append(f"replaced module {name}")
                sys.modules[name] = module
            current = module.__dict__
            for key, value in namespace.items():
                if current.get(key, _MISSING) is not value:
                    if not key.startswith("__") and key != "_":
                        notes.append(f"patched {name}.{key}")
                    current[key] = value
        for name in [n for n in sys.modules if n.split(".")[0] in TRUSTED_PREFIXES]:
            module = sys.modules[name]
            if name not in self.modules and not _genuine(module):
                notes.append(f"planted module {name}")
                del sys.modules[name]  # a test that imports it gets the real one
        for func, code, defaults, kwdefaults in self.functions:
            if func.__code__ is not code or func.__defaults__ is not defaults:
                notes.append(f"patched the code of {func.__module__}.{func.__qualname__}")
                func.__code__, func.__defaults__ = code, defaults
            if func.__kwdefaults__ is not kwdefaults:
                func.__kwdefaults__ = kwdefaults
        for cls, namespace in self.classes:
            for key, value in namespace.items():
                if cls.__dict__.get(key, _MISSING) is not value and key not in ("__doc__",):
                    if key not in ("__dict__", "__weakref__"):
                        notes.append(f"patched {cls.__module__}.{cls.__qualname__}.{key}")
                        setattr(cls, key, value)
            for key in [k for k in cls.__dict__ if k not in namespace]:
                notes.append(f"added {cls.__module__}.{cls.__qualname__}.{key}")
                delattr(cls, key)
        path, meta_path, path_hooks = self.paths
        if sys.meta_path != meta_path or sys.path_hooks != path_hooks:
            notes.append("changed the import machinery")
        sys.path[:], sys.meta_path[:], sys.path_hooks[:] = path, meta_path, path_hooks
        sys.path_importer_cache.clear()
        if sys.gettrace() is not None or sys.getprofile() is not None:
            notes.append("installed a trace or profile hook")
        sys.settrace(None)
        sys.setprofile(None)
        import threading

        threading.settrace(None)
        threading.setprofile(None)
        self.np.random.set_state(self.random_state)
        self.np.seterr(**self.errstate)
        return notes


_MISSING = object()
# Where nnlib's and the grader's own files live: frames from them are not the student's.
_NNLIB_DIR = os.path.dirname(os.path.abspath(importlib.util.find_spec("nnlib").origin))
_GRADER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # nngrader/


def _genuine(module) -> bool:
    """Whether a module was loaded from numpy's or nnlib's own files (not planted)."""
    import numpy

    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or ""
    roots = (os.path.dirname(numpy.__file__), _NNLIB_DIR)
    return _isinstance(module, types.ModuleType) and origin.startswith(roots)


def _rich(output_type: str, data, metadata) -> dict:
    clean = {}
    for mime, value in (data or {}).items():
        if _isinstance(value, bytes):
            value = base64.b64encode(value).decode()
        elif not _isinstance(value, str | dict | list):
            value = str(value)
        if len(str(value)) > RICH_LIMIT:
            value = f"[{mime} output of {len(str(value))} characters left out]"
            mime = "text/plain"
        clean[mime] = value
    out = {"output_type": output_type, "data": clean, "metadata": jsonable(metadata or {})}
    if output_type == "execute_result":
        out["execution_count"] = None
    return out


def _student_traceback(exc: BaseException) -> list[str]:
    """The traceback of an error in a student cell, without the grader's own frames."""
    import traceback

    try:
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if not f.filename.startswith(_GRADER_DIR + os.sep) and "IPython" not in f.filename
        ]
        lines = traceback.format_list(frames[-8:])
        lines += traceback.format_exception_only(_type(exc), exc)
        return ["Traceback (most recent call last):\n" + "".join(lines)]
    except Exception:
        return [f"{_type(exc).__name__}: {safe_str(exc)}"]


def main() -> None:
    rfd, wfd, fdsock, _ = sandboxed_start()
    Worker(rfd, wfd, fdsock).serve()


if __name__ == "__main__":
    main()
