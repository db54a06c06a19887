"""Loss functions with an explicit forward and backward pass.

A loss compares a batch of predictions with their targets and returns one number, the mean
over the batch. ``backward()`` then returns ``dL/d(pred)``, which starts the backward pass
through the network::

    loss = CrossEntropyLoss()
    value = loss(model(X), y)          # forward: a Python float
    model.backward(loss.backward())    # dL/d(logits), shape (N, C)

Conventions: ``N`` batch size, ``C`` classes/outputs. The element-wise losses (MSE, MAE and
the two binary cross-entropies) average over *all* elements of ``pred``, as PyTorch does; for
the usual ``(N,)`` or ``(N, 1)`` predictions that is the mean over the batch.
:class:`CrossEntropyLoss` sums over the ``C`` classes and averages over the ``N`` samples.

``pred`` and ``target`` must have exactly the same shape. numpy would happily broadcast a
``(N, 1)`` prediction against a ``(N,)`` target into an ``(N, N)`` matrix of every prediction
minus every target, and the loss would be a meaningless number that still decreases a bit
during training; so a shape mismatch is an error here, never a silent broadcast.
"""

from __future__ import annotations

import numpy as np

from nnlib._validation import as_array, describe
from nnlib.functional import log_softmax, one_hot, sigmoid, softmax

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Loss",
    "MAELoss",
    "MSELoss",
]


class Loss:
    """Base class of the losses: ``forward(pred, target) -> float``, ``backward() -> dL/dpred``.

    Subclasses implement :meth:`forward`, which validates its inputs, stores in
    ``self._cache`` what :meth:`backward` needs and returns the mean loss as a Python float.
    """

    def __init__(self) -> None:
        self._cache: object = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Return the loss of ``pred`` against ``target``, averaged over the batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(pred, target)")

    def backward(self) -> np.ndarray:
        """Return ``dL/d(pred)`` for the last forward call: float64, the shape of ``pred``."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.forward(pred, target)

    def _require_cache(self) -> object:
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before forward(): compute the "
                "loss of a batch first (loss(pred, target)), then call loss.backward()"
            )
        return self._cache

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr``; override in subclasses."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _check_pair(loss: Loss, pred: object, target: object) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``pred`` and ``target`` to finite float64 arrays of one and the same shape."""
    name = type(loss).__name__
    pred = as_array(pred, "pred", ndim=(1, 2), finite=True, dtype=np.float64)
    target = as_array(target, "target", ndim=(1, 2), finite=True, dtype=np.float64)
    if pred.shape != target.shape:
        if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == pred.shape[:1]:
            raise ValueError(
                f"{name}: pred has shape {pred.shape} but target has shape {target.shape}. "
                f"numpy would broadcast them to ({pred.shape[0]}, {pred.shape[0]}) (every "
                "prediction against every target), a wrong loss that raises no error; reshape "
                "the target with target.reshape(-1, 1) (or flatten pred with pred.ravel())"
            )
        if target.ndim == 2 and target.shape[1] == 1 and pred.shape == target.shape[:1]:
            raise ValueError(
                f"{name}: pred has shape {pred.shape} but target has shape {target.shape}. "
                f"numpy would broadcast them to ({pred.shape[0]}, {pred.shape[0]}) (every "
                "prediction against every target), a wrong loss that raises no error; flatten "
                "the target with target.ravel() (or reshape pred with pred.reshape(-1, 1))"
            )
        raise ValueError(
            f"{name}: pred and target must have the same shape, got pred of shape "
            f"{pred.shape} and target of shape {target.shape}"
        )
    if pred.size == 0:
        raise ValueError(f"{name}: pred and target are empty (shape {pred.shape}); need N >= 1")
    return pred, target


def _check_unit_interval(loss: Loss, x: np.ndarray, name: str, hint: str) -> None:
    lo, hi = x.min(), x.max()
    if lo < 0 or hi > 1:
        raise ValueError(
            f"{type(loss).__name__}: {name} must lie in [0, 1], got values in "
            f"[{lo:.6g}, {hi:.6g}]{hint}"
        )


