"""nnlib.widgets.training: the figures of chapter 9 show what nnlib computes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnlib import MLP, SGD, Adam, BCEWithLogitsLoss, fit
from nnlib.data import make_moons
from nnlib.functional import sigmoid
from nnlib.widgets.training import (
    OPTIMIZERS,
    deep_net,
    default_overfit_data,
    default_race_data,
    dropout_mlp,
    init_explorer_figure,
    layer_activations,
    optimizer_race,
    optimizer_race_figure,
    regularization_figure,
    regularization_runs,
    weight_norm,
)


def _number(html: str, label: str) -> float:
    """The number in the table cell after the header ``label``."""
    match = re.search(rf"<th>{re.escape(label)}</th><td>([-0-9.e+]+)", html)
    assert match, f"no {label!r} in {html!r}"
    return float(match.group(1))


def _frames_differ_along_every_control(fig) -> None:
    frames = fig.frames()
    ids = np.asarray(frames.frame_image).reshape(frames.shape)
    for axis, control in enumerate(fig.controls):
        assert (np.diff(ids, axis=axis) != 0).any(), f"{control.name} never changes the picture"


# --- initialisation -----------------------------------------------------------------------------
def test_layer_activations_are_the_outputs_of_each_activation_layer() -> None:
    net = deep_net(3, 8, "tanh", "xavier_normal", seed=1)
    X = np.random.default_rng(0).standard_normal((5, 8))
    outputs = layer_activations(net, X)
    assert len(outputs) == 3
    a = X
    for layer in range(3):  # recompute by hand from the weights
        W, b = net[2 * layer].weight.value, net[2 * layer].bias.value
        a = np.tanh(a @ W + b)
        np.testing.assert_allclose(outputs[layer], a)
    np.testing.assert_allclose(outputs[-1], net(X))


def test_init_explorer_shows_each_layers_spread() -> None:
    fig = init_explorer_figure(depth=4, width=32, n=200, seed=3)
    X = np.random.default_rng(3).standard_normal((200, 32))
    for init in ("normal", "he_normal"):
        net = MLP([32] * 5, activation="relu", output_activation="relu", init=init, seed=3)
        a = net(X)  # the output of the last ReLU: its std is in the side table and at the marker
        html = fig.render(init=init, activation="relu", layer=4)
        assert _number(html, "std") == pytest.approx(float(a.std()), rel=5e-3)  # 3 digits
        assert fig.state["marker"].get_ydata()[0] == pytest.approx(a.std())
        assert f"{np.mean(a == 0):.0%}" in html  # fraction of exact zeros
        heights = fig.state["bars"].get_data().values
        expected = np.histogram(np.clip(a, 0, 4), bins=np.linspace(0, 4, 42))[0] / a.size
        np.testing.assert_allclose(heights, np.minimum(expected, 0.25))
    # The story of the chapter: tiny weights kill the signal, He keeps a ReLU net alive.
    std_normal = fig.render(init="normal", activation="relu", layer=4)
    std_he = fig.render(init="he_normal", activation="relu", layer=4)
    assert _number(std_normal, "std") < 1e-3 < 0.3 < _number(std_he, "std")
    # A spike taller than the axis is cut and labelled with its height.
    fig.render(init="normal", activation="tanh", layer=4)
    assert fig.state["cut"].get_text().startswith("← 100%")
    _frames_differ_along_every_control(fig)


def test_init_explorer_static_html_has_two_menus_and_a_slider() -> None:
    html = init_explorer_figure(depth=2, width=8, n=20).to_html()
    assert len(re.findall(r"<select ", html)) == 2
    assert len(re.findall(r'<input type="range"', html)) == 1
    assert "He (Kaiming)" in html and "Xavier (Glorot)" in html


def test_init_explorer_rejects_other_activations() -> None:
    with pytest.raises(ValueError, match="'tanh' or 'relu'"):
        init_explorer_figure(activations=("sigmoid",))


# --- optimizers ---------------------------------------------------------------------------------
def _small_moons():
    X, y = make_moons(64, noise=0.2, seed=5)
    return X, y[:, None].astype(float)


def test_race_runs_equal_one_call_of_fit() -> None:
    X, y = _small_moons()
    grid = np.random.default_rng(0).uniform(-1, 2, size=(16, 2))
    runs = optimizer_race(X, y, [0.1], epochs=4, snapshots=(0, 2, 4), grid=grid, seed=2)
    assert set(runs) == {(0.1, name) for name in OPTIMIZERS}
    for name, make in OPTIMIZERS.items():
        net = MLP([2, 16, 16, 1], activation="tanh", seed=2)
        initial = sigmoid(net(grid)).reshape(4, 4)
        h = fit(net, BCEWithLogitsLoss(), make(net.parameters(), 0.1), X, y, epochs=4,
                batch_size=32, seed=2)  # fmt: skip
        run = runs[(0.1, name)]
        np.testing.assert_allclose(run.loss, h["loss"])
        np.testing.assert_allclose(run.accuracy, h["accuracy"])
        np.testing.assert_allclose(run.maps[0], initial)
        np.testing.assert_allclose(run.maps[4], sigmoid(net(grid)).reshape(4, 4))
        assert not np.allclose(run.maps[2], run.maps[4])


def test_the_three_optimizers_are_sgd_momentum_and_adam() -> None:
    params = MLP([2, 1], seed=0).parameters()
    sgd, momentum, adam = (make(params, 0.5) for make in OPTIMIZERS.values())
    assert isinstance(sgd, SGD) and sgd.momentum == 0 and sgd.lr == 0.5
    assert isinstance(momentum, SGD) and momentum.momentum == 0.9
    assert isinstance(adam, Adam) and adam.lr == 0.5


def test_race_figure_reports_each_optimizers_loss() -> None:
    X, y = _small_moons()
    fig = optimizer_race_figure(X, y, lrs=(0.03, 0.3), epochs=(0, 1, 3), resolution=12)
    runs = optimizer_race(X, y, (0.3,), 3)
    html = fig.render(lr=0.3, epoch=3)
    for name in OPTIMIZERS:
        loss = runs[(0.3, name)].loss[-1]
        assert f"<td>{name}</td><td>{loss:.3f}</td>" in html
    fig.render(lr=0.3, epoch=0)
    assert all("before training" in t.get_text() for t in fig.state["titles"])
    _frames_differ_along_every_control(fig)
    html_page = fig.to_html()
    assert html_page.count('class="nnlib-play"') == 1
    assert len(re.findall(r'<input type="range"', html_page)) == 2


@pytest.mark.slow
def test_race_supports_what_chapter_9_says() -> None:
    X, y = default_race_data()
    runs = optimizer_race(X, y, (0.01, 1.0), 100)
    final = {key: run.loss[-1] for key, run in runs.items()}
    # Small rate: Adam far ahead of plain SGD. Large rate: plain SGD best of the three.
    assert final[(0.01, "Adam")] < final[(0.01, "SGD + momentum")] < final[(0.01, "SGD")]
    assert final[(1.0, "SGD")] < min(final[(1.0, "SGD + momentum")], final[(1.0, "Adam")])


# --- regularisation -----------------------------------------------------------------------------
def test_dropout_mlp_without_dropout_is_the_mlp() -> None:
    net = dropout_mlp([2, 8, 8, 1], p=0.0, seed=4)
    ref = MLP([2, 8, 8, 1], activation="tanh", seed=4)
    kinds = [type(m).__name__ for m in net]  # dropout acts on each hidden layer's output
    assert kinds == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    for p, q in zip(net.parameters(), ref.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    X = np.random.default_rng(0).standard_normal((6, 2))
    np.testing.assert_allclose(net(X), ref(X))
    noisy = dropout_mlp([2, 8, 8, 1], p=0.5, seed=4)
    assert not np.allclose(noisy(X), ref(X))  # training mode: masks
    noisy.eval()
    np.testing.assert_allclose(noisy(X), ref(X))  # eval mode: the same net


def test_regularization_figure_reports_its_runs() -> None:
    X, y, X_val, y_val = default_overfit_data()
    wds, ps = (0.0, 0.1), (0.0, 0.5)
    runs = regularization_runs(X, y, X_val, y_val, wds, ps, epochs=30)
    fig = regularization_figure((X, y, X_val, y_val), wds, ps, runs=runs, resolution=20)
    # An independent run of the unregularised net gives the numbers in the side table.
    net = MLP([2, 64, 64, 1], activation="tanh", seed=0)
    h = fit(net, BCEWithLogitsLoss(), Adam(net.parameters(), lr=0.01), X, y, epochs=30,
            batch_size=len(X), validation=(X_val, y_val), seed=0)  # fmt: skip
    html = fig.render(weight_decay=0.0, p=0.0)
    assert _number(html, "training loss") == pytest.approx(h["loss"][-1], abs=6e-4)
    assert _number(html, "validation loss") == pytest.approx(h["val_loss"][-1], abs=6e-4)
    assert _number(html, "‖W‖") == pytest.approx(weight_norm(net), abs=0.06)
    np.testing.assert_allclose(fig.state["val"].get_ydata(), h["val_loss"])
    # Weight decay shrinks the weights.
    assert weight_norm(runs[(0.1, 0.0)][0]) < weight_norm(runs[(0.0, 0.0)][0])
    _frames_differ_along_every_control(fig)
