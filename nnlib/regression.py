"""Linear and logistic regression: the two models every neural network generalises.

A linear model predicts ``y_hat = X @ w + b``. :class:`LinearRegression` fits it to real
targets, either in closed form (the normal equation, least squares) or by gradient descent on
the mean squared or mean absolute error. :class:`LogisticRegression` squashes the same score
through a sigmoid to get a probability and minimises the mean log-loss by gradient descent; it
is a one-neuron network with a sigmoid output.

The loss helpers (:func:`mse`, :func:`mae`, their gradients and :func:`log_loss`) are
function-style shortcuts over the loss classes of :mod:`nnlib.losses`, so both spellings give
the same numbers. Conventions: ``N`` samples, ``D`` features, ``K`` regression targets.
"""

from __future__ import annotations

import warnings

import numpy as np

from nnlib._validation import as_array, check_choice, check_positive
from nnlib.functional import log_sigmoid, sigmoid
from nnlib.losses import BCELoss, BCEWithLogitsLoss, MAELoss, MSELoss
from nnlib.perceptron import _check_binary_labels, _check_int

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "log_loss",
    "mae",
    "mae_grad",
    "mse",
    "mse_grad",
    "normal_equation",
]


# --- losses as functions ----------------------------------------------------------------------
def mse(y_hat: object, y: object) -> float:
    """Mean squared error ``mean((y_hat - y)**2)`` over all elements.

    Args:
        y_hat: predictions of shape ``(N,)`` or ``(N, K)``.
        y: targets of the same shape.

    Returns:
        The loss, a float.

    Raises:
        ValueError: different shapes or NaN/inf.
    """
    return MSELoss()(y_hat, y)


def mse_grad(y_hat: object, y: object) -> np.ndarray:
    """Gradient of :func:`mse` with respect to ``y_hat``: ``2 (y_hat - y) / size``.

    Args:
        y_hat: predictions of shape ``(N,)`` or ``(N, K)``.
        y: targets of the same shape.

    Returns:
        float64 array of the shape of ``y_hat``.
    """
    loss = MSELoss()
    loss(y_hat, y)
    return loss.backward()


def mae(y_hat: object, y: object) -> float:
    """Mean absolute error ``mean(|y_hat - y|)`` over all elements.

    Args:
        y_hat: predictions of shape ``(N,)`` or ``(N, K)``.
        y: targets of the same shape.

    Returns:
        The loss, a float.

    Raises:
        ValueError: different shapes or NaN/inf.
    """
    return MAELoss()(y_hat, y)


def mae_grad(y_hat: object, y: object) -> np.ndarray:
    """A subgradient of :func:`mae` with respect to ``y_hat``: ``sign(y_hat - y) / size``.

    ``|r|`` has no derivative at ``r = 0``; any value in ``[-1, 1]`` is a subgradient there and
    this picks 0.

    Args:
        y_hat: predictions of shape ``(N,)`` or ``(N, K)``.
        y: targets of the same shape.

    Returns:
        float64 array of the shape of ``y_hat``.
    """
    loss = MAELoss()
    loss(y_hat, y)
    return loss.backward()


def log_loss(y_hat: object, y: object, *, from_logits: bool = False) -> float:
    """Mean binary log-loss (cross-entropy) ``-mean(y log p + (1 - y) log(1 - p))``.

    Args:
        y_hat: predicted probabilities ``p`` in [0, 1] of shape ``(N,)`` (clipped to
            ``[1e-12, 1 - 1e-12]`` so that a confidently wrong answer costs about 27.6, not
            infinity), or logits ``z`` when ``from_logits`` is true.
        y: targets in [0, 1] (usually 0/1 labels) of the same shape.
        from_logits: ``y_hat`` holds logits ``z`` with ``p = sigmoid(z)``; the loss is then
            computed without ever forming ``p`` (the log-sigmoid trick), exact even for
            ``z = +-1000``. Prefer it.

    Returns:
        The loss, a float.

    Raises:
        ValueError: different shapes, NaN/inf, or probabilities/targets outside [0, 1].
    """
    loss = BCEWithLogitsLoss() if from_logits else BCELoss()
    return loss(y_hat, y)