class MSELoss(Loss):
    """Mean squared error ``L = mean((pred - target)**2)``.

    Shapes: ``pred`` and ``target`` are ``(N,)`` or ``(N, C)``, the same shape; the mean runs
    over all ``N * C`` elements. ``backward()`` returns ``2 * (pred - target) / (N * C)``.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Return the mean squared error.

        Args:
            pred: predictions, shape ``(N,)`` or ``(N, C)``.
            target: targets, the same shape as ``pred``.

        Returns:
            The mean of ``(pred - target)**2``, a float.

        Raises:
            TypeError: non-numeric input.
            ValueError: NaN/inf, or ``pred`` and ``target`` of different shapes.
        """
        pred, target = _check_pair(self, pred, target)
        diff = pred - target
        self._cache = diff
        return float(np.mean(diff * diff))

    def backward(self) -> np.ndarray:
        """Return ``dL/dpred = 2 (pred - target) / size``, float64, the shape of ``pred``."""
        diff = self._require_cache()
        return diff * (2.0 / diff.size)


class MAELoss(Loss):
    """Mean absolute error ``L = mean(|pred - target|)`` (the L1 loss).

    Shapes: ``pred`` and ``target`` are ``(N,)`` or ``(N, C)``, the same shape; the mean runs
    over all ``N * C`` elements. ``|x|`` has no derivative at 0, so ``backward()`` returns the
    subgradient ``sign(pred - target) / (N * C)``, which is 0 where ``pred == target``
    (the same choice as PyTorch's ``L1Loss``).
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Return the mean absolute error.

        Args:
            pred: predictions, shape ``(N,)`` or ``(N, C)``.
            target: targets, the same shape as ``pred``.

        Returns:
            The mean of ``|pred - target|``, a float.

        Raises:
            TypeError: non-numeric input.
            ValueError: NaN/inf, or ``pred`` and ``target`` of different shapes.
        """
        pred, target = _check_pair(self, pred, target)
        diff = pred - target
        self._cache = diff
        return float(np.mean(np.abs(diff)))

    def backward(self) -> np.ndarray:
        """Return ``dL/dpred = sign(pred - target) / size`` (0 where they are equal)."""
        diff = self._require_cache()
        return np.sign(diff) / diff.size


