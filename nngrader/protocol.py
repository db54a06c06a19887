"""What crosses between the grader's host half and its sandboxed processes.

The host (:mod:`nngrader.host`) and the sandbox half (:mod:`nngrader.sandbox`) share this
module and nothing else: the wire format (one JSON object per line), the limits each side
holds the other to, the names both must agree on, and the typed records of every message.

Every message a process receives is checked by the receiver before anything reads it:
:func:`decode_line` bounds the line's length and nesting depth (a deeply nested line is a
clear :class:`ProtocolError`, never a ``RecursionError``), and each record's ``from_wire``
checks the types, lengths and counts of its fields. A sandboxed process speaks on behalf of
student code, so a reply that does not follow its record is a fault of that cell.

The records:

- host -> worker, judge or zygote: :class:`Hello`, :class:`RunCell`, :class:`Reset`,
  :class:`Spawn`, :class:`Status`, :class:`Kill`, :class:`Quit` (:func:`command`);
- worker, judge or zygote -> host: :class:`Ready`, :class:`CellReply` (a student cell, a
  test's verdict, or a test's process that ended), :class:`Spawned`, :class:`ChildStatus`
  (:func:`reply`);
- the result of a whole cell as the host keeps it: :class:`CellResult`; of a whole
  submission: :class:`RunResult`, the one record the head stores and reads back.

- judge <-> the student's side of a test: :class:`LinkRequest`, :class:`LinkReply`
  (:func:`link_request`, :func:`link_reply`); the values inside them follow the link's own
  encoding (:mod:`nngrader.sandbox.remote`), checked as they are decoded.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

#: Modules whose imports the judge runs itself (an instructor cell's ``import numpy as np``
#: gives the judge its own numpy, never the student's).
TRUSTED_PREFIXES = ("numpy", "nnlib", "math", "builtins", "operator", "functools", "random")
STREAM_LIMIT = 20_000  # characters of stdout/stderr kept per cell
LINE_LIMIT = 32 * 1024 * 1024  # bytes of one message: more is "produced too much output"
DEPTH_LIMIT = 64  # nesting of one message
TEXT_LIMIT = 2_000  # characters of an error message or a reason
RICH_LIMIT = 1_000_000  # characters of one rich output (an image, some HTML)
OUTPUTS_LIMIT = 200  # outputs of one cell
NOTES_LIMIT = 50  # tamper notes, reference uses of one test


class ProtocolError(ValueError):
    """A message that does not follow its record: too long, too deep, malformed."""


# --- the wire ------------------------------------------------------------------------------


def encode_line(message: dict) -> bytes:
    """One message as its line on the wire."""
    return (json.dumps(message) + "\n").encode()


def decode_line(line: bytes, limit: int = LINE_LIMIT) -> dict:
    """The JSON object on ``line``, checked for length, nesting depth and kind.

    Raises:
        ProtocolError: the line is longer than ``limit``, not JSON, nested deeper than
            :data:`DEPTH_LIMIT`, or not an object.
    """
    if len(line) > limit:
        raise ProtocolError(f"a message of {len(line)} bytes (the limit is {limit})")
    try:
        message = json.loads(line)
    except RecursionError:  # (the C decoder gives up on deep nesting before memory does)
        raise ProtocolError("a message nested too deeply") from None
    except ValueError as exc:
        raise ProtocolError(f"a message that is not JSON ({str(exc)[:80]})") from None
    if type(message) is not dict:
        raise ProtocolError("a message that is not a JSON object")
    check_depth(message)
    return message


def check_depth(value: Any, limit: int = DEPTH_LIMIT) -> None:
    """Raise :class:`ProtocolError` if ``value`` nests deeper than ``limit`` (no recursion)."""
    todo = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if depth > limit:
            raise ProtocolError(f"a message nested deeper than {limit}")
        if type(item) is dict:
            todo += [(v, depth + 1) for v in item.values()]
        elif type(item) is list:
            todo += [(v, depth + 1) for v in item]


class JsonLines:
    """The grader's protocol: one JSON object per line, read from ``rfd``, written to ``wfd``."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfile = os.fdopen(rfd, "rb", buffering=0)
        self.wfd = wfd
        self.buffer = b""

    def send(self, message: dict) -> None:
        view = memoryview(encode_line(message))
        while view:
            view = view[os.write(self.wfd, view) :]

    def receive(self) -> dict | None:
        """The next message, or None once the grader closed the pipe (or broke the protocol)."""
        while b"\n" not in self.buffer:
            chunk = self.rfile.read(1 << 16)
            if not chunk or len(self.buffer) > LINE_LIMIT:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return decode_line(line)
        except ProtocolError:
            return None

    def receive_command(self) -> tuple[Any, str] | None:
        """The next command as its record and its nonce; None once the pipe is closed.

        A command that does not follow its record is skipped (its sender waits in vain).
        """
        while True:
            message = self.receive()
            if message is None:
                return None
            try:
                return command(message), _nonce(message)
            except ProtocolError:
                continue


