"""Layers with an explicit forward and backward pass.

Conventions (the alphabet of the whole library): ``N`` batch size, ``D`` input features,
``H`` hidden units, ``C`` classes/outputs. Arrays are batch first and a linear layer computes
``Z = X @ W + b`` with ``W`` of shape ``(D, H)``.

Every module's ``forward(x)`` returns its output and keeps in ``self._cache`` what
``backward`` needs. ``backward(grad_out)`` takes the upstream gradient ``dL/d(output)`` (same
shape as the output), *accumulates* parameter gradients into ``Parameter.grad`` and returns
``dL/d(input)`` (same shape as the input). Neither pass modifies its arguments.

Example:
    >>> net = MLP([2, 16, 1], activation="tanh", seed=0)
    >>> y_hat = net(np.zeros((4, 2)))          # forward, shape (4, 1)
    >>> dX = net.backward(np.ones((4, 1)))     # backward, shape (4, 2); fills p.grad
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from nnlib import functional as F
from nnlib._validation import as_array, check_choice, check_positive, check_probability, describe
from nnlib.init import Initializer, get_initializer

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "MLP",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Maxout",
    "Module",
    "PReLU",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "Step",
    "Tanh",
    "get_activation",
]


class Parameter:
    """A trainable array and the gradient accumulated for it.

    Attributes:
        value: the parameter, float64 ndarray of any shape (e.g. ``W`` of shape ``(D, H)``).
        grad: ``dL/d(value)``, same shape as ``value``; starts at zeros and is *added to* by
            every ``backward`` until ``zero_grad`` resets it.
        name: a label shown in ``repr`` (``"weight"``).
    """

    __slots__ = ("grad", "name", "value")

    def __init__(self, value: np.ndarray, name: str = "") -> None:
        self.value = np.array(as_array(value, name or "value", finite=True), dtype=np.float64)
        self.grad = np.zeros_like(self.value)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``value``."""
        return self.value.shape

    def zero_grad(self) -> None:
        """Reset ``grad`` to zeros in place."""
        self.grad.fill(0.0)

    def __repr__(self) -> str:
        label = f"{self.name}, " if self.name else ""
        return f"Parameter({label}shape={self.value.shape})"


class Module:
    """Base class of every layer: ``forward``, ``backward``, parameters and train/eval mode.

    Subclasses implement ``forward`` and ``backward`` and register their trainable arrays as
    :class:`Parameter` attributes (and sub-modules as :class:`Module` attributes or in a list
    such as ``self._modules``); :meth:`parameters` finds them all.
    """

    def __init__(self) -> None:
        self.training = True
        self._cache: object = None

    # --- the two passes ---------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for input ``x`` and cache what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Given ``dL/d(output)``, accumulate parameter gradients and return ``dL/d(input)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_out)")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _require_cache(self) -> object:
        """Return the forward cache, or raise if ``backward`` comes before ``forward``."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() was called before forward(): run a forward "
                "pass on a batch first, then call backward with the gradient of its output"
            )
        return self._cache

    def _check_grad_out(self, grad_out: object, expected_shape: tuple[int, ...]) -> np.ndarray:
        """Convert ``grad_out`` and check it has the shape of the last forward output."""
        g = as_array(grad_out, "grad_out")
        if g.shape != expected_shape:
            raise ValueError(
                f"{type(self).__name__}.backward: grad_out must have the shape of the last "
                f"forward output {expected_shape}, got shape {g.shape}"
            )
        return g

    # --- parameters and sub-modules ---------------------------------------------------------
    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules, in registration order."""
        for value in vars(self).values():
            if isinstance(value, Module):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from (m for m in value if isinstance(m, Module))

    def _named_children(self) -> Iterator[tuple[str, Module]]:
        # Modules kept in a list are named by their index ("0", "1", ...) like PyTorch's
        # Sequential; a list under another attribute name gets that prefix ("blocks.0").
        for key, value in vars(self).items():
            if isinstance(value, Module):
                yield key, value
            elif isinstance(value, (list, tuple)):
                prefix = "" if key == "_modules" else f"{key}."
                for i, m in enumerate(value):
                    if isinstance(m, Module):
                        yield f"{prefix}{i}", m

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """Return ``(qualified name, Parameter)`` pairs, e.g. ``("0.weight", W)``, in the order
        of :meth:`parameters`. Names are attribute paths (list items by index), so they are
        unique whatever the Parameters' own ``name`` labels say."""
        found: list[tuple[str, Parameter]] = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:  # pre-order walk, iterative so deep Sequentials are fine
            prefix, module = stack.pop()
            for key, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    found.append((f"{prefix}{key}", value))
            kids = [(f"{prefix}{name}.", child) for name, child in module._named_children()]
            stack.extend(reversed(kids))
        return found

    def parameters(self) -> list[Parameter]:
        """Return every :class:`Parameter` of this module and its sub-modules (no duplicates),
        in a stable order (a layer's own parameters first, then its children's)."""
        found: list[Parameter] = []
        stack: list[Module] = [self]
        while stack:  # the walk of named_parameters, minus the names: training loops call it
            module = stack.pop()
            kids: list[Module] = []
            for value in vars(module).values():
                if isinstance(value, Parameter):
                    if all(value is not p for p in found):
                        found.append(value)
                elif isinstance(value, Module):
                    kids.append(value)
                elif isinstance(value, (list, tuple)):
                    kids.extend(m for m in value if isinstance(m, Module))
            stack.extend(reversed(kids))
        return found

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Switch this module and its sub-modules to training mode (``mode=False``: eval)."""
        stack: list[Module] = [self]
        while stack:
            module = stack.pop()
            module.training = bool(mode)
            stack.extend(module.children())
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (e.g. ``Dropout`` becomes the identity)."""
        return self.train(False)

    # --- display ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr``; override in subclasses."""
        return ""

    def __repr__(self) -> str:
        kids = list(self._named_children())
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, child in kids:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {describe(value)} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


