"""Tests for nnlib.modules: every layer's forward and backward, containers, errors, repr."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlib.functional as F
from nnlib.gradcheck import KinkWarning, check_module
from nnlib.modules import (
    ACTIVATIONS,
    ELU,
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Maxout,
    Module,
    Parameter,
    PReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Softsign,
    Step,
    Tanh,
    get_activation,
)
from tests.strategies import FAST, arrays, feature_sizes, matrix_shapes, seeds, shapes

TOL = 1e-7

# name -> (factory, kink locations to keep the inputs away from)
ELEMENTWISE = {
    "Identity": (Identity, ()),
    "Sigmoid": (Sigmoid, ()),
    "Tanh": (Tanh, ()),
    "ReLU": (ReLU, (0.0,)),
    "LeakyReLU": (lambda: LeakyReLU(alpha=0.1), (0.0,)),
    "ELU": (lambda: ELU(alpha=0.5), (0.0,)),
    "Softplus": (Softplus, ()),
    "Softsign": (Softsign, (0.0,)),  # f'' jumps at 0: centred differences lose accuracy there
    "Step": (Step, (0.0,)),
}

# The same elementwise functions written out by hand (value only).
REFERENCE = {
    "Identity": lambda x: x,
    "Sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "Tanh": np.tanh,
    "ReLU": lambda x: np.where(x > 0, x, 0.0),
    "LeakyReLU": lambda x: np.where(x > 0, x, 0.1 * x),
    "ELU": lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)),
    "Softplus": lambda x: np.log(1 + np.exp(x)),
    "Softsign": lambda x: x / (1 + np.abs(x)),
    "Step": lambda x: np.where(x > 0, 1.0, 0.0),
}


def assert_gradients_ok(module, x, **kwargs):
    report = check_module(module, x, **kwargs)
    assert report.passed, str(report)
    return report


def forward_backward_leaves_inputs_alone(module, x, seed=0):
    x_before = x.copy()
    out = module.forward(x)
    grad_out = np.random.default_rng(seed).standard_normal(np.shape(out))
    g_before = grad_out.copy()
    module.backward(grad_out)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(grad_out, g_before)


# --- elementwise activations ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@FAST
@given(data=st.data(), shape=shapes(max_dims=3))
def test_elementwise_backward_matches_numerical(name, data, shape):
    factory, kinks = ELEMENTWISE[name]
    x = data.draw(arrays(shape, away_from=kinks))
    report = assert_gradients_ok(factory(), x, seed=data.draw(seeds))
    assert report.errors.keys() == {"input"}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@FAST
@given(x=arrays(matrix_shapes(), low=-20, high=20))
def test_elementwise_forward_matches_reference(name, x):
    out = ELEMENTWISE[name][0]()(x)
    np.testing.assert_allclose(out, REFERENCE[name](x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_leaves_inputs_alone_and_accepts_float32(name):
    x = np.array([[-1.5, 0.5, 2.0], [0.25, -0.75, 1.0]])
    forward_backward_leaves_inputs_alone(ELEMENTWISE[name][0](), x)
    x32 = x.astype(np.float32)
    out = ELEMENTWISE[name][0]()(x32)
    np.testing.assert_allclose(out, REFERENCE[name](x), rtol=1e-6, atol=1e-7)


def test_relu_at_exactly_zero_has_zero_gradient():
    relu = ReLU()
    relu(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(relu.backward(np.array([[3.0, 3.0]])), [[0.0, 3.0]])


def test_step_has_no_useful_gradient():
    step = Step()
    np.testing.assert_array_equal(step(np.array([[-1.0, 0.0, 2.0]])), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(step.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("cls", [LeakyReLU, ELU])
def test_alpha_is_validated(cls):
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        cls(alpha=-0.1)
    with pytest.raises(TypeError, match="alpha must be a number"):
        cls(alpha="small")


# --- softmax ----------------------------------------------------------------------------------
@FAST
@given(data=st.data(), shape=matrix_shapes(max_cols=6))
def test_softmax_backward_matches_numerical(data, shape):
    x = data.draw(arrays(shape, low=-5, high=5))
    assert_gradients_ok(Softmax(), x, seed=data.draw(seeds))


def test_softmax_backward_is_the_full_jacobian_product():
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    sm = Softmax()
    y = sm(x)
    dx = sm.backward(g)
    for row in range(4):
        jacobian = np.diag(y[row]) - np.outer(y[row], y[row])  # dy_i/dx_j
        np.testing.assert_allclose(dx[row], jacobian.T @ g[row], rtol=1e-12, atol=1e-15)


def test_softmax_forward_rows_sum_to_one_and_are_stable():
    out = Softmax()(np.array([[1000.0, 0.0], [5.0, 5.0]]))
    np.testing.assert_array_equal(out, [[1.0, 0.0], [0.5, 0.5]])


# --- Linear -----------------------------------------------------------------------------------
@FAST
@given(
    data=st.data(),
    n=st.integers(1, 6),
    d=feature_sizes,
    h=feature_sizes,
    bias=st.booleans(),
    seed=seeds,
)
def test_linear_backward_matches_numerical(data, n, d, h, bias, seed):
    layer = Linear(d, h, bias=bias, seed=seed)
    if bias:  # a zero bias would hide a missing bias term in the forward pass
        layer.bias.value[:] = np.random.default_rng(seed).standard_normal(h)
    X = data.draw(arrays((n, d)))
    report = assert_gradients_ok(layer, X, seed=seed)
    expected = {"input", "weight", "bias"} if bias else {"input", "weight"}
    assert report.errors.keys() == expected


def test_linear_forward_is_x_w_plus_b():
    layer = Linear(3, 2)
    layer.weight.value[:] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    layer.bias.value[:] = [0.5, -0.5]
    X = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(layer(X), [[1.5, 1.5], [9.5, 11.5]])
    dX = layer.backward(np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(dX, [[1.0, 3.0, 5.0], [4.0, 8.0, 12.0]])
    np.testing.assert_array_equal(layer.weight.grad, [[1.0, 2.0], [0.0, 2.0], [0.0, 2.0]])
    np.testing.assert_array_equal(layer.bias.grad, [1.0, 2.0])


def test_linear_shapes_and_seed():
    layer = Linear(3, 4, seed=7)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (4,)
    np.testing.assert_array_equal(Linear(3, 4, seed=7).weight.value, layer.weight.value)
    assert not np.array_equal(Linear(3, 4, seed=8).weight.value, layer.weight.value)
    assert Linear(3, 4, bias=False).bias is None
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]


def test_linear_accepts_float32_and_lists():
    layer = Linear(2, 3, seed=0)
    X = np.array([[0.5, -1.0], [2.0, 0.25]])
    expected = X @ layer.weight.value + layer.bias.value
    np.testing.assert_allclose(layer(X.astype(np.float32)), expected, rtol=1e-6)
    np.testing.assert_allclose(layer(X.tolist()), expected, rtol=1e-15)
    dX = layer.backward(np.ones((2, 3), dtype=np.float32))
    assert dX.shape == (2, 2)


def test_linear_leaves_inputs_alone():
    forward_backward_leaves_inputs_alone(Linear(3, 2, seed=1), np.arange(6.0).reshape(2, 3))


def test_linear_skips_input_gradient_on_request():
    layer = Linear(3, 2, seed=1)
    layer(np.ones((4, 3)))
    assert layer.backward(np.ones((4, 2)), need_input_grad=False) is None
    np.testing.assert_array_equal(layer.weight.grad, np.full((3, 2), 4.0))


def test_linear_wrong_x_shape_message():
    layer = Linear(3, 4)
    with pytest.raises(
        ValueError,
        match=r"^Linear\(in_features=3, out_features=4, .*\) expects X of shape \(N, 3\), "
        r"got \(4, 2\)$",
    ):
        layer(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"got \(3,\); a single sample must be a row"):
        layer(np.zeros(3))
    with pytest.raises(ValueError, match="is X transposed"):
        layer(np.zeros((3, 5)))


def test_linear_wrong_grad_out_shape():
    layer = Linear(3, 4)
    layer(np.zeros((5, 3)))
    with pytest.raises(
        ValueError,
        match=r"Linear.backward: grad_out must have the shape of the last forward output "
        r"\(5, 4\), got shape \(4, 5\)",
    ):
        layer.backward(np.zeros((4, 5)))


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((0, 3), ValueError, "in_features must be a positive integer, got 0"),
        ((3, -1), ValueError, "out_features must be a positive integer, got -1"),
        ((2.5, 3), TypeError, "in_features must be a positive integer, got float 2.5"),
        ((True, 3), TypeError, "in_features must be a positive integer"),
    ],
)
def test_linear_constructor_errors(args, error, message):
    with pytest.raises(error, match=message):
        Linear(*args)


def test_linear_repr():
    assert repr(Linear(3, 4)) == (
        "Linear(in_features=3, out_features=4, bias=True, init='xavier_uniform')"
    )
    assert repr(Linear(2, 1, init="he_normal", bias=False)) == (
        "Linear(in_features=2, out_features=1, bias=False, init='he_normal')"
    )


# --- errors shared by every module ------------------------------------------------------------
ALL_MODULES = {
    **{name: factory for name, (factory, _) in ELEMENTWISE.items()},
    "Softmax": Softmax,
    "Dropout": lambda: Dropout(0.5, seed=0),
    "Linear": lambda: Linear(3, 3),
    "Sequential": lambda: Sequential(Linear(3, 3), Tanh()),
    "MLP": lambda: MLP([3, 4, 3]),
    "PReLU": PReLU,
    "PReLU per column": lambda: PReLU(3),
    "Maxout": lambda: Maxout(3, 3, pieces=2, seed=0),
}


@pytest.mark.parametrize("name", sorted(ALL_MODULES))
def test_forward_and_backward_leave_their_arguments_alone(name):
    x = np.random.default_rng(0).uniform(0.1, 2.0, size=(2, 3)) * [[1, -1, 1], [-1, 1, -1]]
    forward_backward_leaves_inputs_alone(ALL_MODULES[name](), x)


@pytest.mark.parametrize("name", sorted(ALL_MODULES))
def test_backward_before_forward_is_a_runtime_error(name):
    module = ALL_MODULES[name]()
    with pytest.raises(RuntimeError, match=r"backward\(\) was called before forward\(\)"):
        module.backward(np.ones((2, 3)))


@pytest.mark.parametrize("name", sorted(ALL_MODULES))
def test_wrong_grad_out_shape_is_a_value_error(name):
    module = ALL_MODULES[name]()
    module(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"grad_out must have the shape of the last forward"):
        module.backward(np.ones((3, 2)))


@pytest.mark.parametrize("name", sorted(ALL_MODULES))
def test_non_numeric_input_is_a_type_error(name):
    module = ALL_MODULES[name]()
    with pytest.raises(TypeError, match=r"must be a numeric .* array, got .* dtype <U1"):
        module(np.array([["a", "b", "c"]]))
    module(np.ones((2, 3)))
    with pytest.raises(TypeError, match="grad_out must be a numeric"):
        module.backward(np.array([["a", "b", "c"]] * 2))


# --- gradient accumulation and parameters -----------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    net = MLP([3, 5, 2], activation="tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((4, 3))
    G = np.random.default_rng(1).standard_normal((4, 2))
    net(X)
    net.backward(G)
    once = [p.grad.copy() for p in net.parameters()]
    assert all(np.abs(g).sum() > 0 for g in once)
    net.backward(G)
    for p, g in zip(net.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-15)
    net.zero_grad()
    assert all(not p.grad.any() for p in net.parameters())


def test_parameter_basics():
    p = Parameter([[1, 2], [3, 4]], name="weight")
    assert p.value.dtype == np.float64 and p.shape == (2, 2)
    np.testing.assert_array_equal(p.grad, np.zeros((2, 2)))
    assert repr(p) == "Parameter(weight, shape=(2, 2))"
    with pytest.raises(ValueError, match="weight contains 1 non-finite"):
        Parameter([1.0, np.nan], name="weight")


def test_named_parameters_and_order():
    net = MLP([2, 3, 4, 1], seed=0)
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
    shared = Linear(2, 2)
    assert len(Sequential(shared, Tanh(), shared).parameters()) == 2  # no duplicates


def test_custom_module_parameters_are_found():
    class Block(Module):
        def __init__(self):
            super().__init__()
            self.scale = Parameter(np.ones(3), "gamma")  # the attribute name wins
            self.inner = Linear(3, 3)
            self.heads = [Linear(3, 1), Linear(3, 1)]

    names = [name for name, _ in Block().named_parameters()]
    assert names == [
        "scale",
        "inner.weight",
        "inner.bias",
        "heads.0.weight",
        "heads.0.bias",
        "heads.1.weight",
        "heads.1.bias",
    ]


def test_base_module_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="must implement forward"):
        Module()(np.ones(2))
    with pytest.raises(NotImplementedError, match="must implement backward"):
        Module().backward(np.ones(2))


# --- Dropout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_mean_and_drops_a_fraction_p(p):
    x = np.full((400, 250), 2.0)
    out = Dropout(p, seed=1)(x)
    assert np.mean(out == 0) == pytest.approx(p, abs=0.01)
    kept = out[out != 0]
    np.testing.assert_allclose(kept, 2.0 / (1 - p))  # inverted scaling
    assert out.mean() == pytest.approx(2.0, rel=0.03)


def test_dropout_backward_uses_the_same_mask():
    drop = Dropout(0.5, seed=3)
    x = np.random.default_rng(0).uniform(1, 2, size=(6, 5))
    out = drop(x)
    g = np.random.default_rng(1).standard_normal((6, 5))
    np.testing.assert_allclose(drop.backward(g), g * out / x, rtol=1e-15)


@FAST
@given(data=st.data(), shape=matrix_shapes(), p=st.sampled_from([0.0, 0.2, 0.5, 0.9]))
def test_dropout_backward_matches_numerical_in_training_mode(data, shape, p):
    x = data.draw(arrays(shape))
    assert_gradients_ok(Dropout(p, seed=data.draw(seeds)), x)


def test_dropout_eval_mode_and_p_zero_are_the_identity():
    x = np.random.default_rng(0).standard_normal((5, 4))
    drop = Dropout(0.5, seed=0).eval()
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(x), x)
    np.testing.assert_array_equal(Dropout(0.0)(x), x)
    assert not np.array_equal(drop.train()(x), x)


def test_dropout_is_reproducible_with_a_seed():
    x = np.ones((10, 10))
    a, b = Dropout(0.5, seed=42), Dropout(0.5, seed=42)
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, a(x))  # a new mask on every forward


@pytest.mark.parametrize("p", [1.0, 1.5, -0.1])
def test_dropout_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match=r"p must .*\[0, 1\)|p must be a finite number >= 0"):
        Dropout(p)


def test_dropout_rejects_non_numeric_p():
    with pytest.raises(TypeError, match="p must be a number"):
        Dropout("half")


def test_dropout_leaves_inputs_alone_and_keeps_float32():
    forward_backward_leaves_inputs_alone(Dropout(0.5, seed=0), np.ones((4, 3)))
    out = Dropout(0.5, seed=0)(np.ones((4, 3), dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(np.unique(out), [0.0, 2.0])


# --- Sequential -------------------------------------------------------------------------------
def test_sequential_chains_forward_and_reverses_backward():
    lin1, act, lin2 = Linear(3, 4, seed=0), Tanh(), Linear(4, 2, seed=1)
    net = Sequential(lin1, act, lin2)
    X = np.random.default_rng(0).standard_normal((5, 3))
    G = np.random.default_rng(1).standard_normal((5, 2))
    out = net(X)
    # The same computation by hand on fresh copies of the layers.
    ref1, ref_act, ref2 = Linear(3, 4, seed=0), Tanh(), Linear(4, 2, seed=1)
    np.testing.assert_array_equal(out, ref2(ref_act(ref1(X))))
    dX = net.backward(G)
    np.testing.assert_array_equal(dX, ref1.backward(ref_act.backward(ref2.backward(G))))
    np.testing.assert_array_equal(lin1.weight.grad, ref1.weight.grad)


def test_sequential_container_protocol():
    layers = [Linear(2, 3), ReLU(), Linear(3, 1)]
    net = Sequential(*layers)
    assert len(net) == 3
    assert net[0] is layers[0] and net[-1] is layers[2]
    assert list(net) == layers
    head = net[:2]
    assert isinstance(head, Sequential) and list(head) == layers[:2]
    assert list(Sequential(layers)) == layers  # a single list is unpacked


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match=r"argument 1 must be a Module instance.*did you mean "):
        Sequential(Linear(2, 2), ReLU)
    with pytest.raises(TypeError, match="argument 0 must be a Module instance, got function"):
        Sequential(lambda x: x)


def test_sequential_need_input_grad_false_gives_same_parameter_grads():
    a, b = MLP([3, 4, 2], seed=5), MLP([3, 4, 2], seed=5)
    X = np.random.default_rng(0).standard_normal((6, 3))
    G = np.random.default_rng(1).standard_normal((6, 2))
    a(X)
    b(X)
    assert a.backward(G, need_input_grad=False) is None
    assert b.backward(G).shape == (6, 3)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.grad, pb.grad)


def test_empty_sequential_is_the_identity():
    x = np.ones((2, 2))
    net = Sequential()
    np.testing.assert_array_equal(net(x), x)
    np.testing.assert_array_equal(net.backward(x), x)


def test_train_and_eval_reach_nested_modules():
    drop = Dropout(0.5)
    net = Sequential(Linear(2, 2), Sequential(Tanh(), drop))
    assert net.eval() is net
    assert not drop.training and not net.training
    net.train()
    assert drop.training


# --- MLP --------------------------------------------------------------------------------------
SMOOTH = ["sigmoid", "tanh", "softplus", "softsign", "elu", "identity"]


@pytest.mark.parametrize("activation", SMOOTH)
@FAST
@given(data=st.data(), d=feature_sizes, h=feature_sizes, c=feature_sizes, seed=seeds)
def test_mlp_backward_matches_numerical(activation, data, d, h, c, seed):
    net = MLP([d, h, c], activation=activation, seed=seed)
    rng = np.random.default_rng(seed)
    for p in net.parameters():  # nonzero biases, so a forgotten bias term shows
        p.value += rng.uniform(-0.5, 0.5, size=p.shape)
    X = data.draw(arrays((data.draw(st.integers(1, 5)), d)))
    report = assert_gradients_ok(net, X, seed=seed)
    assert report.errors.keys() == {"input", "0.weight", "0.bias", "2.weight", "2.bias"}


@FAST
@given(data=st.data(), seed=seeds)
def test_deep_mlp_with_relu_softmax_and_dropout(data, seed):
    net = Sequential(
        MLP([3, 6, 5], activation="leaky_relu", seed=seed),
        Dropout(0.3, seed=seed),
        MLP([5, 4], output_activation="softmax", seed=seed + 1),
    )
    rng = np.random.default_rng(seed)
    for p in net.parameters():  # generic biases keep pre-activations off the kink at 0
        p.value += rng.uniform(-0.5, 0.5, size=p.shape)
    X = data.draw(arrays((4, 3), away_from=(0.0,)))
    with warnings.catch_warnings():
        # A pre-activation within 1e-6 of a kink is possible in principle; the check then
        # leaves that element out instead of failing, which is what we want here too.
        warnings.simplefilter("ignore", KinkWarning)
        assert_gradients_ok(net, X, seed=seed)


def test_mlp_structure():
    net = MLP([2, 8, 8, 3], activation="Tanh", output_activation="softmax", seed=0)
    kinds = [type(m) for m in net]
    assert kinds == [Linear, Tanh, Linear, Tanh, Linear, Softmax]
    assert [m.weight.shape for m in net if isinstance(m, Linear)] == [(2, 8), (8, 8), (8, 3)]
    out = net(np.ones((4, 2)))
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert len(MLP([4, 1])) == 1


def test_mlp_seed_fixes_all_weights():
    a, b, c = MLP([3, 4, 2], seed=1), MLP([3, 4, 2], seed=1), MLP([3, 4, 2], seed=2)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value)
    assert not np.array_equal(a[0].weight.value, c[0].weight.value)
    assert not np.array_equal(a[0].weight.value[:, :2], a[2].weight.value[:2].T)


def test_mlp_init_is_passed_to_every_layer():
    net = MLP([300, 200, 100], init="he_normal", seed=0)
    assert net[0].weight.value.var() == pytest.approx(2 / 300, rel=0.05)
    assert net[2].weight.value.var() == pytest.approx(2 / 200, rel=0.05)


def test_mlp_repr_reads_well():
    assert repr(MLP([2, 16, 1])) == (
        "MLP(\n"
        "  sizes=[2, 16, 1], activation='relu'\n"
        "  (0): Linear(in_features=2, out_features=16, bias=True, init='xavier_uniform')\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=16, out_features=1, bias=True, init='xavier_uniform')\n"
        ")"
    )
    text = repr(MLP([2, 3, 2], activation="leaky_relu", output_activation="sigmoid"))
    assert "output_activation='sigmoid'" in text and "(1): LeakyReLU(alpha=0.01)" in text


def test_nested_repr_indents():
    text = repr(Sequential(Linear(2, 2), Sequential(Tanh(), Dropout(0.25))))
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=2, bias=True, init='xavier_uniform')\n"
        "  (1): Sequential(\n"
        "    (0): Tanh()\n"
        "    (1): Dropout(p=0.25)\n"
        "  )\n"
        ")"
    )


@pytest.mark.parametrize(
    ("sizes", "error", "message"),
    [
        ([3], ValueError, "sizes must list at least two layer widths"),
        (5, ValueError, "sizes must list at least two layer widths"),
        ([2, 0, 1], ValueError, r"sizes\[1\] must be a positive integer, got 0"),
        ([2, 1.5], TypeError, r"sizes\[1\] must be a positive integer"),
    ],
)
def test_mlp_bad_sizes(sizes, error, message):
    with pytest.raises(error, match=message):
        MLP(sizes)


@pytest.mark.parametrize("kwargs", [{"activation": "swish"}, {"output_activation": "swish"}])
def test_mlp_unknown_activation(kwargs):
    with pytest.raises(ValueError, match="unknown activation 'swish'; expected one of: 'elu'"):
        MLP([2, 3, 1], **kwargs)


def test_mlp_unknown_activation_even_without_hidden_layers():
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        MLP([2, 1], activation="relux")


def test_mlp_unknown_init():
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        MLP([2, 3, 1], init="glorot")


# --- get_activation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("relu", ReLU),
        ("ReLU", ReLU),
        ("leaky_relu", LeakyReLU),
        ("LeakyReLU", LeakyReLU),
        ("ELU", ELU),
        ("identity", Identity),
        ("step", Step),
        ("softmax", Softmax),
        ("Softplus", Softplus),
        ("softsign", Softsign),
        ("SIGMOID", Sigmoid),
        ("tanh", Tanh),
    ],
)
def test_get_activation_by_name(name, cls):
    module = get_activation(name)
    assert type(module) is cls
    assert get_activation(name) is not module  # a fresh instance every time


def test_activation_names_cover_the_modules():
    expected = {
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "softplus",
        "softsign",
        "step",
        "softmax",
    }
    assert set(ACTIVATIONS) == expected


def test_get_activation_accepts_factories():
    module = get_activation(lambda: LeakyReLU(0.2))
    assert isinstance(module, LeakyReLU) and module.alpha == 0.2
    assert isinstance(get_activation(ELU), ELU)
    net = MLP([2, 3, 1], activation=lambda: ELU(0.5))
    assert net[1].alpha == 0.5


def test_get_activation_errors():
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'; expected one of: .*'tanh'"):
        get_activation("gelu")
    with pytest.raises(TypeError, match="not a module instance"):
        get_activation(ReLU())
    with pytest.raises(TypeError, match="callable returning a Module"):
        get_activation(lambda: 3)
    with pytest.raises(TypeError, match="activation must be one of"):
        get_activation(3)


def test_activation_forward_uses_functional():
    x = np.linspace(-3, 3, 7)
    np.testing.assert_array_equal(Sigmoid()(x), F.sigmoid(x))
    np.testing.assert_array_equal(Softplus()(x), F.softplus(x))


# --- layers with learned activations: PReLU and Maxout ---------------------------------------
def _away_from_zero(shape, seed=0):
    """Inputs with |x| in [0.1, 2]: no PReLU kink within a finite-difference step."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("num_parameters", [1, 4])
