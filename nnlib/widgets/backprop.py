"""The interactive figure of chapter 8: a backward pass through a computational graph, node by node.

:func:`backprop_steps` turns a graph of :class:`~nnlib.autograd.Value` nodes into the steps of
its backward pass: in reverse topological order, each node's gradient is the sum, over the nodes
that use it, of *upstream gradient times local gradient*. The local gradients are read from
``nnlib.autograd`` itself (each node's own ``_backward``, run with an upstream gradient of 1), so
the figure shows exactly what ``Value.backward`` computes.

:func:`backprop_figure` draws the graphs once, with the layout of
:func:`nnlib.autograd.draw_graph`, and then only recolours boxes and changes texts as a player
steps through the backward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from nnlib.autograd import Value, graph_layout, topological_order
from nnlib.widgets.core import InteractiveFigure, count, dropdown, player

__all__ = [
    "BackpropStep",
    "add_mul_graph",
    "backprop_figure",
    "backprop_steps",
    "example_graphs",
    "shared_value_graph",
    "sigmoid_neuron_graph",
]


# --- the example graphs -----------------------------------------------------------------------
def _named(value: Value, label: str) -> Value:
    value.label = label
    return value


def add_mul_graph(x: float = -2.0, y: float = 5.0, z: float = -4.0) -> Value:
    """``f = (x + y) z``, the first graph of the chapter, with ``q = x + y``.

    Returns:
        The output node ``f`` (forward pass done, no gradients yet).
    """
    xv, yv, zv = Value(x, "x"), Value(y, "y"), Value(z, "z")
    q = _named(xv + yv, "q")
    return _named(q * zv, "f")


def sigmoid_neuron_graph(
    w0: float = 2.0, x0: float = -1.0, w1: float = -3.0, x1: float = -2.0, w2: float = -3.0
) -> Value:
    """The neuron ``f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))`` built from primitive operations.

    The intermediate nodes are ``a = w0 x0``, ``b = w1 x1``, ``s = a + b``, ``z = s + w2``,
    ``u = z c1`` (with the constant ``c1 = -1``), ``e = exp(u)``, ``d = e + c2`` (``c2 = 1``)
    and ``f = d ** -1``. The defaults are the classic numbers of Stanford's CS231n notes.

    Returns:
        The output node ``f`` (forward pass done, no gradients yet).
    """
    w0v, x0v = Value(w0, "w0"), Value(x0, "x0")
    w1v, x1v = Value(w1, "w1"), Value(x1, "x1")
    w2v = Value(w2, "w2")
    a = _named(w0v * x0v, "a")
    b = _named(w1v * x1v, "b")
    s = _named(a + b, "s")
    z = _named(s + w2v, "z")
    u = _named(z * Value(-1.0, "c1"), "u")
    e = _named(u.exp(), "e")
    d = _named(e + Value(1.0, "c2"), "d")
    return _named(d**-1, "f")


def shared_value_graph(x: float = 2.0, y: float = 1.0, z: float = -3.0) -> Value:
    """``f = (a + z) (a z)`` with ``a = x y``: ``a`` and ``z`` are both used twice, so each of
    their gradients is a sum of two terms.

    Returns:
        The output node ``f`` (forward pass done, no gradients yet).
    """
    xv, yv, zv = Value(x, "x"), Value(y, "y"), Value(z, "z")
    a = _named(xv * yv, "a")
    b = _named(a + zv, "b")
    c = _named(a * zv, "c")
    return _named(b * c, "f")


def example_graphs() -> dict[str, Value]:
    """The graphs offered by :func:`backprop_figure`, by the name shown in its menu."""
    return {
        "(x + y) z": add_mul_graph(),
        "sigmoid neuron": sigmoid_neuron_graph(),
        "(a + z)(a z), a = x y": shared_value_graph(),
    }


# --- the steps of the backward pass -----------------------------------------------------------
@dataclass(frozen=True)
class BackpropStep:
    """One step of a backward pass: one node receives its complete gradient.

    Attributes:
        node: the :class:`Value` whose gradient is completed at this step.
        terms: one ``(user, upstream, local)`` triple per node that uses ``node``, where
            ``upstream = user.grad`` and ``local = d user / d node`` (summed over both operand
            slots when ``user`` uses ``node`` twice, as in ``node * node``).
        grad: ``node.grad``, the sum of ``upstream * local`` over the terms (1 for the output).
        rule: one line naming each local gradient, e.g. ``"∂f/∂q = z = -4 (multiply swaps)"``.
        computation: one line with the arithmetic, e.g.
            ``"q.grad = f.grad × ∂f/∂q = 1 × (-4) = -4"``.
    """

    node: Value
    terms: tuple[tuple[Value, float, float], ...]
    grad: float
    rule: str
    computation: str


def _name(node: Value) -> str:
    return node.label or f"{node.data:g}"


def _num(x: float) -> str:
    """A number for the figure: 3 significant digits, a true minus sign."""
    return f"{x:.3g}".replace("-", "\u2212")


def _factor(x: float) -> str:
    """A number inside a product: negative ones in parentheses."""
    return f"({_num(x)})" if x < 0 else _num(x)


def _local_gradients(order: list[Value]) -> dict[tuple[int, int], float]:
    """``d user / d parent`` for every edge, from each node's own ``_backward``.

    Each node with parents is run alone with an upstream gradient of 1; what it adds to a
    parent's ``.grad`` is the local derivative. Every ``.grad`` is restored afterwards.
    """
    saved = [n.grad for n in order]
    local: dict[tuple[int, int], float] = {}
    for user in order:
        if not user._prev:
            continue
        for parent in user._prev:
            parent.grad = 0.0
        user_grad, user.grad = user.grad, 1.0
        user._backward()
        for parent in user._prev:
            local[(id(user), id(parent))] = parent.grad
        user.grad = user_grad
    for n, g in zip(order, saved, strict=True):
        n.grad = g
    return local


def _rule(user: Value, node: Value, local: float) -> str:
    """Name the local gradient ``d user / d node`` of one operation, with its value."""
    u, v, value = _name(user), _name(node), _num(local)
    head = f"\u2202{u}/\u2202{v}"
    op = user._op
    if op == "+":
        return f"{head} = 1 (add passes the gradient on)"
    if op == "*":
        others = [p for p in user._prev if p is not node]
        if not others:  # node * node
            return f"{head} = 2\u00b7{v} = {value}"
        return f"{head} = {_name(others[0])} = {value} (multiply swaps)"
    if op.startswith("**"):
        k = float(op[2:])
        if k == -1:
            return f"{head} = \u22121/{v}\u00b2 = {value}"
        return f"{head} = {k:g}\u00b7{v}^{k - 1:g} = {value}"
    formulas = {
        "exp": f"e^{v} = {u}",
        "log": f"1/{v}",
        "tanh": f"1 \u2212 {u}\u00b2",
        "sigmoid": f"{u}(1 \u2212 {u})",
        "relu": f"[{v} > 0] (max routes)",
    }
    if op in formulas:
        return f"{head} = {formulas[op]} = {value}"
    return f"{head} = {value}"


def backprop_steps(root: Value) -> list[BackpropStep]:
    """The backward pass of the graph ending in ``root``, one node per step.

    The nodes come in reverse topological order (``root`` first), the order in which
    :meth:`Value.backward` completes their gradients: when a node's turn comes, every node that
    uses it already has its gradient. Runs ``root.backward()``, so afterwards every node's
    ``.grad`` holds ``d root / d node``.

    Args:
        root: the output node.

    Returns:
        One :class:`BackpropStep` per node of the graph (constants included), ``root`` first.
    """
    order = topological_order(root)
    root.backward()
    local = _local_gradients(order)
    users: dict[int, list[Value]] = {id(n): [] for n in order}
    for node in order:
        for parent in dict.fromkeys(node._prev):  # a user counts once, even for a * a
            users[id(parent)].append(node)
    steps = []
    for node in reversed(order):
        if node is root:
            r = _name(root)
            steps.append(
                BackpropStep(
                    root, (), root.grad, f"the seed: \u2202{r}/\u2202{r} = 1", f"{r}.grad = 1"
                )
            )
            continue
        terms = tuple((u, u.grad, local[(id(u), id(node))]) for u in users[id(node)])
        v = _name(node)
        symbols = " + ".join(
            f"{_name(u)}.grad \u00d7 \u2202{_name(u)}/\u2202{v}" for u, _, _ in terms
        )
        numbers = " + ".join(f"{_factor(up)} \u00d7 {_factor(loc)}" for _, up, loc in terms)
        rule = ";  ".join(_rule(u, node, loc) for u, _, loc in terms)
        computation = f"{v}.grad = {symbols} = {numbers} = {_num(node.grad)}"
        steps.append(BackpropStep(node, terms, node.grad, rule, computation))
    return steps


# --- drawing ----------------------------------------------------------------------------------
_FONT = 9.5
_CHAR_W = 0.6 * _FONT / 72  # inches per character of DejaVu Sans, roughly
_LINE_H = 1.3 * _FONT / 72
_BOX_H = 2 * _LINE_H + 0.08
_GAP_X = 0.56  # between two layers of boxes: room for an operation circle and two arrows
_SLOT_H = _BOX_H + _LINE_H + 0.2  # a box and the gradient printed under it
_MARGIN = 0.12
_OP_FONT = 7.0

_VALUE_FC, _DONE_FC, _CURRENT_FC = "#dbe9f6", "#d5efcf", "#ffd54f"
_OP_FC, _OP_ACTIVE_FC = "#fde3c8", "#f6a5a5"
_EDGE, _ACTIVE = "0.35", "#c62828"
_GRAD_COLOR, _UNKNOWN_COLOR = "#c62828", "0.6"


@dataclass
class _DrawnGraph:
    """The artists of one graph, keyed by node id, and its backward steps."""

    ax: Any
    steps: list[BackpropStep]
    boxes: dict[int, FancyBboxPatch]
    grads: dict[int, Any]
    ops: dict[int, Circle]
    edges: dict[tuple[int, int], list[FancyArrowPatch]]  # (parent, user) -> arrows into the op


@dataclass
class _Geometry:
    """Where the nodes of one graph go, in inches at scale 1."""

    order: list[Value]  # topological order
    xy: dict[int, tuple[float, float]]  # node id -> centre of its box
    box_w: float
    extent: tuple[float, float, float, float]  # x_lo, x_hi, y_lo, y_hi of the whole drawing

    @property
    def size(self) -> tuple[float, float]:
        x_lo, x_hi, y_lo, y_hi = self.extent
        return x_hi - x_lo, y_hi - y_lo


def _geometry(root: Value) -> _Geometry:
    """Lay the graph out in layers as :func:`nnlib.autograd.draw_graph` does.

    Run the backward pass first: the boxes are sized to hold the gradients too.
    """
    order = topological_order(root)
    depth, slot = graph_layout(order)
    chars = max(max(len(_name(n)), len(_num(n.data)), len(_num(n.grad))) for n in order)
    box_w = chars * _CHAR_W + 0.14
    xy = {id(n): (depth[id(n)] * (box_w + _GAP_X), -slot[id(n)] * _SLOT_H) for n in order}
    xs = [x for x, _ in xy.values()]
    ys = [y for _, y in xy.values()]
    extent = (
        min(xs) - box_w / 2 - _MARGIN,
        max(xs) + box_w / 2 + _MARGIN,
        min(ys) - _BOX_H / 2 - _LINE_H - 0.1,  # room for the gradient under the lowest box
        max(ys) + _BOX_H / 2 + _MARGIN,
    )
    return _Geometry(order, xy, box_w, extent)


def _on_box(
    centre: tuple[float, float], towards: tuple[float, float], half_w: float, half_h: float
) -> tuple[float, float]:
    """Where the ray from a box's centre towards a point leaves the box (plus a small gap)."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    t = min(half_w / abs(dx) if dx else float("inf"), half_h / abs(dy) if dy else float("inf"))
    t += 0.02 / max(math.hypot(dx, dy), 1e-12)
    return centre[0] + t * dx, centre[1] + t * dy


