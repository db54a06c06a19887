"""Tests for nnlib.optim: SGD and Adam against their textbook update equations."""

from __future__ import annotations

import numpy as np
import pytest

from nnlib.modules import Parameter
from nnlib.optim import SGD, Adam, Optimizer

RNG = np.random.default_rng(20240601)


def make_params(seed: int = 0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [
        Parameter(rng.standard_normal((3, 4)), name="W"),
        Parameter(rng.standard_normal(4), name="b"),
    ]


def gradient(w: np.ndarray, k: int) -> np.ndarray:
    """A gradient that depends on the current weights and on the step, like a real loss."""
    return np.sin(3.0 * w + k) + 0.5 * w


def run(optimizer: Optimizer, params: list[Parameter], steps: int) -> list[list[np.ndarray]]:
    """Run ``steps`` optimizer steps with :func:`gradient`; return the weights after each."""
    trajectory = []
    for k in range(steps):
        optimizer.zero_grad()
        for p in params:
            p.grad += gradient(p.value, k)
        optimizer.step()
        trajectory.append([p.value.copy() for p in params])
    return trajectory


# --- SGD --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("momentum", "weight_decay", "nesterov"),
    [(0.0, 0.0, False), (0.9, 0.0, False), (0.0, 0.1, False), (0.8, 0.05, False), (0.9, 0.0, True)],
)
def test_sgd_matches_the_textbook_update(momentum, weight_decay, nesterov):
    lr, steps = 0.05, 6
    params = make_params()
    expected_w = [p.value.copy() for p in params]
    velocity = [np.zeros_like(w) for w in expected_w]
    trajectory = run(SGD(params, lr, momentum, weight_decay, nesterov), params, steps)
    for k in range(steps):
        for i, w in enumerate(expected_w):
            g = gradient(w, k) + weight_decay * w
            velocity[i] = momentum * velocity[i] + g
            direction = g + momentum * velocity[i] if nesterov else velocity[i]
            expected_w[i] = w - lr * direction
            np.testing.assert_allclose(trajectory[k][i], expected_w[i], rtol=1e-13, atol=1e-15)


def test_plain_sgd_first_step_by_hand():
    p = Parameter(np.array([1.0, -2.0]))
    p.grad[:] = [0.5, 4.0]
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.value, [0.95, -2.4], rtol=1e-15)


def test_sgd_momentum_second_step_by_hand():
    p = Parameter(np.array([0.0]))
    opt = SGD([p], lr=1.0, momentum=0.5)
    p.grad[:] = 1.0
    opt.step()  # v = 1, w = -1
    opt.step()  # v = 0.5 * 1 + 1 = 1.5, w = -2.5
    np.testing.assert_allclose(p.value, [-2.5], rtol=1e-15)


def test_weight_decay_shrinks_weights_without_a_loss_gradient():
    p = Parameter(np.array([2.0, -4.0]))
    SGD([p], lr=0.1, weight_decay=0.5).step()  # g = 0.5 w, w <- w (1 - 0.05)
    np.testing.assert_allclose(p.value, [1.9, -3.8], rtol=1e-15)


# --- Adam -------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.8)])
def test_adam_matches_the_textbook_update(betas, weight_decay):
    lr, eps, steps = 0.01, 1e-8, 8
    beta1, beta2 = betas
    params = make_params(1)
    expected_w = [p.value.copy() for p in params]
    m = [np.zeros_like(w) for w in expected_w]
    v = [np.zeros_like(w) for w in expected_w]
    trajectory = run(Adam(params, lr, betas, eps, weight_decay), params, steps)
    for k in range(steps):
        t = k + 1
        for i, w in enumerate(expected_w):
            g = gradient(w, k) + weight_decay * w
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            expected_w[i] = w - lr * m_hat / (np.sqrt(v_hat) + eps)
            np.testing.assert_allclose(trajectory[k][i], expected_w[i], rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_weight_by_about_lr():
    # Bias correction makes m_hat = g and v_hat = g**2 on step 1: the step is lr * sign(g).
    p = Parameter(np.array([1.0, 1.0, 1.0]))
    p.grad[:] = [0.01, -5.0, 200.0]
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.value, [0.9, 1.1, 0.9], rtol=1e-6)