# --- the affine layer -------------------------------------------------------------------------
class Linear(Module):
    """Fully connected layer ``Z = X @ W + b``.

    Args:
        in_features: ``D``, the number of input features.
        out_features: ``H``, the number of outputs.
        init: weight initialiser, a name from :mod:`nnlib.init` (``"xavier_uniform"``,
            ``"xavier_normal"``, ``"he_normal"``, ``"normal"``, ``"zeros"``) or a function
            ``(shape, rng) -> array``. The bias always starts at zero.
        bias: whether to learn the bias ``b``.
        seed: seed (or ``numpy.random.Generator``) for the initialiser.

    Attributes:
        weight: :class:`Parameter` ``W`` of shape ``(D, H)``.
        bias: :class:`Parameter` ``b`` of shape ``(H,)``, or ``None`` when ``bias=False``.

    Raises:
        TypeError: a size is not an integer, or ``init`` is neither a name nor callable.
        ValueError: a size is not positive, ``init`` is an unknown name, or the initialiser
            returns the wrong shape.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str | Initializer = "xavier_uniform",
        bias: bool = True,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _check_size("in_features", in_features)
        self.out_features = _check_size("out_features", out_features)
        self.init = init
        shape = (self.in_features, self.out_features)
        W = get_initializer(init)(shape, np.random.default_rng(seed))
        W = as_array(W, "the initialiser's result", finite=True)
        if W.shape != shape:
            raise ValueError(
                f"init {init!r} returned an array of shape {W.shape}; it must return the "
                f"requested shape {shape}"
            )
        self.weight = Parameter(W, "weight")
        self.bias = Parameter(np.zeros(self.out_features), "bias") if bias else None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Compute ``Z = X @ W + b``.

        Args:
            X: input batch of shape ``(N, D)``, float64 or float32.

        Returns:
            ``Z`` of shape ``(N, H)``.

        Raises:
            TypeError: ``X`` is not numeric.
            ValueError: ``X`` is not 2-D with ``D`` columns.
        """
        X = as_array(X, "X")
        if X.ndim != 2 or X.shape[1] != self.in_features:
            raise ValueError(self._shape_message(X))
        Z = X @ self.weight.value
        if self.bias is not None:
            Z += self.bias.value  # in place: Z is a fresh array, no need for another
        self._cache = X
        return Z

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Add ``X.T @ dL/dZ`` to ``weight.grad`` and the column sums of ``dL/dZ`` to
        ``bias.grad``; return ``dL/dX``.

        Args:
            grad_out: ``dL/dZ`` of shape ``(N, H)``.
            need_input_grad: ``False`` skips the ``dL/dX`` product (the first layer of a
                network never needs it) and returns ``None``.

        Returns:
            ``dL/dX = dL/dZ @ W.T`` of shape ``(N, D)``, or ``None``.

        Raises:
            RuntimeError: called before ``forward``.
            ValueError: ``grad_out`` does not have the shape of the last output.
        """
        X = self._require_cache()
        g = self._check_grad_out(grad_out, (X.shape[0], self.out_features))
        self.weight.grad += X.T @ g
        if self.bias is not None:
            self.bias.grad += g.sum(axis=0)
        return g @ self.weight.value.T if need_input_grad else None

    def _shape_message(self, X: np.ndarray) -> str:
        msg = f"{self!r} expects X of shape (N, {self.in_features}), got {X.shape}"
        if X.ndim == 1:
            msg += "; a single sample must be a row: X.reshape(1, -1)"
        elif X.ndim == 2 and X.shape[0] == self.in_features:
            msg += "; is X transposed? rows are samples, columns are features"
        return msg

    def extra_repr(self) -> str:
        init = self.init if isinstance(self.init, str) else getattr(self.init, "__name__", "?")
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, init={init!r}"
        )


# --- activations ------------------------------------------------------------------------------
class Identity(Module):
    """``f(x) = x``; returns its input itself (any shape), and ``grad_out`` in backward."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        self._cache = x.shape
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return self._check_grad_out(grad_out, self._require_cache())


