"""Activation functions, softmax and one-hot encoding as plain numpy functions.

Every function here is elementwise (or row-wise for the softmax family), accepts any array-like
of any shape and returns an array of the same shape (a numpy scalar for scalar input). float32
input stays float32; everything else becomes float64.

They are written to be numerically stable: nothing overflows or warns for huge inputs, e.g.
``sigmoid(-1000) == 0``, ``log_sigmoid(-1000) == -1000``, ``softplus(1000) == 1000`` and
``softmax([1000, 0]) == [1, 0]``. The trick is always the same: never exponentiate a large
*positive* number. ``exp(-|x|)`` lies in ``(0, 1]``, and subtracting the row maximum before a
softmax makes every exponent ``<= 0``.

The ``*_grad`` functions return the derivative ``f'(x)`` evaluated at the *input* ``x``
(same shape as ``x``); the layers in :mod:`nnlib.modules` and the plots use them.
"""

from __future__ import annotations

import numpy as np

from nnlib._validation import as_array, describe

__all__ = [
    "elu",
    "elu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "log_sigmoid",
    "log_softmax",
    "one_hot",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softplus",
    "softplus_grad",
    "softsign",
    "softsign_grad",
    "tanh",
    "tanh_grad",
]


def _result(out: np.ndarray) -> np.ndarray:
    # A 0-d array becomes a numpy scalar, so ``sigmoid(0.0)`` prints as ``0.5``.
    return out[()] if out.ndim == 0 else out