# --- field checks --------------------------------------------------------------------------


def _str(value: Any, what: str, limit: int = TEXT_LIMIT, cut: bool = True) -> str:
    if type(value) is not str:
        raise ProtocolError(f"{what} is not text")
    if len(value) > limit:
        if not cut:
            raise ProtocolError(f"{what} is longer than {limit} characters")
        return value[:limit] + f" [... cut at {limit} characters]"
    return value


def _strings(value: Any, what: str, limit: int = NOTES_LIMIT, each: int = 300) -> tuple:
    if value is None:
        return ()
    if type(value) is not list:
        raise ProtocolError(f"{what} is not a list")
    return tuple(_str(v, what, each) for v in value[:limit])


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise ProtocolError(f"{what} is not an integer")
    return value


def _opt_int(value: Any, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _bool(value: Any, what: str) -> bool:
    if type(value) is not bool:
        raise ProtocolError(f"{what} is not true or false")
    return value


def _nonce(message: dict) -> str:
    return _str(message.get("nonce"), "the nonce", 64, cut=False)


_OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


def check_output(output: Any) -> dict:
    """One nbformat output from a sandbox, checked and cut to size (a new dict).

    Streams are cut at :data:`STREAM_LIMIT` characters here, on the host, whatever the
    sandboxed process did to its own capture.
    """
    if type(output) is not dict:
        raise ProtocolError("an output is not an object")
    kind = output.get("output_type")
    if kind not in _OUTPUT_TYPES:
        raise ProtocolError("an output of an unknown type")
    if kind == "stream":
        name = output.get("name")
        if name not in ("stdout", "stderr"):
            raise ProtocolError("a stream output with an unknown name")
        text = _str(output.get("text"), "a stream", LINE_LIMIT)
        return {"output_type": kind, "name": name, "text": _cut(text, STREAM_LIMIT)}
    if kind == "error":
        return {
            "output_type": kind,
            "ename": _str(output.get("ename"), "an error's name", 100),
            "evalue": _str(output.get("evalue"), "an error's message"),
            "traceback": list(_strings(output.get("traceback"), "a traceback", 20, 8_000)),
        }
    data = output.get("data")
    if type(data) is not dict or len(data) > 20:
        raise ProtocolError("a rich output without its data")
    clean = {}
    for mime, value in data.items():
        mime = _str(mime, "a MIME type", 100, cut=False)
        if type(value) is str:
            value = _str(value, "a rich output", RICH_LIMIT)
        elif type(value) in (dict, list):  # (JSON outputs: size is bounded by the line's)
            pass
        else:
            raise ProtocolError("a rich output that is not text or JSON")
        clean[mime] = value
    metadata = output.get("metadata", {})
    if type(metadata) is not dict:
        raise ProtocolError("a rich output's metadata is not an object")
    out = {"output_type": kind, "data": clean, "metadata": metadata}
    if kind == "execute_result":
        out["execution_count"] = None
    return out


def check_outputs(value: Any) -> list[dict]:
    if value is None:
        return []
    if type(value) is not list:
        raise ProtocolError("the outputs are not a list")
    if len(value) > OUTPUTS_LIMIT:
        raise ProtocolError(f"more than {OUTPUTS_LIMIT} outputs")
    return [check_output(output) for output in value]


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[output truncated at {limit} characters]\n"


# --- host -> sandbox -----------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    """Start: import ``modules`` (the preload), then say :class:`Ready`."""

    modules: tuple[str, ...] = ()
    op: str = "hello"


@dataclass(frozen=True)
class RunCell:
    """Run one cell: ``kind`` is ``state`` (student code, in the worker) or ``test``.

    For a test, the judge runs ``source`` (with ``prelude``, the instructor's imports) and
    the worker serves the student's objects over the link passed with the command; ``carry``
    asks the worker to run the test's visible part too, for the names later cells use;
    ``quiet`` is a replay after a fault (only its effects count).
    """

    idx: int
    kind: str
    source: str
    grade_id: str | None = None
    hidden: bool = False
    carry: bool = False
    quiet: bool = False
    prelude: tuple[str, ...] = ()
    op: str = "run"


@dataclass(frozen=True)
class Reset:
    """The judge, before a new submission: end every other process, empty /tmp."""

    op: str = "reset"


@dataclass(frozen=True)
class Spawn:
    """The zygote: fork a worker with the four descriptors passed beside the command."""

    op: str = "spawn"


@dataclass(frozen=True)
class Status:
    """The zygote: how child ``pid`` ended, waiting up to ``timeout`` seconds."""

    pid: int
    timeout: float
    op: str = "status"


@dataclass(frozen=True)
class Kill:
    """The zygote: end child ``pid`` and everything it started."""

    pid: int
    op: str = "kill"


@dataclass(frozen=True)
class Quit:
    """End the process."""

    op: str = "quit"


def to_wire(record: Any, nonce: str) -> dict:
    """A record as the JSON object sent, with the nonce its reply must echo."""
    message = asdict(record)
    for key, value in message.items():
        if type(value) is tuple:
            message[key] = list(value)
    message["nonce"] = nonce
    return message


def command(message: dict) -> Hello | RunCell | Reset | Spawn | Status | Kill | Quit:
    """The record of a command a sandboxed process received (its nonce is ``message["nonce"]``).

    Raises:
        ProtocolError: an unknown command, or one whose fields have the wrong types.
    """
    op = message.get("op")
    if op == "hello":
        modules = message.get("modules", [])
        if type(modules) is not list:
            raise ProtocolError("hello: modules is not a list")
        return Hello(tuple(_str(m, "a module", 200, cut=False) for m in modules))
    if op == "run":
        kind = message.get("kind")
        if kind not in ("state", "test"):
            raise ProtocolError("run: unknown kind")
        grade_id = message.get("grade_id")
        prelude = message.get("prelude", [])
        if type(prelude) is not list:
            raise ProtocolError("run: prelude is not a list")
        return RunCell(
            idx=_int(message.get("idx"), "run: idx"),
            kind=kind,
            source=_str(message.get("source"), "run: source", LINE_LIMIT, cut=False),
            grade_id=None if grade_id is None else _str(grade_id, "run: grade_id", 200),
            hidden=_bool(message.get("hidden", False), "run: hidden"),
            carry=_bool(message.get("carry", False), "run: carry"),
            quiet=_bool(message.get("quiet", False), "run: quiet"),
            prelude=tuple(_str(p, "run: prelude", LINE_LIMIT, cut=False) for p in prelude),
        )
    if op == "reset":
        return Reset()
    if op == "spawn":
        return Spawn()
    if op == "status":
        timeout = message.get("timeout")
        if type(timeout) not in (int, float):
            raise ProtocolError("status: timeout is not a number")
        return Status(_int(message.get("pid"), "status: pid"), float(timeout))
    if op == "kill":
        return Kill(_int(message.get("pid"), "kill: pid"))
    if op == "quit":
        return Quit()
    raise ProtocolError(f"unknown command {str(op)[:40]!r}")


# --- sandbox -> host -----------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised in a cell or a test: its class name, message and traceback."""

    ename: str
    evalue: str
    traceback: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, value: Any) -> ErrorInfo | None:
        if value is None:
            return None
        if type(value) is not dict:
            raise ProtocolError("an error is not an object")
        return cls(
            _str(value.get("ename"), "an error's name", 100),
            _str(value.get("evalue", ""), "an error's message"),
            _strings(value.get("traceback"), "a traceback", 20, 8_000),
        )


