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
from collections.abc import Iterable, Iterator

from nnlib.grading._safe import GradingError

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


def _poisoned_code(func: types.FunctionType, part: str, name: str) -> types.CodeType | None:
    """A code object that records the call and raises; ``None`` if it cannot replace ``func``'s
    (a closure: code objects with free variables must keep their number)."""
    if func.__code__.co_freevars:
        return None
    message = (
        f"{name} is nnlib's reference implementation of what {part} asks you to write; it is "
        "disabled while your code is graded. Implement it yourself."
    )
    source = (
        "def _poisoned(*args, **kwargs):\n"
        "    __import__('nnlib.grading._guard', fromlist=['_']).REFERENCE_USES.append(\n"
        f"        ({part!r}, {name!r}))\n"
        f"    raise __import__('builtins').RuntimeError({message!r})\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(source, f"<disabled {name}>", "exec"), namespace)
    return namespace["_poisoned"].__code__  # type: ignore[attr-defined]


@contextlib.contextmanager
def forbid_reference(targets: Iterable[object], part: str) -> Iterator[None]:
    """Disable ``targets`` (functions, classes, modules or their dotted names) inside the block.

    Raises:
        ReferenceUsedError: on leaving the block, if the student's code ran a forbidden
            function (even when it caught the error the poisoned function raised).
    """
    funcs: dict[types.CodeType, tuple[str, types.FunctionType]] = {}
    for target in targets:
        for name, func in _functions(_resolve(target)):
            funcs.setdefault(func.__code__, (name, func))
    used: list[str] = []

    previous = _getprofile()

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in funcs:
            used.append(funcs[frame.f_code][0])
        if previous is not None:  # chain: an outer grader may watch calls too
            previous(frame, event, arg)

    start = len(REFERENCE_USES)
    swapped: list[tuple[types.FunctionType, types.CodeType]] = []
    error: BaseException | None = None
    try:
        for code, (name, func) in funcs.items():
            poisoned = _poisoned_code(func, part, name)
            if poisoned is not None:
                swapped.append((func, code))
                func.__code__ = poisoned
        _setprofile(profile)
        yield
    except BaseException as exc:  # re-raised below, unless the reference explains it
        error = exc
    finally:
        _setprofile(previous)
        for func, code in reversed(swapped):
            func.__code__ = code
    REFERENCE_USES.extend((part, name) for name in used)
    names = [name for _, name in REFERENCE_USES[start:]]
    if names:
        raise ReferenceUsedError(
            f"{part}: your code calls {names[0]}, nnlib's reference implementation of this "
            "very exercise; this part scores 0 until you implement it yourself"
        ) from error
    if error is not None:
        raise error
