"""Make nnlib's reference implementation of an exercise unusable while the student's code runs.

A solution that calls ``nnlib.modules.Linear`` to implement ``Linear`` scores 0 for that part.
Two mechanisms, both only active inside :func:`forbid_reference`:

1. *Poisoning*: the code object of every forbidden function is swapped for one that raises,
   so the reference cannot produce an answer, however the student reached it
   (``import nnlib``, ``from nnlib.functional import sigmoid``, a subclass, a saved alias).
2. *Tracing*: a profile hook watches for the original code objects running (a copy of the
   function built with ``types.FunctionType(f.__code__, ...)`` would escape 1).

Any use is recorded in :data:`REFERENCE_USES` and turns the check into a failure whose message
says why, and names the student's function that made the call when it is not the part's own
code (the root to fix first). A public check fails on any use inside it, even one it caught
(:func:`counts_reference_use`). These are the visible checks' means; the class grader's
sandbox has none of the forbidden code at all (``nngrader.host.stubs``), and the same rule.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import ParamSpec, TypeVar

from nnlib.grading._safe import _LIBRARY_PREFIXES, GradingError

#: Every forbidden reference a student's code tried to run, as ``(part, qualified name)``.
REFERENCE_USES: list[tuple[str, str]] = []

P = ParamSpec("P")
R = TypeVar("R")

_setprofile = sys.setprofile
_getprofile = sys.getprofile


class ReferenceUsedError(GradingError):
    """The student's code called the reference implementation of what it must implement."""


#: What a stub of the grader's nnlib copy raises (``nngrader.host.stubs``): readable in a cell's
#: error output, and parsed back by the check that called the student's code, which words the
#: verdict as the visible checks do (:func:`reference_message`).
_STUB = (
    "{name} is nnlib's reference implementation of what this assignment asks you to write"
    "{called_from}; the grader's copy of nnlib leaves it out: implement it yourself"
)
_STUB_PATTERN = re.compile(
    r"([\w.]{1,200}) is nnlib's reference implementation of what this assignment asks you "
    r"to write(?: \(called from your ([\w.]{1,200})\))?; "
)


def stub_message(name: str, frame: types.FrameType | None) -> str:
    """The message of a stub standing for nnlib's ``name``, called from ``frame``."""
    caller = caller_name(frame)
    return _STUB.format(name=name, called_from=f" (called from your {caller})" if caller else "")


def _restated(error: ReferenceUsedError, part: str, subjects: Sequence[str] | None) -> Exception:
    """A stub's error (raised in the grader's sandbox) worded as the visible checks word it."""
    found = _STUB_PATTERN.match(str(error)[:1000])
    if found is None:
        return error
    name, caller = found.groups()
    subjects = None if subjects is None else tuple(subjects)
    return ReferenceUsedError(
        reference_message(part, name, None if _within(caller, subjects) else caller)
    )