@dataclass(frozen=True)
class Ready:
    """A process started: ``forks`` and ``why`` are the zygote's (can it isolate children)."""

    status: str
    forks: bool = False
    why: str = ""


@dataclass(frozen=True)
class Spawned:
    """The zygote forked a worker: its ``pid``; or ``status`` ``error`` and the ``reason``."""

    status: str
    pid: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class ChildStatus:
    """How the zygote's child ended (as :mod:`subprocess` says it; ``None``: running)."""

    status: str
    returncode: int | None = None


@dataclass(frozen=True)
class CellReply:
    """A worker's or judge's answer to :class:`RunCell`.

    ``status`` is ``ok`` or ``error`` (a cell ran; a test's verdict), or ``ended`` (a test's
    process ended, ``reason`` says how). A verdict carries the judge's ``tamper`` notes (the
    student side's report, undone), ``reference`` uses (ReferenceUsedErrors the judge saw
    cross the link), the value of the test's last expression and whether the student's side
    was ``lost`` under the test.
    """

    status: str
    outputs: tuple[dict, ...] = ()
    error: ErrorInfo | None = None
    reason: str = ""
    tamper: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    value: int | float | None = None
    lost: bool = False
    idx: int | None = None


def reply(message: dict) -> Ready | CellReply | Spawned | ChildStatus:
    """The record of a reply the host received from a sandboxed process.

    Raises:
        ProtocolError: an unknown status, or fields of the wrong types or sizes.
    """
    status = message.get("status")
    if status == "ready":
        return Ready(
            "ready",
            _bool(message.get("forks", False), "ready: forks"),
            _str(message.get("why") or "", "ready: why", 500),
        )
    if status in ("ok", "error", "ended"):
        value = message.get("value")
        if type(value) not in (int, float, type(None)):
            value = None
        return CellReply(
            status=status,
            outputs=tuple(check_outputs(message.get("outputs"))),
            error=ErrorInfo.from_wire(message.get("error")),
            reason=_str(message.get("reason", ""), "a reason", 500),
            tamper=_strings(message.get("tamper"), "tamper notes"),
            reference=_strings(message.get("reference"), "reference uses"),
            value=value,
            lost=_bool(message.get("lost", False), "lost"),
            idx=_opt_int(message.get("idx"), "idx"),
        )
    if status == "spawned":
        return Spawned("spawned", _int(message.get("pid"), "spawned: pid"))
    if status == "status":
        return ChildStatus("status", _opt_int(message.get("returncode"), "returncode"))
    if status == "killed":
        return ChildStatus("killed")
    if status == "error":  # (the zygote's refusal; a cell's error has outputs: above)
        return Spawned("error", None, _str(message.get("reason", ""), "a reason", 500))
    raise ProtocolError(f"unknown reply status {str(status)[:40]!r}")


