"""nnlib.widgets.networks: the figures of chapters 6 and 7 show what nnlib computes."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from nnlib.functional import log_softmax, one_hot, softmax
from nnlib.gradcheck import numerical_gradient
from nnlib.losses import MSELoss
from nnlib.modules import ELU, LeakyReLU, Sigmoid, Tanh
from nnlib.widgets.networks import (
    ACTIVATION_FORMULAS,
    activation_curves,
    activation_figure,
    activation_module,
    bumpy_target,
    hand_built_approximator,
    softmax_figure,
    universal_approximation_figure,
)

ALPHAS = (0.01, 0.3, 1.0)


def _ranges_and_selects(text: str) -> tuple[int, int]:
    return len(re.findall(r'<input type="range"', text)), len(re.findall(r"<select ", text))


def _image_ids(fig) -> np.ndarray:
    frames = fig.frames()
    return np.asarray(frames.frame_image).reshape(frames.shape)


# --- the activation figure ----------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ACTIVATION_FORMULAS))
@pytest.mark.parametrize("alpha", ALPHAS)
def test_activation_derivative_is_the_numerical_one(name, alpha) -> None:
    x = np.linspace(-3.9, 3.9, 40)  # even count: 0 (every kink) is not on the grid
    f, df = activation_curves(name, x, alpha)
    layer = activation_module(name, alpha)
    column = x.reshape(-1, 1).copy()
    numeric = numerical_gradient(lambda v: float(layer.forward(v).sum()), column)[:, 0]
    np.testing.assert_allclose(df, numeric, atol=1e-6)
    np.testing.assert_allclose(f, activation_module(name, alpha).forward(x.reshape(-1, 1))[:, 0])


def test_activation_module_uses_alpha_and_rejects_unknown_names() -> None:
    assert isinstance(activation_module("leaky_relu", 0.3), LeakyReLU)
    assert activation_module("leaky_relu", 0.3).alpha == 0.3
    assert isinstance(activation_module("elu", 0.5), ELU)
    assert isinstance(activation_module("tanh"), Tanh)
    with pytest.raises(ValueError, match="name must be one of"):
        activation_module("swish")


def test_activation_figure_draws_f_fprime_and_the_tangent() -> None:
    fig = activation_figure()
    side = fig.render(activation="sigmoid", alpha=0.1, x0=1.0)
    state = fig.state
    x, f = state["f"].get_data()
    s = Sigmoid()
    np.testing.assert_allclose(f, s.forward(np.asarray(x).reshape(-1, 1))[:, 0])
    _, df = state["df"].get_data()
    np.testing.assert_allclose(df, s.backward(np.ones((len(x), 1)))[:, 0])
    # The tangent touches f at x0 with slope f'(x0) = s(1)(1 - s(1)).
    s1 = 1 / (1 + np.exp(-1.0))
    xs, ys = (np.asarray(a) for a in state["tangent"].get_data())
    np.testing.assert_allclose(np.diff(ys) / np.diff(xs), s1 * (1 - s1))
    np.testing.assert_allclose(np.interp(1.0, xs, ys), s1)
    assert list(state["df_dot"].get_ydata()) == pytest.approx([s1 * (1 - s1)])
    assert f"backward = {s1 * (1 - s1):.4f}" in side and "They agree" in side


def test_activation_figure_flags_kinks_and_the_jump() -> None:
    fig = activation_figure()
    relu = fig.render(activation="relu", alpha=0.1, x0=0.0)
    assert "backward = 0.0000" in relu and "centred difference = 0.5" in relu
    assert "kink" in relu
    assert "kink" not in fig.render(activation="relu", alpha=0.1, x0=1.0)
    # A leaky ReLU with alpha = 1 is the identity: no kink at 0.
    assert "They agree" in fig.render(activation="leaky_relu", alpha=1.0, x0=0.0)
    assert "kink" in fig.render(activation="leaky_relu", alpha=0.3, x0=0.0)
    assert "the jump" in fig.render(activation="step", alpha=0.1, x0=0.0)
    # alpha enters the formula shown for the ELU.
    elu = fig.render(activation="elu", alpha=0.3, x0=-1.0)
    assert "else 0.3&middot;(e<sup>x</sup>" in elu and "else 0.3&middot;e<sup>x</sup>" in elu
    assert "else 0.3</p>" not in elu
    assert "else 0.01" in fig.render(activation="leaky_relu", alpha=0.01, x0=-1.0)


def test_activation_frames_change_with_each_control_where_they_should() -> None:
    fig = activation_figure(
        names=("sigmoid", "leaky_relu"),
        alphas=(0.1, 1.0),
        x0_values=(-1, 1),
        default=("sigmoid", 0.1, 1),
    )
    ids = _image_ids(fig)  # shape (activation, alpha, x0)
    assert (ids[0, :, 0] != ids[1, :, 0]).all()  # the activation changes the picture
    assert (ids[:, :, 0] != ids[:, :, 1]).all()  # so does x0
    assert ids[1, 0, 0] != ids[1, 1, 0]  # alpha changes the leaky ReLU ...
    assert (ids[0, 0] == ids[0, 1]).all()  # ... but not the sigmoid: stored once
    assert _ranges_and_selects(fig.to_html()) == (2, 1)


# --- universal approximation --------------------------------------------------------------------
def _data() -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-3, 3, 200).reshape(-1, 1)
    return x, bumpy_target(x[:, 0])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_output_layer_is_the_least_squares_optimum(activation) -> None:
    x, y = _data()
    net = hand_built_approximator(x, y, 7, activation)
    assert net.sizes == [1, 7, 1]
    # At a least-squares optimum the gradient of the MSE w.r.t. the output layer vanishes.
    loss = MSELoss()
    loss(net(x), y.reshape(-1, 1))
    net.zero_grad()
    net.backward(loss.backward())
    assert np.abs(net[2].weight.grad).max() < 1e-8
    assert abs(net[2].bias.grad[0]) < 1e-8
    # The hidden units are steps (or hinges) at distinct positions across [-3, 3].
    centres = -net[0].bias.value / net[0].weight.value[0]
    assert len(np.unique(centres.round(9))) == 7 and centres.min() >= -3 and centres.max() <= 3


def test_approximation_improves_with_width() -> None:
    x, y = _data()
    for activation in ("sigmoid", "relu"):
        rmse = [
            np.sqrt(np.mean((hand_built_approximator(x, y, h, activation)(x)[:, 0] - y) ** 2))
            for h in (1, 2, 4, 8, 16, 32, 64)
        ]
        assert all(a > b for a, b in itertools.pairwise(rmse)), (activation, rmse)
        assert rmse[0] > 0.5 and rmse[-1] < 0.005


def test_hand_built_approximator_rejects_bad_input() -> None:
    x, y = _data()
    with pytest.raises(ValueError, match="activation must be"):
        hand_built_approximator(x, y, 3, "step")
    with pytest.raises(ValueError, match=r"shape \(N, 1\)"):
        hand_built_approximator(x[:, 0], y, 3)


def test_universal_approximation_figure_shows_the_network_and_its_units() -> None:
    fig = universal_approximation_figure(
        hidden_values=(2, 5), activations=("sigmoid", "relu"), default=("sigmoid", 2)
    )
    side = fig.render(activation="relu", hidden=5)
    x, y = _data()
    net = hand_built_approximator(x, y, 5, "relu")
    fit = np.asarray(fig.state["fit"].get_ydata())
    np.testing.assert_allclose(fit, net(x)[:, 0])
    drawn = [line for line in fig.state["units"] if len(line.get_xdata())]
    assert len(drawn) == 5
    # The drawn units are the hinges relu(x - c_k); weighted by v_k (blue if positive, red if
    # negative) and added to the output bias they give the network's output.
    v = net[2].weight.value[:, 0]
    units = np.array([line.get_ydata() for line in drawn])  # (H, N)
    np.testing.assert_allclose(units.T, np.maximum(x @ net[0].weight.value + net[0].bias.value, 0))
    np.testing.assert_allclose(v @ units + net[2].bias.value[0], fit, atol=1e-10)
    colours = [line.get_color() for line in drawn]
    assert colours == ["#1f77b4" if vk > 0 else "#d62728" for vk in v]
    rmse = np.sqrt(np.mean((fit - y) ** 2))
    assert f"RMSE = {rmse:.4f}" in side and "16 parameters" in side
    ids = _image_ids(fig)
    assert (ids[:, 0] != ids[:, 1]).all() and (ids[0] != ids[1]).all()
    assert _ranges_and_selects(fig.to_html()) == (1, 1)


# --- softmax and cross-entropy ------------------------------------------------------------------
def test_softmax_figure_reproduces_the_lecture_numbers() -> None:
    fig = softmax_figure()
    # Only differences matter: (3, 2, 0) is (5, 4, 2) shifted, (3, 3, 0) is (4, 4, 1) shifted.
    for z_dog, z_cat, expected in [(3, 2, [0.71, 0.26, 0.04]), (3, 3, [0.49, 0.49, 0.02])]:
        fig.render(z_dog=float(z_dog), z_cat=float(z_cat), label="dog")
        heights = [bar.get_height() for bar in fig.state["bars_p"]]
        np.testing.assert_allclose(np.round(heights, 2), expected)


@pytest.mark.parametrize("label", ["dog", "cat", "bug"])
def test_softmax_figure_shows_probabilities_gradient_and_loss(label) -> None:
    fig = softmax_figure()
    side = fig.render(z_dog=-1.0, z_cat=2.0, label=label)
    z = np.array([-1.0, 2.0, 0.0])
    k = ["dog", "cat", "bug"].index(label)
    p = softmax(z)
    heights = [bar.get_height() for bar in fig.state["bars_p"]]
    np.testing.assert_allclose(heights, p)
    grads = [bar.get_height() for bar in fig.state["bars_g"]]
    np.testing.assert_allclose(grads, p - one_hot(k, 3), atol=1e-12)
    widths = [bar.get_linewidth() for bar in fig.state["bars_p"]]
    assert widths[k] == max(widths) and widths.count(max(widths)) == 1
    loss = -log_softmax(z)[k]
    assert f"= <b>{loss:.3f}</b>" in side
    assert f"loss = {loss:.3f}" in fig.state["title_g"].get_text()


def test_softmax_frames_respond_to_every_control() -> None:
    fig = softmax_figure(logit_values=(-1, 0, 2), default=(0, 2, "dog"))
    ids = _image_ids(fig)  # shape (z_dog, z_cat, label)
    assert (ids[0] != ids[1]).all() and (ids[:, 0] != ids[:, 1]).all()
    assert (ids[..., 0] != ids[..., 1]).all()
    assert _ranges_and_selects(fig.to_html()) == (2, 1)


def test_live_face_moves_the_softmax_figure() -> None:
    view = softmax_figure().live()
    first = view.side.value
    view.controls["z_cat"].value = 3.0
    assert view.side.value != first
    view.controls["label"].value = "cat"
    p_cat = softmax(np.array([2.0, 3.0, 0.0]))[1]
    assert f"{-np.log(p_cat):.3f}" in view.side.value


@pytest.mark.slow
@pytest.mark.parametrize("build", [softmax_figure, universal_approximation_figure])
def test_book_figures_stay_small(build) -> None:
    fig = build()
    assert len(fig.to_html()) < 2_500_000
    assert fig.frames().n_frames <= 250


@pytest.mark.parametrize(
    "build", [activation_figure, universal_approximation_figure, softmax_figure]
)
def test_every_control_changes_the_default_picture(build) -> None:
    # The book's browser test moves each control away from the defaults and expects a new frame.
    fig = build()
    fig.render()
    start = fig.png(static=True)
    for control in fig.controls:
        others = [v for i, v in enumerate(control.values) if i != control.default]
        changed = False
        for value in others:
            fig.render(**{control.name: value})
            changed = fig.png(static=True) != start
            if changed:
                break
        assert changed, f"moving {control.name!r} never changes the picture"
        fig.render()
