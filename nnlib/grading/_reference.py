"""Reference answers for the exercises that nnlib has no public function for.

Everything here is forbidden while a student's code runs (see :mod:`nnlib.grading._guard`):
it exists to grade, not to be called from a solution.
"""

from __future__ import annotations

import numpy as np

from nnlib.functional import sigmoid


def linear_gd(X: np.ndarray, y: np.ndarray, lr: float, num_epochs: int) -> np.ndarray:
    """Full-batch gradient descent on the MSE ``mean((X w - y)^2)`` from ``w = 0``."""
    w = np.zeros(X.shape[1])
    for _ in range(num_epochs):
        w = w - lr * (2.0 / X.shape[0]) * (X.T @ (X @ w - y))
    return w


def logistic_gd(
    X: np.ndarray, y: np.ndarray, lr: float, num_epochs: int
) -> tuple[np.ndarray, float]:
    """Full-batch gradient descent on the mean log-loss of ``sigmoid(X w + b)`` from zero."""
    w = np.zeros(X.shape[1])
    b = 0.0
    for _ in range(num_epochs):
        g = (sigmoid(X @ w + b) - y) / X.shape[0]
        w = w - lr * (X.T @ g)
        b = b - lr * float(np.sum(g))
    return w, b


def log_loss_from_logits(z: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of logits, stable: ``max(z, 0) - z y + log(1 + e^-|z|)``."""
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))
