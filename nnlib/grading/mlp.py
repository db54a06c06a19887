"""Checks for ``a5_mlp``: an MLP built from the student's layers, SGD with momentum and L2,
and training on the 8x8 digits to a stated test accuracy."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nnlib import modules, optim
from nnlib.data import load_digits, train_test_split
from nnlib.grading._compare import assert_close, matches
from nnlib.grading._guard import ReferenceUsedError
from nnlib.grading._safe import GradingError, as_result, quiet
from nnlib.grading.checks import call, forward_fails, numerical_gradient, random_array
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


#: The student code that MLP.forward is (a5's layers have no part of their own).
_MLP_FORWARD = ["MLP.forward", "Linear.forward", "ReLU.forward"]


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
        lambda: MLP(list(sizes), seed=seed),
        what=f"creating {what}",
        forbid=MLP_REFERENCES,
        subjects=["MLP.__init__", "Linear.__init__", "ReLU.__init__"],
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
            model.forward,
            X.copy(),
            what=f"{what}.forward(X)",
            forbid=MLP_REFERENCES,
            names=["X"],
            subjects=_MLP_FORWARD if forward else (),
        )
    except GradingError as exc:
        if forward:
            raise
        raise forward_fails(
            what, exc, lambda: model.backward(rng.normal(size=(n, sizes[-1])))
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
        error_hint=_mlp_backward_hint,
        subjects=["MLP.backward", "Linear.backward", "ReLU.backward"],
    )
    got = as_result(got, f"{what}.backward(grad_out), the returned dL/dX", want_dX.shape)
    grads = [
        as_result(q.grad, f"{what}.backward(grad_out): parameter {i}'s .grad", q.value.shape)
        for i, q in enumerate(params)
    ]
    if not forward and not (
        matches(got, want_dX)
        and all(matches(g, p.grad) for g, p in zip(grads, reference.parameters(), strict=True))
    ):
        fresh = [g - g0 for g, g0 in zip(grads, initial, strict=True)]
        if _derivative_of_own_forward(model, params, X, G, got, fresh):
            return  # a right backward of a wrong forward: the forward part pays
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


def _mlp_backward_hint(exc: BaseException) -> str | None:
    text = str(exc)
    if isinstance(exc, ValueError) and ("broadcast" in text or "matmul" in text):
        return (
            "backward must visit the layers in reverse order (reversed(self.layers)), each "
            "layer's backward taking the gradient that the layer after it returned"
        )
    return None


def _derivative_of_own_forward(
    model: object, params: list, X: np.ndarray, G: np.ndarray, dX: np.ndarray, fresh: list
) -> bool:
    """Whether ``dX`` and the parameter gradients ``fresh`` are the central differences of
    ``sum(G * model.forward(X))``: the student's backward is right for the student's own
    (wrong) forward."""

    def close(got: np.ndarray, numeric: np.ndarray) -> bool:
        scale = max(float(np.max(np.abs(numeric))) if numeric.size else 0.0, 1.0)
        return bool(np.allclose(got, numeric, rtol=1e-4, atol=1e-6 * scale))

    try:
        with quiet():

            def loss(x: np.ndarray) -> float:
                out = np.asarray(model.forward(np.array(x, copy=True)), dtype=np.float64)
                return float(np.sum(G * out))

            if not close(dX, numerical_gradient(loss, X)):
                return False
            for param, got in zip(params, fresh, strict=True):
                value = np.array(param.value, dtype=np.float64, copy=True)

                def poke(v: np.ndarray, param: object = param) -> float:
                    param.value = np.array(v, copy=True)
                    return loss(X)

                numeric = numerical_gradient(poke, value)
                param.value = value
                if not close(got, numeric):
                    return False
    except Exception:
        return False
    return True


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
    tolerate: Sequence[str] = (),
) -> None:
    """``SGD(params, lr, momentum, weight_decay).step()`` updates every parameter exactly like
    ``nnlib.optim.SGD`` over ``steps`` steps with random gradients.

    ``tolerate``: bugs that an earlier part owns and checks (``"ascent"``: the plain step's
    sign; ``"no memory"``: momentum), so that the momentum and weight-decay parts judge only
    what they add: an update that is right but for a tolerated bug passes here.
    """
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
            if any(
                matches(got, _simulate(values, done, lr, momentum, weight_decay, variant=v)[i])
                for v in tolerate
            ):
                continue  # an earlier part's bug: that part pays
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


def _own_parts_fail(MLP: type, SGD: type) -> tuple[bool, bool]:
    """Whether the student's ``MLP`` and ``SGD`` fail the visible checks of their own parts."""

    def fails(check: Callable[[], None]) -> bool:
        try:
            with quiet():
                check()
        except ReferenceUsedError:
            raise  # nothing to put in its place: the reference ran (and fails this part too)
        except GradingError:
            return True
        return False

    mlp_wrong = fails(lambda: check_mlp(MLP, [4, 5, 3], n=6, seed=1)) or fails(
        lambda: check_mlp(MLP, [5, 4, 6, 2], n=7, seed=2)
    )
    sgd_wrong = (
        fails(lambda: check_sgd(SGD, [(3, 2), (2,)], lr=0.1, seed=3))
        or fails(lambda: check_sgd(SGD, [(3, 2), (2,)], lr=0.1, momentum=0.9, seed=4))
        or fails(lambda: check_sgd(SGD, [(3, 2), (2,)], lr=0.1, weight_decay=0.01, seed=5))
    )
    return mlp_wrong, sgd_wrong