# --- the sigmoid family -----------------------------------------------------------------------
def sigmoid(x: object) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-x))``, elementwise.

    Computed as ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` for ``x < 0`` with
    ``e = exp(-|x|)``, so no exponent is ever positive.

    Args:
        x: array-like of any shape.

    Returns:
        Array of the shape of ``x`` with values in ``[0, 1]``.

    Raises:
        TypeError: ``x`` is not numeric.
    """
    x = as_array(x, "x")
    e = np.exp(-np.abs(x))
    return _result(np.where(x >= 0, 1.0, e) / (1.0 + e))


def sigmoid_grad(x: object) -> np.ndarray:
    """Derivative of :func:`sigmoid`: ``s(x) * (1 - s(x))``, elementwise, same shape as ``x``."""
    s = sigmoid(x)
    return s * (1.0 - s)


def log_sigmoid(x: object) -> np.ndarray:
    """``log(sigmoid(x))``, elementwise, computed as ``min(x, 0) - log(1 + exp(-|x|))``.

    The naive ``np.log(sigmoid(x))`` returns ``-inf`` for ``x = -1000``; this returns ``-1000``.

    Args:
        x: array-like of any shape.

    Returns:
        Array of the shape of ``x`` with values ``<= 0``.

    Raises:
        TypeError: ``x`` is not numeric.
    """
    x = as_array(x, "x")
    return _result(np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x))))


def softplus(x: object) -> np.ndarray:
    """``log(1 + exp(x))``, a smooth ReLU, computed as ``max(x, 0) + log(1 + exp(-|x|))``.

    Args:
        x: array-like of any shape.

    Returns:
        Array of the shape of ``x`` with values ``>= 0`` (``softplus(1000) == 1000``).

    Raises:
        TypeError: ``x`` is not numeric.
    """
    x = as_array(x, "x")
    return _result(np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))))


def softplus_grad(x: object) -> np.ndarray:
    """Derivative of :func:`softplus`, which is :func:`sigmoid`; same shape as ``x``."""
    return sigmoid(x)


# --- tanh and softsign ------------------------------------------------------------------------
def tanh(x: object) -> np.ndarray:
    """Hyperbolic tangent, elementwise (``np.tanh`` is already stable).

    Args:
        x: array-like of any shape.

    Returns:
        Array of the shape of ``x`` with values in ``[-1, 1]``.

    Raises:
        TypeError: ``x`` is not numeric.
    """
    return _result(np.tanh(as_array(x, "x")))


def tanh_grad(x: object) -> np.ndarray:
    """Derivative of :func:`tanh`: ``1 - tanh(x)**2``, elementwise, same shape as ``x``."""
    t = tanh(x)
    return 1.0 - t * t


def softsign(x: object) -> np.ndarray:
    """``x / (1 + |x|)``, elementwise: like tanh, but with polynomial tails.

    Args:
        x: array-like of any shape.

    Returns:
        Array of the shape of ``x`` with values in ``(-1, 1)``.

    Raises:
        TypeError: ``x`` is not numeric.
    """
    x = as_array(x, "x")
    return _result(x / (1.0 + np.abs(x)))


def softsign_grad(x: object) -> np.ndarray:
    """Derivative of :func:`softsign`: ``1 / (1 + |x|)**2``, elementwise, same shape as ``x``."""
    d = 1.0 + np.abs(as_array(x, "x"))
    return _result(1.0 / (d * d))


# --- the ReLU family --------------------------------------------------------------------------
def relu(x: object) -> np.ndarray:
    """Rectified linear unit ``max(x, 0)``, elementwise.

    Args:
        x: array-like of any shape.

    Returns:
        Array of the shape of ``x``.

    Raises:
        TypeError: ``x`` is not numeric.
    """
    return _result(np.maximum(as_array(x, "x"), 0.0))


def relu_grad(x: object) -> np.ndarray:
    """Derivative of :func:`relu`: ``1`` where ``x > 0``, else ``0`` (we pick 0 at the kink)."""
    x = as_array(x, "x")
    return _result((x > 0).astype(x.dtype))


def leaky_relu(x: object, alpha: float = 0.01) -> np.ndarray:
    """Leaky ReLU: ``x`` where ``x > 0``, else ``alpha * x``, elementwise.

    Args:
        x: array-like of any shape.
        alpha: slope for negative inputs (usually small and positive).

    Returns:
        Array of the shape of ``x``.

    Raises:
        TypeError: ``x`` is not numeric.
    """
    x = as_array(x, "x")
    return _result(np.where(x > 0, x, alpha * x))


def leaky_relu_grad(x: object, alpha: float = 0.01) -> np.ndarray:
    """Derivative of :func:`leaky_relu`: ``1`` where ``x > 0``, else ``alpha``; shape of ``x``."""
    x = as_array(x, "x")
    return _result(np.where(x > 0, 1.0, alpha).astype(x.dtype))


def elu(x: object, alpha: float = 1.0) -> np.ndarray:
    """Exponential linear unit: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Args:
        x: array-like of any shape.
        alpha: the value the function approaches as ``x -> -inf`` is ``-alpha``.

    Returns:
        Array of the shape of ``x``.

    Raises:
        TypeError: ``x`` is not numeric.
    """
    x = as_array(x, "x")
    # min(x, 0) keeps expm1 from overflowing on the branch np.where throws away.
    return _result(np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))))


def elu_grad(x: object, alpha: float = 1.0) -> np.ndarray:
    """Derivative of :func:`elu`: ``1`` where ``x > 0``, else ``alpha * exp(x)``; shape of ``x``."""
    x = as_array(x, "x")
    return _result(np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype))


# --- softmax ----------------------------------------------------------------------------------
def _at_least_1d(x: object) -> np.ndarray:
    x = as_array(x, "x")
    if x.ndim == 0:
        raise ValueError(
            "x must have at least one dimension (the axis to normalise over), got a scalar"
        )
    return x


def softmax(x: object, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: ``exp(x_i) / sum_j exp(x_j)``.

    The maximum along ``axis`` is subtracted first; that leaves the result unchanged (it cancels
    in the ratio) and makes every exponent ``<= 0``, so ``softmax([1000, 0]) == [1, 0]``.

    Args:
        x: array-like with at least one dimension, e.g. logits of shape ``(N, C)``.
        axis: the axis that sums to one (default: the last, the classes).

    Returns:
        Array of the shape of ``x``, non-negative, summing to 1 along ``axis``.

    Raises:
        TypeError: ``x`` is not numeric.
        ValueError: ``x`` is a scalar.
    """
    x = _at_least_1d(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: object, axis: int = -1) -> np.ndarray:
    """``log(softmax(x, axis))`` computed as ``x - max - log(sum(exp(x - max)))``.

    Unlike ``np.log(softmax(x))`` it never returns ``-inf`` for a very unlikely class:
    ``log_softmax([1000, 0]) == [0, -1000]``.

    Args:
        x: array-like with at least one dimension, e.g. logits of shape ``(N, C)``.
        axis: the axis to normalise over (default: the last).

    Returns:
        Array of the shape of ``x`` with values ``<= 0``.

    Raises:
        TypeError: ``x`` is not numeric.
        ValueError: ``x`` is a scalar.
    """
    x = _at_least_1d(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --- labels -----------------------------------------------------------------------------------
def one_hot(labels: object, num_classes: int | None = None) -> np.ndarray:
    """Encode integer class labels as one-hot rows.

    Args:
        labels: integer labels in ``[0, num_classes)`` of any shape, typically ``(N,)``.
            Floats are accepted when they hold whole numbers (``1.0``), as datasets often do.
        num_classes: the number of classes ``C``; by default ``max(labels) + 1``.

    Returns:
        float64 array of shape ``labels.shape + (C,)`` with a single 1 per label.

    Raises:
        TypeError: ``labels`` is not numeric or ``num_classes`` is not an integer.
        ValueError: a label is negative, not a whole number, or ``>= num_classes``.
    """
    y = np.asarray(labels) if not isinstance(labels, np.ndarray) else labels
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"labels must be integer class labels, got {describe(labels)} with dtype {y.dtype}"
        )
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise ValueError(
                "labels must be whole numbers (class indices 0, 1, 2, ...), got non-integer "
                f"values such as {y[(y != np.round(y)) | ~np.isfinite(y)].flat[0]!r}"
            )
    y = y.astype(np.int64)
    if num_classes is None:
        if y.size == 0:
            raise ValueError("cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(y.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(
            f"num_classes must be an integer, got {describe(num_classes)} {num_classes!r}"
        )
    if num_classes <= 0:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)]
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}, got "
            f"{bad.size} label(s) outside, e.g. {int(bad.flat[0])}"
        )
    out = np.zeros((*y.shape, num_classes))
    np.put_along_axis(out, y[..., None], 1.0, axis=-1)
    return out
