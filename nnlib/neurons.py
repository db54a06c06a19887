"""The formal neuron of McCulloch and Pitts (1943) and the logic gates built from it.

A threshold neuron fires when the weighted sum of its inputs beats its threshold:

    a(x) = [w . x + b > 0]

where ``[.]`` is 1 when the condition holds and 0 otherwise (the Heaviside step). With hand-picked
weights one neuron computes AND, OR, NOT or NAND, but no single neuron computes XOR: its two
classes are not separable by a line. Two ways out, both from the lecture, are here: give the neuron
an extra feature ``x1 * x2`` (:func:`xor_with_feature`), or stack two layers
(:func:`xor_two_layer`). :func:`sign_network` is the lecture's two-layer network with ``sign``
units that carves a wedge out of the plane.

Convention: neurons return float arrays of 0.0 and 1.0 (the library's dtype); :func:`truth_table`
returns integers because it is meant to be printed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnlib._validation import as_array

__all__ = [
    "AND",
    "NAND",
    "NOT",
    "OR",
    "ThresholdNeuron",
    "sign",
    "sign_network",
    "step",
    "truth_table",
    "xor_two_layer",
    "xor_with_feature",
]

# 2^20 rows is already a million-row table; larger requests are almost surely a typo.
_MAX_TRUTH_TABLE_INPUTS = 20


def step(z: object) -> np.ndarray:
    """Heaviside step ``[z > 0]``, elementwise.

    The inequality is strict, so ``step(0) == 0``: a neuron whose weighted sum sits exactly on
    the threshold does not fire.

    Args:
        z: array-like of any shape.

    Returns:
        Array of the same shape as ``z`` holding 0.0 and 1.0 (float32 for float32 input,
        float64 otherwise). NaN maps to 0.0 because ``NaN > 0`` is false.

    Raises:
        TypeError: ``z`` is not numeric.
    """
    z = as_array(z, "z")
    return (z > 0).astype(z.dtype)


def sign(z: object) -> np.ndarray:
    """The sign unit ``sign(z) = 2 [z > 0] - 1``, elementwise, with values -1 and +1 only.

    Unlike ``np.sign``, which returns 0 at 0 (a third, meaningless output for a binary unit),
    this convention sends ``z = 0`` to -1, matching :func:`step`'s strict inequality: a point
    exactly on a neuron's line counts as being on its negative side.

    Args:
        z: array-like of any shape.

    Returns:
        Array of the same shape as ``z`` holding -1.0 and +1.0.

    Raises:
        TypeError: ``z`` is not numeric.
    """
    return 2 * step(z) - 1


class ThresholdNeuron:
    """McCulloch-Pitts neuron ``a(x) = [w . x + b > 0]``.

    Args:
        weights: array-like of shape ``(D,)``, one weight per input.
        bias: the bias ``b`` (minus the threshold), a finite number.
        name: optional label shown in ``repr`` (the gates use ``"AND"`` and so on).

    Attributes:
        weights: read-only float64 array of shape ``(D,)``.
        bias: float.
        n_inputs: ``D``.

    Raises:
        ValueError: ``weights`` is not a non-empty 1-D array, or a value is not finite.
        TypeError: ``weights`` or ``bias`` is not numeric.

    Example:
        >>> AND = ThresholdNeuron([1, 1], -1.5)
        >>> AND([[0, 0], [0, 1], [1, 0], [1, 1]])
        array([0., 0., 0., 1.])
    """

    def __init__(self, weights: object, bias: float, name: str | None = None) -> None:
        w = np.array(as_array(weights, "weights", ndim=1, finite=True), dtype=np.float64)
        if w.size == 0:
            raise ValueError("weights must have at least one element, got an empty array")
        # Read-only because the gates below are shared module-level objects: mutating AND's
        # weights in one notebook cell would silently break every later cell that uses AND.
        w.flags.writeable = False
        self.weights = w
        self.bias = float(as_array(bias, "bias", ndim=0, finite=True))
        self.name = name

    @property
    def n_inputs(self) -> int:
        """Number of inputs ``D``."""
        return self.weights.shape[0]

    def _check_input(self, X: object) -> np.ndarray:
        X = as_array(X, "X", ndim=(0, 1, 2))
        if X.ndim == 0 and self.n_inputs == 1:
            X = X.reshape(1)  # NOT(0) reads naturally; treat a scalar as the single input
        if X.ndim == 0 or X.shape[-1] != self.n_inputs:
            raise ValueError(
                f"X must have shape ({self.n_inputs},) for one input or (N, {self.n_inputs}) for "
                f"a batch (this neuron has D={self.n_inputs} weights), got shape {X.shape}"
            )
        return X

    def preactivation(self, X: object) -> np.ndarray | float:
        """The weighted sum ``z = X @ w + b`` before the step.

        Args:
            X: one input of shape ``(D,)`` or a batch of shape ``(N, D)``.

        Returns:
            A float for one input, an array of shape ``(N,)`` for a batch.

        Raises:
            ValueError: the last axis of ``X`` is not ``D``.
        """
        X = self._check_input(X)
        z = X @ self.weights + self.bias
        return float(z) if X.ndim == 1 else z

    def forward(self, X: object) -> np.ndarray | float:
        """Fire or not: ``[X @ w + b > 0]``.

        Args:
            X: one input of shape ``(D,)`` or a batch of shape ``(N, D)`` (a scalar is accepted
                when ``D == 1``).

        Returns:
            0.0 or 1.0 for one input, an array of shape ``(N,)`` of 0.0/1.0 for a batch.

        Raises:
            ValueError: the last axis of ``X`` is not ``D``.
            TypeError: ``X`` is not numeric.
        """
        X = self._check_input(X)
        a = step(X @ self.weights + self.bias)
        return float(a) if X.ndim == 1 else a

    def __call__(self, X: object) -> np.ndarray | float:
        return self.forward(X)

    def __repr__(self) -> str:
        weights = [float(w) for w in self.weights]
        label = f", name={self.name!r}" if self.name else ""
        return f"ThresholdNeuron(weights={weights}, bias={self.bias}{label})"


#: ``[x1 + x2 - 3/2 > 0]``: fires only when both inputs are on.
AND = ThresholdNeuron([1, 1], -1.5, name="AND")
#: ``[x1 + x2 - 1/2 > 0]``: fires when at least one input is on.
OR = ThresholdNeuron([1, 1], -0.5, name="OR")
#: ``[-x1 + 1/2 > 0]``: fires when its single input is off.
NOT = ThresholdNeuron([-1], 0.5, name="NOT")
#: ``[-x1 - x2 + 3/2 > 0]``: NOT AND; on its own it can build every Boolean function.
NAND = ThresholdNeuron([-1, -1], 1.5, name="NAND")

# One neuron on the features (x1, x2, x1*x2): x1 + x2 - 2 x1 x2 - 1/2 > 0.
_XOR_ON_PRODUCT_FEATURE = ThresholdNeuron([1, 1, -2], -0.5, name="XOR(x1, x2, x1*x2)")


def _check_pairs(X: object) -> np.ndarray:
    X = as_array(X, "X", ndim=(1, 2))
    if X.shape[-1] != 2:
        raise ValueError(f"X must have shape (2,) or (N, 2), got shape {X.shape}")
    return X


def xor_with_feature(X: object) -> np.ndarray | float:
    """XOR by a single neuron that also sees the product feature ``x1 * x2``.

    ``[x1 + x2 - 2 x1 x2 - 1/2 > 0]``: the product term cancels the double count at (1, 1).
    The neuron is still linear, but in the 3-D feature space ``(x1, x2, x1 x2)`` where the two
    classes are separable by a plane.

    Args:
        X: one input of shape ``(2,)`` or a batch of shape ``(N, 2)``.

    Returns:
        0.0/1.0 for one input, an array of shape ``(N,)`` for a batch.

    Raises:
        ValueError: ``X`` does not have 2 features.
    """
    X = _check_pairs(X)
    features = np.concatenate([X, X[..., :1] * X[..., 1:]], axis=-1)
    return _XOR_ON_PRODUCT_FEATURE(features)


def xor_two_layer(X: object) -> np.ndarray | float:
    """XOR by two layers of threshold neurons: ``[OR(x) - AND(x) - 1/2 > 0]``.

    The hidden layer computes OR and AND; the output neuron fires when OR is on but AND is off.

    Args:
        X: one input of shape ``(2,)`` or a batch of shape ``(N, 2)``.

    Returns:
        0.0/1.0 for one input, an array of shape ``(N,)`` for a batch.

    Raises:
        ValueError: ``X`` does not have 2 features.
    """
    X = _check_pairs(X)
    hidden = np.stack([OR(X), AND(X)], axis=-1)
    return ThresholdNeuron([1, -1], -0.5)(hidden)


def sign_network(X: object) -> np.ndarray:
    """The lecture's two-layer network of sign units on the real plane.

    ``h1 = sign(x2 - 2 x1 - 2)``, ``h2 = sign(x2 + 3 x1 - 4)``, ``o = sign(h2 - h1 - 1)``.

    The output is +1 exactly when ``h2 = +1`` and ``h1 = -1`` (every other combination makes
    ``h2 - h1 - 1`` negative), i.e. on the wedge above the line ``x2 = 4 - 3 x1`` and below the
    line ``x2 = 2 x1 + 2``; the lines meet at (0.4, 2.8).

    Uses :func:`sign`, so ``sign(0) = -1``: a point exactly on a hidden unit's line counts as
    on its negative side (on the line ``x2 = 2 x1 + 2`` it is inside the wedge, on
    ``x2 = 4 - 3 x1`` outside). The output unit never sees 0 because ``h2 - h1 - 1`` is odd.

    Args:
        X: real inputs of shape ``(N, 2)`` (or one point of shape ``(2,)``).

    Returns:
        Array of shape ``(N,)`` (a 0-d array for one point) with values -1.0 and +1.0.

    Raises:
        ValueError: ``X`` does not have 2 features.
    """
    X = _check_pairs(X)
    x1, x2 = X[..., 0], X[..., 1]
    h1 = sign(x2 - 2 * x1 - 2)
    h2 = sign(x2 + 3 * x1 - 4)
    return sign(h2 - h1 - 1)


def truth_table(fn: Callable[[np.ndarray], object], n_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a Boolean function on every combination of ``n_inputs`` bits.

    Rows come in the usual counting order (00, 01, 10, 11 for two inputs): the first column
    is the most significant bit.

    Args:
        fn: callable taking a batch of shape ``(2**n_inputs, n_inputs)`` and returning one 0/1
            (or False/True) value per row, e.g. ``AND`` or ``xor_two_layer``.
        n_inputs: number of inputs, an int from 1 to 20.

    Returns:
        ``(inputs, outputs)``: int64 arrays of shapes ``(2**n_inputs, n_inputs)`` and
        ``(2**n_inputs,)``.

    Raises:
        TypeError: ``n_inputs`` is not an int or ``fn`` is not callable.
        ValueError: ``n_inputs`` is out of range, or ``fn`` returns the wrong shape or values
            other than 0 and 1.
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)):
        raise TypeError(f"n_inputs must be an int, got {type(n_inputs).__name__} {n_inputs!r}")
    if not 1 <= n_inputs <= _MAX_TRUTH_TABLE_INPUTS:
        raise ValueError(
            f"n_inputs must be between 1 and {_MAX_TRUTH_TABLE_INPUTS}, got {n_inputs}"
        )
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    n_rows = 2**n_inputs
    # Bit j of row r, most significant first, gives the counting order 00, 01, 10, 11.
    shifts = np.arange(n_inputs - 1, -1, -1)
    inputs = (np.arange(n_rows)[:, None] >> shifts) & 1
    outputs = np.asarray(fn(inputs))
    if outputs.shape != (n_rows,):
        raise ValueError(
            f"fn must return one value per row, shape ({n_rows},), got shape {outputs.shape}"
        )
    if not np.isin(outputs, (0, 1)).all():
        bad = np.unique(outputs[~np.isin(outputs, (0, 1))])
        raise ValueError(f"fn must return only 0 and 1, got also {bad.tolist()}")
    return inputs.astype(np.int64), outputs.astype(np.int64)