# --- both -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.05, momentum=0.9),
        lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
        lambda ps: Adam(ps, lr=0.05),
    ],
    ids=["sgd", "momentum", "nesterov", "adam"],
)
def test_quadratic_bowl_is_minimised(make):
    # f(w) = 1/2 (w - c)^T A (w - c), an elongated bowl with its minimum at c.
    rng = np.random.default_rng(3)
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    A = Q @ np.diag([0.5, 1.0, 2.0, 4.0]) @ Q.T
    c = rng.standard_normal(4)
    p = Parameter(np.zeros(4))
    opt = make([p])
    for _ in range(1000):
        opt.zero_grad()
        p.grad += A @ (p.value - c)
        opt.step()
    np.testing.assert_allclose(p.value, c, atol=1e-4)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, 0.1, 0.9, 0.1), lambda ps: Adam(ps, 0.1)])
def test_step_updates_in_place_and_leaves_grad_alone(make):
    params = make_params()
    values = [p.value for p in params]
    before = [p.value.copy() for p in params]
    grads = [RNG.standard_normal(p.shape) for p in params]
    for p, g in zip(params, grads, strict=True):
        p.grad[...] = g
    make(params).step()
    for p, v, b, g in zip(params, values, before, grads, strict=True):
        assert p.value is v  # layers hold the same array
        assert not np.allclose(p.value, b)
        np.testing.assert_array_equal(p.grad, g)


def test_zero_grad_resets_every_gradient():
    params = make_params()
    for p in params:
        p.grad += 1.5
    SGD(params, lr=0.1).zero_grad()
    for p in params:
        assert not p.grad.any()


def test_accepts_a_generator_of_parameters():
    params = make_params()
    opt = SGD((p for p in params), lr=0.1)
    assert opt.params == params


def test_reprs_show_the_hyperparameters():
    params = make_params()
    assert repr(SGD(params, lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, weight_decay=0.0, nesterov=False)"
    )
    assert repr(Adam(params, lr=0.01, weight_decay=1e-4)) == (
        "Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0001)"
    )


# --- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [SGD, Adam])
def test_empty_parameter_list_is_an_error(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__} got an empty parameter list"):
        cls([], lr=0.1)


def test_parameter_list_errors():
    p = Parameter(np.zeros(2))
    with pytest.raises(TypeError, match="got a single Parameter; wrap it in a list"):
        SGD(p, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] must be a Parameter .* got float64 array"):
        SGD([p, np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match=r"params must be an iterable of Parameters .* got int"):
        SGD(3, lr=0.1)
    with pytest.raises(ValueError, match="the same Parameter more than once"):
        Adam([p, p])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lr": 0.0}, ValueError, r"lr must be a finite number > 0, got 0.0"),
        ({"lr": -1}, ValueError, r"lr must be a finite number > 0, got -1"),
        ({"lr": "0.1"}, TypeError, r"lr must be a number, got str '0.1'"),
        ({"lr": 0.1, "momentum": 1.0}, ValueError, r"momentum must lie in \[0, 1\), got 1.0"),
        ({"lr": 0.1, "momentum": -0.1}, ValueError, r"momentum must be a finite number >= 0"),
        ({"lr": 0.1, "weight_decay": -1e-3}, ValueError, r"weight_decay must be .* >= 0"),
        ({"lr": 0.1, "nesterov": True}, ValueError, r"nesterov=True needs momentum > 0"),
        ({"lr": 0.1, "momentum": 0.9, "nesterov": 1}, TypeError, r"nesterov must be True or"),
    ],
)
def test_sgd_hyperparameter_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        SGD(make_params(), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lr": float("nan")}, ValueError, r"lr must be a finite number > 0, got nan"),
        ({"betas": (0.9, 1.0)}, ValueError, r"betas\[1\] must lie in \[0, 1\), got 1.0"),
        ({"betas": (-0.1, 0.9)}, ValueError, r"betas\[0\] must be a finite number >= 0"),
        ({"betas": 0.9}, ValueError, r"betas must be a pair \(beta1, beta2\), got 0.9"),
        ({"eps": 0}, ValueError, r"eps must be a finite number > 0, got 0"),
        ({"weight_decay": -1}, ValueError, r"weight_decay must be a finite number >= 0"),
    ],
)
def test_adam_hyperparameter_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        Adam(make_params(), **kwargs)


def test_base_optimizer_step_is_abstract():
    with pytest.raises(NotImplementedError, match="Optimizer must implement step"):
        Optimizer(make_params()).step()
