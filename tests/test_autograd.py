"""Tests for nnlib.autograd: the scalar Value graph, backward, and draw_graph."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.autograd import Value, draw_graph, topological_order
from nnlib.gradcheck import DEFAULT_TOL, numerical_gradient, rel_error


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def numerical_grads(f, xs: list[float]) -> np.ndarray:
    """Central differences (nnlib.gradcheck, float64) of ``f(*xs) -> float``."""
    return numerical_gradient(lambda x: f(*x.tolist()), np.array(xs, dtype=np.float64))


def assert_grads_match(build, xs: list[float], upstream: float) -> None:
    """Compare autograd's gradients of ``upstream * build(*values)`` with central differences."""
    leaves = [Value(x) for x in xs]
    out = build(*leaves) * upstream
    out.backward()
    expected = numerical_grads(lambda *a: (build(*map(Value, a)) * upstream).data, xs)
    got = [leaf.grad for leaf in leaves]
    assert rel_error(got, expected) <= DEFAULT_TOL, (xs, got, expected)


# --- forward values and the lecture examples -----------------------------------------------
def test_lecture_graph_values_and_gradients():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    f = (x + y) * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    assert f.grad == 1.0


def test_sigmoid_neuron_matches_closed_form_and_numerical_gradient():
    rng = np.random.default_rng(0)
    x0, x1, w0, w1, w2 = rng.normal(size=5)

    def neuron(x0, x1, w0, w1, w2):
        return 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())

    leaves = [Value(v) for v in (x0, x1, w0, w1, w2)]
    f = neuron(*leaves)
    f.backward()
    s = 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
    assert f.data == pytest.approx(s, rel=1e-12)
    closed_form = [s * (1 - s) * w0, s * (1 - s) * w1, s * (1 - s) * x0, s * (1 - s) * x1]
    closed_form.append(s * (1 - s))
    numerical = numerical_grads(lambda *a: neuron(*map(Value, a)).data, [x0, x1, w0, w1, w2])
    got = [leaf.grad for leaf in leaves]
    np.testing.assert_allclose(got, closed_form, rtol=1e-12)
    assert rel_error(got, numerical) <= DEFAULT_TOL

    # the built-in sigmoid node gives the same value and gradients
    leaves2 = [Value(v) for v in (x0, x1, w0, w1, w2)]
    g = (leaves2[2] * leaves2[0] + leaves2[3] * leaves2[1] + leaves2[4]).sigmoid()
    g.backward()
    assert g.data == pytest.approx(s, rel=1e-12)
    for a, b in zip(leaves, leaves2, strict=True):
        assert b.grad == pytest.approx(a.grad, rel=1e-12)


