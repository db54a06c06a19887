"""Rosenblatt's perceptron (1958): a threshold neuron that learns its weights from mistakes.

For each example in turn the perceptron predicts ``y_hat = [w . x + b > 0]`` and nudges its
weights by

    w <- w + lr * (y - y_hat) * x,        b <- b + lr * (y - y_hat)

which changes nothing when the prediction is right. If the two classes can be separated by a
line (a hyperplane in D dimensions) this stops after finitely many mistakes (Novikoff's
convergence theorem); on XOR it never stops, which is why :class:`Perceptron` reports whether
it converged instead of failing silently.
"""

from __future__ import annotations

import warnings

import numpy as np

from nnlib._validation import as_array, check_positive, describe

__all__ = ["ConvergenceWarning", "Perceptron"]


class ConvergenceWarning(UserWarning):
    """A learning algorithm stopped at its iteration limit without converging."""


def _check_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {describe(value)} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def _check_binary_labels(y: object, n_rows: int, name: str = "y") -> np.ndarray:
    """Return ``y`` as an int64 array of shape ``(N,)`` holding only 0 and 1, or raise."""
    y_arr = as_array(y, name)
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr[:, 0]  # a column vector of labels is a common, harmless slip
    if y_arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of shape (N,), got a {y_arr.ndim}-D array of shape "
            f"{y_arr.shape}"
        )
    if y_arr.shape[0] != n_rows:
        raise ValueError(
            f"X and {name} must have the same number of rows (samples), got {n_rows} and "
            f"{y_arr.shape[0]}"
        )
    is_label = (y_arr == 0) | (y_arr == 1)
    if not is_label.all():
        bad = np.unique(y_arr[~is_label])
        shown = ", ".join(repr(v) for v in bad[:10].tolist())
        hint = " (for -1/+1 labels use (y + 1) // 2)" if set(bad.tolist()) <= {-1.0} else ""
        raise ValueError(
            f"{name} must contain only the labels 0 and 1, got also the values [{shown}]{hint}"
        )
    return y_arr.astype(np.int64)