def _resolve(target: object) -> object:
    """Turn ``"nnlib.functional.sigmoid"`` or ``"nnlib.modules.Linear"`` into the object."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return importlib.import_module(target)


def _functions(target: object) -> Iterator[tuple[str, types.FunctionType]]:
    """The plain Python functions that make up ``target`` (a function, class or module)."""
    if isinstance(target, types.FunctionType):
        yield f"{target.__module__}.{target.__qualname__}", target
    elif isinstance(target, type):
        for value in vars(target).values():
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                value = value.fget
            if isinstance(value, types.FunctionType):
                yield f"{value.__module__}.{value.__qualname__}", value
    elif isinstance(target, types.ModuleType):
        for value in vars(target).values():
            if getattr(value, "__module__", None) == target.__name__:
                yield from _functions(value)


#: The forbidden functions of the active :func:`forbid_reference` blocks, by key:
#: ``(part, dotted name, subjects)``.
_ACTIVE: dict[int, tuple[str, str, tuple[str, ...] | None]] = {}
_LIBRARY = _LIBRARY_PREFIXES


def _poisoned_code(func: types.FunctionType, key: int) -> types.CodeType | None:
    """A code object that hands the call to :func:`_dispatch`; ``None`` if it cannot replace
    ``func``'s (a closure: code objects with free variables must keep their number)."""
    if func.__code__.co_freevars:
        return None
    source = (
        "def _poisoned(*args, **kwargs):\n"
        "    return __import__('nnlib.grading._guard', fromlist=['_'])._dispatch(\n"
        f"        {key}, args, kwargs)\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(source, f"<disabled {func.__qualname__}>", "exec"), namespace)
    return namespace["_poisoned"].__code__  # type: ignore[attr-defined]


def _student_frame(frame: types.FrameType | None) -> types.FrameType | None:
    """The innermost frame from ``frame`` outwards that is not nnlib's, numpy's, Python's or a
    disabled reference's: the student's code that made the call."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith(_LIBRARY) or filename.startswith("<disabled ")):
            return frame
        frame = frame.f_back
    return None


def caller_name(frame: types.FrameType | None) -> str | None:
    """The qualified name of the student's function that made a call (the innermost frame
    from ``frame`` outwards that is not a library's, nor the class grader's machinery that
    runs the student's code), or ``None`` for top-level cell code. For messages only."""
    student = _student_frame(frame)
    if student is None or str(student.f_globals.get("__name__")).startswith("nngrader."):
        return None  # top-level code, or the grader itself (a check calling nnlib's name)
    qualname = getattr(student.f_code, "co_qualname", student.f_code.co_name)
    return None if qualname.startswith("<") else qualname


def _within(qualname: str | None, subjects: tuple[str, ...] | None) -> bool:
    """Whether ``qualname`` is the code of the part being checked (or that is unknown)."""
    if subjects is None or qualname is None:
        return True
    return any(qualname == s or qualname.startswith(s + ".") for s in subjects)


def _record(part: str, name: str, caller: str | None) -> None:
    """Count a reference call against ``part``, remembering which function of the student's
    made it (the root a message points at)."""
    if caller:
        _CALLERS[len(REFERENCE_USES)] = caller
    REFERENCE_USES.append((part, name))


#: Index in :data:`REFERENCE_USES` -> the student's function that made that call.
_CALLERS: dict[int, str] = {}
#: How many checks wrapped by :func:`counts_reference_use` are running.
_CHECK_DEPTH = [0]


def counts_reference_use(check: Callable[P, R]) -> Callable[P, R]:
    """Make ``check`` fail when the student's code ran a forbidden reference anywhere inside
    it, even where the check caught the error (e.g. while finding out whether a layer passes
    its own part, to put nnlib's in its place). The class grader's judge sees every error of
    its sandbox's stubs and decides the same way, per test; only the outermost check decides.
    """

    @functools.wraps(check)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        start = len(REFERENCE_USES)
        _CHECK_DEPTH[0] += 1
        try:
            result = check(*args, **kwargs)
        finally:
            _CHECK_DEPTH[0] -= 1
        if not _CHECK_DEPTH[0] and len(REFERENCE_USES) > start:
            part, name = REFERENCE_USES[start]
            raise ReferenceUsedError(reference_message(part, name, _CALLERS.get(start)))
        return result

    return wrapper


def _dispatch(key: int, args: tuple, kwargs: dict) -> object:
    """What a disabled reference does when called: record the call and raise.

    The call counts against the part being checked wherever in the student's code it is made:
    a part whose check runs nnlib's reference cannot pass (in the grader's sandbox there is no
    reference to run at all, so the visible checks give the same verdict).
    """
    part, name, _ = _ACTIVE[key]
    _record(part, name, caller_name(sys._getframe(2)))
    raise RuntimeError(
        f"{name} is nnlib's reference implementation of what this assignment asks you to "
        "write; it is disabled while your code is graded. Implement it yourself."
    )


def reference_message(part: str, name: str, root: str | None) -> str:
    """The one-line verdict on a part whose check ran nnlib's reference ``name``; ``root`` is
    the student's function, outside the part's own code, that made the call (if any)."""
    if root:
        return (
            f"{part}: your {root} calls {name}, nnlib's reference implementation of what this "
            f"assignment asks you to write, and this part runs it; fix {root} first (every "
            "part that runs it scores 0 until you implement it yourself)"
        )
    return (
        f"{part}: your code calls {name}, nnlib's reference implementation of this very "
        "exercise; this part scores 0 until you implement it yourself"
    )


@contextlib.contextmanager
def forbid_reference(
    targets: Iterable[object], part: str, subjects: Sequence[str] | None = None
) -> Iterator[None]:
    """Disable ``targets`` (functions, classes, modules or their dotted names) inside the block.

    Args:
        targets: what to disable.
        part: how messages name the part, e.g. ``"Linear.backward(grad_out)"``.
        subjects: the qualified-name prefixes of the student's code this part is about (e.g.
            ``["Linear.backward"]``). A reference call from other student code (an earlier
            part's function) counts here too, and the message names that function as the
            root to fix first. ``None``: every call is the part's own.

    Raises:
        ReferenceUsedError: on leaving the block, if the student's code ran a forbidden
            function (even when it caught the error the poisoned function raised).
    """
    subjects = None if subjects is None else tuple(subjects)
    funcs: dict[types.CodeType, tuple[str, types.FunctionType]] = {}
    for target in targets:
        for name, func in _functions(_resolve(target)):
            funcs.setdefault(func.__code__, (name, func))
    used: list[tuple[str, str | None]] = []

    previous = _getprofile()

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in funcs:
            used.append((funcs[frame.f_code][0], caller_name(frame.f_back)))
        if previous is not None:  # chain: an outer grader may watch calls too
            previous(frame, event, arg)

    start = len(REFERENCE_USES)
    swapped: list[tuple[types.FunctionType, types.CodeType, int]] = []
    error: BaseException | None = None
    try:
        for code, (name, func) in funcs.items():
            if code.co_filename.startswith("<disabled "):
                continue  # disabled already, by an enclosing block
            key = id(func) ^ id(code)
            poisoned = _poisoned_code(func, key)
            if poisoned is not None:
                _ACTIVE[key] = (part, name, subjects)
                swapped.append((func, code, key))
                func.__code__ = poisoned
        _setprofile(profile)
        yield
    except BaseException as exc:  # re-raised below, unless the reference explains it
        error = exc
    finally:
        _setprofile(previous)
        for func, code, key in reversed(swapped):
            func.__code__ = code
            _ACTIVE.pop(key, None)
    for name, caller in used:
        _record(part, name, caller)
    if len(REFERENCE_USES) > start:
        _, name = REFERENCE_USES[start]
        caller = _CALLERS.get(start)
        root = None if _within(caller, subjects) else caller
        raise ReferenceUsedError(reference_message(part, name, root)) from error
    if error is not None:
        raise error
