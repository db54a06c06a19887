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
import linecache
import math
import numbers
import sysconfig
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

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


#: The width of a diagnosis block: ``nbgrader validate`` cuts lines at 90 - 3 characters
#: after indenting them by 4.
WIDTH = 82


class GradingError(AssertionError):
    """A check failed. The message says which check, where, expected vs got, and why.

    The first line of the message is self-contained (the grader's CSV reason and the class
    report read it); later lines add an excerpt of the arrays and the student's own line.
    In a notebook, IPython shows :meth:`_render_traceback_` instead of a traceback: the
    diagnosis alone, wrapped to fit ``nbgrader validate``'s 90 columns, with no frame of
    nnlib's internals and no list of hints.

    Attributes:
        student_line: the line of the student's code where it failed, when it was found.
    """

    student_line: str | None = None

    def __init__(self, message: str = "", *, student_line: str | None = None) -> None:
        super().__init__(message)
        if student_line:
            self.student_line = student_line

    def block(self, width: int = WIDTH) -> list[str]:
        """The diagnosis as lines of at most ``width`` characters."""
        lines = str(self).splitlines() or [""]
        if self.student_line and "your line:" not in str(self):
            lines.append(f"your line: {self.student_line}")
        out = textwrap.wrap(
            f"{type(self).__name__}: {lines[0]}", width, subsequent_indent="    "
        ) or [type(self).__name__]
        for line in lines[1:]:
            out += textwrap.wrap(line.strip(), width, initial_indent="  ", subsequent_indent="    ")
        return out

    def _render_traceback_(self) -> list[str]:
        """What IPython (and so Validate and nbgrader's feedback) shows for this error."""
        red, reset = "\x1b[0;31m", "\x1b[0m"
        head, *rest = self.block()
        name = type(self).__name__
        return [red + name + reset + head[len(name) :], *rest]


def student_line(exc: BaseException) -> str | None:
    """The last line of the traceback of ``exc`` that is the student's code (a notebook cell
    or a file outside nnlib, numpy and the Python installation), or ``None``."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        filename = code.co_filename
        if not any(filename.startswith(prefix) for prefix in _LIBRARY_PREFIXES):
            text = linecache.getline(filename, tb.tb_lineno).strip()
            if text:
                found = text
        tb = tb.tb_next
    return found


_LIBRARY_PREFIXES = tuple(
    {
        str(Path(__file__).resolve().parent.parent),
        str(Path(np.__file__).resolve().parent),
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    }
)


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


def as_scalar(x: object, what: str, *, unstable_hint: bool = False, kind: str = "float64") -> float:
    """Check that a student returned one finite real number.

    Accepts a Python ``float``/``int``, a numpy float64/integer scalar or a 0-d float64
    array; rejects ``bool``, arrays with more than one element and NaN/inf. With
    ``kind="float64"`` (a computed result) a float32/float16 number is rejected as float32
    precision; with ``kind="real"`` (where the notebook asks for "a number", such as a bias
    chosen by hand) a number of any real dtype is accepted.
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
    if isinstance(x, np.floating) and x.dtype != _float64 and kind == "float64":
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
