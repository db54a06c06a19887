"""Gradient checking: compare a backward pass with centred finite differences.

The derivative of a scalar function ``f`` along element ``x_i`` is approximated by

    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

whose error shrinks like ``eps**2``, against ``eps`` for a one-sided difference. Everything
runs in float64: in float32 the rounding error of ``f`` divided by ``2 eps = 2e-6`` would be
larger than the derivative itself.

* :func:`numerical_gradient` differentiates any ``f(x) -> float`` with respect to any array
  ``x``, poking ``x`` in place and restoring every poked value.
* :func:`rel_error` measures how far two gradients are apart.
* :func:`check_module` and :func:`check_loss` run a whole check on a layer or a loss and
  return a :class:`GradCheckReport` that names the worst element.

Kinks. Where ``f`` is not differentiable (ReLU at 0, ``|x|`` at 0) no single derivative
exists, and a probe that crosses a kink, even one a fraction of ``eps`` away from ``x``, mixes
the slopes of both sides. The checks notice because the one-sided differences
``(f(x + eps) - f(x)) / eps`` and ``(f(x) - f(x - eps)) / eps`` disagree: a kink crossed at
distance ``d < eps`` opens a gap of ``jump * (1 - d / eps)`` between them and shifts the centred
difference by half that gap. A smooth function's slopes disagree too, by its curvature
``eps * f''``, so every element whose gap could shift the estimate by a noticeable fraction of
the tolerance is probed again with ``eps / 8``. Its finer estimate is kept if that probe lies
on one side of any kink (its gap is negligible), or if the element behaves like a smooth
function: the gap shrinks with the step *and* the centred differences at both steps agree. A
crossed kink can mimic the first (kink at ``d = eps / 9``: the gap shrinks exactly eightfold)
but not both, as the centred differences then differ by ``3.5 * jump * d / eps``. Everything
else is a kink: left out of the error and named in a :class:`KinkWarning` instead of being
reported as a false failure.

Rounding. ``eps`` is rounded to a power of two (``1e-6 -> 2**-20``) so that ``x +/- eps`` is
exact, and each gradient array is compared with one denominator (:func:`rel_error`) that
never drops below the rounding noise of the differences (:func:`check_module`): correct code
then passes at ``1e-7`` reliably, and wrong code still fails by orders of magnitude.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nnlib._validation import as_array, describe
from nnlib.modules import Module

__all__ = [
    "DEFAULT_TOL",
    "GradCheckReport",
    "KinkWarning",
    "check_loss",
    "check_module",
    "numerical_gradient",
    "rel_error",
]

DEFAULT_TOL = 1e-7
"""Largest relative error a correct float64 backward pass shows (see :func:`rel_error`)."""

# A kink crossed by a probe shifts the centred difference by half the gap between the one-sided
# slopes. Estimates may be off by at most this fraction of what the report resolves,
# max(tol * largest slope, noise), so an element whose gap exceeds twice that is a suspect.
_KINK_SHARE = 0.25
# A suspect is smooth if its slope gap shrinks below this fraction when the step is cut 8x
# (curvature shrinks 8x, a kink at the point not at all) and its centred differences agree.
_REFINE = 8
_SHRINK = 0.25


class KinkWarning(UserWarning):
    """A finite-difference probe crossed a kink; the element was left out of the check."""


# --- finite differences -----------------------------------------------------------------------
def _scalar(value: object) -> float:
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise ValueError(f"f must return a scalar, got {describe(value)}")
    return float(arr.reshape(()))


def _step(eps: object) -> float:
    """``eps`` rounded to the nearest power of two (``1e-6 -> 2**-20``).

    Then ``x + h`` and ``x - h`` are exact for every ``|x| < 2**32``: both steps are truly
    ``h``, and a function with zero slope gets exactly zero, not rounding residue.
    """
    if isinstance(eps, bool) or not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ValueError(f"eps must be a small positive number such as 1e-6, got {eps!r}")
    return float(2.0 ** round(np.log2(eps)))


def _probe(
    f: Callable[[np.ndarray], object], x: np.ndarray, idx: tuple[int, ...], h: float
) -> tuple[float, float, float, float]:
    """``f`` with ``x[idx]`` moved up and down by ``h``: ``(f_up, f_down, step_up, step_down)``.

    The steps returned are the distances actually taken, which for large ``|x|`` differ from
    ``h`` by rounding. ``x[idx]`` gets its exact old value back, also if ``f`` raises.
    """
    old = x[idx]
    up, down = old + h, old - h
    try:
        x[idx] = up
        f_up = _scalar(f(x))
        x[idx] = down
        f_down = _scalar(f(x))
    finally:
        x[idx] = old
    return f_up, f_down, up - old, old - down


def numerical_gradient(
    f: Callable[[np.ndarray], object], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f`` with respect to ``x``.

    Each element of ``x`` in turn is set to ``x_i + h`` and ``x_i - h`` in place, ``f(x)`` is
    evaluated, and the element is restored to its exact old value (also if ``f`` raises).
    The step ``h`` is ``eps`` rounded to the nearest power of two (``1e-6 -> 2**-20``, about
    9.5e-7), which makes ``x_i + h`` exact for any ``|x_i| < 2**32``; for larger values the
    distance actually stepped is used.

    Args:
        f: function of ``x`` returning a scalar; it may also ignore its argument and read
            ``x`` (for example a layer's weight array) through a closure.
        x: float64 ndarray of any shape, the point at which to differentiate.
        eps: half-width of the difference, before rounding to a power of two.

    Returns:
        float64 array of the shape of ``x``: ``df/dx``.

    Raises:
        TypeError: ``x`` is not a float64 ndarray (a float32 copy would hide the pokes).
        ValueError: ``x`` is read-only, ``f`` does not return a scalar, or ``eps`` is not in
            ``(0, 1)``.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            f"x must be a float64 ndarray that f reads (it is poked in place), got "
            f"{describe(x)}; convert it first with x = np.asarray(x, dtype=np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is poked in place and restored")
    h = _step(eps)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        f_up, f_down, step_up, step_down = _probe(f, x, idx, h)
        grad[idx] = (f_up - f_down) / (step_up + step_down)
    return grad


def _gradient_and_kinks(
    f: Callable[[np.ndarray], object], x: np.ndarray, eps: float, size: float, tol: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Centred differences of ``f`` at ``x``, the mask of elements whose probe crossed a kink,
    and the rounding noise of the differences.

    ``size`` is the magnitude of the terms that make up ``f`` (their rounding is the noise);
    the largest ``|f|`` met while probing counts too. ``tol`` is the check's tolerance: a
    crossed kink may shift a kept estimate by a small share of ``tol`` only.
    """
    h = _step(eps)
    f0 = _scalar(f(x))

    def one_sided(idx: tuple[int, ...], step: float) -> tuple[float, float, float, float]:
        f_up, f_down, step_up, step_down = _probe(f, x, idx, step)
        right, left = (f_up - f0) / step_up, (f0 - f_down) / step_down
        return (f_up - f_down) / (step_up + step_down), right, left, max(abs(f_up), abs(f_down))

    grad, gap, slope = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        grad[idx], right, left, f_max = one_sided(idx, h)
        # The smaller slope: a jump (Step) or kink must not inflate the scale of the array.
        gap[idx], slope[idx] = abs(right - left), min(abs(right), abs(left))
        size = max(size, f_max)
    noise = _noise(size, h)
    # Telling a kink from rounding needs the rounding of the terms inside f too: a loss near 0
    # can be a difference of terms as large as the inputs (log-sum-exp minus the true logit).
    # Only this decision uses it; the report's floor keeps ``noise``.
    kink_noise = max(noise, _noise(float(np.abs(x).max(initial=0.0)), h))
    # Largest tolerable shift of an estimate: a share of what the report resolves (its
    # denominator is at least about the largest gradient, and at least noise / tol).
    allowed = _KINK_SHARE * max(tol * slope.max(initial=0.0), kink_noise)
    fine_noise = _REFINE * kink_noise  # rounding noise grows with 1 / step
    kinks = np.zeros(x.shape, dtype=bool)
    for idx in map(tuple, np.argwhere(gap > 2 * allowed)):
        fine, right, left, _ = one_sided(idx, h / _REFINE)
        fine_gap = abs(right - left)
        if fine_gap <= 2 * allowed:
            kept = True  # no kink within h / 8, or one too small to matter
        else:  # curvature shrinks the gap and leaves the centred difference; a kink cannot both
            shrank = fine_gap <= _SHRINK * gap[idx] + fine_noise
            kept = shrank and abs(fine - grad[idx]) <= allowed + fine_noise
        if not kept:
            kinks[idx] = True
        elif abs(fine - grad[idx]) > 2 * allowed:
            grad[idx] = fine  # the coarse probe crossed a kink; the fine one did not (or less)
        # else keep the coarse estimate: as close to the fine one as the fine one's rounding
        # allows (in the noise-bound regime), and with 8x less rounding of its own
    return grad, kinks, noise


