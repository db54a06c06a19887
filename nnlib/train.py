"""A training loop: minibatches, shuffling, validation, metrics and a progress bar.

:func:`fit` runs the four-line training step of :mod:`nnlib.optim` over minibatches for a
number of epochs and records, per epoch, what Keras records in ``History.history``::

    net = MLP([2, 16, 1], activation="tanh", seed=0)
    history = fit(net, BCEWithLogitsLoss(), Adam(net.parameters(), lr=0.01), X, y, epochs=200)
    history["loss"][-1], history["accuracy"][-1]

Shapes: ``X`` is ``(N, D)``; ``y`` is whatever the loss takes as its target (``(N, 1)``
for a single sigmoid output, ``(N,)`` integer labels or ``(N, C)`` one-hot rows for
:class:`~nnlib.losses.CrossEntropyLoss`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

import numpy as np

from nnlib._validation import as_array, check_same_batch, describe
from nnlib.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss
from nnlib.modules import Linear, Module, Sequential
from nnlib.optim import Optimizer

__all__ = ["History", "accuracy", "confusion_matrix", "evaluate", "fit"]

# With progress=None the bar appears only in an interactive session, and only once the run
# has lasted this many seconds: short runs (and every test) stay silent.
PROGRESS_DELAY = 2.0


class History:
    """What :func:`fit` measured, one value per epoch (like Keras' ``History``).

    Attributes:
        history: ``dict[str, list[float]]`` with the key ``"loss"`` and, when measured,
            ``"accuracy"``, ``"val_loss"`` and ``"val_accuracy"``; each list has one value per
            epoch.

    ``len(history)`` is the number of epochs run and ``history["loss"]`` is
    ``history.history["loss"]``.

    Args:
        keys: the names to record, in order (``fit`` chooses them).
    """

    def __init__(self, keys: Sequence[str] = ("loss",)) -> None:
        self.history: dict[str, list[float]] = {key: [] for key in keys}

    def __len__(self) -> int:
        return len(self.history.get("loss", []))

    def __getitem__(self, key: str) -> list[float]:
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(
                f"History has no {key!r}; recorded: {', '.join(map(repr, self.history))}"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def _record(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.history[key].append(float(value))

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={len(self)}, keys={list(self.history)}" + (
            f", last: {last})" if last else ")"
        )


def accuracy(output: object, y: object, *, threshold: float | None = None) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Two readings of ``output``:

    * ``threshold=None``: multi-class scores (logits or probabilities) of shape ``(N, C)``,
      ``C >= 2``; the prediction is the row's argmax. ``y`` holds labels ``(N,)`` or one-hot
      rows ``(N, C)``.
    * ``threshold`` given: binary (or multi-label) outputs; the prediction is
      ``output > threshold``: use ``threshold=0.0`` for logits and ``0.5`` for probabilities.
      ``y`` holds 0/1 labels of the same shape (``(N,)`` and ``(N, 1)`` are interchangeable
      here); with several outputs every element counts.

    Args:
        output: model outputs, ``(N, C)``, ``(N, 1)`` or ``(N,)``.
        y: true labels as described above.
        threshold: decision threshold for binary outputs, or ``None`` for argmax.

    Returns:
        The accuracy, a float in ``[0, 1]``.

    Raises:
        ValueError: shapes that do not fit together, or a single output column without a
            threshold.
    """
    out = as_array(output, "output", ndim=(1, 2))
    target = np.asarray(y)
    if threshold is not None:
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if target.ndim == 2 and target.shape[1] == 1:
            target = target[:, 0]
        if out.shape != target.shape:
            raise ValueError(
                f"accuracy: output and y must have the same shape, got output of shape "
                f"{np.shape(output)} and y of shape {np.shape(y)}"
            )
        return float(np.mean((out > threshold) == (target > 0.5)))
    if out.ndim != 2 or out.shape[1] < 2:
        raise ValueError(
            f"accuracy: output of shape {np.shape(output)} has a single score per sample; pass "
            "threshold=0.0 for logits or threshold=0.5 for probabilities (argmax needs (N, C) "
            "scores with C >= 2)"
        )
    if target.shape == out.shape:
        target = target.argmax(axis=1)
    elif target.shape != out.shape[:1]:
        raise ValueError(
            f"accuracy: y must be labels of shape ({out.shape[0]},) or one-hot rows of shape "
            f"{out.shape}, got {describe(target)}"
        )
    return float(np.mean(out.argmax(axis=1) == target))


def confusion_matrix(y_true: object, y_pred: object, n_classes: int | None = None) -> np.ndarray:
    """Count how often each true class is predicted as each class.

    Args:
        y_true: true labels, integers in ``[0, C)``, shape ``(N,)``.
        y_pred: predicted labels, same shape (e.g. ``net(X).argmax(axis=1)``).
        n_classes: the number of classes C; ``max(label) + 1`` of both if None.

    Returns:
        An int64 array ``M`` of shape ``(C, C)``: ``M[i, j]`` is the number of samples of true
        class ``i`` predicted as ``j``. The diagonal holds the correct predictions, each row
        sums to the number of samples of its class, and ``trace(M) / N`` is the accuracy.

    Raises:
        ValueError: shapes differ or are not 1-D, labels are negative, not whole numbers, or
            not below ``n_classes``.
    """
    arrays = []
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        a = as_array(labels, name, ndim=1, finite=True)
        if np.any(a != np.round(a)) or np.any(a < 0):
            raise ValueError(
                f"confusion_matrix: {name} must hold class labels (whole numbers >= 0), got "
                f"values in [{a.min():g}, {a.max():g}]"
            )
        arrays.append(a.astype(np.int64))
    t, p = arrays
    if t.shape != p.shape:
        raise ValueError(
            f"confusion_matrix: y_true and y_pred must have the same shape, got {t.shape} and "
            f"{p.shape}"
        )
    top = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    c = top if n_classes is None else int(n_classes)
    if c < top:
        raise ValueError(f"confusion_matrix: n_classes={n_classes} but a label is {top - 1}")
    # Add 1 at (t[k], p[k]) for each sample. Not np.bincount: it casts its input to np.intp with
    # the "safe" rule, which refuses int64 labels where intp is 32-bit (Pyodide, in the browser).
    counts = np.zeros((c, c), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return counts


def _accuracy_threshold(loss: Loss) -> float | None:
    """The threshold :func:`accuracy` needs for this loss's outputs (``None``: argmax)."""
    if isinstance(loss, BCEWithLogitsLoss):
        return 0.0
    if isinstance(loss, BCELoss):
        return 0.5
    return None


def _is_classification(loss: Loss) -> bool:
    return isinstance(loss, (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss))


def _targets_are_labels(y: np.ndarray) -> bool:
    """True if ``y`` holds class labels (integers) or 0/1 rows, not soft probabilities."""
    if y.dtype.kind in "biu":
        return True
    return bool(np.all((y == 0) | (y == 1))) if y.ndim == 2 else bool(np.all(y == np.round(y)))


def _resolve_metrics(metrics: object, loss: Loss, y: np.ndarray) -> bool:
    """Return whether to measure accuracy, from ``metrics`` ("auto", a sequence, or None)."""
    if metrics is None:
        return False
    if isinstance(metrics, str):
        if metrics != "auto":
            raise ValueError(
                f"metrics must be 'auto', None or a sequence such as ('accuracy',), got {metrics!r}"
            )
        return _is_classification(loss) and _targets_are_labels(y)
    try:
        names = list(metrics)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"metrics must be 'auto', None or a sequence such as ('accuracy',), got "
            f"{describe(metrics)}"
        ) from None
    unknown = [m for m in names if m != "accuracy"]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; expected one of: 'accuracy'")
    if names and not _is_classification(loss):
        raise ValueError(
            "the 'accuracy' metric needs a classification loss (BCELoss, BCEWithLogitsLoss or "
            f"CrossEntropyLoss), got {type(loss).__name__}"
        )
    return bool(names)


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {describe(value)} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_data(X: object, y: object, name_X: str, name_y: str) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as a finite float (N, D) array and ``y`` as a finite numeric array with N rows.

    ``y`` keeps an integer dtype (class labels stay integers for the loss to check).
    """
    X = as_array(X, name_X, ndim=2, finite=True)
    y_arr = np.asarray(y)
    if y_arr.dtype.kind not in "biuf":
        raise TypeError(f"{name_y} must be a numeric array, got {describe(y)}")
    if y_arr.ndim not in (1, 2):
        raise ValueError(
            f"{name_y} must be a 1-D or 2-D array, got a {y_arr.ndim}-D array of shape "
            f"{y_arr.shape}"
        )
    if y_arr.dtype.kind == "f":
        y_arr = as_array(y_arr, name_y, finite=True)
    check_same_batch(X, y_arr, name_X, name_y)
    if X.shape[0] == 0:
        raise ValueError(f"{name_X} has no rows; need at least one sample")
    return X, y_arr


Metric = Callable[[np.ndarray, np.ndarray], float]


def _accuracy_metric(metrics: object, loss: Loss, y: np.ndarray) -> Metric | None:
    """The accuracy function to record for this loss and these targets, or ``None``."""
    if not _resolve_metrics(metrics, loss, y):
        return None
    threshold = _accuracy_threshold(loss)
    return lambda output, target: accuracy(output, target, threshold=threshold)


def _measure(
    model: Module, loss: Loss, X: np.ndarray, y: np.ndarray, metric: Metric | None
) -> dict[str, float]:
    """Loss (and accuracy) of one forward pass over the whole of ``X``."""
    out = model(X)
    values = {"loss": loss(out, y)}
    if metric is not None:
        values["accuracy"] = metric(out, y)
    return values


def evaluate(
    model: Module, loss: Loss, X: object, y: object, metrics: object = "auto"
) -> dict[str, float]:
    """Loss (and accuracy, for classification) of ``model`` on ``(X, y)`` in evaluation mode.

    The model's train/eval mode is restored afterwards.

    Args:
        model: the network.
        loss: the loss used in training.
        X: inputs, shape ``(N, D)``.
        y: targets, as the loss takes them.
        metrics: as in :func:`fit`.

    Returns:
        ``{"loss": float}`` plus ``"accuracy"`` when measured.

    Raises:
        TypeError, ValueError: as :func:`fit` for bad data.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnlib Module, got {describe(model)}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be an nnlib Loss (e.g. MSELoss()), got {describe(loss)}")
    X, y = _check_data(X, y, "X", "y")
    metric = _accuracy_metric(metrics, loss, y)
    was_training = model.training
    model.eval()
    try:
        return _measure(model, loss, X, y, metric)
    finally:
        model.train(was_training)


def _show_progress(progress: object) -> bool:
    """``True``/``False`` as given; ``None`` ("auto"): only in an interactive session
    (the Python prompt, a Jupyter kernel, or a terminal on stderr), and never while notebooks are
    executed into static pages (``NNLIB_WIDGETS_MODE=static``, set by the book's build), where a
    bar would be a stored widget that the page cannot show."""
    if progress is None:
        if os.environ.get("NNLIB_WIDGETS_MODE", "").strip().lower() == "static":
            return False
        ipython = sys.modules.get("IPython")  # imported by Jupyter kernels and the IPython shell
        if hasattr(sys, "ps1") or (ipython is not None and ipython.get_ipython() is not None):
            return True
        isatty = getattr(sys.stderr, "isatty", None)
        return bool(isatty and isatty())
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {describe(progress)}")
    return progress


def fit(
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    X: object,
    y: object,
    epochs: int = 100,
    batch_size: int = 32,
    validation: tuple[object, object] | None = None,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    progress: bool | None = None,
    metrics: object = "auto",
) -> History:
    """Train ``model`` on ``(X, y)`` with minibatch gradient descent.

    Each epoch visits every sample once, in a fresh random order (``shuffle=True``) drawn
    from ``np.random.default_rng(seed)``, in batches of ``batch_size`` (the last batch may be
    smaller). Each batch runs ``zero_grad -> forward -> loss -> backward -> step`` in training
    mode. After each epoch, in evaluation mode (dropout off), the training accuracy and the
    validation loss/accuracy are measured on the whole sets. The recorded ``"loss"`` is the
    mean of the batch losses weighted by batch size, i.e. the average training loss during
    the epoch. On return the model is left in evaluation mode.

    Args:
        model: the network, an :class:`~nnlib.modules.Module` (e.g. an ``MLP``).
        loss: a :class:`~nnlib.losses.Loss`; its target format decides ``y``'s.
        optimizer: an :class:`~nnlib.optim.Optimizer` over ``model.parameters()``.
        X: training inputs, shape ``(N, D)``.
        y: training targets, ``(N,)`` or ``(N, C)`` as the loss expects.
        epochs: number of passes over the data, a positive integer.
        batch_size: samples per gradient step, a positive integer (capped at ``N``).
        validation: optional ``(X_val, y_val)`` measured after every epoch.
        shuffle: reshuffle the samples every epoch.
        seed: seed of the shuffling (an int, or a ``np.random.Generator`` to continue its
            stream, e.g. to train one epoch per call); the same seed (and the same initial
            model) gives the same history.
        progress: ``True`` shows a tqdm progress bar, ``False`` never does; ``None`` shows
            one only in an interactive session (terminal or notebook) and only once the run
            has lasted ``PROGRESS_DELAY`` seconds, so short runs stay quiet (never while
            notebooks are executed into static pages: ``NNLIB_WIDGETS_MODE=static``).
        metrics: ``"auto"`` measures accuracy for a classification loss whose targets are
            labels (0/1, integer or one-hot); ``("accuracy",)`` forces it; ``None`` or ``()``
            records the losses only.

    Returns:
        A :class:`History` with ``"loss"`` and, when measured, ``"accuracy"``,
        ``"val_loss"`` and ``"val_accuracy"``, one value per epoch.

    Raises:
        TypeError: wrong kind of model, loss, optimizer or non-numeric data.
        ValueError: NaN/inf in the data, different row counts, bad epochs/batch_size/
            validation, or an optimizer that updates none of the model's parameters.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnlib Module (e.g. an MLP), got {describe(model)}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be an nnlib Loss (e.g. MSELoss()), got {describe(loss)}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be an nnlib Optimizer (e.g. SGD(model.parameters(), lr=0.1)), got "
            f"{describe(optimizer)}"
        )
    model_params = {id(p) for p in model.parameters()}
    if not any(id(p) in model_params for p in optimizer.params):
        raise ValueError(
            "optimizer updates none of the model's parameters; build it from this model: "
            "optimizer = Adam(model.parameters(), ...)"
        )
    X, y = _check_data(X, y, "X", "y")
    epochs = _check_int("epochs", epochs)
    batch_size = _check_int("batch_size", batch_size)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError(
                f"validation must be a pair (X_val, y_val), got {describe(validation)}"
            )
        X_val, y_val = _check_data(*validation, "X_val", "y_val")
        if X_val.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_val must have the {X.shape[1]} columns of X, got shape {X_val.shape}"
            )
    metric = _accuracy_metric(metrics, loss, y)
    keys = ["loss"] + (["accuracy"] if metric is not None else [])
    if validation is not None:
        keys += ["val_" + k for k in keys]
    history = History(keys)

    n = X.shape[0]
    rng = np.random.default_rng(seed)
    skip_input_grad = isinstance(model, (Linear, Sequential))
    bar = None
    if _show_progress(progress):
        from tqdm.auto import tqdm  # imported here: only runs with a bar need it

        bar = tqdm(
            total=epochs,
            desc="training",
            unit="epoch",
            delay=PROGRESS_DELAY if progress is None else 0.0,
        )
    try:
        for _ in range(epochs):
            model.train()
            if shuffle:
                order = rng.permutation(n)
                X_epoch, y_epoch = X[order], y[order]  # one copy per epoch; batches are views
            else:
                X_epoch, y_epoch = X, y
            total = 0.0
            for start in range(0, n, batch_size):
                X_batch = X_epoch[start : start + batch_size]
                y_batch = y_epoch[start : start + batch_size]
                optimizer.zero_grad()
                total += loss(model(X_batch), y_batch) * X_batch.shape[0]
                if skip_input_grad:  # nobody needs dL/dX in training: save a matrix product
                    model.backward(loss.backward(), need_input_grad=False)
                else:
                    model.backward(loss.backward())
                optimizer.step()
            record = {"loss": total / n}
            model.eval()
            if metric is not None:
                record["accuracy"] = metric(model(X), y)
            if validation is not None:
                for key, value in _measure(model, loss, X_val, y_val, metric).items():
                    record["val_" + key] = value
            history._record(record)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in record.items()}, refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        model.eval()
    return history
