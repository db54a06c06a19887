"""Plots for the book and the assignments: decision boundaries, training curves, activations,
truth tables, linear fits, confusion matrices and grids of digit images.

Every function draws on ``ax`` (a new figure when it is None) and returns the Axes, so plots
compose: ``ax = plot_decision_boundary(net, X, y); ax.set_title("after training")``. Colours
come from one palette, :data:`PALETTE`: class ``k`` (the ``k``-th smallest label) is always
``PALETTE[k]``, so class 0 is blue and class 1 red in every plot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from nnlib import functional as F
from nnlib._validation import as_array, check_choice, check_positive, check_same_batch, describe
from nnlib.modules import Module, Sigmoid, Softmax, get_activation
from nnlib.neurons import truth_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "PALETTE",
    "alt_text",
    "plot_activation",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_digit_grid",
    "plot_history",
    "plot_linear_fit",
    "plot_truth_table",
]

#: Class and line colours, in order (colour-blind-safe Tableau hues): blue, red, green, ...
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
_BINARY_CMAP = LinearSegmentedColormap.from_list("nnlib_binary", [PALETTE[0], "white", PALETTE[1]])


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots()[1] if ax is None else ax


def _color(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


# --- decision boundaries ----------------------------------------------------------------------
def _last_layer(module: Module) -> Module:
    kids = list(module.children())
    while kids:
        module = kids[-1]
        kids = list(module.children())
    return module


def _run_module(model: Module, grid: np.ndarray) -> tuple[np.ndarray, bool]:
    """Forward ``grid`` in eval mode (no dropout), restore the mode; say if out is logits."""
    was_training = model.training
    model.eval()
    try:
        out = model.forward(grid)
    finally:
        model.train(was_training)
    return out, not isinstance(_last_layer(model), (Sigmoid, Softmax))


def _grid_prediction(model: object, grid: np.ndarray) -> tuple[str, np.ndarray]:
    """Return ``("proba", p)`` with ``p`` the probability of class 1, or ``("labels", y)``."""
    logits = False
    if isinstance(model, Module):
        out, logits = _run_module(model, grid)
    elif hasattr(model, "predict_proba"):
        out = model.predict_proba(grid)
    elif hasattr(model, "predict"):
        out = model.predict(grid)
    elif callable(model):
        out = model(grid)
    else:
        raise TypeError(
            "model must be a callable, an object with predict_proba or predict, or an nnlib "
            f"Module, got {describe(model)}"
        )
    out = as_array(out, "model output", ndim=(1, 2))
    if out.shape[0] != len(grid) or (out.ndim == 2 and out.shape[1] == 0):
        raise ValueError(
            f"model output must have shape (M,), (M, 1) or (M, C) for M={len(grid)} grid "
            f"points, got shape {out.shape}"
        )
    if out.ndim == 2 and out.shape[1] > 1:  # one column per class
        if out.shape[1] == 2:
            return "proba", F.softmax(out)[:, 1] if logits else out[:, 1]
        return "labels", out.argmax(axis=1)
    out = out.reshape(-1)
    if logits:
        return "proba", F.sigmoid(out)
    if np.all(out == np.round(out)):
        return "labels", out
    if np.all((out >= 0) & (out <= 1)):
        return "proba", out
    raise ValueError(
        "model output must be class labels or probabilities in [0, 1], got values in "
        f"[{out.min():.3g}, {out.max():.3g}]; these look like logits: wrap the model with "
        "nnlib.functional.sigmoid, or pass the nnlib Module itself"
    )


def _labels(y: object) -> np.ndarray:
    y = as_array(y, "y", ndim=(1, 2), finite=True)
    if y.ndim == 2:
        y = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)  # (N, 1) labels or (N, C) one-hot
    return y


def plot_decision_boundary(
    model: object,
    X: object,
    y: object,
    ax: Axes | None = None,
    resolution: int = 200,
    padding: float = 0.5,
    proba: bool = True,
) -> Axes:
    """Colour the plane by the model's prediction and draw the labelled points on top.

    ``model`` may be:

    - an nnlib :class:`~nnlib.modules.Module`: run in eval mode on the grid (its training
      mode is restored afterwards). Outputs ``(M, 1)`` are logits of class 1 (sigmoid is
      applied) and ``(M, C)`` are class logits, unless the network ends in ``Sigmoid`` or
      ``Softmax``, whose outputs are used as probabilities.
    - an object with ``predict_proba`` (used first) or ``predict``, e.g.
      :class:`~nnlib.regression.LogisticRegression` or :class:`~nnlib.perceptron.Perceptron`.
    - a callable ``f(grid)`` on an ``(M, 2)`` array.

    The last two must return class labels ``(M,)``, probabilities of class 1 ``(M,)`` or
    ``(M, 1)`` with values in [0, 1], or one score per class ``(M, C)`` (the largest wins;
    with ``C = 2`` the second column is the probability of class 1).

    Args:
        model: see above.
        X: points of shape ``(N, 2)``.
        y: labels of shape ``(N,)`` or ``(N, 1)``, or one-hot rows of shape ``(N, C)``.
        ax: Axes to draw on; a new figure when None.
        resolution: grid points per axis, an int >= 2.
        padding: margin around the data, in data units.
        proba: for a binary model that gives probabilities, shade the plane by the
            probability of class 1 (blue 0 to red 1) and draw the ``p = 0.5`` line; when
            False (or for labels and ``C > 2`` classes), fill each predicted class region.

    Returns:
        The Axes: a filled contour set (plus a line contour on the boundary) and one scatter
        per class of ``y`` (labelled ``"class k"``, ``N`` points in all).

    Raises:
        TypeError: ``model`` is neither callable nor has ``predict``/``predict_proba``.
        ValueError: bad shapes, or the model returns neither labels nor probabilities.
    """
    X = as_array(X, "X", ndim=2, shape=(None, 2), finite=True)
    y = _labels(y)
    check_same_batch(X, y, "X", "y")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)):
        raise TypeError(f"resolution must be an int, got {describe(resolution)}")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")
    padding = check_positive("padding", padding, allow_zero=True)
    ax = _axes(ax)

    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    kind, z = _grid_prediction(model, np.column_stack([xx.ravel(), yy.ravel()]))
    classes = np.unique(y)
    if kind == "proba" and proba:
        p = z.reshape(xx.shape)
        ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap=_BINARY_CMAP, alpha=0.6)
        if p.min() < 0.5 < p.max():  # (matplotlib warns about a level it cannot find)
            ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.5)
    else:
        if kind == "proba":  # "class 1" is the larger of y's two labels (e.g. 1 of -1/1)
            low, high = (classes[0], classes[-1]) if len(classes) == 2 else (0.0, 1.0)
            z = np.where(z > 0.5, high, low)
        classes = np.union1d(classes, z)
        k = len(classes)
        index = np.searchsorted(classes, z).reshape(xx.shape)  # class k is PALETTE[k]
        levels = np.arange(k + 1) - 0.5
        ax.contourf(xx, yy, index, levels=levels, colors=[_color(i) for i in range(k)], alpha=0.3)
        if index.min() < index.max():
            ax.contour(xx, yy, index, levels=levels[1:-1], colors="k", linewidths=1)
    for k, c in enumerate(classes):
        mask = y == c
        if mask.any():
            ax.scatter(
                *X[mask].T, color=_color(k), edgecolor="k", s=25, label=f"class {c:g}", zorder=3
            )
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="$x_1$", ylabel="$x_2$")
    ax.legend(loc="best", fontsize="small")
    return ax


# --- training curves --------------------------------------------------------------------------
def plot_history(
    history: object, ax: Axes | None = None, metrics: str | Sequence[str] | None = None
) -> Axes:
    """Plot per-epoch metrics: a training metric solid, its ``val_`` twin dashed, same colour.

    Args:
        history: an :class:`nnlib.train.History`, a ``dict[str, list[float]]`` such as
            ``History.history``, or a plain sequence of losses (plotted as ``"loss"``).
        ax: Axes to draw on; a new figure when None.
        metrics: a name or names to plot. By default ``"loss"`` and, when recorded,
            ``"val_loss"``.

    Returns:
        The Axes, with one line per metric (x: epochs 1..E, y: the recorded values).

    Raises:
        TypeError: ``history`` is none of the above.
        ValueError: a requested metric was not recorded (the message lists those that were).
    """
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        records = history.history
    elif isinstance(history, Mapping):
        records = history
    elif isinstance(history, Sequence | np.ndarray) and not isinstance(history, str):
        records = {"loss": list(history)}
    else:
        raise TypeError(
            "history must be a History, a dict of metric lists or a list of losses, got "
            f"{describe(history)}"
        )
    if metrics is None:
        metrics = [m for m in ("loss", "val_loss") if m in records] or ["loss"]
    elif isinstance(metrics, str):
        metrics = [metrics]
    for m in metrics:
        check_choice("metric", m, records)
    ax = _axes(ax)
    bases = list(dict.fromkeys(m.removeprefix("val_") for m in metrics))
    for m in metrics:
        values = np.asarray(records[m], dtype=float)
        base = m.removeprefix("val_")
        ax.plot(
            np.arange(1, len(values) + 1),
            values,
            label=m,
            color=_color(bases.index(base)),
            linestyle="--" if m.startswith("val_") else "-",
        )
    ax.set(xlabel="epoch", ylabel=", ".join(bases))
    ax.legend(fontsize="small")
    return ax


# --- activation functions ---------------------------------------------------------------------
def plot_activation(
    name_or_fn: str | Module | Callable[[np.ndarray], np.ndarray],
    ax: Axes | None = None,
    x: object = None,
) -> Axes:
    """Plot an elementwise activation ``f`` (solid) and its derivative ``f'`` (dashed).

    Args:
        name_or_fn: an activation name of :func:`nnlib.modules.get_activation` (``"relu"``,
            ``"tanh"``, ...), an activation Module (``LeakyReLU(0.2)``; ``f'`` is its
            ``backward`` of ones), or a callable on arrays (``f'`` by central differences).
        ax: Axes to draw on; a new figure when None.
        x: the 1-D grid of inputs; ``np.linspace(-5, 5, 401)`` by default.

    Returns:
        The Axes, with two lines: ``f(x)`` then ``f'(x)``.

    Raises:
        ValueError: unknown name, ``softmax`` (not elementwise: each output depends on the
            whole row), or ``f`` changes the shape of its input.
    """
    x = np.linspace(-5, 5, 401) if x is None else as_array(x, "x", ndim=1, finite=True)
    if isinstance(name_or_fn, str):
        title, act = name_or_fn, get_activation(name_or_fn)
    elif isinstance(name_or_fn, Module):
        title, act = type(name_or_fn).__name__, name_or_fn
    elif callable(name_or_fn):
        title, act = getattr(name_or_fn, "__name__", "f"), None
    else:
        raise TypeError(
            f"name_or_fn must be an activation name, a Module or a callable, got "
            f"{describe(name_or_fn)}"
        )
    if isinstance(act, Softmax):
        raise ValueError(
            "plot_activation draws elementwise activations; softmax maps a whole row to "
            "probabilities, so it has no single curve f(x) (plot nnlib.functional.softmax on "
            "a 2-column input instead)"
        )
    if act is not None:
        column = x.reshape(-1, 1)
        f = np.asarray(act.forward(column))
        df = np.asarray(act.backward(np.ones_like(f)))
    else:
        h = 1e-5  # central differences are accurate to about h**2 for smooth f
        f = np.asarray(name_or_fn(x))
        df = (np.asarray(name_or_fn(x + h)) - np.asarray(name_or_fn(x - h))) / (2 * h)
    if f.size != x.size or df.size != x.size:
        raise ValueError(
            f"activation must map each of the {x.size} inputs to one output, got an output "
            f"of shape {f.shape}"
        )
    ax = _axes(ax)
    ax.plot(x, f.ravel(), color=PALETTE[0], label="$f(x)$")
    ax.plot(x, df.ravel(), color=PALETTE[1], linestyle="--", label="$f'(x)$")
    ax.set(xlabel="$x$", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


# --- logic gates ------------------------------------------------------------------------------
def plot_truth_table(
    fn: Callable[[np.ndarray], object], n_inputs: int = 2, ax: Axes | None = None
) -> Axes:
    """Draw a Boolean function's inputs as points coloured by its output.

    For two inputs these are the four corners of the unit square; for one input, the points
    0 and 1 on a line. If ``fn`` has ``weights`` and ``bias`` (a
    :class:`~nnlib.neurons.ThresholdNeuron` such as ``AND``), its decision line
    ``w . x + b = 0`` is drawn too: a single neuron separates the two colours exactly when
    the line does (and for XOR no line can).

    Args:
        fn: a function of a batch ``(2**n_inputs, n_inputs)`` returning 0/1 values, as
            accepted by :func:`nnlib.neurons.truth_table`.
        n_inputs: 1 or 2.
        ax: Axes to draw on; a new figure when None.

    Returns:
        The Axes: one scatter per output value (``"output 0"``, ``"output 1"``), the output
        printed beside each point, and the decision line (a line of the Axes) if any.

    Raises:
        ValueError: ``n_inputs`` is not 1 or 2 (use ``truth_table`` and print it instead).
    """
    if n_inputs not in (1, 2):
        raise ValueError(
            f"plot_truth_table draws 1 or 2 inputs, got n_inputs={n_inputs!r}; print "
            "nnlib.neurons.truth_table(fn, n_inputs) for more"
        )
    inputs, outputs = truth_table(fn, n_inputs)
    points = inputs if n_inputs == 2 else np.column_stack([inputs[:, 0], np.zeros(len(inputs))])
    ax = _axes(ax)
    for value in (0, 1):
        mask = outputs == value
        if mask.any():
            ax.scatter(
                *points[mask].T,
                s=200,
                color=_color(value),
                edgecolor="k",
                zorder=3,
                label=f"output {value}",
            )
    for (px, py), out in zip(points, outputs, strict=True):
        ax.annotate(str(out), (px, py), xytext=(10, 10), textcoords="offset points")
    w, b = getattr(fn, "weights", None), getattr(fn, "bias", None)
    if w is not None and b is not None and np.size(w) == n_inputs:
        w = np.asarray(w, dtype=float).ravel()
        if n_inputs == 1 and w[0] != 0:
            ax.axvline(-b / w[0], color="0.3", linestyle="--", label="$w x + b = 0$")
        elif n_inputs == 2 and w[1] != 0:  # x2 = -(w1 x1 + b) / w2
            ax.axline(
                (0, -b / w[1]),
                (1, -(w[0] + b) / w[1]),
                color="0.3",
                linestyle="--",
                label="$w \\cdot x + b = 0$",
            )
        elif n_inputs == 2 and w[0] != 0:  # a vertical line x1 = -b / w1
            ax.axvline(-b / w[0], color="0.3", linestyle="--", label="$w \\cdot x + b = 0$")
    ax.set(xlim=(-0.5, 1.5), xticks=[0, 1], xlabel="$x_1$")
    if n_inputs == 2:  # headroom above the square for the legend
        ax.set(ylim=(-0.5, 1.9), yticks=[0, 1], ylabel="$x_2$", aspect="equal")
    else:
        ax.set(ylim=(-1, 1), yticks=[])
    ax.set_title(getattr(fn, "name", None) or getattr(fn, "__name__", type(fn).__name__))
    ax.legend(fontsize="small", loc="upper center", ncol=3, markerscale=0.5)
    return ax


# --- regression -------------------------------------------------------------------------------
def _scalar(name: str, value: object) -> float:
    arr = as_array(value, name, finite=True)
    if arr.size != 1:
        raise ValueError(f"{name} must be a single number for a 1-D fit, got shape {arr.shape}")
    return float(arr.reshape(()))


def plot_linear_fit(
    X: object,
    y: object,
    model_or_coef: object,
    ax: Axes | None = None,
    residuals: bool = False,
) -> Axes:
    """Scatter 1-D regression data and draw the fitted line ``y_hat = w x + b``.

    Args:
        X: inputs of shape ``(N,)`` or ``(N, 1)``.
        y: targets of shape ``(N,)`` or ``(N, 1)``.
        model_or_coef: an object with ``predict`` (e.g. a fitted
            :class:`~nnlib.regression.LinearRegression`), a pair ``(w, b)`` of numbers, or a
            callable mapping an ``(M, 1)`` array to predictions of shape ``(M,)`` or
            ``(M, 1)``.
        ax: Axes to draw on; a new figure when None.
        residuals: also draw each point's residual ``y - y_hat`` as a vertical segment (the
            errors that MSE squares).

    Returns:
        The Axes: one scatter of the ``N`` points, one line of the predictions over the
        range of ``X``, and (with ``residuals``) one collection of ``N`` segments.

    Raises:
        TypeError: ``model_or_coef`` is none of the above.
        ValueError: bad shapes.
    """
    X = as_array(X, "X", ndim=(1, 2), finite=True)
    if X.ndim == 2 and X.shape[1] != 1:
        raise ValueError(f"X must have shape (N,) or (N, 1) for a 1-D fit, got shape {X.shape}")
    y = as_array(y, "y", ndim=(1, 2), finite=True)
    x, y = X.reshape(-1), y.reshape(len(y), -1)
    if y.shape[1] != 1:
        raise ValueError(f"y must have shape (N,) or (N, 1), got shape {y.shape}")
    y = y[:, 0]
    check_same_batch(x, y, "X", "y")

    if hasattr(model_or_coef, "predict"):
        predict = model_or_coef.predict
    elif isinstance(model_or_coef, tuple | list) and len(model_or_coef) == 2:
        w, b = (_scalar(name, v) for name, v in zip("wb", model_or_coef, strict=True))

        def predict(x_col: np.ndarray) -> np.ndarray:
            return w * x_col + b
    elif callable(model_or_coef):
        predict = model_or_coef
    else:
        raise TypeError(
            "model_or_coef must have predict(), be a pair (w, b) or be callable, got "
            f"{describe(model_or_coef)}"
        )
    grid = np.linspace(x.min(), x.max(), 200)
    ax = _axes(ax)
    ax.scatter(x, y, color=PALETTE[0], edgecolor="k", s=25, label="data", zorder=3)
    ax.plot(grid, np.asarray(predict(grid[:, None])).reshape(-1), color=PALETTE[1], label="fit")
    if residuals:
        y_hat = np.asarray(predict(x[:, None])).reshape(-1)
        ax.vlines(x, y_hat, y, color="0.5", linewidth=1, label="residuals")
    ax.set(xlabel="$x$", ylabel="$y$")
    ax.legend(fontsize="small")
    return ax


# --- classifiers of images --------------------------------------------------------------------
def plot_confusion_matrix(
    y_true: object,
    y_pred: object,
    ax: Axes | None = None,
    n_classes: int | None = None,
    class_names: Sequence[str] | None = None,
) -> Axes:
    """Draw the confusion matrix of a classifier: rows are true classes, columns predictions.

    Each cell shows its count (:func:`nnlib.train.confusion_matrix`) and is shaded by it;
    the diagonal holds the correct predictions.

    Args:
        y_true: true labels, integers in ``[0, C)``, shape ``(N,)``.
        y_pred: predicted labels, shape ``(N,)``.
        ax: Axes to draw on; a new figure when None.
        n_classes: the number of classes C (from the labels if None).
        class_names: C names for the ticks (the class numbers if None).

    Returns:
        The Axes, holding one image of the ``(C, C)`` counts and one text per cell.

    Raises:
        ValueError: labels that are not classes, shapes that differ, or a wrong number of
            class names.
    """
    from nnlib.train import confusion_matrix

    counts = confusion_matrix(y_true, y_pred, n_classes)
    c = counts.shape[0]
    names = [str(k) for k in range(c)] if class_names is None else list(class_names)
    if len(names) != c:
        raise ValueError(f"class_names must name the {c} classes, got {len(names)} names")
    ax = _axes(ax)
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(int(counts.max()), 1))
    cut = counts.max() / 2
    for (i, j), n in np.ndenumerate(counts):
        if n:
            ax.text(
                j,
                i,
                str(n),
                ha="center",
                va="center",
                fontsize="small",
                color="white" if n > cut else "black",
            )
    ax.set(
        xticks=range(c),
        yticks=range(c),
        xticklabels=names,
        yticklabels=names,
        xlabel="predicted class",
        ylabel="true class",
    )
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"accuracy {accuracy:.1%} on {counts.sum()} samples", fontsize="medium")
    return ax


def plot_digit_grid(
    images: object,
    labels: object = None,
    predictions: object = None,
    ax: Axes | None = None,
    ncols: int = 10,
    image_shape: tuple[int, int] = (8, 8),
) -> Axes:
    """Tile small grey-scale images (such as the 8x8 digits) into one picture.

    Args:
        images: ``(N, H * W)`` rows (as :func:`nnlib.data.load_digits` returns them) or
            ``(N, H, W)`` images; dark is large.
        labels: the true labels ``(N,)``, written above each image ("3"), or None.
        predictions: predicted labels ``(N,)``: each title then reads "true 3, pred 8", red
            where the two differ. Needs ``labels``.
        ax: Axes to draw on; a new figure when None.
        ncols: images per row.
        image_shape: ``(H, W)`` of one image, used for ``(N, H * W)`` rows.

    Returns:
        The Axes, holding one image (the mosaic, with white gaps between the tiles and room
        above each for its title) and one text per title.

    Raises:
        ValueError: no images, rows that are not ``H * W`` long, or labels and predictions
            whose length is not N.
    """
    x = as_array(images, "images", ndim=(2, 3), finite=True)
    h, w = image_shape
    if x.ndim == 2:
        if x.shape[1] != h * w:
            raise ValueError(
                f"images must be rows of {h} x {w} = {h * w} pixels (or pass image_shape), "
                f"got shape {x.shape}"
            )
        x = x.reshape(len(x), h, w)
    n, h, w = x.shape
    if n == 0:
        raise ValueError("plot_digit_grid needs at least one image, got none")
    if predictions is not None and labels is None:
        raise ValueError("predictions need the true labels too: pass labels=...")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} must have one entry per image ({n}), got {len(values)}")
    ncols = int(min(ncols, n))
    nrows = -(-n // ncols)
    # Room above each tile for its title: a few pixel rows per line of text.
    top = 1 if labels is None else (h // 2 if predictions is None else h)
    mosaic = np.full((nrows * (h + top), ncols * (w + 1) - 1), np.nan)
    for k in range(n):
        r, c = divmod(k, ncols)
        y0 = r * (h + top) + top
        mosaic[y0 : y0 + h, c * (w + 1) : c * (w + 1) + w] = x[k]
    ax = _axes(ax)
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    ax.imshow(mosaic, cmap=cmap, vmin=float(x.min()), vmax=float(x.max()))
    for k in range(n if labels is not None else 0):
        r, c = divmod(k, ncols)
        wrong = predictions is not None and predictions[k] != labels[k]
        text = f"{labels[k]}" if predictions is None else f"true {labels[k]}\npred {predictions[k]}"
        ax.text(
            c * (w + 1) + (w - 1) / 2,
            r * (h + top) + top - 0.9,
            text,
            ha="center",
            va="bottom",
            fontsize="small",
            linespacing=1.0,
            color=PALETTE[1] if wrong else "black",
        )
    ax.set(xticks=[], yticks=[])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def alt_text(fig: object) -> str:
    """A sentence that says what a matplotlib figure shows, for its picture's alt text.

    Built from what the drawing code wrote on the figure: its suptitle, then for each panel its
    title, its axis labels and its legend entries. The book's kernels attach it to every plot
    (as the PNG's ``Description``), and the build turns it into the ``<img>``'s ``alt``.

    Args:
        fig: a :class:`matplotlib.figure.Figure`.

    Returns:
        One sentence, never empty.
    """
    panels = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        title = " ".join(
            t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t
        )
        xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
        text = title or "a panel"
        if xlabel or ylabel:
            text += f" ({ylabel or 'value'} against {xlabel or 'x'})"
        legend = ax.get_legend()
        if legend is not None:
            entries = [t.get_text() for t in legend.get_texts() if t.get_text()]
            if entries:
                text += ", lines: " + ", ".join(entries[:6])
        if title or xlabel or ylabel or legend is not None:
            panels.append(text)
        elif ax.texts:  # a diagram: its boxes' and arrows' labels say what it shows
            labels = list(dict.fromkeys(t.get_text() for t in ax.texts if t.get_text().strip()))
            panels.append("a diagram labelled " + ", ".join(labels[:10]))
        elif ax.images:
            panels.append("an image")
        elif ax.lines or ax.collections:
            panels.append(f"{len(ax.lines) + len(ax.collections)} curves or point sets")
    suptitle = getattr(fig, "_suptitle", None)
    head = suptitle.get_text() if suptitle is not None else ""
    n = sum(ax.get_visible() for ax in fig.axes)
    count = "a plot" if n <= 1 else f"a figure of {n} panels"
    sentence = f"{head}: {count}" if head else count[0].upper() + count[1:]
    if panels:
        sentence += ": " + "; ".join(panels)
    return " ".join(sentence.replace("$", "").split()) + "."