# --- what the host keeps -------------------------------------------------------------------


@dataclass(frozen=True)
class CellResult:
    """One cell's result as the host keeps it: a reply, or a fault the host saw.

    ``status`` is ``ok``, ``error`` or ``fault``. A fault has a ``reason``; ``budget`` is
    ``cut`` or ``unrun`` when the submission's time budget ended it; ``machine`` is True
    when the grading machine, not the student's code, is to blame (a sandbox that did not
    start, a timeout or a death while the machine was loaded): such a result is retried
    once with a fresh sandbox and never cached.
    """

    status: str
    outputs: tuple[dict, ...] = ()
    error: ErrorInfo | None = None
    reason: str = ""
    tamper: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    value: int | float | None = None
    budget: str = ""
    machine: bool = False

    @classmethod
    def from_reply(cls, reply: CellReply) -> CellResult:
        return cls(
            status=reply.status,
            outputs=reply.outputs,
            error=reply.error,
            reason=reply.reason,
            tamper=reply.tamper,
            reference=reply.reference,
            value=reply.value,
        )

    @classmethod
    def fault(cls, reason: str, budget: str = "", machine: bool = False) -> CellResult:
        return cls("fault", reason=reason[:TEXT_LIMIT], budget=budget, machine=machine)


@dataclass(frozen=True)
class StoredCell:
    """A cell's outputs for nbgrader, tied to the source they came from by its hash."""

    hash: str
    outputs: tuple[dict, ...]


@dataclass
class RunResult:
    """A submission's sandboxed run: what the head stores and reads back, in one record.

    ``notebooks`` maps a notebook's name to its cells' :class:`StoredCell` by cell index;
    ``reasons`` are the CSV's; ``machine_fault`` names a fault of the grading machine that
    remained after the retry (a result with one is never cached: the next run redoes it).
    """

    key: str
    notebooks: dict[str, dict[int, StoredCell]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    machine_fault: str = ""

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "notebooks": {
                name: {
                    "cells": {
                        str(idx): {"hash": c.hash, "outputs": list(c.outputs)}
                        for idx, c in cells.items()
                    }
                }
                for name, cells in self.notebooks.items()
            },
            "reasons": list(self.reasons),
            "machine_fault": self.machine_fault,
        }

    @classmethod
    def from_json(cls, data: Any) -> RunResult:
        """The record from its stored JSON, checked.

        Raises:
            ProtocolError: the data does not follow the record.
        """
        if type(data) is not dict:
            raise ProtocolError("a stored run that is not an object")
        notebooks = data.get("notebooks")
        if type(notebooks) is not dict:
            raise ProtocolError("a stored run without notebooks")
        out: dict[str, dict[int, StoredCell]] = {}
        for name, run in notebooks.items():
            cells = run.get("cells") if type(run) is dict else None
            if type(cells) is not dict:
                raise ProtocolError("a stored notebook without cells")
            out[name] = {}
            for idx, cell in cells.items():
                if not (type(idx) is str and idx.isdigit() and type(cell) is dict):
                    raise ProtocolError("a malformed stored cell")
                outputs = cell.get("outputs")
                if type(outputs) is not list or not all(type(o) is dict for o in outputs):
                    raise ProtocolError("a stored cell whose outputs are not a list")
                out[name][int(idx)] = StoredCell(
                    _str(cell.get("hash"), "a hash", 64), tuple(outputs)
                )
        reasons = data.get("reasons", [])
        if type(reasons) is not list or not all(type(r) is str for r in reasons):
            raise ProtocolError("stored reasons that are not a list of text")
        return cls(
            key=_str(data.get("key"), "a key", 128, cut=False),
            notebooks=out,
            reasons=list(reasons),
            machine_fault=_str(data.get("machine_fault", ""), "a machine fault", 500),
        )

    @classmethod
    def load(cls, path: str) -> RunResult:
        """The record stored at ``path``.

        Raises:
            OSError: it cannot be read.
            ProtocolError: it is not a run result.
        """
        with open(path, "rb") as f:
            data = f.read(LINE_LIMIT * 4 + 1)
        try:
            return cls.from_json(json.loads(data))
        except RecursionError:
            raise ProtocolError("a stored run nested too deeply") from None
        except ValueError as exc:
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError(f"a stored run that is not JSON ({str(exc)[:80]})") from None