# --- linear regression ------------------------------------------------------------------------
def _design_matrix(X: object) -> np.ndarray:
    X = np.asarray(as_array(X, "X", ndim=2, finite=True), dtype=np.float64)
    if X.shape[0] == 0:
        raise ValueError("X must have at least one row (sample), got shape (0, D)")
    return X


def _targets(y: object, n_rows: int) -> np.ndarray:
    y = np.asarray(as_array(y, "y", ndim=(1, 2), finite=True), dtype=np.float64)
    if y.shape[0] != n_rows:
        raise ValueError(
            f"X and y must have the same number of rows (samples), got {n_rows} and {y.shape[0]}"
        )
    return y


def normal_equation(X: object, y: object) -> np.ndarray:
    """Least-squares weights ``w`` minimising ``||X w - y||^2``, i.e. solving the normal
    equation ``X^T X w = X^T y``.

    There is no intercept: to fit one, add a column of ones to ``X`` (its weight is the
    intercept). The textbook formula ``w = (X^T X)^-1 X^T y`` squares the condition number of
    ``X`` and fails when ``X^T X`` is singular, so this uses ``np.linalg.lstsq`` (an SVD)
    instead, which solves the same equation accurately and, when the columns of ``X`` are
    linearly dependent, returns the solution of smallest norm (with a warning).

    Args:
        X: finite array of shape ``(N, D)``.
        y: finite targets of shape ``(N,)`` or ``(N, K)``.

    Returns:
        float64 weights of shape ``(D,)`` or ``(D, K)``.

    Raises:
        ValueError: wrong shapes, different numbers of rows, or NaN/inf.

    Warns:
        UserWarning: ``X^T X`` is singular (rank of ``X`` below ``D``).
    """
    X = _design_matrix(X)
    y = _targets(y, X.shape[0])
    w, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    if rank < X.shape[1]:
        warnings.warn(
            f"X^T X is singular: X has rank {rank} but D={X.shape[1]} columns (duplicated or "
            "linearly dependent features, or fewer samples than features), so the least-squares "
            "solution is not unique; returning the one with the smallest norm",
            UserWarning,
            stacklevel=2,
        )
    return w


