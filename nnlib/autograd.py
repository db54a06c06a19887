"""A scalar autograd engine: build a computational graph of numbers, then backpropagate.

Every operation on :class:`Value` objects does the same four things (as in Karpathy's
micrograd): build the output node, define a small ``_backward`` closure that *adds* the
chain-rule contribution ``local_derivative * out.grad`` into each parent's ``.grad``, attach
it to the output, return the output. :meth:`Value.backward` then visits the graph once in
reverse topological order, so every node's gradient is complete before it is passed on.

Gradients are *added* (``+=``) because a value used twice contributes along both paths:
for ``b = a + a`` the gradient ``db/da`` is ``1 + 1 = 2``.

Example:
    >>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (-12.0, -4.0, -4.0, 3.0)

This module needs only the standard library at import time; :func:`draw_graph` imports
matplotlib when it is called.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING

from nnlib._validation import check_choice, describe

if TYPE_CHECKING:  # only for type hints; matplotlib stays an optional, lazy import
    from matplotlib.axes import Axes
    from matplotlib.patches import Patch

__all__ = ["Value", "draw_graph", "graph_layout", "topological_order"]


def _as_float(data: object, name: str = "data") -> float:
    """Return ``data`` as a float, or raise TypeError (not a real number) / ValueError (NaN)."""
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        raise TypeError(
            f"Value {name} must be a real number (int or float), got {describe(data)} "
            f"{data!r}; Value holds one scalar (use nnlib.modules for arrays)"
        )
    value = float(data)
    if math.isnan(value):
        raise ValueError(f"Value {name} must not be NaN, got {data!r}")
    return value


class Value:
    """One scalar node of a computational graph, with the gradient of the output w.r.t. it.

    Args:
        data: the number this node holds (int or float; NaN is rejected).
        label: an optional name shown by ``repr`` and :func:`draw_graph` (e.g. ``"x"``).

    Attributes:
        data: the float computed in the forward pass.
        grad: ``d(output)/d(self)`` after the last :meth:`backward` of a graph containing
            this node; ``0.0`` before.
        label: the display name.
        _prev: the parents (operands) this node was computed from, in operand order; a
            value used twice appears twice (``(a, a)`` for ``a + a``). Empty for leaves.
        _op: the operation that produced this node (``"+"``, ``"*"``, ``"**2"``, ``"exp"``,
            ...), ``""`` for leaves.

    Raises:
        TypeError: ``data`` is not a real number (a string, a list, an array, a bool).
        ValueError: ``data`` is NaN.
    """

    def __init__(
        self,
        data: float,
        label: str = "",
        _children: tuple[Value, ...] = (),
        _op: str = "",
    ) -> None:
        self.data = _as_float(data)
        self.grad = 0.0
        self.label = label
        self._backward: Callable[[], None] = lambda: None  # a leaf has nothing to pass on
        self._prev = tuple(_children)
        self._op = _op

    # --- arithmetic -------------------------------------------------------------------------
    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, _children=(self, other), _op="+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, _children=(self, other), _op="*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Value:
        if isinstance(exponent, Value) or isinstance(exponent, bool):
            raise TypeError(
                "Value ** exponent needs a constant int or float exponent, got "
                f"{describe(exponent)}; write x ** 2, not x ** Value(2)"
            )
        k = _as_float(exponent, "exponent")
        if self.data == 0 and k < 0:
            raise ZeroDivisionError(f"cannot raise 0 to the negative power {exponent!r}")
        if self.data < 0 and not k.is_integer():
            raise ValueError(
                f"cannot raise the negative number {self.data!r} to the non-integer power "
                f"{exponent!r} (the result is not a real number)"
            )
        out = Value(self.data**k, _children=(self,), _op=f"**{exponent:g}")

        def _backward() -> None:
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __truediv__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return self * other**-1

    # reflected operators: 2 * v, 1 - v, 1 / v, 3 + v
    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return Value(other) + (-self)

    def __rtruediv__(self, other: float) -> Value:
        return Value(other) * self**-1

    # --- functions --------------------------------------------------------------------------
    def exp(self) -> Value:
        """Return ``e ** self`` (``inf`` past ``exp(709.78)``); ``d/dx e^x = e^x``."""
        try:
            value = math.exp(self.data)
        except OverflowError:
            value = math.inf
        out = Value(value, _children=(self,), _op="exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        """Return the natural log; ``d/dx ln x = 1/x``.

        Raises:
            ValueError: ``self.data <= 0`` (the log is not defined there).
        """
        if self.data <= 0:
            raise ValueError(f"log needs a positive number, got data={self.data!r}")
        out = Value(math.log(self.data), _children=(self,), _op="log")

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """Return ``tanh(self)``; ``d/dx tanh x = 1 - tanh(x)^2``."""
        out = Value(math.tanh(self.data), _children=(self,), _op="tanh")

        def _backward() -> None:
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """Return ``1 / (1 + e^-x)``, computed without overflow; ``d/dx = s (1 - s)``."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # e^-x would overflow for x < -709; use the equal form e^x / (1 + e^x)
            e = math.exp(x)
            s = e / (1.0 + e)
        out = Value(s, _children=(self,), _op="sigmoid")

        def _backward() -> None:
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """Return ``max(0, x)``; the derivative is 1 for ``x > 0`` and 0 otherwise."""
        out = Value(max(0.0, self.data), _children=(self,), _op="relu")

        def _backward() -> None:
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    # --- backpropagation --------------------------------------------------------------------
    def backward(self) -> None:
        """Fill ``.grad`` of every node of the graph with ``d(self)/d(node)``.

        First every node's gradient in the graph of ``self`` is reset to 0, then
        ``self.grad`` is seeded with 1 and each node, output first, passes its gradient to
        its parents. Because of the reset, calling ``backward()`` twice gives the same
        gradients as calling it once (unlike PyTorch, which accumulates). Nodes outside
        this graph are left alone. The walk is iterative, so deep graphs (a chain of
        100,000 nodes) work without hitting Python's recursion limit.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``.grad`` to 0 for every node of the graph that ends in ``self``."""
        for node in topological_order(self):
            node.grad = 0.0

    def __repr__(self) -> str:
        label = f"label={self.label!r}, " if self.label else ""
        return f"Value({label}data={self.data:.6g}, grad={self.grad:.6g})"