def _train(MLP: type | None, SGD: type | None, hyper: dict, seed: int, X: np.ndarray, y):
    """Train ``MLP`` with ``SGD`` (``None``: nnlib's) as the assignment's training cell does."""
    sizes = [64, hyper["hidden"], 10]
    if MLP is None:
        model = modules.MLP(sizes, activation="relu", seed=seed)
    else:
        model = MLP(sizes, seed=seed)
    make_sgd = optim.SGD if SGD is None else SGD
    opt = make_sgd(
        model.parameters(),
        lr=hyper["lr"],
        momentum=hyper["momentum"],
        weight_decay=hyper["weight_decay"],
    )
    fit(
        model,
        CrossEntropyLoss(),
        opt,
        X,
        y,
        epochs=hyper["num_epochs"],
        batch_size=hyper["batch_size"],
        seed=seed,
        progress=False,
        metrics=None,
    )
    return model


def _with_substitutes(
    MLP: type, SGD: type, hyper: dict, seed: int, min_accuracy: float
) -> str | None:
    """When ``MLP`` or ``SGD`` fails its own part, train again with nnlib's in its place (in
    the check, never in the student's namespace); the note to show when that reaches
    ``min_accuracy``, else ``None``. Both wrong: ``None`` (nothing of the student's is left
    to train)."""
    mlp_wrong, sgd_wrong = _own_parts_fail(MLP, SGD)
    if mlp_wrong == sgd_wrong:
        return None
    X_train, X_test, y_train, y_test = digits(seed)
    try:
        with quiet():
            model = _train(None if mlp_wrong else MLP, None if sgd_wrong else SGD, hyper, seed,
                           X_train, y_train)  # fmt: skip
    except Exception:
        return None
    accuracy = model_accuracy(model, [64, hyper["hidden"], 10], X_test, y_test)
    if accuracy < min_accuracy:
        return None
    wrong = "MLP" if mlp_wrong else "SGD"
    return (
        f"training: your {wrong} fails its own part; with nnlib's {wrong} in its place your "
        f"training reaches {accuracy:.3f}: fix {wrong} first"
    )


