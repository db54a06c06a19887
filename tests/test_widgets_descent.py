"""nnlib.widgets.descent: the paths drawn are those of nnlib's gradient descent and SGD."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from nnlib.data import make_regression_1d
from nnlib.modules import Parameter
from nnlib.optim import SGD
from nnlib.regression import LinearRegression, mse
from nnlib.widgets.descent import (
    default_valley,
    gradient_descent_path,
    loss_contour_figure,
    momentum_valley_figure,
    mse_surface,
    valley_loss,
    valley_path,
)


def _data():
    return make_regression_1d(n=12, noise=0.3, seed=3)


def _frames_differ_along_every_control(fig) -> None:
    frames = fig.frames()
    ids = np.asarray(frames.frame_image).reshape(frames.shape)
    for axis, control in enumerate(fig.controls):
        assert (np.diff(ids, axis=axis) != 0).any(), f"{control.name} never changes the picture"


def _median_live_update_ms(fig) -> float:
    view = fig.live()
    times = []
    for ctl in view.controls.values():
        start = ctl.index
        for i in [*range(len(ctl.options)), start]:
            if i != ctl.index:
                t0 = time.perf_counter()
                ctl.index = i  # the live callback: render and encode the PNG
                times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


# --- chapter 4 ----------------------------------------------------------------------------------
def test_mse_surface_is_nnlibs_mse_at_every_grid_point() -> None:
    X, y = _data()
    ws, bs = np.array([-1.0, 0.5, 2.0]), np.array([0.0, 1.5])
    surface = mse_surface(X, y, ws, bs)
    assert surface.shape == (2, 3)
    for j, b in enumerate(bs):
        for i, w in enumerate(ws):
            assert surface[j, i] == pytest.approx(mse(X[:, 0] * w + b, y))


def test_path_follows_linear_regressions_gradient_descent() -> None:
    X, y = _data()
    w0 = 0.01 * np.random.default_rng(4).standard_normal(1)  # LinearRegression's start, seed 4
    path, losses = gradient_descent_path(X, y, lr=0.3, steps=6, start=(w0[0], 0.0))
    assert path.shape == (7, 2) and losses.shape == (7,)
    for t in (1, 3, 6):
        model = LinearRegression(method="gd", lr=0.3, epochs=t, seed=4).fit(X, y)
        np.testing.assert_allclose(path[t], [model.coef_[0], model.intercept_], rtol=1e-12)
        assert losses[t - 1] == pytest.approx(model.loss_history_[-1])


def test_a_diverging_path_stops_at_overflow_with_nans() -> None:
    X, y = _data()
    path, losses = gradient_descent_path(X, y, lr=50.0, steps=400, start=(0.0, 0.0))
    assert np.isnan(losses[-1]) and np.isfinite(losses[:5]).all()
    np.testing.assert_array_equal(np.isnan(path).all(axis=1), np.isnan(losses))
    finite = losses[np.isfinite(losses)]
    assert np.all(np.diff(finite) > 0)  # each step overshoots further


def test_path_rejects_bad_input() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match=r"shape \(N, 1\)"):
        gradient_descent_path(np.hstack([X, X]), y, 0.1, 3)
    with pytest.raises(ValueError, match="same number of rows"):
        gradient_descent_path(X, y[:-1], 0.1, 3)
    with pytest.raises(ValueError, match="lr must be"):
        gradient_descent_path(X, y, -0.1, 3)
    with pytest.raises(ValueError, match="steps must be an int >= 0, got -1"):
        gradient_descent_path(X, y, 0.1, -1)


def test_contour_figure_draws_the_path_and_judges_the_learning_rate() -> None:
    X, y = _data()
    steps = (0, 1, 5, 30)
    fig = loss_contour_figure(X, y, lrs=(0.02, 0.5, 1.2), steps=steps, start=(-1.0, -2.0))
    path, losses = gradient_descent_path(X, y, 0.5, 30, start=(-1.0, -2.0))
    html = fig.render(lr=0.5, step=5)
    np.testing.assert_allclose(np.column_stack(fig.state["path"].get_data()), path[:6])
    np.testing.assert_allclose(np.column_stack(fig.state["head"].get_data()), path[5:6])
    assert f"MSE = {losses[5]:.4g}" in html
    assert "converges" in html
    assert "too small" in fig.render(lr=0.02, step=30)
    assert "too large" in fig.render(lr=1.2, step=30)
    _frames_differ_along_every_control(fig)
    page = fig.to_html()
    assert page.count('class="nnlib-play"') == 1
    assert len(re.findall(r'<input type="range"', page)) == 2


def test_contour_figure_default_is_fast_live_and_small_static() -> None:
    fig = loss_contour_figure()
    assert _median_live_update_ms(fig) < 150
    frames = fig.frames()
    # 45 frames at twice the pixel density (about 1.0 MB measured): well inside the 2.5 MB a
    # figure may take of its page (tests/test_widgets.py), with room for the chapter's others.
    assert frames.nbytes < 1_300_000, f"{frames.nbytes} bytes of frames"


# --- chapter 9 ----------------------------------------------------------------------------------
def test_valley_path_is_nnlibs_sgd_on_the_quadratic() -> None:
    h = (0.1, 3.0)
    path = valley_path((-2.0, 1.0), h, lr=0.4, steps=5, momentum=0.7)
    assert path.shape == (6, 2)
    theta = Parameter(np.array([-2.0, 1.0]))
    optimizer = SGD([theta], lr=0.4, momentum=0.7)
    for t in range(1, 6):
        # The gradient of 0.5 * sum(h * theta**2), by central differences of valley_loss.
        eps = 1e-6
        grad = np.array(
            [
                (valley_loss(theta.value + e, h) - valley_loss(theta.value - e, h)) / (2 * eps)
                for e in np.eye(2) * eps
            ]
        )
        optimizer.zero_grad()
        theta.grad += grad
        optimizer.step()
        np.testing.assert_allclose(path[t], theta.value, rtol=1e-8)


def test_valley_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="curvatures must be > 0"):
        valley_loss(np.zeros(2), (0.0, 1.0))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        valley_loss(np.zeros(3), (1.0, 1.0))
    with pytest.raises(ValueError, match="momentum"):
        valley_path((1.0, 1.0), (1.0, 1.0), 0.1, 3, momentum=1.5)


def test_momentum_beats_plain_sgd_in_the_default_valley() -> None:
    v = default_valley()
    plain = valley_path(v["start"], v["curvatures"], v["lr"], 40)
    heavy = valley_path(v["start"], v["curvatures"], v["lr"], 40, momentum=0.8)
    loss = lambda p: float(valley_loss(p[-1], v["curvatures"]))  # noqa: E731
    assert loss(heavy) < 0.01 * loss(plain)
    # Plain SGD zig-zags across the valley: the sign of theta_2 flips at every step.
    assert np.all(np.diff(np.sign(plain[:10, 1])) != 0)


def test_momentum_figure_shows_both_runs() -> None:
    fig = momentum_valley_figure(momenta=(0.5, 0.9), steps=(0, 3, 12))
    v = default_valley()
    html = fig.render(momentum=0.9, step=3)
    heavy = valley_path(v["start"], v["curvatures"], v["lr"], 12, momentum=0.9)
    plain = valley_path(v["start"], v["curvatures"], v["lr"], 12)
    np.testing.assert_allclose(np.column_stack(fig.state["momentum"].get_data()), heavy[:4])
    np.testing.assert_allclose(np.column_stack(fig.state["sgd"].get_data()), plain[:4])
    assert f"<td>momentum 0.9</td><td>{valley_loss(heavy[3], v['curvatures']):.3g}</td>" in html
    assert f"<td>SGD</td><td>{valley_loss(plain[3], v['curvatures']):.3g}</td>" in html
    _frames_differ_along_every_control(fig)


def test_momentum_figure_default_is_fast_live_and_small_static() -> None:
    fig = momentum_valley_figure()
    assert _median_live_update_ms(fig) < 150
    assert fig.frames().nbytes < 1_000_000