def _noise(size: float, h: float) -> float:
    """Rounding noise of a difference quotient of ``f`` values of this size.

    ``f`` carries a relative rounding error of a few machine epsilons, amplified by the
    division by the step ``h``; the factor 10 covers rounding inside the module.
    """
    return float(10 * np.finfo(np.float64).eps * size / h)


# --- comparing gradients ----------------------------------------------------------------------
def _elementwise_rel_error(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """``|a_i - b_i| / max(max_j(|a_j| + |b_j|), floor)`` per element (see :func:`rel_error`)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - b)
        scale = max((np.abs(a) + np.abs(b)).max(initial=0.0), floor)
        err = diff / scale if scale > 0 else diff
    err[~np.isfinite(err)] = np.inf  # NaN or inf anywhere is the worst possible answer
    err[(a == b) & np.isfinite(a)] = 0.0
    return err


def rel_error(a: object, b: object, floor: float = 0.0) -> float:
    """Relative error between two arrays of the same shape: the largest elementwise
    difference, measured against the size of the arrays.

    The exact formula::

        rel_error(a, b) = max_i |a_i - b_i|  /  max( max_j (|a_j| + |b_j|), floor )

    with ``0/0 = 0`` (two zero arrays agree) and ``inf`` if either array holds a NaN or an
    infinity. With the default ``floor = 0`` it is scale-free (multiplying both arrays by
    1000 changes nothing), lies in ``[0, 1]`` and is ``1`` for a sign flip. A correct float64
    backward pass checked with ``eps = 1e-6`` scores about 1e-11 to 1e-8, so
    :data:`DEFAULT_TOL` is 1e-7; a wrong one (sign flip, transposed, missing factor) scores
    above 1e-2.

    Why one denominator for all elements, not ``|a_i| + |b_i|`` per element? A finite
    difference has about the same *absolute* rounding error (``1e-16 * |f| / eps``) for every
    element, so a per-element ratio for a near-zero gradient (a saturated tanh unit, an
    unlucky cancellation) measures rounding, not a bug, and makes checks fail at random.
    For the same reason ``floor`` lets a caller who knows that rounding level keep arrays of
    all-tiny gradients from being compared below it (see :func:`check_module`).

    Args:
        a: array-like, e.g. the analytic gradient.
        b: array-like of the same shape, e.g. the numerical gradient.
        floor: smallest denominator, ``>= 0``.

    Returns:
        The relative error, a float ``>= 0`` (or ``inf``); ``0.0`` for empty arrays.

    Raises:
        ValueError: the shapes differ.
    """
    a_arr, b_arr = as_array(a, "a"), as_array(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"a and b must have the same shape, got {a_arr.shape} and {b_arr.shape}")
    return float(_elementwise_rel_error(a_arr, b_arr, floor).max(initial=0.0))


# --- the report -------------------------------------------------------------------------------
def _fmt_index(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]"


@dataclass
class GradCheckReport:
    """The result of :func:`check_module` or :func:`check_loss`.

    Attributes:
        max_rel_error: the largest error over all checked arrays.
        errors: per-array :func:`rel_error` (with ``floor``, kinks left out), keyed
            ``"input"`` (``"pred"`` for a loss) and the qualified parameter names
            (``"weight"``, ``"0.bias"``, ...).
        worst: name of the array holding the worst element (``None`` if nothing was checked).
        worst_index: index of the worst element in that array.
        expected: the numerical derivative at the worst element.
        got: the analytic (backward) derivative at the worst element.
        tol: the threshold that decides :attr:`passed`.
        floor: the smallest denominator of the errors: the finite-difference rounding noise
            divided by ``tol`` (see :func:`check_module`).
        kinks: per-array indices left out because a probe crossed a kink.
        numerical: per-array numerical gradients (float64, same shapes as the arrays).
        analytic: per-array gradients from ``backward``.
    """

    max_rel_error: float
    errors: dict[str, float]
    worst: str | None
    worst_index: tuple[int, ...]
    expected: float
    got: float
    tol: float = DEFAULT_TOL
    floor: float = 0.0
    kinks: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)
    numerical: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    analytic: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        """``True`` when ``max_rel_error <= tol``."""
        return bool(self.max_rel_error <= self.tol)

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"gradient check {verdict}: max relative error {self.max_rel_error:.2e} "
            f"(tolerance {self.tol:.0e})"
        ]
        for name, err in self.errors.items():
            lines.append(f"  {name:<12} {err:.2e}")
        if self.worst is not None:
            lines.append(
                f"  worst element {_fmt_index(self.worst, self.worst_index)}: numerical "
                f"{self.expected:.6g}, backward {self.got:.6g}"
            )
        n_kinks = sum(len(v) for v in self.kinks.values())
        if n_kinks:
            lines.append(f"  {n_kinks} element(s) at a kink left out")
        return "\n".join(lines)


def _build_report(
    analytic: dict[str, np.ndarray],
    numerical: dict[str, np.ndarray],
    kink_masks: dict[str, np.ndarray],
    tol: float,
    noise: float,
) -> GradCheckReport:
    floor = noise / tol  # gradients smaller than this cannot be checked to tol
    errors: dict[str, float] = {}
    worst, worst_index, worst_err = None, (), -1.0
    kinks: dict[str, list[tuple[int, ...]]] = {}
    for name, num in numerical.items():
        mask = kink_masks[name]
        got = analytic[name]
        if mask.any():
            kinks[name] = [tuple(int(i) for i in idx) for idx in np.argwhere(mask)]
            got, num = np.where(mask, 0.0, got), np.where(mask, 0.0, num)
        err = _elementwise_rel_error(got, num, floor)
        errors[name] = float(err.max(initial=0.0))
        if err.size and errors[name] > worst_err:
            worst, worst_err = name, errors[name]
            worst_index = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    expected = float(numerical[worst][worst_index]) if worst is not None else 0.0
    got_worst = float(analytic[worst][worst_index]) if worst is not None else 0.0
    if kinks:
        where = [_fmt_index(n, i) for n, idxs in kinks.items() for i in idxs]
        shown = ", ".join(where[:10]) + (f" and {len(where) - 10} more" if len(where) > 10 else "")
        warnings.warn(
            KinkWarning(
                f"{len(where)} finite-difference probe(s) crossed a kink (the one-sided slopes "
                f"disagree), left out of the check: {shown}. Move the inputs away from the "
                "kinks (0 for ReLU-like functions) to check those elements too."
            ),
            stacklevel=3,
        )
    return GradCheckReport(
        max_rel_error=max(errors.values(), default=0.0),
        errors=errors,
        worst=worst,
        worst_index=worst_index,
        expected=expected,
        got=got_worst,
        tol=tol,
        floor=floor,
        kinks=kinks,
        numerical=numerical,
        analytic=analytic,
    )


# --- checking layers and losses ---------------------------------------------------------------
def _generators(module: Module) -> list[np.random.Generator]:
    found, stack = [], [module]
    while stack:
        m = stack.pop()
        found.extend(v for v in vars(m).values() if isinstance(v, np.random.Generator))
        stack.extend(m.children())
    return found


def _as_float64(x: object, name: str) -> np.ndarray:
    return np.array(as_array(x, name), dtype=np.float64)  # always a copy


def check_module(
    module: Module,
    x: object,
    grad_out: object = None,
    seed: int = 0,
    eps: float = 1e-6,
    tol: float = DEFAULT_TOL,
) -> GradCheckReport:
    """Check ``module.backward`` against numerical gradients, for the input and every parameter.

    With an upstream gradient ``G`` (random unless given) the objective is the scalar
    ``L(x, params) = sum(module.forward(x) * G)``, whose gradient is exactly what
    ``module.backward(G)`` must return (for the input) and accumulate (for the parameters).
    The constant ``sum(forward(x0) * G)`` is subtracted before summing, which removes most of
    the rounding error without changing the gradient.

    Errors: each array (the input, every parameter) gets ``rel_error(backward, numerical,
    floor)`` with ``floor = noise / tol``. ``noise = 10 * machine_eps * size / h`` is the
    rounding noise of the finite differences (``h`` the step, ``size`` the larger of
    ``sum(|forward(x) * G|)`` and the largest ``|f|`` met while probing). So an array of
    gradients too small for finite differences to resolve to ``tol`` (say ``dL/dW = X.T @
    G`` for an input ``X`` of size 1e-16) is compared on the scale they do resolve instead
    of failing on rounding noise; any discrepancy above that noise still fails. Elements
    whose probe crossed a kink are left out (with a :class:`KinkWarning`).

    Precision and side effects: ``x`` is copied to float64 (the user's array is never
    touched, float32 input included); parameters are float64 already and are poked in place
    and restored. Parameter ``.grad`` arrays are restored after the check, and the module is
    left with a fresh forward cache for ``x``.

    Randomness: the state of every ``numpy.random.Generator`` attribute in the module tree
    (such as ``Dropout.rng``) is replayed before each forward, so a module in training mode
    draws the same dropout mask in every probe and its backward is checked with that mask.
    A module that is random in any other way cannot be checked and raises ``ValueError``.

    Args:
        module: the layer (any :class:`nnlib.modules.Module`, e.g. a ``Sequential``).
        x: input batch, e.g. of shape ``(N, D)``.
        grad_out: upstream gradient ``dL/d(output)`` of the output's shape; by default drawn
            from ``N(0, 1)`` with ``seed`` (never all ones, which hides transposes and
            missing sums).
        seed: seed for the random ``grad_out``.
        eps: finite-difference step (rounded to a power of two, see numerical_gradient).
        tol: the report passes when its ``max_rel_error <= tol``.

    Returns:
        A :class:`GradCheckReport`; the input's entry is named ``"input"``.

    Raises:
        TypeError: ``module`` is not a Module, or ``x`` is not numeric.
        ValueError: the module is not deterministic, ``grad_out`` or ``backward``'s result
            has the wrong shape.
    """
    if not isinstance(module, Module):
        raise TypeError(f"module must be an nnlib Module, got {describe(module)}")
    _step(eps)  # validate before any work
    x64 = _as_float64(x, "x")
    generators = _generators(module)
    states = [g.bit_generator.state for g in generators]

    def forward() -> np.ndarray:
        for g, state in zip(generators, states, strict=True):
            g.bit_generator.state = state
        return np.array(module.forward(x64), dtype=np.float64)  # a copy: Identity returns x

    out0 = forward()
    if not np.array_equal(forward(), out0, equal_nan=True):
        raise ValueError(
            f"{type(module).__name__} gave two different outputs for the same input: the check "
            "needs a deterministic forward (randomness only from a numpy Generator attribute, "
            "or call module.eval())"
        )
    if grad_out is None:
        G = np.random.default_rng(seed).standard_normal(out0.shape)
    else:
        G = _as_float64(grad_out, "grad_out")
        if G.shape != out0.shape:
            raise ValueError(
                f"grad_out must have the shape of the module's output {out0.shape}, got {G.shape}"
            )

    named = module.named_parameters()
    saved = [p.grad.copy() for _, p in named]
    for _, p in named:
        p.zero_grad()
    dx = module.backward(G.copy())
    analytic = {"input": np.asarray(dx, dtype=np.float64)}
    analytic.update((name, p.grad.copy()) for name, p in named)
    for (_, p), grad in zip(named, saved, strict=True):
        p.grad[...] = grad
    if analytic["input"].shape != x64.shape:
        raise ValueError(
            f"{type(module).__name__}.backward returned dL/dx of shape "
            f"{analytic['input'].shape}, expected the input's shape {x64.shape}"
        )

    def objective(_: np.ndarray) -> float:
        return float(np.sum((forward() - out0) * G))

    size = float(np.sum(np.abs(out0 * G)))  # f's terms, whose rounding is the noise
    numerical, kinks, noise = {}, {}, 0.0
    for name, array in [("input", x64), *((name, p.value) for name, p in named)]:
        numerical[name], kinks[name], array_noise = _gradient_and_kinks(
            objective, array, eps, size, tol
        )
        noise = max(noise, array_noise)
    forward()  # leave the cache matching x, not the last probe
    return _build_report(analytic, numerical, kinks, tol, noise)


def check_loss(
    loss: object,
    pred: object,
    target: object,
    eps: float = 1e-6,
    tol: float = DEFAULT_TOL,
) -> GradCheckReport:
    """Check ``loss.backward()`` against the numerical gradient of ``loss.forward(pred, target)``
    with respect to ``pred``.

    ``pred`` is copied to float64 (the caller's array is not touched); ``target`` is passed
    through unchanged (integer labels stay integers). Errors and kinks are handled as in
    :func:`check_module`, with ``size`` the largest of ``|pred|`` and the ``|loss|`` met while
    probing (the terms of a loss are about as large as the predictions).

    Args:
        loss: an object with ``forward(pred, target) -> float`` and ``backward() -> dL/dpred``
            (every loss in :mod:`nnlib.losses`).
        pred: predictions, e.g. of shape ``(N, C)``.
        target: targets in the form the loss expects.
        eps: finite-difference step (rounded to a power of two, see numerical_gradient).
        tol: the report passes when its ``max_rel_error <= tol``.

    Returns:
        A :class:`GradCheckReport` with one entry, ``"pred"``.

    Raises:
        TypeError: ``loss`` lacks ``forward``/``backward``, or ``pred`` is not numeric.
        ValueError: ``backward`` returns an array of the wrong shape.
    """
    if not (callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward", None))):
        raise TypeError(f"loss must have forward(pred, target) and backward(), got {loss!r}")
    _step(eps)
    p64 = _as_float64(pred, "pred")
    value = _scalar(loss.forward(p64, target))
    analytic = np.array(loss.backward(), dtype=np.float64)
    if analytic.shape != p64.shape:
        raise ValueError(
            f"{type(loss).__name__}.backward returned dL/dpred of shape {analytic.shape}, "
            f"expected the shape of pred {p64.shape}"
        )
    # A loss is computed from terms about as large as the predictions (log-sum-exp of the
    # logits, a logit times its label), even when the loss itself is near 0: their rounding,
    # not the loss's, limits what the differences resolve.
    size = max(abs(value), float(np.abs(p64).max(initial=0.0)))
    num, kinks, noise = _gradient_and_kinks(lambda p: loss.forward(p, target), p64, eps, size, tol)
    loss.forward(p64, target)  # leave the loss's cache matching pred
    return _build_report({"pred": analytic}, {"pred": num}, {"pred": kinks}, tol, noise)
