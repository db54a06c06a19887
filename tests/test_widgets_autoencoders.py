"""nnlib.widgets.autoencoders: the figure of chapter 11 shows what nnlib computes."""

from __future__ import annotations

import numpy as np
import pytest

from nnlib import Adam, Linear, MSELoss, Sequential, fit
from nnlib.data import load_digits, train_test_split
from nnlib.widgets.autoencoders import (
    autoencoder_figure,
    default_digits,
    linear_autoencoder,
    nonlinear_autoencoder,
    pca,
    pca_reconstruct,
    principal_angles,
    train_autoencoders,
)


def _frames_differ_along_every_control(fig) -> None:
    frames = fig.frames()
    ids = np.asarray(frames.frame_image).reshape(frames.shape)
    for axis, control in enumerate(fig.controls):
        assert (np.diff(ids, axis=axis) != 0).any(), f"{control.name} never changes the picture"


# --- PCA and autoencoders -----------------------------------------------------------------------
def test_pca_is_the_best_projection() -> None:
    X = np.random.default_rng(0).standard_normal((200, 5)) @ np.diag([5.0, 3.0, 1.0, 0.3, 0.1])
    X += 2.0
    mean, components = pca(X, 2)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(components @ components.T, np.eye(2), atol=1e-12)
    # the axes of largest variance, in order (up to sign)
    np.testing.assert_allclose(np.abs(components[:, :2]), np.eye(2), atol=0.1)
    R = pca_reconstruct(X, mean, components)
    np.testing.assert_allclose(pca_reconstruct(R, mean, components), R)  # a projection
    s = np.linalg.svd(X - mean, compute_uv=False)
    assert np.sum((X - R) ** 2) == pytest.approx(np.sum(s[2:] ** 2))


def test_principal_angles() -> None:
    rng = np.random.default_rng(1)
    A = rng.standard_normal((6, 2))
    np.testing.assert_allclose(principal_angles(A, A @ rng.standard_normal((2, 2))), 0, atol=1e-5)
    E = np.eye(6)
    np.testing.assert_allclose(principal_angles(E[:, :2], E[:, 2:4]), [90, 90])
    tilted = np.column_stack([E[:, 0], np.cos(0.5) * E[:, 1] + np.sin(0.5) * E[:, 2]])
    np.testing.assert_allclose(principal_angles(E[:, :2], tilted), [0, np.degrees(0.5)])


def test_autoencoder_shapes() -> None:
    X = np.zeros((3, 64))
    lin, nonlin = linear_autoencoder(64, 4), nonlinear_autoencoder(64, 4, hidden=16)
    assert lin(X).shape == nonlin(X).shape == (3, 64)
    assert lin[:1](X).shape == nonlin[:3](X).shape == (3, 4)  # the encoders


@pytest.fixture(scope="module")
def digits():
    X_train, X_test, _, y_test = default_digits()
    X, y = load_digits()  # the split of chapter 11
    np.testing.assert_array_equal(X_test, train_test_split(X / 16, y, test_size=0.25, seed=0)[1])
    return X_train, X_test, y_test


def test_autoencoder_figure_shows_reconstructions_and_errors(digits) -> None:
    X_train, X_test, y_test = digits
    sizes = (1, 3)
    models = {
        k: {"linear": linear_autoencoder(64, k, seed=k), "nonlinear": nonlinear_autoencoder(64, k)}
        for k in sizes
    }  # untrained nets are enough to check that the figure shows what they compute
    fig = autoencoder_figure(X_train, X_test, y_test, models=models, code_sizes=sizes)
    html = fig.render(k=3)
    mean, components = pca(X_train, 3)
    picks = [int(np.flatnonzero(y_test == c)[0]) for c in range(10)]
    expected = {
        "PCA": pca_reconstruct(X_test, mean, components),
        "linear AE": models[3]["linear"](X_test),
        "nonlinear AE": models[3]["nonlinear"](X_test),
    }
    mosaic = np.asarray(fig.state["image"].get_array())
    assert mosaic.shape == (4 * 9 - 1, 10 * 9 - 1)
    for row, (name, out) in enumerate(expected.items(), start=1):
        assert f"<td>{name}</td><td>{np.mean((out - X_test) ** 2):.4f}</td>" in html
        for col in (0, 9):  # first and last digit of the row
            tile = mosaic[9 * row : 9 * row + 8, 9 * col : 9 * col + 8]
            np.testing.assert_allclose(tile, out[picks[col]].reshape(8, 8))
    top = mosaic[:8, : 10 * 9 - 1]
    np.testing.assert_allclose(top[:, :8], X_test[picks[0]].reshape(8, 8))
    _frames_differ_along_every_control(fig)


@pytest.mark.slow
def test_linear_autoencoder_finds_the_pca_subspace(digits) -> None:
    X_train, X_test, _ = digits
    models = train_autoencoders(X_train, [2], seed=0)  # the settings of chapter 11
    mean, components = pca(X_train, 2)
    pca_error = np.mean((X_test - pca_reconstruct(X_test, mean, components)) ** 2)
    linear, nonlinear = models[2]["linear"], models[2]["nonlinear"]
    assert MSELoss()(linear(X_test), X_test) == pytest.approx(pca_error, rel=0.01)
    assert principal_angles(linear[1].weight.value.T, components.T).max() < 5.0  # degrees
    assert MSELoss()(nonlinear(X_test), X_test) < pca_error
    # Chapter 11 trains its k = 2 linear autoencoder by hand and uses it in place of this one.
    rng = np.random.default_rng(0)
    by_hand = Sequential(Linear(64, 2, seed=rng), Linear(2, 64, seed=rng))
    fit(
        by_hand,
        MSELoss(),
        Adam(by_hand.parameters(), lr=0.02),
        X_train,
        X_train,
        epochs=300,
        batch_size=128,
        seed=0,
        progress=False,
    )
    for p, q in zip(by_hand.parameters(), linear.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