# --- every operation against central differences -------------------------------------------
def _signed(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats with lo <= |x| <= hi and either sign: away from 0 (kinks and poles)."""
    return st.builds(lambda m, neg: -m if neg else m, st.floats(lo, hi), st.booleans())


ANY = st.floats(-3, 3)
POSITIVE = st.floats(0.2, 4)
NONZERO = _signed(0.2, 3)
UPSTREAM = _signed(0.5, 2)  # a random upstream gradient, never exactly 1

BINARY = {
    "add": (lambda a, b: a + b, ANY, ANY),
    "sub": (lambda a, b: a - b, ANY, ANY),
    "mul": (lambda a, b: a * b, ANY, ANY),
    "div": (lambda a, b: a / b, ANY, NONZERO),
    "chain": (lambda a, b: (a * b + a).tanh() * b.exp() - (a * a).sigmoid() / b, ANY, NONZERO),
}

UNARY = {
    "neg": (lambda a: -a, ANY),
    "exp": (lambda a: a.exp(), ANY),
    "log": (lambda a: a.log(), POSITIVE),
    "tanh": (lambda a: a.tanh(), ANY),
    "sigmoid": (lambda a: a.sigmoid(), st.floats(-5, 5)),  # unsaturated: f' >= 0.006
    "relu": (lambda a: a.relu(), NONZERO),
    "pow2": (lambda a: a**2, NONZERO),
    "pow3": (lambda a: a**3, NONZERO),
    "pow_neg1": (lambda a: a**-1, NONZERO),
    "pow_half": (lambda a: a**0.5, POSITIVE),
    "pow_neg2.5": (lambda a: a**-2.5, POSITIVE),
    "radd": (lambda a: 3 + a, ANY),
    "rsub": (lambda a: 1 - a, ANY),
    "rmul": (lambda a: 2 * a, ANY),
    "rdiv": (lambda a: 1 / a, NONZERO),
    "sub_const": (lambda a: a - 1.5, ANY),
    "div_const": (lambda a: a / 4, ANY),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_binary_op_gradients_match_central_differences(name, data):
    op, sa, sb = BINARY[name]
    a, b, g = data.draw(sa), data.draw(sb), data.draw(UPSTREAM)
    assert_grads_match(op, [a, b], g)


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_unary_op_gradients_match_central_differences(name, data):
    op, sa = UNARY[name]
    assert_grads_match(op, [data.draw(sa)], data.draw(UPSTREAM))


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda a, b: a + b, 5.0),
        (lambda a, b: a - b, -1.0),
        (lambda a, b: a * b, 6.0),
        (lambda a, b: a / b, 2 / 3),
        (lambda a, b: a**2, 4.0),
        (lambda a, b: 1 - a, -1.0),
        (lambda a, b: 1 / b, 1 / 3),
        (lambda a, b: 2 * a + b, 7.0),
        (lambda a, b: -a, -2.0),
        (lambda a, b: a.exp(), math.exp(2)),
        (lambda a, b: b.log(), math.log(3)),
        (lambda a, b: a.tanh(), math.tanh(2)),
        (lambda a, b: a.relu() + (-b).relu(), 2.0),
    ],
)
def test_forward_values(build, expected):
    assert build(Value(2.0), Value(3.0)).data == pytest.approx(expected, rel=1e-15)


def test_relu_gradient_is_indicator():
    for x, want in [(2.5, 1.0), (-2.5, 0.0)]:
        v = Value(x)
        v.relu().backward()
        assert v.grad == want


def test_sigmoid_and_exp_are_stable_at_extremes():
    lo, hi = Value(-1000.0), Value(1000.0)
    s_lo, s_hi = lo.sigmoid(), hi.sigmoid()
    assert s_lo.data == 0.0 and s_hi.data == 1.0
    s_lo.backward()
    assert lo.grad == 0.0
    assert Value(1000.0).exp().data == math.inf


# --- shared nodes and deep graphs ----------------------------------------------------------
def test_value_used_twice_accumulates():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0

    a2 = Value(3.0)
    (a2 * a2).backward()
    assert a2.grad == 6.0  # d(a^2)/da = 2a

    a3 = Value(-1.5)
    (a3 * a3 * a3).backward()
    assert a3.grad == pytest.approx(3 * 1.5**2, rel=1e-15)


def test_diamond_graph_gradient():
    x = Value(0.7)
    y = x.tanh()
    out = y * x + y.exp()  # x reaches out along three paths
    out.backward()
    expected = numerical_grads(lambda v: (Value(v).tanh() * v + Value(v).tanh().exp()).data, [0.7])
    assert rel_error([x.grad], expected) <= DEFAULT_TOL


def test_chain_of_20000_nodes_backward_without_recursion_error():
    x = Value(0.25)
    v = x
    for _ in range(20_000):
        v = v * 1.0001 + 0.0
    assert sys.getrecursionlimit() < 20_000  # the test would be meaningless otherwise
    v.backward()
    assert x.grad == pytest.approx(1.0001**20_000, rel=1e-9)
    assert len(topological_order(v)) == 1 + 4 * 20_000


def test_topological_order_lists_each_node_once_after_its_parents():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert len(order) == len({id(n) for n in order}) == 5
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node._prev)
    assert order[-1] is e
    assert order[:2] == [a, b]  # the first operand comes first


def test_prev_and_op_describe_the_graph():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    assert c._prev == (a, b) and c._op == "*"
    assert (a + a)._prev == (a, a)
    assert (a**3)._op == "**3"
    assert a._prev == () and a._op == ""


# --- backward twice, zero_grad --------------------------------------------------------------
def test_backward_twice_gives_the_same_gradients():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    first = (x.grad, y.grad, z.grad, f.grad)
    f.backward()
    assert (x.grad, y.grad, z.grad, f.grad) == first == (-4.0, -4.0, 3.0, 1.0)


def test_backward_resets_only_its_own_graph():
    a, b, c = Value(2.0), Value(3.0), Value(4.0)
    (a * b).backward()
    (a * c).backward()  # shares a with the first graph, not b
    assert a.grad == 4.0  # d(a*c)/da only, not 3 + 4
    assert b.grad == 2.0  # untouched: b is not in the second graph


def test_zero_grad_clears_the_whole_graph():
    x, y = Value(1.5), Value(-0.5)
    f = (x * y).tanh() + x
    f.backward()
    assert x.grad != 0 and y.grad != 0
    f.zero_grad()
    assert all(n.grad == 0.0 for n in topological_order(f))


# --- input validation ----------------------------------------------------------------------
@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_of_non_positive_raises(x):
    with pytest.raises(ValueError, match=r"log needs a positive number, got data="):
        Value(x).log()


@pytest.mark.parametrize("bad", ["1.0", [1.0, 2.0], None, True, np.array([1.0]), 1 + 2j])
def test_non_numeric_data_raises_type_error(bad):
    with pytest.raises(TypeError, match=r"Value data must be a real number .*got"):
        Value(bad)


def test_nan_data_raises_value_error():
    with pytest.raises(ValueError, match=r"must not be NaN"):
        Value(float("nan"))


def test_operations_with_non_numbers_raise_type_error():
    with pytest.raises(TypeError, match=r"real number .*got str"):
        Value(1.0) + "2"
    with pytest.raises(TypeError, match=r"constant int or float exponent"):
        Value(2.0) ** Value(2.0)


def test_power_domain_errors():
    with pytest.raises(ValueError, match=r"negative number -8.0 to the non-integer power 0.5"):
        Value(-8.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match=r"cannot raise 0 to the negative power -1"):
        Value(1.0) / 0
    assert (Value(-2.0) ** 3).data == -8.0  # integer powers of negatives are fine


def test_numpy_scalars_are_accepted_as_python_floats():
    v = Value(np.float32(1.5)) * np.int64(2)
    assert v.data == 3.0 and type(v.data) is float


def test_repr():
    v = Value(2.0)
    assert repr(v) == "Value(data=2, grad=0)"
    w = Value(0.125, label="w")
    (w * 3).backward()
    assert repr(w) == "Value(label='w', data=0.125, grad=3)"


def test_import_does_not_load_matplotlib():
    code = "import sys, nnlib.autograd; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- draw_graph ----------------------------------------------------------------------------
def _gid(artists, gid):
    return [a for a in artists if a.get_gid() == gid]


def _lecture_graph():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    f = (x + y) * z
    f.label = "f"
    f.backward()
    return f


def test_draw_graph_draws_one_box_per_value_one_circle_per_op_and_every_edge():
    ax = draw_graph(_lecture_graph())
    assert isinstance(ax, matplotlib.axes.Axes)
    # 5 values (x, y, z, x+y, f), 2 operations, 2 + 1 arrows into and out of each operation
    assert len(_gid(ax.patches, "value")) == len(_gid(ax.texts, "value")) == 5
    assert len(_gid(ax.patches, "op")) == 2
    assert sorted(t.get_text() for t in _gid(ax.texts, "op")) == ["*", "+"]
    assert len(_gid(ax.patches, "edge")) == 6


def test_draw_graph_shows_labels_data_and_grads():
    texts = [t.get_text() for t in _gid(draw_graph(_lecture_graph()).texts, "value")]
    assert "x\ndata -2\ngrad -4" in texts
    assert "y\ndata 5\ngrad -4" in texts
    assert "z\ndata -4\ngrad 3" in texts
    assert "data 3\ngrad -4" in texts  # the unlabelled x + y
    assert "f\ndata -12\ngrad 1" in texts


def test_draw_graph_without_grad():
    texts = [
        t.get_text() for t in _gid(draw_graph(_lecture_graph(), show_grad=False).texts, "value")
    ]
    assert len(texts) == 5
    assert not any("grad" in t for t in texts)
    assert "x\ndata -2" in texts


def _box_extents(ax):
    return [p.get_bbox() for p in _gid(ax.patches, "value")]


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_draw_graph_of_30_nodes_has_no_overlapping_boxes_and_edges_flow_forward(rankdir):
    a = Value(0.5, "a")
    s = Value(0.0, "s0")
    for i in range(6):
        s = s + Value(0.1 * i, f"w{i}") * a
    out = (s.sigmoid() - 1) ** 2 / 2
    out.backward()
    n_nodes = len(topological_order(out))
    assert 25 <= n_nodes <= 35
    ax = draw_graph(out, rankdir=rankdir)
    boxes = _box_extents(ax)
    assert len(boxes) == n_nodes
    for i, b1 in enumerate(boxes):
        for b2 in boxes[i + 1 :]:
            assert not b1.overlaps(b2), (b1, b2)
    # every box lies inside the visible area
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert all(x0 <= b.x0 and b.x1 <= x1 and y0 <= b.y0 and b.y1 <= y1 for b in boxes)
    # arrows run from inputs to outputs: rightwards (LR) or downwards (TB)
    for edge in _gid(ax.patches, "edge"):
        (xa, ya), (xb, yb) = edge._posA_posB
        assert xb > xa if rankdir == "LR" else yb < ya


def test_draw_graph_value_used_twice_gets_two_arrows():
    a = Value(3.0, "a")
    b = a + a
    ax = draw_graph(b)
    assert len(_gid(ax.patches, "value")) == 2
    assert len(_gid(ax.patches, "edge")) == 3


def test_draw_graph_on_given_axes_and_a_single_leaf():
    _, ax = plt.subplots(figsize=(3, 2))
    assert draw_graph(Value(1.0, "x"), ax=ax) is ax
    assert [t.get_text() for t in _gid(ax.texts, "value")] == ["x\ndata 1\ngrad 0"]
    assert not _gid(ax.patches, "edge")


def test_draw_graph_errors():
    with pytest.raises(ValueError, match=r"unknown rankdir 'BT'; expected one of: 'LR', 'TB'"):
        draw_graph(Value(1.0), rankdir="BT")
    with pytest.raises(TypeError, match=r"draw_graph needs a Value, got float"):
        draw_graph(1.0)