class LinearRegression:
    """Linear regression ``y_hat = X @ coef_ + intercept_``.

    Args:
        method: ``"normal"`` solves the normal equation in one step (least squares, see
            :func:`normal_equation`); ``"gd"`` runs full-batch gradient descent.
        lr: learning rate of gradient descent, > 0 (ignored by ``"normal"``).
        epochs: number of gradient steps, an int >= 1 (ignored by ``"normal"``).
        seed: seed of the small random initial weights of ``"gd"``.
        loss: ``"mse"`` (mean squared error) or ``"mae"`` (mean absolute error, minimised by
            subgradient descent; ``"gd"`` only, as MAE has no closed-form solution).

    Attributes:
        coef_: float64 weights of shape ``(D,)`` (or ``(D, K)`` for targets of shape
            ``(N, K)``).
        intercept_: float (or an array of shape ``(K,)``).
        loss_history_: for ``"gd"``, the training loss before each of the ``epochs`` steps
            (a list of floats); None for ``"normal"``.

    Raises:
        ValueError: unknown ``method`` or ``loss``, or ``method="normal"`` with ``loss="mae"``.

    Example:
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> LinearRegression().fit(X, 3 * X[:, 0] + 1).coef_
        array([3.])
    """

    def __init__(
        self,
        method: str = "normal",
        lr: float = 0.01,
        epochs: int = 1000,
        seed: int | None = None,
        loss: str = "mse",
    ) -> None:
        self.method = check_choice("method", method, ("normal", "gd"))
        self.loss = check_choice("loss", loss, ("mse", "mae"))
        if method == "normal" and loss == "mae":
            raise ValueError(
                "method='normal' needs loss='mse': the normal equation is where the gradient "
                "of the squared error vanishes, but MAE has no closed-form solution (|r| is "
                "not differentiable at 0); use method='gd' with loss='mae'"
            )
        self.lr = check_positive("lr", lr)
        self.epochs = _check_int("epochs", epochs)
        self.seed = seed

    def fit(self, X: object, y: object) -> LinearRegression:
        """Fit ``coef_`` and ``intercept_`` to the data.

        Args:
            X: finite array of shape ``(N, D)``.
            y: finite targets of shape ``(N,)`` or ``(N, K)``.

        Returns:
            ``self``.

        Raises:
            ValueError: wrong shapes, different numbers of rows, or NaN/inf.
            FloatingPointError: gradient descent diverged (the learning rate is too large).
        """
        X = _design_matrix(X)
        y = _targets(y, X.shape[0])
        if self.method == "normal":
            ones = np.ones((X.shape[0], 1))
            theta = normal_equation(np.hstack([X, ones]), y)
            self.coef_, self.intercept_ = theta[:-1], theta[-1]
            self.loss_history_ = None
        else:
            self._fit_gd(X, y)
        if np.ndim(self.intercept_) == 0:
            self.intercept_ = float(self.intercept_)
        return self

    def _fit_gd(self, X: np.ndarray, y: np.ndarray) -> None:
        loss_fn, grad_fn = (mse, mse_grad) if self.loss == "mse" else (mae, mae_grad)
        rng = np.random.default_rng(self.seed)
        w = 0.01 * rng.standard_normal((X.shape[1], *y.shape[1:]))
        b = np.zeros(y.shape[1:])
        self.loss_history_: list[float] | None = []
        for epoch in range(self.epochs):
            with np.errstate(over="ignore", invalid="ignore"):
                y_hat = X @ w + b
                loss = loss_fn(y_hat, y) if np.isfinite(y_hat).all() else np.inf
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"gradient descent diverged at epoch {epoch}: the loss overflowed to "
                    f"infinity; lower lr (got {self.lr}) or standardise the features of X"
                )
            self.loss_history_.append(loss)
            g = grad_fn(y_hat, y)  # dL/dy_hat, shape of y
            w -= self.lr * (X.T @ g)
            b -= self.lr * g.sum(axis=0)
        self.coef_, self.intercept_ = w, b

    def predict(self, X: object) -> np.ndarray:
        """Predict ``X @ coef_ + intercept_``.

        Args:
            X: array of shape ``(N, D)``.

        Returns:
            float64 array of shape ``(N,)`` (or ``(N, K)``).

        Raises:
            RuntimeError: called before :meth:`fit`.
            ValueError: ``X`` does not have ``D`` columns.
        """
        if not hasattr(self, "coef_"):
            raise RuntimeError("This LinearRegression is not fitted yet: call fit(X, y) first")
        X = as_array(X, "X", ndim=2, shape=(None, self.coef_.shape[0]))
        return X @ self.coef_ + self.intercept_

    def __repr__(self) -> str:
        return (
            f"LinearRegression(method={self.method!r}, lr={self.lr}, epochs={self.epochs}, "
            f"seed={self.seed}, loss={self.loss!r})"
        )