def topological_order(root: Value) -> list[Value]:
    """Return every node of the graph ending in ``root``, each after all of its parents.

    The leaves come first and ``root`` last, so ``reversed(order)`` is the order of the
    backward pass. An explicit stack replaces recursion (a depth-first search that
    appends a node once all its parents are done), so graph depth is limited only by memory.

    Args:
        root: the output node.

    Returns:
        The nodes, each exactly once, in topological order.
    """
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))  # revisited after everything pushed below is finished
        # reversed: the first operand is popped, and so listed, first
        stack.extend((p, False) for p in reversed(node._prev) if id(p) not in visited)
    return order


# --- drawing ------------------------------------------------------------------------------
_FONT_SIZE = 8
_CHAR_WIDTH = 0.62 * _FONT_SIZE / 72  # inches per character, roughly, for DejaVu Sans
_LINE_HEIGHT = 1.25 * _FONT_SIZE / 72
_VALUE_COLOR = "#dbe9f6"
_OP_COLOR = "#fde3c8"
_BOX_STYLE = {
    "boxstyle": "round,pad=0,rounding_size=0.06",
    "fc": _VALUE_COLOR,
    "ec": "0.3",
    "zorder": 3,
}
# zorder 2: arrows pass under the boxes they cross
_ARROW_STYLE = {
    "arrowstyle": "-|>",
    "mutation_scale": 10,
    "color": "0.35",
    "zorder": 2,
    "gid": "edge",
}


def _node_text(node: Value, show_grad: bool) -> str:
    lines = [node.label] if node.label else []
    lines.append(f"data {node.data:.4g}")
    if show_grad:
        lines.append(f"grad {node.grad:.4g}")
    return "\n".join(lines)


