"""A pytest plugin that makes numpy refuse index arrays the way it does on wasm32 (Pyodide).

In the browser numpy is a 32-bit build: ``np.intp`` is int32, and the functions that cast their
index argument to ``np.intp`` with the "safe" rule reject int64 arrays (``np.bincount(y)`` with
int64 labels raises ``TypeError: Cannot cast array data from dtype('int64') to
dtype('int32') according to the rule 'safe'``). Here, on a 64-bit machine, ``np.intp`` cannot be
made 32-bit, so this plugin wraps those functions to apply the 32-bit rule first. Use it with
``python -m pytest -p tests.wasm32 ...``; :func:`install` does the same inside a test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

INTP32 = np.dtype(np.int32)
# numpy functions whose C code casts an index argument to np.intp with the "safe" rule:
# the name and the position of that argument.
SAFE_CAST_INDEX_ARGS: dict[str, int] = {"bincount": 0}
_ORIGINALS: dict[str, Callable] = {}


def _check(name: str, value: object) -> None:
    if isinstance(value, int | bool):
        return  # a Python int converts to a 32-bit intp when it fits, like on wasm32
    dtype = np.asarray(value).dtype
    if not np.can_cast(dtype, INTP32, casting="safe"):
        raise TypeError(
            f"Cannot cast array data from {dtype!r} to {INTP32!r} according to the rule "
            f"'safe' (np.{name} on wasm32, where np.intp is 32-bit)"
        )


def _wrap(name: str, position: int) -> Callable:
    original = getattr(np, name)

    @functools.wraps(original)
    def strict(*args: object, **kwargs: object) -> object:
        if len(args) > position:
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