def test_prelu_backward_matches_numerical_for_input_and_slopes(num_parameters):
    layer = PReLU(num_parameters, init=0.3)
    layer.alpha.value[:] = np.linspace(0.1, 0.7, num_parameters)  # distinct slopes per column
    report = assert_gradients_ok(layer, _away_from_zero((6, 4)))
    assert report.errors.keys() == {"input", "alpha"}


def test_prelu_forward_is_a_leaky_relu_with_its_slopes():
    x = _away_from_zero((5, 3), seed=1)
    np.testing.assert_allclose(PReLU(init=0.2)(x), F.leaky_relu(x, 0.2))
    per_column = PReLU(3)
    per_column.alpha.value[:] = [0.0, 0.5, 1.0]
    expected = np.column_stack([F.relu(x[:, 0]), F.leaky_relu(x[:, 1], 0.5), x[:, 2]])
    np.testing.assert_allclose(per_column(x), expected)


def test_prelu_slope_gradient_is_the_sum_over_negative_inputs():
    x = np.array([[-2.0, 1.0], [-0.5, -3.0]])
    g = np.array([[1.0, 10.0], [2.0, 0.5]])
    shared, per_column = PReLU(), PReLU(2)
    for layer in (shared, per_column):
        layer(x)
        layer.backward(g)
    np.testing.assert_allclose(shared.alpha.grad, [-2.0 - 1.0 - 1.5])
    np.testing.assert_allclose(per_column.alpha.grad, [-2.0 - 1.0, -1.5])