class BCELoss(Loss):
    """Binary cross-entropy (log-loss) of probabilities.

    ``L = -mean(t * log(p) + (1 - t) * log(1 - p))`` for predicted probabilities ``p`` in
    ``[0, 1]`` (e.g. the output of a sigmoid) and targets ``t`` in ``[0, 1]`` (usually 0/1
    labels). ``log(0)`` is ``-inf``, so ``p`` is first clipped to ``[eps, 1 - eps]``: a
    confidently wrong prediction then costs at most ``-log(eps)`` (about 27.6 for the default
    ``eps=1e-12``) and the loss and its gradient stay finite. Prefer
    :class:`BCEWithLogitsLoss` on the logits: it needs no clipping at all.

    Args:
        eps: the clipping margin, ``0 < eps < 0.5``.

    Shapes: ``pred`` and ``target`` are ``(N,)`` or ``(N, C)``, the same shape. ``backward()``
    returns ``(p - t) / (p (1 - p)) / (N * C)`` with the clipped ``p``.
    """

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
            raise TypeError(f"eps must be a number, got {describe(eps)} {eps!r}")
        if not 0 < eps < 0.5:
            raise ValueError(f"eps must lie in (0, 0.5), got {eps!r}")
        self.eps = float(eps)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Return the mean binary cross-entropy.

        Args:
            pred: predicted probabilities in ``[0, 1]``, shape ``(N,)`` or ``(N, C)``.
            target: target probabilities in ``[0, 1]`` (usually 0/1 labels), same shape.

        Returns:
            The mean log-loss, a float.

        Raises:
            TypeError: non-numeric input.
            ValueError: NaN/inf, values outside ``[0, 1]``, or different shapes.
        """
        pred, target = _check_pair(self, pred, target)
        _check_unit_interval(
            self, pred, "pred (probabilities)", "; if pred are logits, use BCEWithLogitsLoss"
        )
        _check_unit_interval(self, target, "target", "")
        p = np.clip(pred, self.eps, 1.0 - self.eps)
        self._cache = (p, target)
        return float(-np.mean(target * np.log(p) + (1.0 - target) * np.log1p(-p)))

    def backward(self) -> np.ndarray:
        """Return ``dL/dpred = (p - t) / (p (1 - p)) / size``, float64, shape of ``pred``."""
        p, target = self._require_cache()
        return (p - target) / (p * (1.0 - p) * p.size)

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}"


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy of logits: a sigmoid and :class:`BCELoss` fused, stably.

    With ``p = sigmoid(z)``, ``-log(p) = log(1 + e^-z)`` overflows for large negative ``z``.
    The stable form (the log-sigmoid trick, ``-log sigmoid(z) = log(1 + e^-|z|) - min(0, z)``)
    gives, for a target ``t``::

        loss(z, t) = max(z, 0) - z * t + log(1 + e^-|z|)

    where ``e^-|z|`` never exceeds 1, so nothing overflows; ``loss(-1000, 1)`` is exactly 1000
    and ``loss(1000, 1)`` is 0. The gradient is simply ``sigmoid(z) - t`` (divided by the
    number of elements), with a sigmoid that is itself stable.

    Shapes: ``pred`` (the logits ``z``) and ``target`` are ``(N,)`` or ``(N, C)``, the same
    shape; the mean runs over all elements.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Return the mean binary cross-entropy of ``sigmoid(pred)`` against ``target``.

        Args:
            pred: logits (any real numbers), shape ``(N,)`` or ``(N, C)``.
            target: target probabilities in ``[0, 1]`` (usually 0/1 labels), same shape.

        Returns:
            The mean log-loss, a float.

        Raises:
            TypeError: non-numeric input.
            ValueError: NaN/inf, targets outside ``[0, 1]``, or different shapes.
        """
        z, target = _check_pair(self, pred, target)
        _check_unit_interval(self, target, "target", "")
        self._cache = (z, target)
        losses = np.maximum(z, 0.0) - z * target + np.log1p(np.exp(-np.abs(z)))
        return float(np.mean(losses))

    def backward(self) -> np.ndarray:
        """Return ``dL/dpred = (sigmoid(z) - t) / size``, float64, the shape of ``pred``."""
        z, target = self._require_cache()
        return (sigmoid(z) - target) / z.size


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy of logits, averaged over the batch.

    ``L = -(1/N) sum_n sum_c T[n, c] * log softmax(Z)[n, c]`` where ``T`` is the one-hot
    encoding of integer labels (or given probabilities). ``log softmax`` is computed stably
    (shift by the row maximum), so logits of +-1000 give finite, exact losses. The gradient
    is ``(softmax(Z) - T) / N``.

    Shapes:
        ``pred``: logits ``Z`` of shape ``(N, C)``.
        ``target``: integer class labels of shape ``(N,)`` with values in ``[0, C)`` (an
        integer dtype, or floats holding whole numbers), or one-hot / probability rows of
        shape ``(N, C)``, each in ``[0, 1]`` and summing to 1.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """Return the mean cross-entropy of ``softmax(pred)`` against ``target``.

        Args:
            pred: logits, shape ``(N, C)``.
            target: labels ``(N,)`` in ``[0, C)``, or probabilities ``(N, C)``.

        Returns:
            The mean cross-entropy, a float.

        Raises:
            TypeError: non-numeric input or labels that are not whole numbers.
            ValueError: NaN/inf, wrong shapes, labels out of range, rows not summing to 1.
        """
        z = as_array(pred, "pred", ndim=2, finite=True, dtype=np.float64)
        n, c = z.shape
        if n == 0 or c == 0:
            raise ValueError(f"CrossEntropyLoss: pred (logits) is empty, shape {z.shape}")
        T = self._target_matrix(target, n, c)
        log_p = log_softmax(z, axis=1)
        self._cache = (z, T)
        return float(-np.sum(T * log_p) / n)

    def backward(self) -> np.ndarray:
        """Return ``dL/dpred = (softmax(Z) - T) / N``, float64, shape ``(N, C)``."""
        z, T = self._require_cache()
        return (softmax(z, axis=1) - T) / z.shape[0]

    @staticmethod
    def _target_matrix(target: object, n: int, c: int) -> np.ndarray:
        """Validate ``target`` and return it as an ``(N, C)`` float64 matrix of probabilities."""
        raw = target if isinstance(target, np.ndarray) else np.asarray(target)
        if raw.ndim == 2 and raw.shape == (n, 1) and c != 1:
            raise ValueError(
                f"CrossEntropyLoss: target has shape {raw.shape}, a column; pass integer labels "
                f"as a 1-D array of shape ({n},) (target.ravel()) or one-hot rows of shape "
                f"({n}, {c})"
            )
        if raw.ndim == 2:
            T = as_array(raw, "target", finite=True, dtype=np.float64)
            if T.shape != (n, c):
                raise ValueError(
                    f"CrossEntropyLoss: one-hot or probability targets must have the shape of "
                    f"the logits ({n}, {c}), got shape {T.shape}"
                )
            lo, hi = T.min(), T.max()
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"CrossEntropyLoss: target rows must be one-hot or probabilities in [0, 1], "
                    f"got values in [{lo:.6g}, {hi:.6g}]"
                )
            sums = T.sum(axis=1)
            bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
            if bad.size:
                raise ValueError(
                    f"CrossEntropyLoss: each target row must sum to 1 (one-hot or "
                    f"probabilities), but {bad.size} row(s) do not, first row {bad[0]} sums to "
                    f"{sums[bad[0]]:.6g}"
                )
            return T
        if raw.ndim != 1:
            raise ValueError(
                f"CrossEntropyLoss: target must be integer labels of shape ({n},) or one-hot "
                f"rows of shape ({n}, {c}), got {describe(raw)}"
            )
        if raw.shape[0] != n:
            raise ValueError(
                f"CrossEntropyLoss: pred has {n} rows but target has {raw.shape[0]} labels; "
                f"expected labels of shape ({n},)"
            )
        return one_hot(_check_labels(raw, c), c).astype(np.float64, copy=False)


def _check_labels(labels: np.ndarray, c: int) -> np.ndarray:
    """Return 1-D integer labels in ``[0, c)`` as int64, or raise naming expected vs got."""
    kind = labels.dtype.kind
    if kind == "f":
        if not np.isfinite(labels).all():
            raise ValueError("CrossEntropyLoss: target labels contain NaN or inf")
        fractional = labels[labels != np.round(labels)]
        if fractional.size:
            raise TypeError(
                "CrossEntropyLoss: target labels must be whole numbers (class indices), got "
                f"non-integral floats such as {float(fractional[0])!r}; for probabilities pass "
                "an (N, C) array"
            )
    elif kind not in "iu":
        raise TypeError(
            f"CrossEntropyLoss: target labels must be integers, got dtype {labels.dtype}"
        )
    if labels.size:
        lo, hi = labels.min(), labels.max()
        if lo < 0 or hi >= c:
            raise ValueError(
                f"CrossEntropyLoss: target labels must lie in [0, {c}) for logits with C={c} "
                f"classes, got labels from {lo:g} to {hi:g}"
            )
    return labels.astype(np.int64, copy=False)