# --- the judge's link to the student's objects (nngrader.sandbox.remote) ---------------------

#: Nesting of one link message: the value encoding nests two levels per container.
LINK_DEPTH = 2 * 32 + 8
_LINK_OPS = (
    "names finish op trusted call getattr setattr delattr getitem setitem delitem len iter "
    "next contains bool repr str format float int index complex"
).split()


@dataclass(frozen=True)
class LinkRequest:
    """The judge asks the student's side for one operation on its objects.

    ``h`` names the target (a handle), ``name`` an attribute, operator or function; ``args``,
    ``kwargs``, ``key`` and ``value`` are encoded values (:class:`~nngrader.sandbox.remote.Codec`,
    checked as they are decoded), ``sync`` the contents of mirrored Parameters that changed.
    """

    op: str
    h: int | None = None
    name: str | None = None
    fields: dict = field(default_factory=dict)
    sync: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LinkReply:
    """The student's side answers: a result (``ok``, an encoded value) or an exception
    (``exc``: its class name and message), what the student's code printed meanwhile, the
    arrays sent by value as they are now (``back``) and the Parameters that changed."""

    has_ok: bool
    ok: Any = None
    exc: ErrorInfo | None = None
    out: str = ""
    err: str = ""
    back: tuple = ()
    sync: dict = field(default_factory=dict)


def _sync(value: Any) -> dict:
    if value is None:
        return {}
    if type(value) is not dict or len(value) > 100_000:
        raise ProtocolError("malformed parameter contents")
    return value


def link_request(message: dict) -> LinkRequest:
    """The record of a request the student's side received (depth was checked on reading)."""
    op = message.get("op")
    if op not in _LINK_OPS:
        raise ProtocolError(f"unknown link operation {str(op)[:40]!r}")
    h, name = message.get("h"), message.get("name")
    if h is not None and type(h) is not int:
        raise ProtocolError("a link request's handle is not an integer")
    if name is not None:
        name = _str(name, "a link request's name", 200, cut=False)
    fields = {k: message[k] for k in ("args", "kwargs", "key", "value") if k in message}
    return LinkRequest(op, h, name, fields, _sync(message.get("sync")))


def link_reply(message: dict) -> LinkReply:
    """The record of a reply the judge received from the student's side.

    Raises:
        ProtocolError: fields of the wrong types; neither a result nor an exception.
    """
    exc = message.get("exc")
    if exc is not None:
        if type(exc) is not dict:
            raise ProtocolError("a malformed error report")
        exc = ErrorInfo(
            _str(exc.get("type"), "an error's class", 100),
            _str(exc.get("msg"), "an error's message"),
        )
    elif "ok" not in message:
        raise ProtocolError("a reply with neither a result nor an error")
    back = message.get("back", [])
    if type(back) is not list:
        raise ProtocolError("a reply's arrays are not a list")
    return LinkReply(
        has_ok="ok" in message,
        ok=message.get("ok"),
        exc=exc,
        out=_str(message.get("out", ""), "the student's output", STREAM_LIMIT),
        err=_str(message.get("err", ""), "the student's output", STREAM_LIMIT),
        back=tuple(back),
        sync=_sync(message.get("sync")),
    )