def graph_layout(order: list[Value]) -> tuple[dict[int, int], dict[int, float]]:
    """Return each node's layer and its position (slot) within the layer, keyed by ``id(node)``.

    ``order`` is :func:`topological_order` of the output. :func:`draw_graph` places nodes with
    it; figures that draw a graph their own way use it to match ``draw_graph``'s picture.

    The output sits in the layer of its longest path from a leaf; every other node sits one
    layer before its first use, so constants and inputs appear next to where they enter.
    Slots are assigned from the output backwards: each node goes near the mean slot of the
    nodes that use it, one unit apart at least, so that most arrows run straight.
    """
    users: dict[int, list[Value]] = {id(n): [] for n in order}
    depth: dict[int, int] = {}
    for node in order:  # parents come first, so their depths are known
        depth[id(node)] = 1 + max((depth[id(p)] for p in node._prev), default=-1)
        for p in node._prev:
            users[id(p)].append(node)
    for node in reversed(order):  # users come first: move each node next to its first use
        if users[id(node)]:
            depth[id(node)] = min(depth[id(u)] for u in users[id(node)]) - 1
    layers: dict[int, list[Value]] = {}
    for node in order:
        layers.setdefault(depth[id(node)], []).append(node)
    slot: dict[int, float] = {}
    for d in sorted(layers, reverse=True):
        want = {id(n): _mean([slot[id(u)] for u in users[id(n)]]) for n in layers[d]}
        nodes = sorted(layers[d], key=lambda n: want[id(n)])  # stable: keeps operand order
        placed: list[float] = []
        for n in nodes:
            placed.append(want[id(n)] if not placed else max(want[id(n)], placed[-1] + 1))
        shift = _mean([want[id(n)] - s for n, s in zip(nodes, placed, strict=True)])
        for n, s in zip(nodes, placed, strict=True):
            slot[id(n)] = s + shift
    return depth, slot


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def draw_graph(
    value: Value, ax: Axes | None = None, show_grad: bool = True, rankdir: str = "LR"
) -> Axes:
    """Draw the computational graph that produced ``value`` (like micrograd's ``draw_dot``).

    Each :class:`Value` is a rounded box showing its label, ``data`` and (optionally)
    ``grad``; each operation is a small circle between its operands and its result.
    Nodes are placed in layers (the output at its longest path from a leaf, every other
    node just before its first use). Uses matplotlib only, no graphviz.

    Args:
        value: the output node; every node it was computed from is drawn.
        ax: the Axes to draw on. By default a new figure is sized to the graph; on a given
            Axes the drawing keeps its proportions and the text is scaled to fit.
        show_grad: also print each node's ``grad`` (run ``value.backward()`` first).
        rankdir: ``"LR"`` (leaves on the left, output on the right) or ``"TB"`` (top to
            bottom).

    Returns:
        The matplotlib Axes. Value boxes are the patches (and texts) with gid ``"value"``,
        operation circles those with gid ``"op"``, and each arrow a patch with gid ``"edge"``.

    Raises:
        TypeError: ``value`` is not a :class:`Value`.
        ValueError: ``rankdir`` is not ``"LR"`` or ``"TB"``.
    """
    if not isinstance(value, Value):
        raise TypeError(f"draw_graph needs a Value, got {describe(value)}")
    check_choice("rankdir", rankdir, ("LR", "TB"))
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    order = topological_order(value)
    depth, slot = graph_layout(order)
    texts = {id(n): _node_text(n, show_grad) for n in order}
    # Sizes are in inches at the default font size, estimated from the number of characters.
    widths = {k: max(map(len, t.split("\n"))) * _CHAR_WIDTH + 0.16 for k, t in texts.items()}
    box_w, box_h = max(widths.values()), (3 if show_grad else 2) * _LINE_HEIGHT + 0.1
    if rankdir == "LR":  # a layer holds a box plus room for an op circle and two arrows
        layer_pitch, slot_pitch = box_w + 0.9, box_h + 0.25
    else:
        layer_pitch, slot_pitch = box_h + 0.9, box_w + 0.3

    def place(layer: float, s: float) -> tuple[float, float]:
        along, across = layer * layer_pitch, s * slot_pitch
        return (along, -across) if rankdir == "LR" else (across, -along)

    xy = {id(n): place(depth[id(n)], slot[id(n)]) for n in order}
    margin = 0.3
    x_lo = min(x - widths[k] / 2 for k, (x, _) in xy.items()) - margin
    x_hi = max(x + widths[k] / 2 for k, (x, _) in xy.items()) + margin
    y_lo = min(y for _, y in xy.values()) - box_h / 2 - margin
    y_hi = max(y for _, y in xy.values()) + box_h / 2 + margin
    if ax is None:
        fig = plt.figure(figsize=(x_hi - x_lo, y_hi - y_lo))
        ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")
    ax.set_axis_off()
    # One data unit is one inch on a fitted figure; on a smaller Axes shrink the text with it.
    ax_box = ax.get_position().size * ax.figure.get_size_inches()
    font = _FONT_SIZE * min(ax_box[0] / (x_hi - x_lo), ax_box[1] / (y_hi - y_lo))

    patches: dict[int, Patch] = {}
    centers: dict[Patch, tuple[float, float]] = {}
    text_style = {"ha": "center", "va": "center", "fontsize": font, "zorder": 4}
    for node in order:
        (x, y), w = xy[id(node)], widths[id(node)]
        box = FancyBboxPatch((x - w / 2, y - box_h / 2), w, box_h, **_BOX_STYLE, gid="value")
        patches[id(node)] = ax.add_patch(box)
        centers[box] = (x, y)
        ax.text(x, y, texts[id(node)], **text_style, gid="value")

    def arrow(start: Patch, end: Patch, rad: float = 0.0) -> None:
        # patchA/patchB clip the arrow where it leaves and enters the node outlines
        style = {**_ARROW_STYLE, "connectionstyle": f"arc3,rad={rad}"}
        ax.add_patch(
            FancyArrowPatch(centers[start], centers[end], patchA=start, patchB=end, **style)
        )

    for node in order:
        if not node._prev:
            continue
        x, y = place(depth[id(node)] - 0.5, slot[id(node)])
        radius = max(0.14, len(node._op) * _CHAR_WIDTH / 2 + 0.06)
        op = ax.add_patch(Circle((x, y), radius, fc=_OP_COLOR, ec="0.3", zorder=3, gid="op"))
        centers[op] = (x, y)
        ax.text(x, y, node._op, **text_style, gid="op")
        seen: dict[int, int] = {}
        for parent in node._prev:  # a parent used twice (a + a) gets a second, curved arrow
            seen[id(parent)] = seen.get(id(parent), 0) + 1
            arrow(patches[id(parent)], op, rad=0.3 * (seen[id(parent)] - 1))
        arrow(op, patches[id(node)])
    return ax
