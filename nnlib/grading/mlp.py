"""Checks for ``a5_mlp``: an MLP built from the student's layers, SGD with momentum and L2,
and training on the 8x8 digits to a stated test accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnlib import modules, optim
from nnlib.data import load_digits, train_test_split
from nnlib.grading._compare import assert_close
from nnlib.grading._safe import GradingError, as_result, quiet
from nnlib.grading.checks import call, random_array
from nnlib.grading.policy import policy_for
from nnlib.losses import CrossEntropyLoss
from nnlib.modules import Parameter
from nnlib.train import fit

__all__ = [
    "MLP_REFERENCES",
    "check_mlp",
    "check_sgd",
    "check_trained_model",
    "check_training",
    "digits",
    "model_accuracy",
]

#: Off limits in a5: nnlib's layers, containers and MLP (the layers are the student's from a4)
#: and its optimizers. The loss and the training loop are allowed: they are not the exercise.
MLP_REFERENCES = list(policy_for("a5_mlp").forbidden)


def _parameters(model: object, what: str) -> list:
    params = call(model.parameters, what=f"{what}.parameters()", forbid=MLP_REFERENCES)
    params = list(params)
    if not all(isinstance(p, Parameter) for p in params):
        raise GradingError(f"{what}.parameters(): expected a list of nnlib Parameters")
    return params


def _reference_like(student_params: list, sizes: Sequence[int], what: str) -> modules.MLP:
    """nnlib's ``MLP(sizes)`` (ReLU hidden layers, linear output) with the student's values."""
    reference = modules.MLP(list(sizes), activation="relu")
    ref_params = reference.parameters()
    shapes = [p.value.shape for p in ref_params]
    got = [p.value.shape for p in student_params]
    if got != shapes:
        raise GradingError(
            f"{what}: parameter check failed: expected parameters of shapes {shapes} (W, b of "
            f"each Linear layer, in order), got {got}; likely bug: a layer is missing, extra, or "
            "built with swapped sizes"
        )
    for p, q in zip(ref_params, student_params, strict=True):
        p.value = np.array(q.value, dtype=np.float64, copy=True)
    return reference


def check_mlp(
    MLP: type,
    sizes: Sequence[int],
    n: int,
    *,
    seed: int = 0,
    forward: bool = True,
    backward: bool = True,
) -> None:
    """``MLP(sizes)``: Linear layers with ReLU between them, no activation after the last;
    forward and backward against nnlib's MLP with the same parameter values.

    ``backward=False`` checks forward alone; ``forward=False`` checks backward alone (forward
    runs, to fill the caches, but its value is the forward part's business).
    """
    what = f"MLP({list(sizes)})"
    model = call(
        lambda: MLP(list(sizes), seed=seed), what=f"creating {what}", forbid=MLP_REFERENCES
    )
    params = _parameters(model, what)
    rng = np.random.default_rng(seed + 1)
    for p in params:  # non-zero biases, so a layer that drops its bias shows
        p.value = rng.normal(size=p.value.shape) * 0.8
        p.grad = rng.normal(size=p.value.shape)  # backward must add to it
    reference = _reference_like(params, sizes, what)
    for p, q in zip(reference.parameters(), params, strict=True):
        p.grad = np.array(q.grad, copy=True)
    initial = [np.array(q.grad, copy=True) for q in params]
    X = random_array((n, sizes[0]), seed + 2)
    with quiet():
        want = reference.forward(X.copy())
    try:
        got = call(
            model.forward, X.copy(), what=f"{what}.forward(X)", forbid=MLP_REFERENCES, names=["X"]
        )
    except GradingError as exc:
        if forward:
            raise
        raise GradingError(
            f"{what}.backward cannot be checked: it needs forward, which fails: fix forward "
            f"first ({str(exc).splitlines()[0]})"
        ) from None
    if not forward:
        got = want
    got = as_result(got, f"{what}.forward(X)", want.shape)
    with quiet():
        relu_out = modules.MLP(list(sizes), activation="relu", output_activation="relu")
        for p, q in zip(relu_out.parameters(), params, strict=True):
            p.value = q.value.copy()
        hints = [
            (
                "a ReLU after the last layer too: the output must be raw scores",
                relu_out.forward(X.copy()),
            )
        ]
    assert_close(got, want, f"{what}.forward(X)", hints=hints)
    if not backward:
        return
    G = rng.normal(size=want.shape)
    with quiet():
        want_dX = reference.backward(G.copy())
    got = call(
        model.backward,
        G.copy(),
        what=f"{what}.backward(grad_out)",
        forbid=MLP_REFERENCES,
        names=["grad_out"],
    )
    got = as_result(got, f"{what}.backward(grad_out), the returned dL/dX", want_dX.shape)
    assert_close(got, want_dX, f"{what}.backward(grad_out), the returned dL/dX")
    for i, (p, q) in enumerate(zip(reference.parameters(), params, strict=True)):
        kind = "weight" if i % 2 == 0 else "bias"
        label = f"{what}.backward(grad_out): the gradient of layer {i // 2}'s {kind}"
        assert_close(
            as_result(q.grad, label, p.grad.shape),
            p.grad,
            label,
            hints=[("overwrote .grad (=) instead of adding to it (+=)", p.grad - initial[i])],
        )


def _simulate(values, grads, lr, momentum, weight_decay, *, variant: str = "") -> list:
    """SGD with momentum and L2 (PyTorch's rule) and a few classic wrong variants of it."""
    w = [v.copy() for v in values]
    vel = [np.zeros_like(v) for v in values]
    for step in grads:
        for i, g in enumerate(step):
            wd = (
                -weight_decay
                if variant == "wd sign"
                else (0.0 if variant == "no wd" else weight_decay)
            )
            g = g + wd * w[i]
            if variant == "no memory":
                vel[i] = g
            else:
                vel[i] = momentum * vel[i] + g
            w[i] = w[i] + lr * vel[i] if variant == "ascent" else w[i] - lr * vel[i]
    return w


def check_sgd(
    SGD: type,
    shapes: Sequence[tuple[int, ...]],
    *,
    lr: float,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    steps: int = 3,
    seed: int = 0,
) -> None:
    """``SGD(params, lr, momentum, weight_decay).step()`` updates every parameter exactly like
    ``nnlib.optim.SGD`` over ``steps`` steps with random gradients."""
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(steps)]
    params = [Parameter(v.copy()) for v in values]
    ref_params = [Parameter(v.copy()) for v in values]
    what = f"SGD(lr={lr:g}, momentum={momentum:g}, weight_decay={weight_decay:g})"
    opt = call(
        lambda: SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay),
        what=f"creating {what}",
        forbid=MLP_REFERENCES,
    )
    with quiet():
        ref = optim.SGD(ref_params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    for k, step in enumerate(grads):
        for p, q, g in zip(params, ref_params, step, strict=True):
            p.grad, q.grad = g.copy(), g.copy()
        call(opt.step, what=f"{what}.step() number {k + 1}", forbid=MLP_REFERENCES)
        with quiet():
            ref.step()
        for i, (p, q) in enumerate(zip(params, ref_params, strict=True)):
            label = f"{what}: parameter {i} (shape {q.value.shape}) after step {k + 1}"
            got = as_result(p.value, label, q.value.shape)
            done = grads[: k + 1]
            hints = [
                (
                    f"likely {name}",
                    _simulate(values, done, lr, momentum, weight_decay, variant=v)[i],
                )
                for name, v in [
                    ("weight decay with the wrong sign", "wd sign"),
                    ("weight decay missing", "no wd"),
                    ("the velocity is not kept between steps (momentum missing)", "no memory"),
                    ("a step up the gradient (sign flipped)", "ascent"),
                ]
            ]
            assert_close(got, q.value, label, hints=[(d[len("likely ") :], h) for d, h in hints])


def digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 8x8 digits scaled to [0, 1], split 75/25 (stratified) with ``seed``."""
    X, y = load_digits()
    return train_test_split(X / 16.0, y, test_size=0.25, seed=seed, stratify=True)


def model_accuracy(model: object, sizes: Sequence[int], X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the student's trained parameters, computed by nnlib's MLP forward (so the
    verdict does not depend on the student's forward code)."""
    params = _parameters(model, "the trained model")
    reference = _reference_like(params, sizes, "the trained model")
    with quiet():
        return float(np.mean(np.argmax(reference.forward(X), axis=1) == y))


def check_training(
    MLP: type,
    SGD: type,
    hyper: dict,
    *,
    min_accuracy: float,
    seed: int,
) -> None:
    """Train a fresh ``MLP`` with ``SGD`` on a split of the digits drawn with ``seed``, with the
    assignment's hyperparameters, and require the stated test accuracy."""
    X_train, X_test, y_train, y_test = digits(seed)
    sizes = [64, hyper["hidden"], 10]
    what = f"training MLP({sizes}) on the digits (split seed {seed})"

    def train() -> object:
        model = MLP(sizes, seed=seed)
        opt = SGD(
            model.parameters(),
            lr=hyper["lr"],
            momentum=hyper["momentum"],
            weight_decay=hyper["weight_decay"],
        )
        fit(
            model,
            CrossEntropyLoss(),
            opt,
            X_train,
            y_train,
            epochs=hyper["num_epochs"],
            batch_size=hyper["batch_size"],
            seed=seed,
            progress=False,
            metrics=None,
        )
        return model

    model = call(train, what=what, forbid=MLP_REFERENCES)
    accuracy = model_accuracy(model, sizes, X_test, y_test)
    if not accuracy >= min_accuracy:
        raise GradingError(
            f"{what}: accuracy check failed: test accuracy {accuracy:.3f}, expected at least "
            f"{min_accuracy}; likely bug: the gradients or the update are subtly wrong (the "
            "checks above use small cases; look at the loss curve: it should fall steadily)"
        )


def check_trained_model(
    model: object, sizes: Sequence[int], X: np.ndarray, y: np.ndarray, min_accuracy: float
) -> None:
    """The student's own trained ``model`` reaches ``min_accuracy`` on ``(X, y)``."""
    accuracy = model_accuracy(model, sizes, X, y)
    if not accuracy >= min_accuracy:
        raise GradingError(
            f"your trained model: accuracy check failed: test accuracy {accuracy:.3f}, expected "
            f"at least {min_accuracy}"
        )
    print(f"test accuracy {accuracy:.3f} (at least {min_accuracy} required)")