class Sigmoid(Module):
    """Logistic sigmoid, elementwise: ``y = 1 / (1 + exp(-x))``, ``dy/dx = y (1 - y)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = F.sigmoid(x)
        self._cache = y  # the derivative is a function of the output alone
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._require_cache()
        return self._check_grad_out(grad_out, y.shape) * (y * (1.0 - y))


class Tanh(Module):
    """Hyperbolic tangent, elementwise: ``y = tanh(x)``, ``dy/dx = 1 - y**2``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tanh(as_array(x, "x"))
        self._cache = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._require_cache()
        return self._check_grad_out(grad_out, y.shape) * (1.0 - y * y)


class ReLU(Module):
    """``y = max(x, 0)``, elementwise; ``dy/dx = [x > 0]`` (we take 0 at the kink ``x = 0``)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        self._cache = x > 0
        return np.maximum(x, 0.0)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        active = self._require_cache()
        return self._check_grad_out(grad_out, active.shape) * active


class LeakyReLU(Module):
    """``y = x`` for ``x > 0``, else ``alpha * x``; a small slope keeps dead units learning.

    Args:
        alpha: slope for negative inputs, ``>= 0``.
    """

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = check_positive("alpha", alpha, allow_zero=True)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        self._cache = x
        return F.leaky_relu(x, self.alpha)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self._require_cache()
        return self._check_grad_out(grad_out, x.shape) * F.leaky_relu_grad(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class ELU(Module):
    """``y = x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``; smooth for ``alpha = 1``.

    Args:
        alpha: ``-alpha`` is the limit for ``x -> -inf``; ``>= 0``.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_positive("alpha", alpha, allow_zero=True)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        self._cache = x
        return F.elu(x, self.alpha)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self._require_cache()
        return self._check_grad_out(grad_out, x.shape) * F.elu_grad(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class PReLU(Module):
    """Parametric ReLU: ``y = x`` for ``x > 0``, else ``a * x`` with a *learned* slope ``a``.

    A leaky ReLU whose slope is a parameter trained with the weights (He et al., 2015). The
    slope is one number shared by every unit (``num_parameters=1``) or one per column of an
    input of shape ``(N, H)`` (``num_parameters=H``).

    Args:
        num_parameters: ``1`` (one shared slope; any input shape) or ``H`` (one slope per
            column; the input must be ``(N, H)``).
        init: the starting slope, ``>= 0`` (0.25 in the paper).

    Attributes:
        alpha: :class:`Parameter` of shape ``(num_parameters,)``, the slopes.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = _check_size("num_parameters", num_parameters)
        slope = check_positive("init", init, allow_zero=True)
        self.alpha = Parameter(np.full(self.num_parameters, slope), "alpha")

    def _slopes(self, x: np.ndarray) -> np.ndarray:
        """The slope(s), shaped to broadcast against ``x``, in ``x``'s dtype."""
        n = self.num_parameters
        if n > 1 and (x.ndim != 2 or x.shape[1] != n):
            raise ValueError(
                f"PReLU with {n} slopes (one per column) expects x of shape (N, {n}), got "
                f"shape {x.shape}; use PReLU(num_parameters=1) for a single shared slope"
            )
        a = self.alpha.value if n > 1 else self.alpha.value[0]
        return np.asarray(a, dtype=x.dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        out = np.where(x > 0, x, self._slopes(x) * x)
        self._cache = x
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Add ``sum(grad_out * x * [x <= 0])`` (per column, or in all) to ``alpha.grad``;
        return ``dL/dx = grad_out * (1 if x > 0 else a)``, the shape of ``x``."""
        x = self._require_cache()
        g = self._check_grad_out(grad_out, x.shape)
        negative = x <= 0
        contribution = g * x * negative
        if self.num_parameters > 1:
            self.alpha.grad += contribution.sum(axis=0)
        else:
            self.alpha.grad += contribution.sum()
        return g * np.where(negative, self._slopes(x), 1.0)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Maxout(Module):
    """Maxout units: each of ``H`` outputs is the largest of ``k`` linear functions of the input.

    ``Z = X @ W + b`` with ``W`` of shape ``(D, H * k)`` (columns ``h * k`` to
    ``h * k + k - 1`` are the ``k`` pieces of unit ``h``), and ``out[n, h] = max_j
    Z[n, h * k + j]`` (Goodfellow et al., 2013). A maxout unit is a convex piecewise-linear
    function of its input that the network learns; ReLU is the case ``k = 2`` with one piece
    fixed at zero. The layer replaces a ``Linear`` layer *and* its activation.

    Args:
        in_features: ``D``.
        out_features: ``H``, the number of maxout units.
        pieces: ``k >= 1``, linear pieces per unit (``k = 1`` is a plain linear layer).
        init: weight initialiser of the inner :class:`Linear` layer.
        seed: seed (or ``numpy.random.Generator``) for the initialiser.

    Attributes:
        linear: the ``Linear(D, H * k)`` layer holding ``weight`` ``(D, H * k)`` and ``bias``
            ``(H * k,)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        pieces: int = 2,
        init: str | Initializer = "xavier_uniform",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.out_features = _check_size("out_features", out_features)
        self.pieces = _check_size("pieces", pieces)
        self.linear = Linear(in_features, self.out_features * self.pieces, init=init, seed=seed)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Return the maxout activations, shape ``(N, H)``, for ``X`` of shape ``(N, D)``."""
        Z = self.linear(X).reshape(-1, self.out_features, self.pieces)  # (N, H, k)
        winner = Z.argmax(axis=2)  # (N, H): the piece that is the maximum
        self._cache = winner
        return np.take_along_axis(Z, winner[..., None], axis=2)[..., 0]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Route ``dL/d(out)`` to each unit's winning piece and backpropagate through the
        linear layer (accumulating its gradients); return ``dL/dX`` of shape ``(N, D)``."""
        winner = self._require_cache()
        g = self._check_grad_out(grad_out, winner.shape)
        dZ = np.zeros((*winner.shape, self.pieces), dtype=g.dtype)
        np.put_along_axis(dZ, winner[..., None], g[..., None], axis=2)
        return self.linear.backward(dZ.reshape(len(g), -1))

    def extra_repr(self) -> str:
        return (
            f"in_features={self.linear.in_features}, out_features={self.out_features}, "
            f"pieces={self.pieces}"
        )


class Softplus(Module):
    """``y = log(1 + exp(x))``, elementwise; ``dy/dx = sigmoid(x)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        self._cache = x
        return F.softplus(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self._require_cache()
        return self._check_grad_out(grad_out, x.shape) * F.sigmoid(x)


class Softsign(Module):
    """``y = x / (1 + |x|)``, elementwise; ``dy/dx = 1 / (1 + |x|)**2``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        self._cache = x
        return F.softsign(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self._require_cache()
        return self._check_grad_out(grad_out, x.shape) * F.softsign_grad(x)


class Step(Module):
    """Heaviside step ``y = [x > 0]`` (1.0 or 0.0), the McCulloch-Pitts activation.

    Its derivative is 0 everywhere except at ``x = 0``, where it does not exist, so
    ``backward`` returns zeros: a network of step units cannot learn by gradient descent.
    That is why backpropagation needed smooth activations such as the sigmoid.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        self._cache = x.shape
        return (x > 0).astype(x.dtype)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return np.zeros_like(self._check_grad_out(grad_out, self._require_cache()))


class Softmax(Module):
    """Softmax along the last axis: turns logits of shape ``(N, C)`` into probabilities.

    ``backward`` is the full Jacobian-vector product per row, ``dx = y * (g - sum(g * y))``,
    because every output depends on every input of its row (``dy_i/dx_j = y_i (δ_ij - y_j)``).
    For training a classifier prefer :class:`nnlib.losses.CrossEntropyLoss` on the logits.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = F.softmax(x, axis=-1)
        self._cache = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._require_cache()
        g = self._check_grad_out(grad_out, y.shape)
        return y * (g - (g * y).sum(axis=-1, keepdims=True))


# --- regularisation ---------------------------------------------------------------------------
class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    survivors by ``1 / (1 - p)`` so the expected output equals the input; in eval mode (and
    for ``p = 0``) it is the identity.

    Each training forward draws a new mask from ``self.rng``; ``backward`` multiplies by the
    same mask. (``nnlib.gradcheck.check_module`` replays ``self.rng``'s state before every
    forward, so all its probes see one mask.)

    Args:
        p: drop probability in ``[0, 1)``.
        seed: seed (or ``numpy.random.Generator``) for the masks; reproducible when given.

    Raises:
        ValueError: ``p`` outside ``[0, 1)``.
    """

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.rng = np.random.default_rng(seed)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_array(x, "x")
        if not self.training or self.p == 0.0:
            self._cache = (x.shape, None)
            return x
        # keep / (1 - p): survivors are scaled up so the expected output equals x.
        mask = (self.rng.random(x.shape) >= self.p) / x.dtype.type(1.0 - self.p)
        self._cache = (x.shape, mask)
        return x * mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape, mask = self._require_cache()
        g = self._check_grad_out(grad_out, shape)
        return g if mask is None else g * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


# --- containers -------------------------------------------------------------------------------
class Sequential(Module):
    """A chain of modules: ``forward`` applies them in order, ``backward`` in reverse.

    Supports ``len(net)``, ``net[i]`` (``net[a:b]`` is a new Sequential sharing the layers)
    and iteration.

    Args:
        *modules: the layers, e.g. ``Sequential(Linear(2, 16), ReLU(), Linear(16, 1))``.

    Raises:
        TypeError: an argument is not a :class:`Module` instance.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])  # Sequential([a, b]) means Sequential(a, b)
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                hint = (
                    f"; did you mean {m.__name__}()?"
                    if isinstance(m, type) and issubclass(m, Module)
                    else ""
                )
                raise TypeError(
                    f"Sequential argument {i} must be a Module instance, got {describe(m)} "
                    f"{m!r}{hint}"
                )
        self._modules: list[Module] = list(modules)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the modules in order; returns the last one's output."""
        for module in self._modules:
            x = module.forward(x)
        self._cache = True  # only marks that forward ran; the layers keep their own caches
        return x

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate through the modules in reverse order.

        Args:
            grad_out: ``dL/d(output)``, the shape of the last forward output.
            need_input_grad: ``False`` lets a first :class:`Linear` skip computing ``dL/dX``
                (training never needs it).

        Returns:
            ``dL/d(input)``, or ``None`` when it was skipped.

        Raises:
            RuntimeError: called before ``forward``.
        """
        self._require_cache()
        g = grad_out
        for module in reversed(self._modules[1:]):
            g = module.backward(g)
        if not self._modules:
            return g
        first = self._modules[0]
        if not need_input_grad and isinstance(first, (Linear, Sequential)):
            return first.backward(g, need_input_grad=False)
        return first.backward(g)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self._modules[index])
        return self._modules[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)


ACTIVATIONS: dict[str, type[Module]] = {
    "identity": Identity,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "softplus": Softplus,
    "softsign": Softsign,
    "step": Step,
    "softmax": Softmax,
}
"""Activation names accepted by :func:`get_activation` and ``MLP``, mapped to their classes."""


def _normalise(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


_BY_KEY = {_normalise(name): cls for name, cls in ACTIVATIONS.items()}


def get_activation(activation: str | Callable[[], Module]) -> Module:
    """Return a fresh activation module.

    Args:
        activation: a name from :data:`ACTIVATIONS`, case- and underscore-insensitive
            (``"relu"``, ``"ReLU"``, ``"leaky_relu"``, ``"LeakyReLU"``), or a callable that
            returns a new :class:`Module` (a class such as ``ELU`` or
            ``lambda: LeakyReLU(0.2)``).

    Returns:
        A new module instance (never shared between layers).

    Raises:
        ValueError: unknown name (the message lists the valid ones).
        TypeError: neither a name nor a callable returning a Module.
    """
    if isinstance(activation, str):
        cls = _BY_KEY.get(_normalise(activation))
        if cls is None:
            check_choice("activation", activation, ACTIVATIONS)
        return cls()
    if isinstance(activation, Module):
        raise TypeError(
            f"activation must be a name or a factory such as {type(activation).__name__}, not "
            f"a module instance {activation!r}: each layer needs its own instance"
        )
    if callable(activation):
        module = activation()
        if isinstance(module, Module):
            return module
    raise TypeError(
        f"activation must be one of {', '.join(map(repr, ACTIVATIONS))} or a callable returning "
        f"a Module, got {describe(activation)} {activation!r}"
    )


class MLP(Sequential):
    """Multi-layer perceptron: ``Linear -> activation -> ... -> Linear [-> output_activation]``.

    ``MLP([2, 16, 16, 1])`` maps ``(N, 2)`` inputs to ``(N, 1)`` outputs through two hidden
    layers of 16 units. The last layer has no activation by default, so it returns logits (pair
    it with ``BCEWithLogitsLoss`` or ``CrossEntropyLoss``) or regression values.

    Args:
        sizes: layer widths ``[D, H1, ..., C]``, at least two positive integers.
        activation: hidden activation, a name from :data:`ACTIVATIONS` or a factory.
        output_activation: activation after the last layer, or ``None`` for none.
        init: weight initialiser for every :class:`Linear` (name or callable).
        seed: seed for the initialisers; one seed fixes every layer's weights.

    Raises:
        TypeError: a size is not an integer.
        ValueError: fewer than two sizes, a size ``<= 0``, or an unknown activation or init
            name (the message lists the valid ones).
    """

    def __init__(
        self,
        sizes: list[int] | tuple[int, ...],
        activation: str | Callable[[], Module] = "relu",
        output_activation: str | Callable[[], Module] | None = None,
        init: str | Initializer = "xavier_uniform",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(
                f"sizes must list at least two layer widths [D, ..., C], e.g. [2, 16, 1], "
                f"got {sizes!r}"
            )
        sizes = [_check_size(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        get_activation(activation)  # fail on a bad name even when no hidden layer uses it
        rng = np.random.default_rng(seed)
        layers: list[Module] = []
        for i, (d, h) in enumerate(itertools.pairwise(sizes)):
            layers.append(Linear(d, h, init=init, seed=rng))
            if i < len(sizes) - 2:
                layers.append(get_activation(activation))
        if output_activation is not None:
            layers.append(get_activation(output_activation))
        super().__init__(*layers)
        self.sizes = sizes
        self.activation = activation
        self.output_activation = output_activation
        self.init = init

    def extra_repr(self) -> str:
        def name(f: object) -> str:
            return repr(f if isinstance(f, str) else getattr(f, "__name__", f))

        text = f"sizes={self.sizes}, activation={name(self.activation)}"
        if self.output_activation is not None:
            text += f", output_activation={name(self.output_activation)}"
        if self.init != "xavier_uniform":
            text += f", init={name(self.init)}"
        return text
