"""Input checks shared by every nnlib module.

Every public entry point converts its array arguments with :func:`as_array` so that bad input
fails early with a message naming the argument, what was expected and what was given, instead
of silently producing a wrong answer three layers later.

The checks are cheap on purpose (dtype kind and shape are attribute look-ups); the full NaN/inf
scan is opt-in (``finite=True``) and used where a non-finite value would poison training
silently: data entering ``fit``, the targets and predictions of a loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "as_array",
    "check_choice",
    "check_positive",
    "check_probability",
    "check_same_batch",
    "describe",
]

_FLOAT_DTYPES = (np.float64, np.float32)


def describe(x: object) -> str:
    """Return a short human description of ``x`` for error messages, e.g. ``float64 array of
    shape (4, 2)`` or ``list``."""
    if isinstance(x, np.ndarray):
        return f"{x.dtype} array of shape {x.shape}"
    if isinstance(x, np.generic):
        return f"numpy {x.dtype} scalar"
    return type(x).__name__


def _format_shape(shape: Sequence[int | str | None]) -> str:
    parts = ["?" if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def as_array(
    x: object,
    name: str,
    *,
    ndim: int | Iterable[int] | None = None,
    shape: Sequence[int | str | None] | None = None,
    finite: bool = False,
    dtype: type | None = None,
) -> np.ndarray:
    """Convert ``x`` to a floating numpy array, or raise a clear error.

    Args:
        x: array-like input (ndarray, list, tuple, scalar).
        name: the argument's name, used in messages (``"X"``, ``"grad_out"``).
        ndim: required number of dimensions, or an iterable of accepted ones.
        shape: required shape; ``None`` or a string (a symbolic name such as ``"N"``) in a
            position accepts any size there.
        finite: when true, reject NaN and infinity.
        dtype: force this float dtype; by default float32 input stays float32 and everything
            else (ints, bools, float16) becomes float64.

    Returns:
        A floating ndarray (a view of ``x`` when no conversion is needed).

    Raises:
        TypeError: ``x`` is not numeric (strings, objects, complex numbers).
        ValueError: wrong number of dimensions, wrong shape, or non-finite values.
    """
    if isinstance(x, np.ndarray) and x.dtype in _FLOAT_DTYPES and dtype in (None, x.dtype.type):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:  # ragged nested lists and the like
            raise TypeError(
                f"{name} must be a numeric array, got {describe(x)} that numpy cannot convert: "
                f"{exc}"
            ) from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must be a numeric (int, float or bool) array, got {describe(x)} with "
                f"dtype {arr.dtype}"
            )
        target = (
            dtype if dtype is not None else (np.float32 if arr.dtype == np.float32 else np.float64)
        )
        arr = arr.astype(target, copy=False)

    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in accepted:
            wanted = " or ".join(f"{d}-D" for d in accepted)
            raise ValueError(
                f"{name} must be a {wanted} array, got a {arr.ndim}-D array of shape {arr.shape}"
            )
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            want is None or isinstance(want, str) or want == got
            for want, got in zip(shape, arr.shape, strict=False)
        )
        if not ok:
            raise ValueError(
                f"{name} must have shape {_format_shape(shape)}, got shape {arr.shape}"
            )
    if finite and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))
        first = tuple(int(i) for i in bad[0]) if arr.ndim else ()
        raise ValueError(
            f"{name} contains {len(bad)} non-finite value(s) (NaN or inf), first at index "
            f"{first}: {arr[first].item()!r}; clean the data or lower the learning rate"
        )
    return arr


def check_same_batch(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same first (batch) dimension."""
    if a.shape[:1] != b.shape[:1]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of rows (samples), got "
            f"{a.shape[0] if a.ndim else 'a scalar'} and {b.shape[0] if b.ndim else 'a scalar'} "
            f"(shapes {a.shape} and {b.shape})"
        )


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    options = sorted(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"unknown {name} {value!r}; expected one of: {', '.join(repr(o) for o in options)}"
        )
    return value


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (or >= 0), else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {describe(value)} {value!r}")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


def check_probability(name: str, value: object, *, allow_one: bool = False) -> float:
    """Return ``value`` as a float if it lies in [0, 1) (or [0, 1]), else raise."""
    v = check_positive(name, value, allow_zero=True)
    if v > 1 or (v == 1 and not allow_one):
        bound = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{name} must lie in {bound}, got {value!r}")
    return v