def test_prelu_learns_its_slope_with_the_optimizer():
    from nnlib.losses import MSELoss
    from nnlib.optim import SGD

    x = -np.linspace(0.5, 2.0, 8).reshape(-1, 1)  # negative inputs only
    layer, loss = PReLU(init=0.25), MSELoss()
    optimizer = SGD(layer.parameters(), lr=0.5)
    for _ in range(200):
        optimizer.zero_grad()
        loss(layer(x), 0.6 * x)  # the target is a leaky ReLU with slope 0.6
        layer.backward(loss.backward())
        optimizer.step()
    assert layer.alpha.value[0] == pytest.approx(0.6, abs=1e-6)


def test_prelu_errors_name_what_was_expected():
    with pytest.raises(ValueError, match=r"expects x of shape \(N, 3\), got shape \(2, 4\)"):
        PReLU(3)(np.ones((2, 4)))
    with pytest.raises(ValueError, match="init"):
        PReLU(init=-0.1)
    with pytest.raises(ValueError, match="num_parameters"):
        PReLU(0)


@pytest.mark.parametrize(("d", "h", "k"), [(3, 2, 2), (4, 3, 3), (2, 1, 1)])
def test_maxout_backward_matches_numerical(d, h, k):
    layer = Maxout(d, h, pieces=k, seed=d)
    layer.linear.bias.value[:] = np.random.default_rng(k).standard_normal(h * k)
    report = assert_gradients_ok(layer, np.random.default_rng(h).standard_normal((5, d)))
    assert report.errors.keys() == {"input", "linear.weight", "linear.bias"}


