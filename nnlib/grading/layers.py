"""Checks for ``a4_layers`` (and the layers reused in ``a5_mlp``).

Each ``check_*`` takes the student's class and a list of shapes; every case draws its own
seeded data with realistic magnitudes (unit-scale inputs, Xavier-scale weights, non-zero
biases) away from kinks, on non-square shapes so that a missing transpose cannot hide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nnlib import functional as F
from nnlib import losses, modules
from nnlib.grading._guard import ReferenceUsedError
from nnlib.grading._safe import GradingError, _default_rng, quiet
from nnlib.grading.checks import check_layer, check_loss, random_array
from nnlib.grading.policy import policy_for

__all__ = [
    "check_activation",
    "check_composed",
    "check_dropout",
    "check_linear",
    "check_softmax_cross_entropy",
    "check_stack",
]

#: The references a layer exercise must not call: every concrete layer of nnlib (not the
#: ``Module``/``Parameter`` base the students build on, nor ``Sequential``, which only chains
#: their layers), every activation function and every loss.
LAYER_REFERENCES = list(policy_for("a4_layers").forbidden)


def _linear_error_hint(n: int, d: int, h: int) -> Callable[[BaseException], str | None]:
    """Names the bug behind a shape error in ``Linear.backward`` from the shapes it names."""

    def hint(exc: BaseException) -> str | None:
        text = str(exc)
        if "matmul" in text or "not aligned" in text:
            return (
                f"a missing .T: dL/dX = grad_out @ W.T, shapes ({n}, {h}) @ ({h}, {d}), and "
                f"dL/dW = X.T @ grad_out, shapes ({d}, {n}) @ ({n}, {h})"
            )
        if "broadcast" in text:
            if f"({h},{d})" in text.replace(" ", "") and d != h:
                return (
                    f"dL/dW transposed: it must have W's shape ({d}, {h}): X.T @ grad_out, "
                    "not grad_out.T @ X"
                )
            if f"({n},)" in text and n != h:
                return (
                    f"the bias gradient summed over the wrong axis: sum over the batch "
                    f"(axis=0) to get shape ({h},)"
                )
        return None

    return hint


def check_linear(
    Linear: type,
    shapes: Sequence[tuple[int, int, int]],
    *,
    seed: int = 0,
    backward: bool = True,
    forward: bool = True,
) -> None:
    """``Linear(D, H)`` for each ``(N, D, H)`` in ``shapes``: forward, backward or both.

    ``forward=False`` checks backward alone (forward runs, to fill the cache), so that a
    forward bug costs only the forward part. Use shapes with ``N``, ``D``, ``H`` all
    different: a missing transpose, a wrong axis and a transposed ``dW`` then each show.
    """
    for k, (n, d, h) in enumerate(shapes):
        s = seed + 10 * k
        X = random_array((n, d), s)
        W = random_array((d, h), s + 1, scale=np.sqrt(2.0 / (d + h)))
        b = random_array((h,), s + 2, scale=0.5)

        def forward_hints(X: np.ndarray, W: np.ndarray = W, b: np.ndarray = b) -> list:
            return [
                ("forgot the bias", X @ W),
                ("subtracted the bias", X @ W - b),
                ("added the bias twice", X @ W + 2 * b),
            ]

        def backward_hints(X: np.ndarray, G: np.ndarray, W: np.ndarray = W) -> list:
            return [("used W instead of W.T", G @ W)] if W.shape[0] == W.shape[1] else []

        check_layer(
            lambda d=d, h=h: Linear(d, h),
            lambda d=d, h=h: modules.Linear(d, h),
            X,
            f"Linear({d}, {h})",
            seed=s + 3,
            params={"weight": W, "bias": b},
            backward=backward,
            forward=forward,
            forbid=LAYER_REFERENCES,
            forward_hints=forward_hints,
            backward_hints=backward_hints,
            backward_error_hint=_linear_error_hint(n, d, h),
        )


_ACTIVATIONS: dict[str, tuple[type, Callable, Callable]] = {
    # name: (reference class, f, f') on the input x
    "ReLU": (modules.ReLU, F.relu, lambda x: (x > 0).astype(float)),
    "Sigmoid": (modules.Sigmoid, F.sigmoid, lambda x: F.sigmoid(x) * (1 - F.sigmoid(x))),
    "Tanh": (modules.Tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
}


def _activation_hints(name: str, X: np.ndarray, G: np.ndarray) -> list:
    s, t = F.sigmoid(X), np.tanh(X)
    common = [("passed grad_out through unchanged (multiply by the local derivative)", G)]
    if name == "ReLU":
        return [
            *common,
            ("multiplied by X instead of the 0/1 mask [X > 0]", G * X),
            ("mask flipped: [X < 0] instead of [X > 0]", G * (X < 0)),
        ]
    if name == "Sigmoid":
        return [
            *common,
            (
                "derivative of the wrong function: multiplied by sigmoid(x), not its derivative "
                "sigmoid(x) (1 - sigmoid(x))",
                G * s,
            ),
            (
                "derivative of the wrong function: x (1 - x) of the input instead of s (1 - s) of "
                "the output",
                G * X * (1 - X),
            ),
            ("derivative of the wrong function: tanh's 1 - s^2", G * (1 - s**2)),
        ]
    return [
        *common,
        (
            "derivative of the wrong function: 1 - x^2 of the input instead of 1 - tanh(x)^2",
            G * (1 - X**2),
        ),
        ("missing the square: 1 - tanh(x) instead of 1 - tanh(x)^2", G * (1 - t)),
        ("derivative of the wrong function: sigmoid's t (1 - t)", G * t * (1 - t)),
    ]


def check_activation(
    cls: type,
    name: str,
    shapes: Sequence[tuple[int, int]],
    *,
    seed: int = 0,
    scale: float = 2.0,
    backward: bool = True,
) -> None:
    """An elementwise activation (``"ReLU"``, ``"Sigmoid"`` or ``"Tanh"``) on each shape."""
    reference = _ACTIVATIONS[name][0]
    for k, shape in enumerate(shapes):
        X = random_array(shape, seed + 10 * k, scale=scale, away_from=[0.0])
        check_layer(
            cls,
            reference,
            X,
            f"{name}()",
            seed=seed + 10 * k + 1,
            backward=backward,
            forbid=LAYER_REFERENCES,
            forward_hints=lambda X, name=name: [
                ("returned the input unchanged", X),
                ("computed the derivative instead of the function", _ACTIVATIONS[name][2](X)),
            ],
            backward_hints=lambda X, G, name=name: _activation_hints(name, X, G),
        )


def check_softmax_cross_entropy(
    cls: type,
    shapes: Sequence[tuple[int, int]],
    *,
    seed: int = 0,
    scale: float = 3.0,
    extreme: bool = False,
    forward: bool = True,
    backward: bool = True,
) -> None:
    """``forward(logits, labels) -> float`` and ``backward() -> dL/dlogits`` for ``(N, C)``.

    With ``extreme=True`` some logits are +-1000 (plus a shared offset of 700 in one row),
    where a formula that exponentiates unshifted logits overflows. ``backward=False`` checks
    the loss alone, ``forward=False`` the gradient alone (each part pays for its own bug).
    """
    for k, (n, c) in enumerate(shapes):
        s = seed + 10 * k
        Z = random_array((n, c), s, scale=scale)
        labels = _default_rng(s + 1).integers(0, c, size=n)
        if extreme:
            Z[0, :] += 700.0
            Z[-1, labels[-1]] = -1000.0
            Z[n // 2, (labels[n // 2] + 1) % c] = 1000.0

        def forward_hints(Z: np.ndarray, y: np.ndarray) -> list:
            p = F.softmax(Z, axis=1)
            picked = p[np.arange(len(y)), y]
            return [
                ("forgot the log: mean of -p instead of -log p", -np.mean(picked)),
                ("divided by N * C instead of N", -np.mean(np.log(picked)) / Z.shape[1]),
            ]

        def backward_hints(Z: np.ndarray, y: np.ndarray) -> list:
            p = F.softmax(Z, axis=1)
            T = F.one_hot(y, Z.shape[1])
            return [
                ("forgot to subtract the one-hot targets: softmax(Z) / N", p / len(y)),
                ("missing 1/N: the loss is a mean over the batch", p - T),
                ("subtracted softmax from the targets: the sign is flipped", (T - p) / len(y)),
                ("used the targets' probabilities only", -T / len(y)),
            ]

        check_loss(
            cls,
            losses.CrossEntropyLoss,
            Z,
            labels,
            "SoftmaxCrossEntropy",
            forbid=LAYER_REFERENCES,
            forward_hints=forward_hints,
            backward_hints=backward_hints,
            unstable=extreme,
            forward=forward,
            backward=backward,
        )


def _later_masks(seed: int, shape: tuple, p: float, draws: int = 4) -> list[np.ndarray]:
    """The keep-masks a layer seeded ``seed`` draws on its 2nd, 3rd, ... forward call."""
    rng = np.random.default_rng(seed)
    return [rng.random(shape) >= p for _ in range(draws)][1:]


def check_dropout(
    Dropout: type,
    cases: Sequence[tuple[float, tuple[int, int]]],
    *,
    seed: int = 0,
    training: bool = True,
    repeat: int = 2,
) -> None:
    """Inverted dropout ``Dropout(p, seed)`` against nnlib's, mask for mask, for each
    ``(p, shape)``: ``training=True`` checks train mode (``repeat`` forward/backward rounds on
    one layer, so every forward must draw a new mask), ``False`` checks eval mode (identity)."""
    for k, (p, shape) in enumerate(cases):
        s = seed + 10 * k
        X = random_array(shape, s)
        layer_seed = s + 1

        def forward_hints(X: np.ndarray, p: float = p, layer_seed: int = layer_seed) -> list:
            u = np.random.default_rng(layer_seed).random(X.shape)
            keep = u >= p
            return [
                ("forgot to scale the survivors by 1 / (1 - p) (inverted dropout)", X * keep),
                ("scaled by 1 / p instead of 1 / (1 - p)", X * keep / p if p else X),
                (
                    "kept the elements with u < p: p is the probability to DROP",
                    X * (u < p) / (1 - p),
                ),
                ("dropped in eval mode: eval() must be the identity", X * keep / (1 - p)),
                ("scaled in eval mode: eval() must be the identity", X / (1 - p) if p < 1 else X),
                *(
                    ("dropped in eval mode: eval() must be the identity", X * m / (1 - p))
                    for m in _later_masks(layer_seed, X.shape, p)
                ),
            ]

        def after_training(layer: object, shape: tuple = shape, s: int = s) -> object:
            # Eval mode is checked on a layer that has already trained, so a mask left over
            # from a training step must not leak into eval mode.
            if not training:
                layer.forward(random_array(shape, s + 3))
                layer.backward(random_array(shape, s + 4))
            return layer

        check_layer(
            lambda p=p, layer_seed=layer_seed: after_training(Dropout(p, seed=layer_seed)),
            lambda p=p, layer_seed=layer_seed: after_training(modules.Dropout(p, seed=layer_seed)),
            X,
            f"Dropout(p={p})",
            seed=s + 2,
            training=training,
            forbid=LAYER_REFERENCES,
            forward_hints=forward_hints,
            repeat=repeat if training else 1,
            numerical=False,
        )


def check_composed(
    make_student: Callable[[], object],
    make_reference: Callable[[], object],
    shape: tuple[int, int],
    name: str,
    *,
    seed: int = 0,
    forbid: Sequence[object] | None = None,
) -> None:
    """A stack of the student's layers against the same stack of nnlib's, same parameters.

    ``forbid``: the references disabled while the stack runs (default: nnlib's layers).
    """
    reference = make_reference()
    params = {
        key: random_array(p.value.shape, seed + i, scale=0.7)
        for i, (key, p) in enumerate(reference.named_parameters())
    }
    X = random_array(shape, seed + 100, away_from=[0.0])
    check_layer(
        make_student,
        make_reference,
        X,
        name,
        seed=seed + 101,
        params=params,
        forbid=LAYER_REFERENCES if forbid is None else forbid,
        subjects=(),  # a reference call fails this too, naming the layer that made it
    )


def _own_check(kind: str, cls: type) -> None:
    """The visible check of ``cls``'s own part (``kind`` is ``"Linear"`` or an activation)."""
    if kind == "Linear":
        check_linear(cls, [(4, 3, 2)], seed=1)
    else:
        check_activation(cls, kind, [(4, 3)], seed=2)


def check_stack(
    layers: dict[str, type], sizes: Sequence[int], n: int, *, seed: int = 0, name: str = "the stack"
) -> None:
    """``Linear -> ReLU -> Linear -> Tanh -> Linear -> Sigmoid`` (``len(sizes) == 4``) built
    from the student's classes against the same stack of nnlib's, same parameters.

    Args:
        layers: the student's classes by name: ``Linear``, ``ReLU``, ``Tanh``, ``Sigmoid``.
        sizes: the feature sizes ``(D, H1, H2, C)``.
        n: the batch size ``N``.

    A class that fails its own part's check is replaced by nnlib's here (in the check, never
    in the student's namespace): its bug costs its own part, not this one too. A class that
    is still the stub makes this part "not attempted".
    """
    from nnlib.grading.checks import not_attempted

    chosen: dict[str, type] = {}
    for kind in ("Linear", "ReLU", "Tanh", "Sigmoid"):
        try:
            with quiet():
                _own_check(kind, layers[kind])
            chosen[kind] = layers[kind]
        except ReferenceUsedError:
            raise  # nothing to put in its place: the reference ran (and fails this part too)
        except GradingError as exc:
            if "not attempted" in str(exc):
                raise not_attempted(f"{name} (needs {kind})") from None
            chosen[kind] = {
                "Linear": modules.Linear,
                "ReLU": modules.ReLU,
                "Tanh": modules.Tanh,
                "Sigmoid": modules.Sigmoid,
            }[kind]
    d, h1, h2, c = sizes

    def build(L: dict) -> object:
        return modules.Sequential(
            L["Linear"](d, h1), L["ReLU"](), L["Linear"](h1, h2), L["Tanh"](),
            L["Linear"](h2, c), L["Sigmoid"](),
        )  # fmt: skip

    reference = {"Linear": modules.Linear, "ReLU": modules.ReLU, "Tanh": modules.Tanh}
    reference["Sigmoid"] = modules.Sigmoid
    # nnlib's layers put in for wrong ones must run; the student's were checked for reference
    # use by their own parts.
    substituted = any(chosen[k] is not layers[k] for k in chosen)
    check_composed(
        lambda: build(chosen),
        lambda: build(reference),
        (n, d),
        name,
        seed=seed,
        forbid=() if substituted else None,
    )