def check_training(
    MLP: type,
    SGD: type,
    hyper: dict,
    *,
    min_accuracy: float,
    seed: int,
) -> None:
    """Train a fresh ``MLP`` with ``SGD`` on a split of the digits drawn with ``seed``, with the
    assignment's hyperparameters, and require the stated test accuracy.

    When one of ``MLP`` and ``SGD`` fails its own part, it is replaced by nnlib's for this
    check (in the check, not in the student's namespace): its bug costs its own part once.
    """
    X_train, X_test, y_train, y_test = digits(seed)
    sizes = [64, hyper["hidden"], 10]
    what = f"training MLP({sizes}) on the digits (split seed {seed})"

    def train() -> object:
        return _train(MLP, SGD, hyper, seed, X_train, y_train)

    try:
        # a reference call fails this too, naming the class of the student's that made it
        model = call(train, what=what, forbid=MLP_REFERENCES, subjects=())
        accuracy = model_accuracy(model, sizes, X_test, y_test)
    except GradingError:
        if _with_substitutes(MLP, SGD, hyper, seed, min_accuracy):
            return
        raise
    if not accuracy >= min_accuracy:
        if _with_substitutes(MLP, SGD, hyper, seed, min_accuracy):
            return
        raise GradingError(
            f"{what}: accuracy check failed: test accuracy {accuracy:.3f}, expected at least "
            f"{min_accuracy}; likely bug: the gradients or the update are subtly wrong (the "
            "checks above use small cases; look at the loss curve: it should fall steadily)"
        )


def _run_own_code(model: object, SGD: type | None, X: np.ndarray, classes: int) -> None:
    """Run ``model``'s forward and backward, and a step of ``SGD``, once with nnlib's
    reference disabled.

    The accuracy is measured from the parameters alone (forward bugs cost their own part),
    but a model whose code runs nnlib's layers, or an optimizer that runs nnlib's, was trained
    by nnlib's: in the grader's sandbox those do not exist and the training cell fails. The
    counted reference use (see :func:`~nnlib.grading._guard.counts_reference_use`) fails this
    check the same way here; other errors are the business of their own parts.
    """
    grad_out = np.full((X.shape[0], classes), 1.0 / classes)
    probes = [
        (lambda: model.forward(X.copy()), "your trained model.forward(X)"),
        (lambda: model.backward(grad_out.copy()), "your trained model.backward(grad_out)"),
    ]
    if SGD is not None:
        probes.append((lambda: SGD([Parameter(np.ones(3))], lr=0.1).step(), "SGD(...).step()"))
    for probe, what in probes:
        try:
            call(probe, what=what, forbid=MLP_REFERENCES)
        except ReferenceUsedError:
            raise
        except Exception:
            pass


def check_trained_model(
    model: object,
    sizes: Sequence[int],
    X: np.ndarray,
    y: np.ndarray,
    min_accuracy: float,
    *,
    MLP: type | None = None,
    SGD: type | None = None,
    hyper: dict | None = None,
) -> None:
    """The student's own trained ``model`` reaches ``min_accuracy`` on ``(X, y)``.

    With the student's ``MLP``, ``SGD`` and hyperparameters ``hyper`` (the training cell's, on
    its split, seed 0): when one of the two classes fails its own part, the model is trained
    again with nnlib's in its place, so that bug costs its own part, not this one too.
    """
    if model is not None:
        _run_own_code(model, SGD, X[:4], sizes[-1])
    accuracy = model_accuracy(model, sizes, X, y) if model is not None else 0.0
    if not accuracy >= min_accuracy:
        if MLP is not None and SGD is not None and hyper is not None:
            note = _with_substitutes(MLP, SGD, hyper, 0, min_accuracy)
            if note:
                print(note)
                return
        raise GradingError(
            f"your trained model: accuracy check failed: test accuracy {accuracy:.3f}, expected "
            f"at least {min_accuracy}"
        )
    print(f"test accuracy {accuracy:.3f} (at least {min_accuracy} required)")