def test_maxout_forward_is_the_largest_of_its_pieces():
    layer = Maxout(3, 2, pieces=3, seed=0)
    layer.linear.bias.value[:] = np.arange(6.0) / 10
    X = np.random.default_rng(0).standard_normal((4, 3))
    Z = X @ layer.linear.weight.value + layer.linear.bias.value  # (4, 6)
    expected = np.column_stack([Z[:, 0:3].max(axis=1), Z[:, 3:6].max(axis=1)])
    np.testing.assert_allclose(layer(X), expected)


def test_maxout_with_a_zero_piece_is_a_relu_unit():
    layer = Maxout(2, 1, pieces=2, seed=0)
    w, b = np.array([1.5, -0.5]), 0.2
    layer.linear.weight.value[:] = np.column_stack([w, np.zeros(2)])
    layer.linear.bias.value[:] = [b, 0.0]
    X = np.random.default_rng(1).standard_normal((20, 2))
    np.testing.assert_allclose(layer(X)[:, 0], F.relu(X @ w + b))


def test_maxout_rejects_bad_sizes_and_inputs():
    with pytest.raises(ValueError, match="pieces"):
        Maxout(3, 2, pieces=0)
    with pytest.raises(ValueError, match=r"expects X of shape \(N, 3\), got \(2, 4\)"):
        Maxout(3, 2)(np.ones((2, 4)))
