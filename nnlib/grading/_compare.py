"""Tolerance comparisons whose failure message names the element and the likely bug."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnlib.grading._safe import (
    GradingError,
    _abs,
    _argmax,
    _array,
    _count_nonzero,
    _errstate,
    _float64,
    _max,
    _unravel,
)

# A correct float64 answer computed another way (loops, np.dot, another but equivalent
# formula) differs from the reference by a few ulps; a float32 computation by ~1e-7.
RTOL = 1e-8
FLOAT32_RTOL = 1e-4

Hint = tuple[str, np.ndarray | float]


def _close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    with _errstate(all="ignore"):
        return _abs(got - want) <= atol + rtol * _abs(want)


def _atol(want: np.ndarray, rtol: float) -> float:
    # Relative to the scale of the whole answer: an element that should be 1e-17 (a
    # cancellation) must not demand 1e-25 absolute accuracy.
    scale = float(_max(_abs(want))) if want.size else 0.0
    return rtol * max(scale, 1e-3)


def matches(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> bool:
    """True when ``got`` equals ``want`` up to the grader's tolerance (same shape)."""
    got = _array(got, dtype=_float64)
    want = _array(want, dtype=_float64)
    if got.shape != want.shape:
        return False
    return bool(_close(got, want, rtol, _atol(want, rtol)).all())


def likely_bug(
    got: np.ndarray,
    want: np.ndarray,
    *,
    batch: int | None = None,
    hints: Sequence[Hint] = (),
    rtol: float = RTOL,
) -> str | None:
    """Name the classic bug that turns the right answer into ``got``, if one does.

    Args:
        got: the student's answer (float64, already of the right shape).
        want: the right answer.
        batch: the batch size ``N``, to recognise a missing or extra ``1/N``.
        hints: assignment-specific wrong answers, ``(description, value)`` pairs, tried first
            (e.g. ``("forgot the bias", X @ W)``).
        rtol: the tolerance of the check.
    """
    for description, value in hints:
        candidate = _array(value, dtype=_float64)
        if candidate.shape == got.shape and matches(got, candidate, rtol):
            return description
    if matches(got, -want, rtol):
        return "sign flipped (the gradient points the wrong way: check a minus sign)"
    if want.ndim == 2 and want.shape[0] == want.shape[1] and matches(got, want.T, rtol):
        return "transposed (check the order of a matrix product and the .T)"
    if batch and batch > 1:
        if matches(got, want * batch, rtol):
            return f"missing 1/N: the answer is N = {batch} times too large (sum vs mean)"
        if matches(got, want / batch, rtol):
            return f"extra 1/N: the answer is N = {batch} times too small (divided twice?)"
    if matches(got, 2 * want, rtol):
        return "a factor of 2 too large"
    if matches(got, want / 2, rtol):
        return "a factor of 2 too small (d/dx x^2 = 2x)"
    if matches(got, want, FLOAT32_RTOL):
        return (
            "float32 precision: right to about 1e-6 but not to float64 accuracy; something "
            "is computed in float32 (or a constant is rounded, such as 0.33 for 1/3)"
        )
    if not _abs(got).any() and _abs(want).any():
        return "everything is zero: the computation is missing or overwritten"
    return None


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def assert_close(
    got: np.ndarray,
    want: np.ndarray,
    what: str,
    *,
    batch: int | None = None,
    hints: Sequence[Hint] = (),
    rtol: float = RTOL,
    note: str = "",
) -> None:
    """Raise :class:`GradingError` unless ``got`` matches ``want`` (same shape, float64).

    The message names the first wrong element, expected vs got, how many elements are wrong,
    and the likely bug when one of the classic ones explains the difference.
    """
    got = _array(got, dtype=_float64)
    want = _array(want, dtype=_float64)
    atol = _atol(want, rtol)
    ok = _close(got, want, rtol, atol)
    if ok.all():
        return
    bad = ~ok
    if got.ndim:
        index = tuple(int(i) for i in _unravel(_argmax(bad), got.shape))
        where = f"element {index}"
        g, w = float(got[index]), float(want[index])
    else:
        where, g, w = "the value", float(got), float(want)
    with _errstate(all="ignore"):
        worst = float(_max(_abs(got - want)))
    message = (
        f"{what}: value check failed at {where}: expected {_fmt(w)}, got {_fmt(g)} "
        f"({int(_count_nonzero(bad))} of {max(got.size, 1)} elements differ; largest "
        f"difference {worst:.3g})"
    )
    bug = likely_bug(got, want, batch=batch, hints=hints, rtol=rtol)
    if bug:
        message += f"; likely bug: {bug}"
    if note:
        message += f". {note}"
    raise GradingError(
        message.rstrip(".") + "." + "".join(f"\n{line}" for line in excerpt(got, want, bad))
    )


def _row(x: np.ndarray) -> str:
    return np.array2string(
        x, precision=4, threshold=8, edgeitems=3, separator=", ", max_line_width=10_000
    )


def excerpt(got: np.ndarray, want: np.ndarray, bad: np.ndarray) -> list[str]:
    """Two short lines, expected and got, of the row holding the first wrong element."""
    if got.ndim == 0:
        return []
    index = tuple(int(i) for i in _unravel(_argmax(bad), got.shape))
    where = "" if got.ndim == 1 else f" (row {index[:-1]})"
    return [
        f"expected{where}: {_row(want[index[:-1]])}",
        f"got{where}:{' ' * 6}{_row(got[index[:-1]])}",
    ]