class Perceptron:
    """Binary perceptron trained with Rosenblatt's rule, one example at a time.

    Weights and bias start at zero. Each epoch visits every example once (in a shuffled order
    when ``shuffle`` is true) and updates after each mistake. Training stops after the first
    epoch without a mistake (``converged_`` is then True) or after ``max_epochs``, in which case
    a :class:`ConvergenceWarning` says the data may not be linearly separable.

    Args:
        lr: learning rate, a number > 0. (With zero initial weights the learned boundary does
            not depend on it, only the scale of ``weights_`` and ``bias_`` does.)
        max_epochs: the most passes over the data, an int >= 1.
        seed: seed of the shuffling order (an int, or None for a fresh one each fit).
        shuffle: visit the examples in a new random order every epoch.

    Attributes:
        weights_: float64 array of shape ``(D,)``.
        bias_: float.
        errors_: list of ints, the number of mistakes (updates) in each epoch.
        converged_: True if some epoch made no mistake.
        n_epochs_: number of epochs run, ``len(errors_)``.
        history_: list of ``(weights, bias)`` snapshots, a copy of shape ``(D,)`` and a float:
            ``history_[0]`` is the initial state and ``history_[k]`` the state after epoch
            ``k``, so ``len(history_) == n_epochs_ + 1`` (one animation frame per epoch).

    Example:
        >>> X = [[0, 0], [0, 1], [1, 0], [1, 1]]
        >>> clf = Perceptron(seed=0).fit(X, [0, 0, 0, 1])
        >>> clf.predict(X), clf.converged_
        (array([0, 0, 0, 1]), True)
    """

    def __init__(
        self,
        lr: float = 1.0,
        max_epochs: int = 100,
        seed: int | None = None,
        shuffle: bool = True,
    ) -> None:
        self.lr = check_positive("lr", lr)
        self.max_epochs = _check_int("max_epochs", max_epochs)
        self.seed = seed
        self.shuffle = bool(shuffle)

    def fit(self, X: object, y: object) -> Perceptron:
        """Learn ``weights_`` and ``bias_`` from labelled examples.

        Args:
            X: finite array of shape ``(N, D)``.
            y: labels of shape ``(N,)``, each 0 or 1.

        Returns:
            ``self``, so that ``Perceptron().fit(X, y).predict(X)`` works.

        Raises:
            ValueError: ``X`` is not 2-D or holds NaN/inf; ``y`` has another number of rows or
                labels other than 0 and 1.
            TypeError: ``X`` or ``y`` is not numeric.

        Warns:
            ConvergenceWarning: no epoch was free of mistakes within ``max_epochs``.
        """
        X = np.asarray(as_array(X, "X", ndim=2, finite=True), dtype=np.float64)
        y = _check_binary_labels(y, X.shape[0])
        n, d = X.shape
        rng = np.random.default_rng(self.seed)

        w = np.zeros(d)
        b = 0.0
        self.errors_: list[int] = []
        self.history_: list[tuple[np.ndarray, float]] = [(w.copy(), b)]
        self.converged_ = False
        for _ in range(self.max_epochs):
            order = rng.permutation(n) if self.shuffle else range(n)
            mistakes = 0
            for i in order:
                y_hat = 1 if X[i] @ w + b > 0 else 0
                update = self.lr * (y[i] - y_hat)
                if update:
                    w += update * X[i]
                    b += update
                    mistakes += 1
            self.errors_.append(mistakes)
            self.history_.append((w.copy(), b))
            if mistakes == 0:
                self.converged_ = True
                break
        self.weights_ = w
        self.bias_ = b
        self.n_epochs_ = len(self.errors_)
        if not self.converged_:
            warnings.warn(
                f"Perceptron did not converge in max_epochs={self.max_epochs} epochs "
                f"({self.errors_[-1]} mistakes in the last one): the data may not be linearly "
                "separable (a perceptron cannot learn XOR), or it needs more epochs",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _check_fitted_input(self, X: object) -> np.ndarray:
        if not hasattr(self, "weights_"):
            raise RuntimeError(
                "This Perceptron is not fitted yet: call fit(X, y) before predict or "
                "decision_function"
            )
        d = self.weights_.shape[0]
        return as_array(X, "X", ndim=2, shape=(None, d))

    def decision_function(self, X: object) -> np.ndarray:
        """Signed score ``X @ weights_ + bias_``; positive means class 1.

        Args:
            X: array of shape ``(N, D)``.

        Returns:
            float array of shape ``(N,)``.

        Raises:
            RuntimeError: called before :meth:`fit`.
            ValueError: ``X`` does not have shape ``(N, D)``.
        """
        X = self._check_fitted_input(X)
        return X @ self.weights_ + self.bias_

    def predict(self, X: object) -> np.ndarray:
        """Predicted labels ``[X @ weights_ + bias_ > 0]``.

        Args:
            X: array of shape ``(N, D)``.

        Returns:
            int64 array of shape ``(N,)`` with values 0 and 1.

        Raises:
            RuntimeError: called before :meth:`fit`.
            ValueError: ``X`` does not have shape ``(N, D)``.
        """
        return (self.decision_function(X) > 0).astype(np.int64)

    def score(self, X: object, y: object) -> float:
        """Accuracy: the fraction of rows of ``X`` whose predicted label equals ``y``.

        Args:
            X: array of shape ``(N, D)``.
            y: labels of shape ``(N,)``, each 0 or 1.

        Returns:
            float in [0, 1].
        """
        y_hat = self.predict(X)
        y = _check_binary_labels(y, y_hat.shape[0])
        return float(np.mean(y_hat == y))

    def __repr__(self) -> str:
        return (
            f"Perceptron(lr={self.lr}, max_epochs={self.max_epochs}, seed={self.seed}, "
            f"shuffle={self.shuffle})"
        )
