"""Weight initialisers for a weight matrix ``W`` of shape ``(D, H)`` = ``(fan_in, fan_out)``.

Every initialiser has the signature ``init(shape, rng) -> ndarray``: ``shape`` is the weight's
shape ``(fan_in, fan_out)`` and ``rng`` a ``numpy.random.Generator`` (a fresh unseeded one when
``None``). Any function with that signature can be passed as ``Linear(..., init=fn)``.

Why the scale matters: with ``D`` inputs of unit variance, each pre-activation ``z = x @ w``
has variance ``D * Var(w)``. Xavier/Glorot keeps the variance of activations *and* of
gradients roughly constant through tanh/sigmoid layers with ``Var(w) = 2 / (D + H)``; He keeps
it constant through ReLU layers (which zero half their inputs) with ``Var(w) = 2 / D``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnlib._validation import check_choice, describe

__all__ = [
    "INITIALIZERS",
    "Initializer",
    "get_initializer",
    "he_normal",
    "normal",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]
"""Type of an initialiser: ``(shape, rng) -> array of that shape``."""


def _check_shape(shape: object, *, fans: bool) -> tuple[int, ...]:
    """Validate ``shape`` (positive ints; exactly two of them when ``fans``) and return it."""
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape
    ):
        raise TypeError(f"shape must be a tuple of ints such as (3, 4), got {shape!r}")
    if fans and len(shape) != 2:
        raise ValueError(
            f"shape must be (fan_in, fan_out), the shape (D, H) of a weight matrix, got {shape!r}"
        )
    if any(s <= 0 for s in shape):
        raise ValueError(f"shape must contain positive sizes, got {tuple(shape)!r}")
    return tuple(int(s) for s in shape)


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
            f"{describe(rng)}"
        )
    return rng


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
    """All zeros (fine for biases; for weights every hidden unit would stay identical).

    Args:
        shape: any shape, e.g. ``(D, H)``.
        rng: unused; accepted so every initialiser has the same signature.

    Returns:
        float64 zeros of shape ``shape``.
    """
    return np.zeros(_check_shape(shape, fans=False))


def normal(
    shape: tuple[int, ...], rng: np.random.Generator | None = None, std: float = 0.01
) -> np.ndarray:
    """Small Gaussian weights ``N(0, std**2)``, the classic "multiply randn by 0.01".

    Args:
        shape: any shape, e.g. ``(D, H)``.
        rng: random generator.
        std: standard deviation.

    Returns:
        float64 array of shape ``shape``.
    """
    return _rng(rng).normal(0.0, std, size=_check_shape(shape, fans=False))


def xavier_uniform(shape: tuple[int, int], rng: np.random.Generator | None = None) -> np.ndarray:
    """Glorot/Xavier uniform: ``U(-a, a)`` with ``a = sqrt(6 / (D + H))``, so the variance is
    ``2 / (D + H)``. The default for :class:`nnlib.modules.Linear`; suits tanh and sigmoid.

    Args:
        shape: ``(D, H)`` = ``(fan_in, fan_out)``.
        rng: random generator.

    Returns:
        float64 array of shape ``(D, H)``.

    Raises:
        ValueError: ``shape`` is not a pair of positive sizes.
    """
    fan_in, fan_out = _check_shape(shape, fans=True)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return _rng(rng).uniform(-limit, limit, size=(fan_in, fan_out))


def xavier_normal(shape: tuple[int, int], rng: np.random.Generator | None = None) -> np.ndarray:
    """Glorot/Xavier normal: ``N(0, 2 / (D + H))``.

    Args:
        shape: ``(D, H)`` = ``(fan_in, fan_out)``.
        rng: random generator.

    Returns:
        float64 array of shape ``(D, H)``.

    Raises:
        ValueError: ``shape`` is not a pair of positive sizes.
    """
    fan_in, fan_out = _check_shape(shape, fans=True)
    return _rng(rng).normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def he_normal(shape: tuple[int, int], rng: np.random.Generator | None = None) -> np.ndarray:
    """He/Kaiming normal: ``N(0, 2 / D)``, for ReLU layers.

    Args:
        shape: ``(D, H)`` = ``(fan_in, fan_out)``.
        rng: random generator.

    Returns:
        float64 array of shape ``(D, H)``.

    Raises:
        ValueError: ``shape`` is not a pair of positive sizes.
    """
    fan_in, fan_out = _check_shape(shape, fans=True)
    return _rng(rng).normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_normal": he_normal,
}


def get_initializer(init: str | Initializer) -> Initializer:
    """Resolve an initialiser given by name (case-insensitive) or return a callable unchanged.

    Args:
        init: one of ``"zeros"``, ``"normal"``, ``"xavier_uniform"``, ``"xavier_normal"``,
            ``"he_normal"``, or a function ``(shape, rng) -> ndarray``.

    Returns:
        The initialiser function.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
        TypeError: ``init`` is neither a string nor callable.
    """
    if isinstance(init, str):
        key = init.strip().lower().replace("-", "_")
        if key not in INITIALIZERS:
            check_choice("init", init, INITIALIZERS)
        return INITIALIZERS[key]
    if callable(init):
        return init
    raise TypeError(
        f"init must be an initialiser name ({', '.join(map(repr, INITIALIZERS))}) or a "
        f"function (shape, rng) -> array, got {describe(init)} {init!r}"
    )
