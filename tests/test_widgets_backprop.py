"""nnlib.widgets.backprop: the steps agree with nnlib.autograd, the figure shows them one by one."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from matplotlib.colors import to_hex

from nnlib.autograd import Value, topological_order
from nnlib.functional import sigmoid
from nnlib.widgets.backprop import (
    add_mul_graph,
    backprop_figure,
    backprop_steps,
    example_graphs,
    shared_value_graph,
    sigmoid_neuron_graph,
)


def _leaves(root: Value) -> dict[str, Value]:
    return {n.label: n for n in topological_order(root)}


@pytest.fixture(scope="module")
def figure():
    return backprop_figure()


@pytest.fixture(scope="module")
def frames(figure):
    return figure.frames()


# --- the steps --------------------------------------------------------------------------------
def test_add_mul_graph_has_the_chapter_numbers() -> None:
    steps = backprop_steps(add_mul_graph())
    grads = {s.node.label: s.grad for s in steps}
    assert grads == {"f": 1.0, "z": 3.0, "q": -4.0, "x": -4.0, "y": -4.0}
    assert steps[0].node.data == -12.0
    q = next(s for s in steps if s.node.label == "q")
    (user, upstream, local), *rest = q.terms
    assert not rest and user.label == "f" and upstream == 1.0 and local == -4.0
    assert q.computation == "q.grad = f.grad × ∂f/∂q = 1 × (−4) = −4"
    assert q.rule == "∂f/∂q = z = −4 (multiply swaps)"


def test_sigmoid_neuron_gradients_match_the_formula() -> None:
    w0, x0, w1, x1, w2 = 2.0, -1.0, -3.0, -2.0, -3.0
    root = sigmoid_neuron_graph(w0, x0, w1, x1, w2)
    steps = backprop_steps(root)
    p = float(sigmoid(w0 * x0 + w1 * x1 + w2))
    assert root.data == pytest.approx(p, rel=1e-12)
    dz = p * (1 - p)  # the whole sigmoid block's local gradient
    expected = {"w0": dz * x0, "x0": dz * w0, "w1": dz * x1, "x1": dz * w1, "w2": dz}
    grads = {s.node.label: s.grad for s in steps}
    for name, value in expected.items():
        assert grads[name] == pytest.approx(value, rel=1e-12), name
    assert len(steps) == 15  # 5 inputs, 2 constants, 8 operations


@pytest.mark.parametrize("build", [add_mul_graph, sigmoid_neuron_graph, shared_value_graph])
def test_steps_are_upstream_times_local_in_reverse_topological_order(build) -> None:
    root = build()
    steps = backprop_steps(root)
    order = topological_order(root)
    assert [id(s.node) for s in steps] == [id(n) for n in reversed(order)]
    reference = {id(n): n.grad for n in order}  # backprop_steps ran root.backward()
    root.backward()
    assert reference == {id(n): n.grad for n in order}
    position = {id(s.node): i for i, s in enumerate(steps)}
    for s in steps[1:]:
        assert s.grad == pytest.approx(sum(up * loc for _, up, loc in s.terms), rel=1e-12)
        for user, upstream, _ in s.terms:
            assert position[id(user)] < position[id(s.node)]  # users are done first
            assert upstream == user.grad


@pytest.mark.parametrize("build", [add_mul_graph, sigmoid_neuron_graph, shared_value_graph])
def test_leaf_gradients_match_finite_differences(build) -> None:
    # Nudge one leaf at a time, recompute the output, and compare with the step's gradient.
    root = build()
    steps = backprop_steps(root)
    for s in steps:
        if s.node._prev:
            continue
        h = 1e-6
        old = s.node.data
        s.node.data = old + h
        up = _recompute(root)
        s.node.data = old - h
        down = _recompute(root)
        s.node.data = old
        assert (up - down) / (2 * h) == pytest.approx(s.grad, rel=1e-6, abs=1e-9), s.node.label


def _recompute(root: Value) -> float:
    """The output of the graph for the current leaf values (rebuilt with the same ops)."""
    values: dict[int, float] = {}
    for node in topological_order(root):
        if not node._prev:
            values[id(node)] = node.data
            continue
        args = [Value(values[id(p)]) for p in node._prev]
        if node._op == "+":
            out = args[0] + args[1]
        elif node._op == "*":
            out = args[0] * args[1]
        elif node._op == "exp":
            out = args[0].exp()
        else:
            out = args[0] ** float(node._op[2:])
        values[id(node)] = out.data
    return values[id(root)]


def test_values_used_twice_sum_two_terms() -> None:
    x, y, z = 2.0, 1.0, -3.0
    steps = backprop_steps(shared_value_graph(x, y, z))
    by_label = {s.node.label: s for s in steps}
    a = x * y
    b, c = a + z, a * z
    # f = b c: df/db = c, df/dc = b; then a and z each collect two terms.
    expected_a = c * 1 + b * z
    expected_z = c * 1 + b * a
    for name, expected, users in (("a", expected_a, ["b", "c"]), ("z", expected_z, ["b", "c"])):
        step = by_label[name]
        assert sorted(u.label for u, _, _ in step.terms) == users
        assert step.grad == expected, name
        assert step.computation.count("×") == 4
        assert step.computation.endswith(f"= {expected:.3g}".replace("-", "−"))
    assert by_label["x"].grad == expected_a * y and by_label["y"].grad == expected_a * x


def test_a_node_times_itself_counts_both_slots() -> None:
    a = Value(3.0, "a")
    f = a * a
    f.label = "f"
    (_, step_a) = backprop_steps(f)
    assert step_a.terms[0][2] == 6.0 and step_a.grad == 6.0
    assert "2·a" in step_a.rule


# --- the figure -------------------------------------------------------------------------------
def _shown(figure, graph: str):
    g = figure.state["graphs"][graph]
    known = [k for k, t in g.grads.items() if t.get_text() != "?"]
    gold = [k for k, b in g.boxes.items() if to_hex(b.get_facecolor()) == "#ffd54f"]
    return g, known, gold


def test_step_zero_shows_values_only(figure) -> None:
    for graph in example_graphs():
        figure.render(graph=graph, step=0)
        g, known, gold = _shown(figure, graph)
        assert known == [] and gold == []
        assert g.ax.get_visible()
        others = [h for name, h in figure.state["graphs"].items() if name != graph]
        assert not any(h.ax.get_visible() for h in others)
        assert figure.state["title"].get_text().startswith("forward pass done")


@pytest.mark.parametrize("graph", list(example_graphs()))
def test_each_step_reveals_one_gradient_and_highlights_its_node(figure, graph) -> None:
    n = len(figure.state["graphs"][graph].steps)
    for step in range(1, n + 1):
        figure.render(graph=graph, step=step)
        g, known, gold = _shown(figure, graph)
        current = g.steps[step - 1]
        assert len(known) == step
        assert gold == [id(current.node)]
        assert set(known) == {id(s.node) for s in g.steps[:step]}
        assert g.grads[id(current.node)].get_text() == f"{current.grad:.3g}".replace("-", "−")
        assert figure.state["comp"].get_text() == current.computation
        assert figure.state["rule"].get_text() == current.rule
        assert figure.state["title"].get_text() == (
            f"step {step} of {n}: the gradient of {current.node.label}"
        )
        # The arrows from the current node to the operations that use it are highlighted.
        hot = [key for key, arrows in g.edges.items() if arrows[0].get_linewidth() > 1.5]
        assert {user for _, user in hot} == {id(u) for u, _, _ in current.terms}
        assert all(parent == id(current.node) for parent, _ in hot)


def test_steps_past_the_end_show_the_complete_pass(figure) -> None:
    figure.render(graph="(x + y) z", step=len(figure.controls[1].values) - 1)
    _, known, gold = _shown(figure, "(x + y) z")
    assert len(known) == 5 and gold == []
    assert figure.state["title"].get_text().startswith("backward pass complete after 5 steps")


def test_frames_change_with_every_control_and_stay_small(figure, frames) -> None:
    graphs = list(example_graphs())
    n_max = max(len(topological_order(r)) for r in example_graphs().values())
    assert frames.shape == (len(graphs), n_max + 1)
    ids = np.asarray(frames.frame_image).reshape(frames.shape)
    # Every step of every graph is a new picture, until that graph's pass is complete.
    for i, name in enumerate(graphs):
        n = len(figure.state["graphs"][name].steps)
        assert len(set(ids[i, : n + 1])) == n + 1, name
        assert len(set(ids[i, n + 1 :]) | {ids[i, n]}) <= 2  # "complete" frames are all alike
    assert len(set(ids[:, 0])) == len(graphs)
    assert frames.nbytes < 1_800_000
    assert figure.figsize[0] <= 10.5  # fits the page at the static resolution


def test_static_html_has_a_menu_and_a_player(figure, frames) -> None:
    text = figure.to_html()
    assert len(text) < 2_500_000
    assert re.search(r'<select id="[^"]+" data-nnlib-control="graph">', text)
    assert text.count("<option") == 3
    assert text.count('type="range"') == 1 and text.count('class="nnlib-play"') == 1
    payload = re.search(r'class="nnlib-frames">(.*?)</script>', text, flags=re.S).group(1)
    data = json.loads(payload)
    assert data["labels"][0] == list(example_graphs())
    assert data["labels"][1][0] == "0"


def test_live_face_moves_through_the_steps() -> None:
    fig = backprop_figure({"(x + y) z": add_mul_graph()})
    view = fig.live()
    first = view.image.value
    view.controls["step"].value = 3
    assert fig.state["comp"].get_text() == "q.grad = f.grad × ∂f/∂q = 1 × (−4) = −4"
    assert view.image.value != first


def test_backprop_figure_needs_a_graph() -> None:
    with pytest.raises(ValueError, match="at least one graph"):
        backprop_figure({})
