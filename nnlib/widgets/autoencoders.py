"""The interactive figure of chapter 11 (autoencoders) and the models it compares.

* :func:`pca` and :func:`pca_reconstruct` (numpy's SVD: nnlib has no PCA),
  :func:`linear_autoencoder`, :func:`nonlinear_autoencoder`, :func:`train_autoencoders` and
  :func:`principal_angles`; :func:`default_digits` is the chapter's data;
* :func:`autoencoder_figure`: original digits against their PCA, linear-autoencoder and
  nonlinear-autoencoder reconstructions, for a code size chosen with a slider.

The figure trains its networks once, when it is built; a control only moves precomputed
artists, so a live update stays well under 150 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap

from nnlib.data import load_digits, train_test_split
from nnlib.losses import MSELoss
from nnlib.modules import Linear, Module, ReLU, Sequential
from nnlib.optim import Adam
from nnlib.train import fit
from nnlib.viz import PALETTE
from nnlib.widgets.core import InteractiveFigure, animate, slider

__all__ = [
    "autoencoder_figure",
    "default_digits",
    "linear_autoencoder",
    "nonlinear_autoencoder",
    "pca",
    "pca_reconstruct",
    "principal_angles",
    "train_autoencoders",
]


def pca(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Principal component analysis by the singular value decomposition of the centred data.

    Args:
        X: data of shape ``(N, D)``.
        k: number of components, ``1 <= k <= min(N, D)``.

    Returns:
        ``(mean, components)``: the mean of shape ``(D,)`` and the top ``k`` principal
        directions as orthonormal rows, shape ``(k, D)``.
    """
    mean = X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, Vt[:k]