# --- logistic regression ----------------------------------------------------------------------
class LogisticRegression:
    """Binary logistic regression ``p(y = 1 | x) = sigmoid(x . w + b)``.

    Trained by full-batch gradient descent on the mean log-loss plus an optional L2 penalty
    on the weights (not on the bias)::

        L(w, b) = -mean(y log p + (1 - y) log(1 - p)) + (l2 / 2) ||w||^2

    The loss is computed from the logits with ``log_sigmoid`` (never ``log(sigmoid(z))``,
    which is ``log(0) = -inf`` for ``z = -1000``), and its gradient is
    ``dL/dw = X^T (p - y) / N + l2 w``, ``dL/db = mean(p - y)``.

    Args:
        lr: learning rate, > 0.
        epochs: number of gradient steps, an int >= 1.
        l2: L2 penalty strength, >= 0 (the ``lambda`` of weight decay).
        seed: seed of the small random initial weights.

    Attributes:
        coef_: float64 weights of shape ``(D,)``.
        intercept_: float.
        loss_history_: the training loss before each of the ``epochs`` steps (list of floats).
    """

    def __init__(
        self, lr: float = 0.1, epochs: int = 1000, l2: float = 0.0, seed: int | None = None
    ) -> None:
        self.lr = check_positive("lr", lr)
        self.epochs = _check_int("epochs", epochs)
        self.l2 = check_positive("l2", l2, allow_zero=True)
        self.seed = seed

    def _loss_and_gradient(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float
    ) -> tuple[float, np.ndarray, float]:
        z = X @ w + b
        # log(1 - sigmoid(z)) = log_sigmoid(-z): both logs stay finite for any z.
        data_loss = -np.mean(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z))
        loss = float(data_loss + 0.5 * self.l2 * (w @ w))
        residual = (sigmoid(z) - y) / X.shape[0]  # dL/dz
        return loss, X.T @ residual + self.l2 * w, float(residual.sum())

    def loss_and_gradient(
        self, X: object, y: object, weights: object, bias: float
    ) -> tuple[float, np.ndarray, float]:
        """The training objective and its gradient at given parameters.

        Args:
            X: finite array of shape ``(N, D)``.
            y: labels of shape ``(N,)``, each 0 or 1.
            weights: array of shape ``(D,)``.
            bias: a number.

        Returns:
            ``(loss, grad_weights, grad_bias)``: a float, an array of shape ``(D,)``, a float.

        Raises:
            ValueError: wrong shapes, NaN/inf, or labels other than 0 and 1.
        """
        X = _design_matrix(X)
        y = _check_binary_labels(y, X.shape[0])
        w = as_array(weights, "weights", shape=(X.shape[1],), finite=True, dtype=np.float64)
        b = float(as_array(bias, "bias", ndim=0, finite=True))
        return self._loss_and_gradient(X, y, w, b)

    def fit(self, X: object, y: object) -> LogisticRegression:
        """Fit ``coef_`` and ``intercept_`` by gradient descent.

        Args:
            X: finite array of shape ``(N, D)``.
            y: labels of shape ``(N,)``, each 0 or 1.

        Returns:
            ``self``.

        Raises:
            ValueError: wrong shapes, NaN/inf, or labels other than 0 and 1.
        """
        X = _design_matrix(X)
        y = _check_binary_labels(y, X.shape[0])
        rng = np.random.default_rng(self.seed)
        w = 0.01 * rng.standard_normal(X.shape[1])
        b = 0.0
        self.loss_history_: list[float] = []
        for _ in range(self.epochs):
            loss, grad_w, grad_b = self._loss_and_gradient(X, y, w, b)
            self.loss_history_.append(loss)
            w -= self.lr * grad_w
            b -= self.lr * grad_b
        self.coef_, self.intercept_ = w, b
        return self

    def decision_function(self, X: object) -> np.ndarray:
        """The logits ``z = X @ coef_ + intercept_``.

        Args:
            X: array of shape ``(N, D)``.

        Returns:
            float64 array of shape ``(N,)``.

        Raises:
            RuntimeError: called before :meth:`fit`.
            ValueError: ``X`` does not have ``D`` columns.
        """
        if not hasattr(self, "coef_"):
            raise RuntimeError("This LogisticRegression is not fitted yet: call fit(X, y) first")
        X = as_array(X, "X", ndim=2, shape=(None, self.coef_.shape[0]))
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X: object) -> np.ndarray:
        """Probability of class 1, ``sigmoid(z)``.

        Args:
            X: array of shape ``(N, D)``.

        Returns:
            float64 array of shape ``(N,)`` with values in [0, 1] (one column, unlike
            scikit-learn's ``(N, 2)``: the probability of class 0 is ``1 - p``).
        """
        return np.asarray(sigmoid(self.decision_function(X)))

    def predict(self, X: object) -> np.ndarray:
        """Predicted labels: 1 where ``p > 1/2`` (equivalently ``z > 0``), else 0.

        Args:
            X: array of shape ``(N, D)``.

        Returns:
            int64 array of shape ``(N,)``.
        """
        return (self.decision_function(X) > 0).astype(np.int64)

    def score(self, X: object, y: object) -> float:
        """Accuracy of :meth:`predict` against labels ``y`` of shape ``(N,)``."""
        y_hat = self.predict(X)
        return float(np.mean(y_hat == _check_binary_labels(y, y_hat.shape[0])))

    def __repr__(self) -> str:
        return (
            f"LogisticRegression(lr={self.lr}, epochs={self.epochs}, l2={self.l2}, "
            f"seed={self.seed})"
        )
