"""The grader's own numpy, a quiet context for calling student code, and result coercion.

The verdict of a check must not depend on code a student can reach from a notebook cell.
Every numpy function the checks rely on is captured here once, at import time, so a student
who rebinds ``np.allclose`` or ``np.isfinite`` after importing this module changes nothing.
A student's answer is copied into a plain float64 array right after its type, shape and dtype
were checked, so an ndarray subclass, a view into the student's own state or an object with a
custom ``__eq__`` never reaches a comparison.
"""

from __future__ import annotations

import contextlib
import io
import math
import numbers
import warnings
from collections.abc import Iterator, Sequence

import numpy as np

# Captured once: later rebinding of the attributes of ``np`` does not reach these names.
_ndarray = np.ndarray
_array = np.array
_float64 = np.float64
_float32 = np.float32
_errstate = np.errstate
_isfinite = np.isfinite
_isnan = np.isnan
_abs = np.abs
_argmax = np.argmax
_unravel = np.unravel_index
_count_nonzero = np.count_nonzero
_max = np.max
_array_equal = np.array_equal
_default_rng = np.random.default_rng
_math_isfinite = math.isfinite


class GradingError(AssertionError):
    """A check failed. The message says which check, where, expected vs got, and why."""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence numpy floating-point warnings, Python warnings and stderr.

    nbgrader gives zero points to a test cell that writes anything to stderr, so a correct
    implementation that merely triggers ``RuntimeWarning: overflow in exp`` (the naive
    sigmoid does, and still returns the right numbers) would lose the points of its part.
    Every call into student code, and every reference computation, runs in here.
    """
    with (
        warnings.catch_warnings(),
        _errstate(all="ignore"),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def shape_str(shape: Sequence[int]) -> str:
    """``(3,)`` and ``(2, 4)``: shapes as numpy prints them."""
    return str(tuple(int(s) for s in shape))


def describe_value(x: object) -> str:
    """A short description of what a student returned, for messages."""
    if type(x) is _ndarray:
        return f"a {x.dtype} array of shape {shape_str(x.shape)}"
    if isinstance(x, _ndarray):
        return f"a {type(x).__module__}.{type(x).__name__} (an ndarray subclass)"
    if x is None:
        return "None (did you forget `return`?)"
    if isinstance(x, bool | np.bool_):
        return f"the bool {x!r}"
    if isinstance(x, np.generic):
        return f"a numpy {x.dtype} scalar"
    if isinstance(x, list | tuple):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a {type(x).__name__}"


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    """The likely reason for a shape mismatch."""
    if len(got) == len(want) + 1 and got[-1] == 1 and got[:-1] == want:
        return (
            "it has an extra axis of length 1: a column where a flat array is expected "
            "(use .ravel(), or do not reshape / keepdims)"
        )
    if len(want) == len(got) + 1 and want[-1] == 1 and want[:-1] == got:
        return "it lost the trailing axis of length 1 (keep the shape (N, 1))"
    if len(got) == len(want) == 2 and got == want[::-1]:
        return "it is transposed (check the order of a matrix product and the .T)"
    if len(got) == 0 and len(want) > 0:
        return "it is a single number: you probably summed or averaged over every axis"
    if len(want) == 1 and len(got) == 1:
        return (
            "it has the wrong length: you probably summed over the wrong axis "
            "(a per-feature result sums over the batch, axis=0)"
        )
    if len(got) < len(want):
        return "an axis is missing: you probably summed over an axis that must stay"
    if len(got) > len(want):
        return "it has an axis too many: a sum over an axis is probably missing"
    return "you probably summed over the wrong axis or transposed a matrix"


def as_result(
    x: object,
    what: str,
    shape: Sequence[int],
    *,
    kind: str = "float64",
    unstable_hint: bool = False,
) -> np.ndarray:
    """Check type, shape, dtype and finiteness of a student's array, then copy it to float64.

    Args:
        x: what the student returned.
        what: a name for messages, e.g. ``"Linear.forward(X)"``.
        shape: the exact shape required.
        kind: ``"float64"`` requires a float64 array; ``"real"`` also accepts bool, integer
            and float32 arrays (for 0/1 outputs such as a step function).
        unstable_hint: the input contained extreme values, so a non-finite result most
            likely means the computation is not numerically stable.

    Returns:
        A private float64 copy, shape ``shape``.

    Raises:
        GradingError: the first check that fails, with the likely reason.
    """
    shape = tuple(int(s) for s in shape)
    if type(x) is not _ndarray:
        raise GradingError(
            f"{what}: type check failed: expected a numpy array (numpy.ndarray) of shape "
            f"{shape_str(shape)}, got {describe_value(x)}"
            + (
                "; convert it with np.asarray(...)"
                if isinstance(x, list | tuple | numbers.Real)
                else ""
            )
        )
    if x.shape != shape:
        raise GradingError(
            f"{what}: shape check failed: expected shape {shape_str(shape)}, got "
            f"{shape_str(x.shape)}; likely bug: {_shape_hint(x.shape, shape)}"
        )
    dtype = x.dtype
    if kind == "float64":
        if dtype == _float32:
            raise GradingError(
                f"{what}: dtype check failed: expected float64, got float32; likely bug: "
                "float32 precision (an array created with dtype=np.float32 somewhere); "
                "compute in float64"
            )
        if dtype != _float64:
            raise GradingError(
                f"{what}: dtype check failed: expected float64, got {dtype}; likely bug: an "
                "array created from integers or booleans (np.zeros_like on an int array, "
                "a comparison without .astype(float), integer division)"
            )
    elif dtype.kind not in "biuf":
        raise GradingError(f"{what}: dtype check failed: expected numbers, got dtype {dtype}")
    copy = _array(x, dtype=_float64, copy=True)
    with _errstate(all="ignore"):
        finite = _isfinite(copy)
    if not finite.all():
        index = tuple(int(i) for i in _unravel(_argmax(~finite), copy.shape)) if copy.ndim else ()
        bad = copy[index] if copy.ndim else copy
        why = (
            "not numerically stable: exp() overflowed or a log() got 0 on the extreme inputs "
            "of this check; use the stable formula"
            if unstable_hint
            else "an overflow, a division by zero or log(0); or the stub raised nothing and "
            "left NaN in an empty array"
        )
        raise GradingError(
            f"{what}: finiteness check failed: element {index} is {bad} "
            f"({int(_count_nonzero(~finite))} of {copy.size} elements are NaN or inf); "
            f"likely bug: {why}"
        )
    return copy


def as_scalar(x: object, what: str, *, unstable_hint: bool = False) -> float:
    """Check that a student returned one finite real number (float64 precision).

    Accepts a Python ``float``/``int``, a numpy float64/integer scalar or a 0-d float64
    array; rejects ``bool``, float32, arrays with more than one element and NaN/inf.
    """
    if isinstance(x, bool | np.bool_):
        raise GradingError(f"{what}: type check failed: expected a number, got {x!r}")
    if type(x) is _ndarray:
        if x.shape != ():
            raise GradingError(
                f"{what}: shape check failed: expected one number, got an array of shape "
                f"{shape_str(x.shape)}; likely bug: "
                + (
                    "a missing sum or mean over the batch"
                    if x.ndim
                    else "a reduction over the wrong axis"
                )
            )
        x = x[()]
    if isinstance(x, np.floating) and x.dtype != _float64:
        raise GradingError(
            f"{what}: dtype check failed: expected a float64 number, got {x.dtype}; likely bug: "
            "float32 precision"
        )
    if not isinstance(x, numbers.Real):
        raise GradingError(
            f"{what}: type check failed: expected a number (float), got {describe_value(x)}"
        )
    value = float(x)
    if not _math_isfinite(value):
        why = (
            "not numerically stable (use the stable formula)"
            if unstable_hint
            else "overflow, division by zero or log(0)"
        )
        raise GradingError(f"{what}: finiteness check failed: got {value}; likely bug: {why}")
    return value
