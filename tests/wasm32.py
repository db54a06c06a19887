"""A pytest plugin that makes numpy refuse index arrays the way it does on wasm32 (Pyodide).

In the browser numpy is a 32-bit build: ``np.intp`` is int32, and the functions that cast their
index argument to ``np.intp`` with the "safe" rule reject int64 arrays (``np.bincount(y)`` with
int64 labels raises ``TypeError: Cannot cast array data from dtype('int64') to
dtype('int32') according to the rule 'safe'``). Here, on a 64-bit machine, ``np.intp`` cannot be
made 32-bit, so this plugin wraps those functions to apply the 32-bit rule first. Use it with
``python -m pytest -p wasm32 ...`` (``tests/`` on ``sys.path``); :func:`install` does the same
inside a test.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import numpy as np

INTP32 = np.dtype(np.int32)
# numpy functions whose C code casts an index argument to np.intp with the "safe" rule:
# the name and the position of that argument.
SAFE_CAST_INDEX_ARGS: dict[str, int] = {"bincount": 0}
_ORIGINALS: dict[str, Callable] = {}
# Only calls from these packages are checked. On a 64-bit machine an array made from a list of
# Python ints is int64 where wasm32 makes it int32 (numpy's default integer is np.intp), so the
# rule would wrongly refuse such arrays in test code; nnlib casts its labels explicitly.
CHECKED_PACKAGES = {"nnlib"}


def _check(name: str, value: object) -> None:
    if not isinstance(value, np.ndarray | np.generic):
        return  # Python ints and lists of them become the default integer: intp on wasm32
    dtype = value.dtype
    if not np.can_cast(dtype, INTP32, casting="safe"):
        raise TypeError(
            f"Cannot cast array data from {dtype!r} to {INTP32!r} according to the rule "
            f"'safe' (np.{name} on wasm32, where np.intp is 32-bit)"
        )


def _wrap(name: str, position: int) -> Callable:
    original = getattr(np, name)

    @functools.wraps(original)
    def strict(*args: object, **kwargs: object) -> object:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if len(args) > position and caller.split(".")[0] in CHECKED_PACKAGES:
            _check(name, args[position])
        return original(*args, **kwargs)

    return strict


def install() -> None:
    """Make the listed numpy functions apply wasm32's 32-bit intp casting rule."""
    for name, position in SAFE_CAST_INDEX_ARGS.items():
        if name not in _ORIGINALS:
            _ORIGINALS[name] = getattr(np, name)
            setattr(np, name, _wrap(name, position))


def uninstall() -> None:
    """Restore the functions :func:`install` wrapped."""
    for name, original in _ORIGINALS.items():
        setattr(np, name, original)
    _ORIGINALS.clear()


def pytest_configure(config: object) -> None:
    """Loaded with ``-p tests.wasm32``: wrap before any test module imports numpy's names."""
    install()