def pca_reconstruct(X: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Project ``X`` (``(N, D)``) on the principal subspace and map it back, shape ``(N, D)``."""
    codes = (X - mean) @ components.T  # (N, k)
    return codes @ components + mean


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The principal angles between the column spaces of ``A`` and ``B``, in degrees.

    Args:
        A: matrix of shape ``(D, k)``; ``B``: matrix of shape ``(D, k)``.

    Returns:
        ``k`` angles in ascending order, shape ``(k,)``; all 0 when the spaces coincide.
    """
    Qa, _ = np.linalg.qr(A)
    Qb, _ = np.linalg.qr(B)
    cosines = np.linalg.svd(Qa.T @ Qb, compute_uv=False)
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def linear_autoencoder(n_features: int, k: int, seed: int = 0) -> Sequential:
    """``Linear(D, k) -> Linear(k, D)``: encoder and decoder with no activation.

    Returns:
        A :class:`~nnlib.modules.Sequential` mapping ``(N, D)`` to ``(N, D)``; ``net[:1]`` is
        the encoder (code of shape ``(N, k)``) and ``net[1:]`` the decoder.
    """
    rng = np.random.default_rng(seed)
    return Sequential(Linear(n_features, k, seed=rng), Linear(k, n_features, seed=rng))


def nonlinear_autoencoder(n_features: int, k: int, hidden: int = 128, seed: int = 0) -> Sequential:
    """``Linear(D, H) -> ReLU -> Linear(H, k) | Linear(k, H) -> ReLU -> Linear(H, D)``.

    The code layer itself is linear; the ReLU layers are He-initialised.

    Returns:
        A :class:`~nnlib.modules.Sequential` mapping ``(N, D)`` to ``(N, D)``; ``net[:3]`` is
        the encoder (code of shape ``(N, k)``) and ``net[3:]`` the decoder.
    """
    rng = np.random.default_rng(seed)
    return Sequential(
        Linear(n_features, hidden, init="he_normal", seed=rng),
        ReLU(),
        Linear(hidden, k, seed=rng),
        Linear(k, hidden, init="he_normal", seed=rng),
        ReLU(),
        Linear(hidden, n_features, seed=rng),
    )


def train_autoencoders(
    X: np.ndarray,
    code_sizes: Sequence[int],
    epochs: tuple[int, int] = (300, 100),
    lrs: tuple[float, float] = (0.02, 0.005),
    batch_size: int = 128,
    seed: int = 0,
) -> dict[int, dict[str, Module]]:
    """Train a linear and a nonlinear autoencoder for each code size, on ``X`` to ``X``.

    Each net is trained by ``fit(net, MSELoss(), Adam(net.parameters(), lr), X, X, epochs,
    batch_size, seed=seed)``.

    Args:
        X: data of shape ``(N, D)``, e.g. the digits scaled to [0, 1].
        code_sizes: the code sizes k.
        epochs: epochs of the linear and of the nonlinear autoencoders.
        lrs: Adam's learning rates for the two.
        batch_size: minibatch size.
        seed: seed of the weights and of the shuffling.

    Returns:
        ``{k: {"linear": net, "nonlinear": net}}``, the nets trained (and in eval mode).
    """
    models: dict[int, dict[str, Module]] = {}
    D = X.shape[1]
    for k in code_sizes:
        models[int(k)] = {}
        for kind, make, n_epochs, lr in (
            ("linear", linear_autoencoder, epochs[0], lrs[0]),
            ("nonlinear", nonlinear_autoencoder, epochs[1], lrs[1]),
        ):
            net = make(D, int(k), seed=seed)
            fit(
                net,
                MSELoss(),
                Adam(net.parameters(), lr=lr),
                X,
                X,
                epochs=n_epochs,
                batch_size=batch_size,
                seed=seed,
                progress=False,
            )
            models[int(k)][kind] = net
    return models


def _mosaic(rows: list[np.ndarray], side: int = 8, gap: int = 1) -> np.ndarray:
    """Tile images into one array: ``rows[r]`` of shape ``(n, side * side)`` is row ``r``.

    Returns:
        Shape ``(R * (side + gap) - gap, n * (side + gap) - gap)``; gaps are NaN.
    """
    n = rows[0].shape[0]
    out = np.full((len(rows) * (side + gap) - gap, n * (side + gap) - gap), np.nan)
    for r, images in enumerate(rows):
        for i, image in enumerate(images):
            top, left = r * (side + gap), i * (side + gap)
            out[top : top + side, left : left + side] = image.reshape(side, side)
    return out


def default_digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The data of chapter 11: the 8x8 digits scaled to [0, 1], a quarter kept for testing.

    Returns:
        ``(X_train, X_test, y_train, y_test)`` of shapes ``(1347, 64)``, ``(450, 64)``,
        ``(1347,)`` and ``(450,)``.
    """
    X, y = load_digits()
    return tuple(train_test_split(X / 16.0, y, test_size=0.25, seed=seed))


def autoencoder_figure(
    X_train: np.ndarray | None = None,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    models: dict[int, dict[str, Module]] | None = None,
    code_sizes: Sequence[int] = (1, 2, 3, 4, 6, 8, 12, 16),
    n_show: int = 10,
    seed: int = 0,
) -> InteractiveFigure:
    """Digits and their reconstructions by PCA, a linear and a nonlinear autoencoder.

    Left: ``n_show`` test digits (top row) and their reconstructions from a code of the chosen
    size. Right: the mean squared reconstruction error on the test set against the code size.

    Args:
        X_train: training images of shape ``(N, 64)`` with values in [0, 1] (PCA is fitted on
            them); with ``X_test`` and ``y_test`` from :func:`default_digits` if None.
        X_test: test images of shape ``(M, 64)``.
        y_test: their labels, shape ``(M,)``; if given, the figure shows the first test image
            of each class (at most ``n_show``), else the first ``n_show`` test images.
        models: :func:`train_autoencoders` results for ``code_sizes`` (trained here if None).
        code_sizes: the values of the slider.
        n_show: number of test digits shown.
        seed: seed of the training, if the models are trained here.

    Returns:
        An :class:`InteractiveFigure` with the control ``k``.
    """
    if X_train is None or X_test is None:
        X_train, X_test, _, y_test = default_digits()
    code_sizes = tuple(int(k) for k in code_sizes)
    if models is None:
        models = train_autoencoders(X_train, code_sizes, seed=seed)
    if y_test is not None:
        picks = [int(np.flatnonzero(y_test == c)[0]) for c in np.unique(y_test)][:n_show]
    else:
        picks = list(range(min(n_show, len(X_test))))
    shown = X_test[picks]
    recon: dict[int, list[np.ndarray]] = {}
    errors = {"PCA": [], "linear AE": [], "nonlinear AE": []}
    for k in code_sizes:
        mean, components = pca(X_train, k)
        outs = {
            "PCA": pca_reconstruct(X_test, mean, components),
            "linear AE": models[k]["linear"](X_test),
            "nonlinear AE": models[k]["nonlinear"](X_test),
        }
        for name, out in outs.items():
            errors[name].append(float(np.mean((out - X_test) ** 2)))
        recon[k] = [shown] + [out[picks] for out in outs.values()]
    row_names = ["original", *errors]
    grey = np.linspace(1, 0, 32)[:, None].repeat(3, axis=1)  # white (0) to black (1)
    cmap = ListedColormap(grey).with_extremes(bad="white")

    def setup(fig: Any) -> dict[str, Any]:
        ax, ax_err = fig.subplots(1, 2, width_ratios=[1.5, 1])
        image = ax.imshow(
            _mosaic(recon[code_sizes[0]]), cmap=cmap, vmin=0, vmax=1, interpolation="nearest"
        )
        ax.set(xticks=[], yticks=[4 + 9 * r - 0.5 for r in range(len(row_names))])
        ax.set_yticklabels(row_names, fontsize=8)
        for spine in ax.spines.values():
            spine.set_visible(False)
        title = ax.set_title("", fontsize=9)
        marks = []
        for j, (name, errs) in enumerate(errors.items()):
            color = PALETTE[j + 2]
            ax_err.plot(code_sizes, errs, "o-", color=color, ms=3, lw=1.2, label=name)
            marks.append(ax_err.plot([], [], "o", ms=9, mfc="none", mec=color, mew=1.8)[0])
        ax_err.set(xlabel="code size k", ylabel="test MSE per pixel", yscale="log")
        ax_err.grid(alpha=0.3)
        ax_err.legend(fontsize=7)
        animate(image, title, *marks)
        return {"image": image, "title": title, "marks": marks}

    def update(state: dict[str, Any], k: int) -> str:
        state["image"].set_data(_mosaic(recon[k]))
        i = code_sizes.index(k)
        state["title"].set_text(f"code size k = {k} (of 64 pixels)")
        for mark, errs in zip(state["marks"], errors.values(), strict=True):
            mark.set_data([k], [errs[i]])
        rows = "".join(
            f"<tr><td>{name}</td><td>{errs[i]:.4f}</td></tr>" for name, errs in errors.items()
        )
        return (
            f"<p>code size <b>k = {k}</b></p><table><tr><th>method</th><th>test MSE</th></tr>"
            f"{rows}</table>"
        )

    return InteractiveFigure(
        setup,
        update,
        [
            slider(
                "k",
                code_sizes,
                default=2 if 2 in code_sizes else code_sizes[0],
                label="code size k",
            )
        ],
        title="Reconstructions of 8x8 digits from a k-number code",
        static_dpi=90,
        caption="Top row: test digits the models never saw. Below: their reconstructions by "
        "PCA, by a linear autoencoder and by a nonlinear (ReLU) autoencoder with a code of k "
        "numbers. Right: the reconstruction error on the whole test set.",
        figsize=(8.4, 3.0),
    )
