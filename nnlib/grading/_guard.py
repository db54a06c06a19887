"""Make nnlib's reference implementation of an exercise unusable while the student's code runs.

A solution that calls ``nnlib.modules.Linear`` to implement ``Linear`` scores 0 for that part.
Two mechanisms, both only active inside :func:`forbid_reference`:

1. *Poisoning*: the code object of every forbidden function is swapped for one that raises,
   so the reference cannot produce an answer, however the student reached it
   (``import nnlib``, ``from nnlib.functional import sigmoid``, a subclass, a saved alias).
2. *Tracing*: a profile hook watches for the original code objects running (a copy of the
   function built with ``types.FunctionType(f.__code__, ...)`` would escape 1).

Any use is recorded in :data:`REFERENCE_USES` (for the grader's report) and turns the check
into a failure whose message says why.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterable, Iterator, Sequence

from nnlib.grading._safe import _LIBRARY_PREFIXES, GradingError

#: Every forbidden reference a student's code tried to run, as ``(part, qualified name)``.
REFERENCE_USES: list[tuple[str, str]] = []

_setprofile = sys.setprofile
_getprofile = sys.getprofile


class ReferenceUsedError(GradingError):
    """The student's code called the reference implementation of what it must implement."""


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
#: ``(part, dotted name, a clone running the original code, subjects)``.
_ACTIVE: dict[int, tuple[str, str, types.FunctionType, tuple[str, ...] | None]] = {}
#: How many reference calls allowed by attribution are running (the trace ignores them).
_ALLOWED = [0]
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


def _charged(frame: types.FrameType | None, subjects: tuple[str, ...] | None) -> bool:
    """Whether a reference call made from ``frame`` counts against the part whose code is
    ``subjects`` (qualified-name prefixes such as ``"step"`` or ``"Linear.backward"``).

    A call made by another part's exercise (the student's ``step`` called by their
    ``threshold_neuron``; :func:`nnlib.grading.policy.exercise_names`) belongs to that part,
    which is charged for it when it is checked: one bug, one part. A call from any other
    student code (a helper) counts here. ``subjects=None`` charges every call.
    """
    if subjects is None:
        return True
    student = _student_frame(frame)
    if student is None:
        return True
    qualname = getattr(student.f_code, "co_qualname", student.f_code.co_name)

    def within(names: Iterable[str]) -> bool:
        return any(qualname == s or qualname.startswith(s + ".") for s in names)

    if within(subjects):
        return True
    return not within(_exercises())  # another part's exercise: that part's business


def _exercises() -> frozenset[str]:
    from nnlib.grading.policy import exercise_names

    return exercise_names()


def _dispatch(key: int, args: tuple, kwargs: dict) -> object:
    """What a disabled reference does when called: raise if the call counts against the part
    being checked, else run the original (it is another part's business)."""
    part, name, clone, subjects = _ACTIVE[key]
    if not _charged(sys._getframe(2), subjects):
        _ALLOWED[0] += 1
        try:
            return clone(*args, **kwargs)
        finally:
            _ALLOWED[0] -= 1
    REFERENCE_USES.append((part, name))
    raise RuntimeError(
        f"{name} is nnlib's reference implementation of what {part} asks you to write; it is "
        "disabled while your code is graded. Implement it yourself."
    )


def _clone(func: types.FunctionType) -> types.FunctionType:
    clone = types.FunctionType(
        func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__qualname__ = func.__qualname__
    return clone


@contextlib.contextmanager
def forbid_reference(
    targets: Iterable[object], part: str, subjects: Sequence[str] | None = None
) -> Iterator[None]:
    """Disable ``targets`` (functions, classes, modules or their dotted names) inside the block.

    Args:
        targets: what to disable.
        part: how messages name the part, e.g. ``"Linear.backward(grad_out)"``.
        subjects: the qualified-name prefixes of the student's code this part is about (e.g.
            ``["Linear.backward"]``); a reference called from other student code (an earlier
            part's function) runs normally and is left to that part. ``None``: every call.

    Raises:
        ReferenceUsedError: on leaving the block, if the student's code ran a forbidden
            function (even when it caught the error the poisoned function raised).
    """
    subjects = None if subjects is None else tuple(subjects)
    funcs: dict[types.CodeType, tuple[str, types.FunctionType]] = {}
    for target in targets:
        for name, func in _functions(_resolve(target)):
            funcs.setdefault(func.__code__, (name, func))
    used: list[str] = []

    previous = _getprofile()

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if (
            event == "call"
            and frame.f_code in funcs
            and not _ALLOWED[0]
            and _charged(frame.f_back, subjects)
        ):
            used.append(funcs[frame.f_code][0])
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
                _ACTIVE[key] = (part, name, _clone(func), subjects)
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
    REFERENCE_USES.extend((part, name) for name in used)
    names = [name for _, name in REFERENCE_USES[start:]]
    if names:
        raise ReferenceUsedError(
            f"{part}: your code calls {names[0]}, nnlib's reference implementation of this "
            "very exercise; this part scores 0 until you implement it yourself"
        ) from error
    if error is not None:
        raise error