def _on_circle(
    centre: tuple[float, float], towards: tuple[float, float], radius: float
) -> tuple[float, float]:
    """Where the ray from a circle's centre towards a point leaves the circle (plus a gap)."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    t = (radius + 0.02) / max(math.hypot(dx, dy), 1e-12)
    return centre[0] + t * dx, centre[1] + t * dy


def _draw_graph(
    fig: Any,
    steps: list[BackpropStep],
    rect: tuple[float, float, float, float],
    scale: float = 1.0,
) -> _DrawnGraph:
    """Draw the graph of ``steps`` on a new Axes at ``rect``, ``scale`` inches per data unit."""
    geo = _geometry(steps[0].node)
    order, xy, box_w = geo.order, geo.xy, geo.box_w
    font = _FONT * scale
    ax = fig.add_axes(rect)
    ax.set(xlim=geo.extent[:2], ylim=geo.extent[2:])
    ax.set_axis_off()
    boxes, grads, ops, edges = {}, {}, {}, {}
    for node in order:
        x, y = xy[id(node)]
        box = FancyBboxPatch(
            (x - box_w / 2, y - _BOX_H / 2),
            box_w,
            _BOX_H,
            boxstyle="round,pad=0,rounding_size=0.05",
            fc=_VALUE_FC,
            ec="0.3",
            lw=1.0,
            zorder=3,
        )
        boxes[id(node)] = ax.add_patch(box)
        ax.text(x, y + _LINE_H / 2, _name(node), ha="center", va="center", fontsize=font,
                fontweight="bold", zorder=4)  # fmt: skip
        ax.text(x, y - _LINE_H / 2, _num(node.data), ha="center", va="center", fontsize=font,
                zorder=4)  # fmt: skip
        grads[id(node)] = ax.text(x, y - _BOX_H / 2 - 0.04, "?", ha="center", va="top",
                                  fontsize=font, fontweight="bold", zorder=4)  # fmt: skip

    def arrow(start: tuple[float, float], end: tuple[float, float], rad: float) -> Any:
        # Fixed end points: clipping to patchA/patchB at every draw would cost most of an update.
        return ax.add_patch(
            FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9 * scale,
                            connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0,
                            color=_EDGE, lw=1.0, zorder=2)
        )  # fmt: skip

    for node in order:
        if not node._prev:
            continue
        x, y = xy[id(node)]
        cx = x - (box_w + _GAP_X) / 2
        radius = max(0.13, len(node._op) * 0.6 * _OP_FONT / 72 / 2 + 0.05)
        op = ax.add_patch(Circle((cx, y), radius, fc=_OP_FC, ec="0.3", zorder=3))
        ops[id(node)] = op
        op_font = (_OP_FONT if len(node._op) > 1 else _FONT) * scale  # a lone "*" needs size
        ax.text(cx, y, node._op, ha="center", va="center", fontsize=op_font, zorder=4)
        for k, parent in enumerate(node._prev):
            curve = 0.3 * sum(p is parent for p in node._prev[:k])  # second use: curved
            px, py = xy[id(parent)]
            start = _on_box((px, py), (cx, y), box_w / 2, _BOX_H / 2)
            end = _on_circle((cx, y), (px, py), radius)
            edges.setdefault((id(parent), id(node)), []).append(arrow(start, end, curve))
        arrow(
            _on_circle((cx, y), (x, y), radius), _on_box((x, y), (cx, y), box_w / 2, _BOX_H / 2), 0
        )
    return _DrawnGraph(ax, steps, boxes, grads, ops, edges)


def _show_step(g: _DrawnGraph, step: int) -> tuple[str, str, str]:
    """Colour the graph for ``step`` (0: forward values only) and return the three texts."""
    n = len(g.steps)
    k = min(step, n)
    done = {id(s.node) for s in g.steps[:k]}
    current = g.steps[k - 1] if 1 <= step <= n else None
    cur = id(current.node) if current else None
    user_ids = {id(u) for u, _, _ in current.terms} if current else set()
    for key, box in g.boxes.items():
        box.set_facecolor(_CURRENT_FC if key == cur else _DONE_FC if key in done else _VALUE_FC)
        active = key == cur or key in user_ids
        box.set_edgecolor(_ACTIVE if active else "0.3")
        box.set_linewidth(2.0 if key == cur else 1.5 if active else 1.0)
    for s in g.steps:
        text = g.grads[id(s.node)]
        known = id(s.node) in done
        text.set_text(_num(s.grad) if known else "?")
        text.set_color(_GRAD_COLOR if known else _UNKNOWN_COLOR)
    for key, op in g.ops.items():
        op.set_facecolor(_OP_ACTIVE_FC if key in user_ids else _OP_FC)
    for (parent, _user), arrows in g.edges.items():
        hot = parent == cur and _user in user_ids
        for a in arrows:
            a.set_color(_ACTIVE if hot else _EDGE)
            a.set_linewidth(2.0 if hot else 1.0)
    if step == 0:
        return (
            f"forward pass done: every node holds its value (0 of {n} gradients known)",
            "Step through the backward pass: each step completes one node's gradient,",
            "upstream gradient × local gradient, summed over the nodes that use it.",
        )
    if current is None:
        return (
            f"backward pass complete after {count(n, 'step')}: every node holds ∂f/∂node",
            "Each gradient was ready before it was passed on, because the nodes were visited",
            "in reverse topological order.",
        )
    title = f"step {step} of {n}: the gradient of {_name(current.node)}"
    return title, current.rule, current.computation


def backprop_figure(graphs: dict[str, Value] | None = None) -> InteractiveFigure:
    """Step through the backward pass of a computational graph, one node per step.

    Step 0 shows the forward values only. Step ``k`` completes the gradient of the ``k``-th node
    in reverse topological order: that node is highlighted (gold), the nodes that use it and
    their operations are marked in red, and the text below the graph gives the local gradient of
    each operation and the sum *upstream × local*. Nodes whose gradient is known are green, with
    the gradient printed in red under the box. A menu chooses the graph.

    Node positions are computed once (with the layout of :func:`nnlib.autograd.draw_graph`);
    an update only recolours boxes and changes texts.

    Args:
        graphs: ``{menu label: output node}``; :func:`example_graphs` if None.

    Returns:
        An :class:`InteractiveFigure` with controls ``graph`` and ``step``.

    Raises:
        ValueError: ``graphs`` is empty.
    """
    graphs = example_graphs() if graphs is None else dict(graphs)
    if not graphs:
        raise ValueError("backprop_figure needs at least one graph, got none")
    steps = {name: backprop_steps(root) for name, root in graphs.items()}  # fills every .grad
    sizes = {name: _geometry(root).size for name, root in graphs.items()}
    top, bottom = 0.45, 0.62  # inches for the title and for the two lines of text
    width = max(7.0, max(w for w, _ in sizes.values()) + 0.3)
    height = max(h for _, h in sizes.values()) + top + bottom
    n_steps = max(len(s) for s in steps.values())

    def setup(fig: Any) -> dict[str, Any]:
        fig.set_layout_engine("none")  # the Axes are placed by hand, one data unit per inch
        drawn = {}
        room_w, room_h = width, height - top - bottom
        for name in graphs:
            # Small graphs are drawn larger, up to 1.5 times, to fill the same space.
            scale = min(1.5, room_w / sizes[name][0], room_h / sizes[name][1])
            w, h = scale * sizes[name][0], scale * sizes[name][1]
            rect = ((width - w) / 2 / width, (bottom + (room_h - h) / 2) / height, w / width,
                    h / height)  # fmt: skip
            drawn[name] = _draw_graph(fig, steps[name], rect, scale)
        title = fig.text(0.5, 1 - 0.22 / height, "", ha="center", va="center", fontsize=11)
        rule = fig.text(0.5, 0.43 / height, "", ha="center", va="center", fontsize=10.5)
        comp = fig.text(0.5, 0.17 / height, "", ha="center", va="center", fontsize=10.5,
                        color=_GRAD_COLOR)  # fmt: skip
        return {"graphs": drawn, "title": title, "rule": rule, "comp": comp}

    def update(state: dict[str, Any], graph: str, step: int) -> None:
        for name, g in state["graphs"].items():
            g.ax.set_visible(name == graph)
        title, rule, comp = _show_step(state["graphs"][graph], step)
        state["title"].set_text(title)
        state["rule"].set_text(rule)
        state["comp"].set_text(comp)
        state["comp"].set_color(
            _GRAD_COLOR if 1 <= step <= len(state["graphs"][graph].steps) else "k"
        )

    return InteractiveFigure(
        setup,
        update,
        [
            dropdown("graph", {name: name for name in graphs}, label="graph"),
            player("step", range(n_steps + 1), label="step", interval_ms=1000),
        ],
        title="A backward pass, node by node",
        caption="Blue boxes: forward values. Green boxes: nodes whose gradient is known. Red "
        "numbers under the boxes: gradients of the output "
        "with respect to each node. Gold: the node whose gradient this step completes; red "
        "outlines and operations: the nodes that use it, whose gradients flow back to it.",
        figsize=(width, height),
    )
