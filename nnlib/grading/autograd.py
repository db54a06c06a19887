"""Checks for ``a3_autograd``: the local ``_backward`` of each operation of a scalar ``Value``
graph and the topological-order ``backward()``, against :class:`nnlib.autograd.Value`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from nnlib import autograd
from nnlib.grading._compare import assert_close, matches
from nnlib.grading._safe import GradingError, as_scalar, quiet
from nnlib.grading.checks import call
from nnlib.grading.policy import policy_for

__all__ = ["AUTOGRAD_REFERENCES", "OPS", "check_backward", "check_op"]

#: Off limits in a3: nnlib's autograd engine.
AUTOGRAD_REFERENCES = list(policy_for("a3_autograd").forbidden)

#: The operations of the assignment: name -> (function of Value operands, its arity).
OPS: dict[str, tuple[Callable, int]] = {
    "+": (lambda x, y: x + y, 2),
    "*": (lambda x, y: x * y, 2),
    "**2": (lambda x: x**2, 1),
    "**3": (lambda x: x**3, 1),
    "**-1": (lambda x: x**-1, 1),
    "**0.5": (lambda x: x**0.5, 1),
    "exp": (lambda x: x.exp(), 1),
    "tanh": (lambda x: x.tanh(), 1),
    "sigmoid": (lambda x: x.sigmoid(), 1),
    "relu": (lambda x: x.relu(), 1),
    "x+x": (lambda x: x + x, 1),
    "x*x": (lambda x: x * x, 1),
}


#: The method of ``Value`` each operation of :data:`OPS` is about.
_OP_METHODS = {
    "+": "Value.__add__",
    "*": "Value.__mul__",
    "**": "Value.__pow__",
    "exp": "Value.exp",
    "tanh": "Value.tanh",
    "sigmoid": "Value.sigmoid",
    "relu": "Value.relu",
    "x+x": "Value.__add__",
    "x*x": "Value.__mul__",
}


def _leaves(Value: type, values: Sequence[float], what: str) -> list:
    return [
        call(Value, float(v), what=f"{what}: Value({v:g})", forbid=AUTOGRAD_REFERENCES)
        for v in values
    ]


def _grad(node: object, what: str) -> float:
    try:
        grad = node.grad  # type: ignore[attr-defined]
    except AttributeError:
        raise GradingError(f"{what}: a Value has no attribute .grad") from None
    return as_scalar(grad, what)


def check_op(Value: type, op: str, cases: Sequence[Sequence[float]], *, seed: int = 0) -> None:
    """The forward value and the local ``_backward`` of ``op`` on each case of inputs.

    Each operand starts with a random non-zero ``.grad`` (so ``_backward`` must *add*), the
    output gets a random upstream ``.grad`` (never 1, so a forgotten chain-rule factor shows),
    then ``out._backward()`` runs once; every operand's gradient must equal nnlib's.
    """
    fn, arity = OPS[op]
    rng = np.random.default_rng(seed)
    for values in cases:
        values = [float(v) for v in values][:arity]
        what = f"Value {op} at {tuple(values)}" if arity > 1 else f"Value {op} at x = {values[0]:g}"
        initial = [float(g) for g in rng.normal(size=arity)]
        upstream = float(rng.normal() * 2 or 1.3)
        with quiet():
            ref_in = [autograd.Value(v) for v in values]
            ref_out = fn(*ref_in)
            for node, g in zip(ref_in, initial, strict=True):
                node.grad = g
            ref_out.grad = upstream
            ref_out._backward()
        leaves = _leaves(Value, values, what)
        out = call(
            fn,
            *leaves,
            what=f"{what} (forward)",
            forbid=AUTOGRAD_REFERENCES,
            subjects=[_OP_METHODS["**" if op.startswith("**") else op]],
        )
        data = as_scalar(getattr(out, "data", None), f"{what}: the output's .data")
        assert_close(np.float64(data), np.float64(ref_out.data), f"{what}: the output's .data")
        for node, g in zip(leaves, initial, strict=True):
            node.grad = g
        out.grad = upstream
        call(
            getattr(out, "_backward", None) or (lambda: None),
            what=f"{what}: out._backward()",
            forbid=AUTOGRAD_REFERENCES,
        )
        for i, (node, ref, g) in enumerate(zip(leaves, ref_in, initial, strict=True)):
            name = "x" if i == 0 else "y"
            got = _grad(node, f"{what}: {name}.grad after out._backward()")
            local = (ref.grad - g) / upstream
            assert_close(
                np.float64(got),
                np.float64(ref.grad),
                f"{what}: {name}.grad after out._backward() (it started at {g:.4g}, "
                f"out.grad = {upstream:.4g})",
                hints=[
                    ("overwrote .grad (=) instead of adding to it (+=)", ref.grad - g),
                    ("forgot to multiply by out.grad (the chain rule)", g + local),
                    ("sign flipped", g - local * upstream),
                    ("did not change .grad at all", g),
                    *(_op_hints(op, values, i, g, upstream)),
                ],
            )


def _op_hints(op: str, values: list[float], i: int, g: float, up: float) -> list:
    x = values[0]
    if op == "*":
        own = values[i]
        return [("multiplied by the operand itself instead of the other one", g + own * up)]
    if op.startswith("**"):
        k = float(op[2:])
        return [
            ("forgot to lower the exponent: k x^k instead of k x^(k-1)", g + k * x**k * up),
            ("forgot the factor k", g + x ** (k - 1) * up),
        ]
    if op == "tanh":
        t = math.tanh(x)
        return [
            (
                "derivative of the wrong function: 1 - x^2 instead of 1 - tanh(x)^2",
                g + (1 - x * x) * up,
            ),
            ("missing the square: 1 - tanh(x) instead of 1 - tanh(x)^2", g + (1 - t) * up),
        ]
    if op == "sigmoid":
        s = 1 / (1 + math.exp(-x))
        return [
            ("used s instead of s (1 - s)", g + s * up),
            ("x (1 - x) of the input instead of s (1 - s) of the output", g + x * (1 - x) * up),
        ]
    if op == "exp":
        return [("used x instead of e^x", g + x * up)]
    return []


def _identity(node: object) -> object:
    """A key for ``node`` that is the same for the same object, also when the grader hands
    the check a forwarding proxy of it (a new proxy per access, hashed by what it forwards)."""
    try:
        return ("hash", type(node).__hash__ is not object.__hash__, hash(node))
    except TypeError:
        return ("id", id(node))


def _topological(root: object, reverse_children: bool) -> list | None:
    """Post-order depth-first search from ``root`` (as a recursive ``build_topo`` visits:
    each node after its children, in ``_prev`` order or its reverse); ``None`` if huge."""
    order: list = []
    seen = {_identity(root)}

    def children(node: object) -> Iterator:
        prev = list(node._prev)
        return iter(prev[::-1] if reverse_children else prev)

    stack = [(root, children(root))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            key = _identity(child)
            if key not in seen:
                seen.add(key)
                stack.append((child, children(child)))
                break
        else:
            stack.pop()
            order.append(node)
        if len(seen) > 10_000:
            return None
    return order


def _walks_with_own_ops(Value: type, build: Callable, values: list[float]) -> list[list]:
    """The leaf gradients right ``backward()`` walks give on the student's own graph, that
    is, with the student's own local ``_backward`` of each operation. When an operation
    overwrites ``.grad``, the result depends on which topological order the walk takes: one
    result per common order (depth-first, children in ``_prev`` order and reversed)."""
    results = []
    for reverse_children in (False, True):
        try:
            with quiet():
                leaves = [Value(v) for v in values]
                root = build(*leaves)
                order = _topological(root, reverse_children)
                if order is None:
                    continue
                for node in order:
                    node.grad = 0.0
                root.grad = 1.0
                for node in reversed(order):
                    node._backward()
                results.append([float(leaf.grad) for leaf in leaves])
        except Exception:
            continue
    return results


def check_backward(
    Value: type,
    build: Callable,
    values: Sequence[float],
    name: str,
    *,
    walk_is_this_part: bool = True,
) -> None:
    """``root.backward()`` on the graph ``build(*leaves)`` gives every leaf nnlib's gradient.

    ``build`` takes the leaves and returns the root; graphs with a node used along several
    paths check the topological order (a node must have its whole gradient before passing it
    on) and the accumulation. Gradients that a right walk over the student's own (wrong)
    local ``_backward`` functions would give pass: an operation's bug costs its own part.
    ``walk_is_this_part=False`` (a part that only uses ``backward()``, graded elsewhere):
    a wrong walk over right operations passes too.
    """
    values = [float(v) for v in values]
    with quiet():
        ref_leaves = [autograd.Value(v) for v in values]
        ref_root = build(*ref_leaves)
        ref_root.backward()
    what = f"backward() on {name} at {tuple(values)}"
    leaves = _leaves(Value, values, what)
    root = call(
        build,
        *leaves,
        what=f"{what} (building the graph)",
        forbid=AUTOGRAD_REFERENCES,
        subjects=(),  # a reference call fails this too, naming the operation that made it
    )
    assert_close(
        np.float64(as_scalar(getattr(root, "data", None), f"{what}: the root's .data")),
        np.float64(ref_root.data),
        f"{what}: the root's .data",
    )
    call(root.backward, what=f"{what}: root.backward()", forbid=AUTOGRAD_REFERENCES)

    def same(got: Sequence[float], want: Sequence[float]) -> bool:
        return all(matches(np.float64(g), np.float64(w)) for g, w in zip(got, want, strict=True))

    reference = [r.grad for r in ref_leaves]
    grads = [_grad(leaf, f"{what}: leaf {i}'s .grad") for i, leaf in enumerate(leaves)]
    if same(grads, reference):
        return
    walks = _walks_with_own_ops(Value, build, values)  # only for a wrong answer: it costs
    if not walk_is_this_part and any(same(own, reference) for own in walks):
        return  # right operations: backward()'s own part judges the walk
    if any(same(grads, own) for own in walks):
        return  # a right backward() over wrong local _backward()s: the ops' parts pay
    root_grad = _grad(root, f"{what}: root.grad")
    if root_grad != 1.0:
        raise GradingError(
            f"{what}: root.grad is {root_grad:g}, expected 1; likely bug: backward() must seed "
            "the output's gradient with d(root)/d(root) = 1 before the reverse walk"
        )
    for i, (got, ref) in enumerate(zip(grads, ref_leaves, strict=True)):
        assert_close(
            np.float64(got),
            np.float64(ref.grad),
            f"{what}: the gradient of leaf {i} (value {values[i]:g})",
            hints=[("that leaf received no gradient: the walk never reached it", 0.0)],
            note="Check that backward() visits the nodes in reverse topological order (each "
            "node after every node that uses it) and calls each _backward exactly once",
        )
