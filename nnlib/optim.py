"""Optimizers: turn the gradients in ``Parameter.grad`` into parameter updates.

The training step is always the same four lines::

    optimizer.zero_grad()              # gradients accumulate, so reset them first
    value = loss(model(X), y)          # forward
    model.backward(loss.backward())    # fill every Parameter.grad
    optimizer.step()                   # update every Parameter.value in place

Updates are done in place (``p.value -= ...``) so that the layers, which hold the same
:class:`~nnlib.modules.Parameter` objects, see the new values, and so that no array is
re-allocated on every step. Weight decay is the L2 penalty ``(lambda / 2) * ||w||^2`` added to
the loss, i.e. the term ``lambda * w`` added to every gradient (PyTorch's ``weight_decay``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nnlib._validation import check_positive, check_probability, describe
from nnlib.modules import Parameter

__all__ = ["SGD", "Adam", "Optimizer"]


class Optimizer:
    """Base class: holds the parameters, implements :meth:`zero_grad`; subclasses :meth:`step`.

    Args:
        params: the parameters to update, usually ``model.parameters()``.

    Raises:
        TypeError: an element is not a :class:`~nnlib.modules.Parameter`.
        ValueError: no parameters, or the same parameter twice.
    """

    def __init__(self, params: Iterable[Parameter]) -> None:
        if isinstance(params, Parameter):
            raise TypeError(
                "params must be a list of Parameters (e.g. model.parameters()), got a single "
                "Parameter; wrap it in a list"
            )
        try:
            self.params: list[Parameter] = list(params)
        except TypeError:
            raise TypeError(
                f"params must be an iterable of Parameters (e.g. model.parameters()), got "
                f"{describe(params)}"
            ) from None
        if not self.params:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list: the model has no "
                "trainable parameters, or the list was already consumed (pass "
                "model.parameters())"
            )
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"params[{i}] must be a Parameter (from model.parameters()), got {describe(p)}"
                )
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(
                "params contains the same Parameter more than once; it would be updated "
                "several times per step"
            )

    def step(self) -> None:
        """Update every parameter in place from its ``grad``."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero (call before each backward pass)."""
        for p in self.params:
            p.zero_grad()

    def __repr__(self) -> str:
        config = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}({config})"

    def _config(self) -> dict[str, object]:
        return {}


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay (PyTorch's rule).

    For each parameter ``w`` with gradient ``dw``, one :meth:`step` computes::

        g = dw + weight_decay * w          # L2 penalty
        v = momentum * v + g               # velocity, v starts at 0 (so v = g on step 1)
        w = w - lr * v                     # (nesterov: w = w - lr * (g + momentum * v))

    With ``momentum=0`` this is plain gradient descent ``w = w - lr * dw``.

    Args:
        params: the parameters to update, e.g. ``model.parameters()``.
        lr: learning rate, ``> 0``.
        momentum: momentum factor in ``[0, 1)``.
        weight_decay: L2 coefficient ``lambda >= 0``.
        nesterov: use Nesterov momentum (needs ``momentum > 0``).

    Raises:
        TypeError: a hyperparameter is not a number.
        ValueError: a hyperparameter is out of range, or ``params`` is empty.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = check_positive("lr", lr)
        self.momentum = check_probability("momentum", momentum)
        self.weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be True or False, got {describe(nesterov)}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")
        self.nesterov = nesterov
        self.velocities = [np.zeros_like(p.value) for p in self.params] if self.momentum else []

    def step(self) -> None:
        """Apply one SGD update to every parameter, in place."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if wd:
                g = g + wd * p.value  # a new array: p.grad itself stays the loss gradient
            if mu:
                v = self.velocities[i]
                v *= mu
                v += g
                g = g + mu * v if self.nesterov else v
            p.value -= lr * g

    def _config(self) -> dict[str, object]:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "nesterov": self.nesterov,
        }


class Adam(Optimizer):
    """Adam: per-parameter step sizes from running moments of the gradient (Kingma & Ba, 2015).

    With step counter ``t`` (1 on the first step) and moments ``m``, ``v`` starting at 0, one
    :meth:`step` computes, element-wise::

        g = dw + weight_decay * w                  # L2 penalty (not AdamW's decoupled decay)
        m = beta1 * m + (1 - beta1) * g            # mean of the gradient
        v = beta2 * v + (1 - beta2) * g**2         # mean of its square
        m_hat = m / (1 - beta1**t)                 # bias correction: m and v start at 0
        v_hat = v / (1 - beta2**t)
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    Args:
        params: the parameters to update, e.g. ``model.parameters()``.
        lr: learning rate, ``> 0``.
        betas: ``(beta1, beta2)``, each in ``[0, 1)``.
        eps: added to the denominator to avoid division by zero, ``> 0``.
        weight_decay: L2 coefficient ``lambda >= 0``.

    Raises:
        TypeError: a hyperparameter is not a number.
        ValueError: a hyperparameter is out of range, or ``params`` is empty.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        self.lr = check_positive("lr", lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            check_probability("betas[0]", betas[0]),
            check_probability("betas[1]", betas[1]),
        )
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
        self.t = 0
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        """Apply one Adam update to every parameter, in place."""
        self.t += 1
        beta1, beta2 = self.betas
        # Fold both bias corrections into scalars: lr * m_hat / (sqrt(v_hat) + eps)
        # = step_size * m / (sqrt(v) / sqrt(1 - beta2**t) + eps).
        step_size = self.lr / (1.0 - beta1**self.t)
        root_correction = np.sqrt(1.0 - beta2**self.t)
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            g = p.grad
            if self.weight_decay:
                g = g + self.weight_decay * p.value
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_correction
            denom += self.eps
            p.value -= step_size * m / denom

    def _config(self) -> dict[str, object]:
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }
