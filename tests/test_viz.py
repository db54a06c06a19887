"""Tests for nnlib.viz: every plot returns its Axes with the expected artists and data."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_hex
from matplotlib.contour import ContourSet

from nnlib.modules import Dropout, LeakyReLU, Linear, Sequential, Sigmoid, Softmax
from nnlib.neurons import AND, NOT, ThresholdNeuron, xor_two_layer
from nnlib.regression import LinearRegression, LogisticRegression
from nnlib.train import History
from nnlib.viz import (
    PALETTE,
    plot_activation,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_digit_grid,
    plot_history,
    plot_linear_fit,
    plot_truth_table,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def blobs():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(37, 2))
    y = (X[:, 0] > 0).astype(int)
    return X, y


def _contours(ax, filled):
    return [c for c in ax.collections if isinstance(c, ContourSet) and c.filled == filled]


def _scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def _boundary_vertices(ax):
    (line,) = _contours(ax, filled=False)
    vertices = np.concatenate([p.vertices for p in line.get_paths() if len(p.vertices)])
    assert len(vertices) > 10
    return vertices


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# --- plot_decision_boundary ----------------------------------------------------------------
def test_decision_boundary_scatter_has_every_point_coloured_by_class(blobs):
    X, y = blobs
    ax = plot_decision_boundary(lambda G: (G[:, 0] > 0).astype(int), X, y)
    assert len(_contours(ax, filled=True)) == 1
    scatters = _scatters(ax)
    assert sum(len(s.get_offsets()) for s in scatters) == len(X)
    for k, s in enumerate(scatters):
        np.testing.assert_array_equal(np.asarray(s.get_offsets()), X[y == k])
        assert to_hex(s.get_facecolor()[0]) == PALETTE[k]
        assert s.get_label() == f"class {k}"
    # labels 0/1 cut at x1 = 0: the boundary lies within one grid step of it
    step = (np.ptp(X[:, 0]) + 1.0) / 199
    assert np.abs(_boundary_vertices(ax)[:, 0]).max() <= step


def test_decision_boundary_of_probabilities_shades_and_draws_the_half_line(blobs):
    X, y = blobs
    ax = plot_decision_boundary(lambda G: _sigmoid(2 * (G[:, :1] - 0.3)), X, y)
    (filled,) = _contours(ax, filled=True)
    assert filled.levels[0] == 0 and filled.levels[-1] == 1 and len(filled.levels) > 3
    np.testing.assert_allclose(_boundary_vertices(ax)[:, 0], 0.3, atol=1e-3)


def test_decision_boundary_proba_false_fills_two_class_regions(blobs):
    X, y = blobs
    ax = plot_decision_boundary(lambda G: _sigmoid(G[:, 0] - 0.3), X, y, proba=False)
    np.testing.assert_array_equal(_contours(ax, filled=True)[0].levels, [-0.5, 0.5, 1.5])
    np.testing.assert_allclose(_boundary_vertices(ax)[:, 0], 0.3, atol=0.05)


def _linear(w, b):
    layer = Linear(2, 1)
    layer.weight.value[:] = np.reshape(w, (2, 1))
    layer.bias.value[:] = b
    return layer


@pytest.mark.parametrize("wrap", ["logits", "sigmoid", "dropout"])
def test_decision_boundary_of_a_module(blobs, wrap):
    X, y = blobs
    w, b = np.array([1.0, -2.0]), 0.5
    model = {
        "logits": _linear(w, b),
        "sigmoid": Sequential(_linear(w, b), Sigmoid()),  # already probabilities
        "dropout": Sequential(_linear(w, b), Dropout(0.9, seed=0)),  # in training mode
    }[wrap]
    ax = plot_decision_boundary(model, X, y, resolution=101)
    v = _boundary_vertices(ax)
    np.testing.assert_allclose(v @ w + b, 0, atol=1e-2)  # the line w.x + b = 0
    assert model.training  # the mode is restored


def test_decision_boundary_of_a_two_logit_module(blobs):
    X, y = blobs
    layer = Linear(2, 2)
    layer.weight.value[:] = [[0.0, 1.0], [0.0, 0.0]]  # logit_1 - logit_0 = x1 - 0.2
    layer.bias.value[:] = [0.2, 0.0]
    ax = plot_decision_boundary(layer, X, y)
    np.testing.assert_allclose(_boundary_vertices(ax)[:, 0], 0.2, atol=1e-3)
    ax = plot_decision_boundary(Sequential(layer, Softmax()), X, y)
    np.testing.assert_allclose(_boundary_vertices(ax)[:, 0], 0.2, atol=1e-3)


def test_decision_boundary_of_predict_proba_and_predict_objects(blobs):
    X, y = blobs
    clf = LogisticRegression().fit(X, y)
    v = _boundary_vertices(plot_decision_boundary(clf, X, y))
    np.testing.assert_allclose(clf.decision_function(v), 0, atol=1e-2)

    class OnlyPredict:
        def predict(self, G):
            return (G[:, 1] > -0.4).astype(int)

    ax = plot_decision_boundary(OnlyPredict(), X, y)
    np.testing.assert_array_equal(_contours(ax, filled=True)[0].levels, [-0.5, 0.5, 1.5])
    assert np.abs(_boundary_vertices(ax)[:, 1] + 0.4).max() < 0.05


def test_decision_boundary_multiclass_and_one_hot_labels(blobs):
    X, _ = blobs
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # 3 classes
    onehot = np.eye(3)[y]
    scores = lambda G: np.column_stack([-G[:, 0] - 0.5, np.zeros(len(G)), G[:, 0] - 0.5])  # noqa: E731
    ax = plot_decision_boundary(scores, X, onehot)
    (filled,) = _contours(ax, filled=True)
    np.testing.assert_array_equal(filled.levels, [-0.5, 0.5, 1.5, 2.5])
    scatters = _scatters(ax)
    assert [s.get_label() for s in scatters] == ["class 0", "class 1", "class 2"]
    assert [to_hex(s.get_facecolor()[0]) for s in scatters] == list(PALETTE[:3])
    assert sum(len(s.get_offsets()) for s in scatters) == len(X)
    x_boundary = _boundary_vertices(ax)[:, 0]
    assert np.all(np.minimum(np.abs(x_boundary - 0.5), np.abs(x_boundary + 0.5)) < 0.05)


def test_decision_boundary_errors(blobs):
    X, y = blobs
    ok = lambda G: G[:, 0] > 0  # noqa: E731
    with pytest.raises(ValueError, match=r"X must have shape \(\?, 2\), got shape \(37, 3\)"):
        plot_decision_boundary(ok, np.ones((37, 3)), y)
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows"):
        plot_decision_boundary(ok, X, y[:-1])
    with pytest.raises(ValueError, match=r"values in \[-\d.*look like logits"):
        plot_decision_boundary(lambda G: G[:, 0] * 1.5, X, y)
    with pytest.raises(ValueError, match=r"for M=400 grid points, got shape \(3,\)"):
        plot_decision_boundary(lambda G: np.zeros(3), X, y, resolution=20)
    with pytest.raises(TypeError, match=r"model must be a callable, .*got int"):
        plot_decision_boundary(3, X, y)
    with pytest.raises(ValueError, match=r"resolution must be >= 2, got 1"):
        plot_decision_boundary(ok, X, y, resolution=1)


# --- plot_history --------------------------------------------------------------------------
def _history():
    h = History(("loss", "accuracy", "val_loss", "val_accuracy"))
    h.history["loss"] += [0.9, 0.5, 0.31]
    h.history["val_loss"] += [1.0, 0.7, 0.45]
    h.history["accuracy"] += [0.5, 0.75, 0.9]
    h.history["val_accuracy"] += [0.4, 0.7, 0.8]
    return h


def test_history_default_plots_loss_and_val_loss():
    ax = plot_history(_history())
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["loss", "val_loss"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [0.9, 0.5, 0.31])
    np.testing.assert_array_equal(lines[1].get_ydata(), [1.0, 0.7, 0.45])
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    assert lines[0].get_color() == lines[1].get_color()  # train and val: same colour
    assert (lines[0].get_linestyle(), lines[1].get_linestyle()) == ("-", "--")


def test_history_from_dict_string_and_list():
    h = _history().history
    ax = plot_history(h, metrics=("accuracy", "val_accuracy", "loss"))
    assert [ln.get_label() for ln in ax.get_lines()] == ["accuracy", "val_accuracy", "loss"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), h["val_accuracy"])
    assert ax.get_lines()[2].get_color() != ax.get_lines()[0].get_color()
    assert len(plot_history(h, metrics="accuracy").get_lines()) == 1
    only_loss = plot_history({"loss": [3.0, 2.0]})  # no val_loss recorded: just one line
    assert [ln.get_label() for ln in only_loss.get_lines()] == ["loss"]
    np.testing.assert_array_equal(
        plot_history([4.0, 2.0, 1.0]).get_lines()[0].get_ydata(), [4, 2, 1]
    )


def test_history_errors():
    with pytest.raises(ValueError, match=r"unknown metric 'acc'; expected one of: 'accuracy', "):
        plot_history(_history(), metrics=["loss", "acc"])
    with pytest.raises(ValueError, match=r"unknown metric 'val_loss'; expected one of: 'loss'"):
        plot_history({"loss": [1.0]}, metrics=["val_loss"])
    with pytest.raises(TypeError, match=r"history must be a History, .*got int"):
        plot_history(3)


# --- plot_activation -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "f", "df"),
    [
        ("sigmoid", _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
        ("tanh", np.tanh, lambda x: 1 / np.cosh(x) ** 2),
        ("ReLU", lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
        ("softplus", lambda x: np.log1p(np.exp(x)), _sigmoid),
    ],
)
def test_activation_lines_are_f_and_its_derivative(name, f, df):
    ax = plot_activation(name)
    f_line, df_line = ax.get_lines()
    x = np.linspace(-5, 5, 401)
    np.testing.assert_array_equal(f_line.get_xdata(), x)
    np.testing.assert_allclose(f_line.get_ydata(), f(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(df_line.get_ydata(), df(x), rtol=1e-12, atol=1e-15)
    assert ax.get_title() == name


def test_activation_module_instance_callable_and_custom_grid():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    ax = plot_activation(LeakyReLU(0.2), x=x)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [-0.4, -0.1, 0.5, 3.0])
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.2, 0.2, 1.0, 1.0])
    ax = plot_activation(np.sin)
    x = ax.get_lines()[0].get_xdata()
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), np.cos(x), atol=1e-9)
    assert ax.get_title() == "sin"


def test_activation_errors():
    with pytest.raises(ValueError, match=r"elementwise activations; softmax"):
        plot_activation("softmax")
    with pytest.raises(ValueError, match=r"elementwise activations; softmax"):
        plot_activation(Softmax())
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; expected one of: .*'relu'"):
        plot_activation("swish")
    with pytest.raises(TypeError, match=r"name_or_fn must be .*got int"):
        plot_activation(3)
    with pytest.raises(ValueError, match=r"map each of the 401 inputs to one output"):
        plot_activation(lambda x: x[:3])


# --- plot_truth_table ----------------------------------------------------------------------
def _points_by_output(ax):
    return {s.get_label(): np.asarray(s.get_offsets()) for s in _scatters(ax)}


def test_truth_table_of_and_with_its_separating_line():
    ax = plot_truth_table(AND)
    points = _points_by_output(ax)
    np.testing.assert_array_equal(points["output 1"], [[1, 1]])
    np.testing.assert_array_equal(points["output 0"], [[0, 0], [0, 1], [1, 0]])
    assert sorted(t.get_text() for t in ax.texts) == ["0", "0", "0", "1"]
    (line,) = ax.get_lines()
    (x1, y1), (x2, y2) = line.get_xy1(), line.get_xy2()

    def side(p):
        return np.sign((x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1))

    assert {side(p) for p in points["output 0"]} == {-side(points["output 1"][0])}
    assert ax.get_title() == "AND"


def test_truth_table_without_weights_draws_no_line():
    ax = plot_truth_table(xor_two_layer)
    points = _points_by_output(ax)
    np.testing.assert_array_equal(points["output 1"], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(points["output 0"], [[0, 0], [1, 1]])
    assert not ax.get_lines()


def test_truth_table_one_input_and_vertical_lines():
    ax = plot_truth_table(NOT, n_inputs=1)
    points = _points_by_output(ax)
    np.testing.assert_array_equal(points["output 1"], [[0, 0]])
    np.testing.assert_array_equal(points["output 0"], [[1, 0]])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0.5, 0.5])
    ax = plot_truth_table(ThresholdNeuron([2.0, 0.0], -1.0))  # fires when x1 = 1
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0.5, 0.5])


def test_truth_table_errors():
    with pytest.raises(ValueError, match=r"draws 1 or 2 inputs, got n_inputs=3"):
        plot_truth_table(AND, n_inputs=3)


# --- plot_linear_fit -----------------------------------------------------------------------
@pytest.fixture
def line_data():
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 4, size=23)
    return x, 2.0 * x - 1.0 + rng.normal(scale=0.3, size=23)


def test_linear_fit_with_a_model(line_data):
    x, y = line_data
    model = LinearRegression().fit(x[:, None], y)
    ax = plot_linear_fit(x[:, None], y[:, None], model)
    (scatter,) = _scatters(ax)
    np.testing.assert_array_equal(np.asarray(scatter.get_offsets()), np.column_stack([x, y]))
    (line,) = ax.get_lines()
    gx = line.get_xdata()
    assert gx.min() == x.min() and gx.max() == x.max()
    np.testing.assert_allclose(line.get_ydata(), model.coef_[0] * gx + model.intercept_)


@pytest.mark.parametrize("coef", [(2.0, -1.0), [np.array([2.0]), np.array(-1.0)], "callable"])
def test_linear_fit_with_coefficients_or_callable(line_data, coef):
    x, y = line_data
    if coef == "callable":
        coef = lambda X: 2.0 * X[:, 0] - 1.0  # noqa: E731
    (line,) = plot_linear_fit(x, y, coef).get_lines()
    np.testing.assert_allclose(line.get_ydata(), 2.0 * line.get_xdata() - 1.0)


def test_linear_fit_residuals(line_data):
    x, y = line_data
    ax = plot_linear_fit(x, y, (2.0, -1.0), residuals=True)
    (segments,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segs = np.asarray(segments.get_segments())
    assert segs.shape == (len(x), 2, 2)
    np.testing.assert_allclose(segs[:, 0], np.column_stack([x, 2 * x - 1]))
    np.testing.assert_allclose(segs[:, 1], np.column_stack([x, y]))


def test_linear_fit_errors(line_data):
    x, y = line_data
    with pytest.raises(ValueError, match=r"X must have shape \(N,\) or \(N, 1\).*\(23, 2\)"):
        plot_linear_fit(np.ones((23, 2)), y, (1.0, 0.0))
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows"):
        plot_linear_fit(x, y[:5], (1.0, 0.0))
    with pytest.raises(ValueError, match=r"w must be a single number for a 1-D fit"):
        plot_linear_fit(x, y, ([1.0, 2.0], 0.0))
    with pytest.raises(TypeError, match=r"model_or_coef must have predict\(\).*got str"):
        plot_linear_fit(x, y, "line")


# --- shared behaviour ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: plot_decision_boundary(lambda G: G[:, 0] > 0, np.eye(2), [0, 1], ax=ax),
        lambda ax: plot_history({"loss": [1.0, 0.5]}, ax=ax),
        lambda ax: plot_activation("tanh", ax=ax),
        lambda ax: plot_truth_table(AND, ax=ax),
        lambda ax: plot_linear_fit([0.0, 1.0], [1.0, 2.0], (1.0, 1.0), ax=ax),
        lambda ax: plot_confusion_matrix([0, 1, 1], [0, 1, 0], ax=ax),
        lambda ax: plot_digit_grid(np.zeros((3, 64)), [1, 2, 3], ax=ax),
    ],
)
def test_every_plot_draws_on_the_given_axes(draw):
    fig, ax = plt.subplots()
    assert draw(ax) is ax
    assert len(fig.axes) == 1


def test_decision_boundary_with_minus_one_plus_one_labels_and_no_boundary(blobs):
    X, y = blobs
    signs = 2 * y - 1
    ax = plot_decision_boundary(lambda G: _sigmoid(G[:, 0]), X, signs, proba=False)
    assert [s.get_label() for s in _scatters(ax)] == ["class -1", "class 1"]
    np.testing.assert_array_equal(_contours(ax, filled=True)[0].levels, [-0.5, 0.5, 1.5])
    np.testing.assert_allclose(_boundary_vertices(ax)[:, 0], 0, atol=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model that predicts one class everywhere
        ax = plot_decision_boundary(lambda G: np.full(len(G), 0.9), X, y)
        ax = plot_decision_boundary(lambda G: np.ones(len(G)), X, y)
    assert not _contours(ax, filled=False)


# --- confusion matrices and digit grids -------------------------------------------------------
def test_confusion_matrix_image_holds_the_counts_and_writes_them():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    ax = plot_confusion_matrix(y_true, y_pred, class_names=["a", "b", "c"])
    counts = ax.images[0].get_array()
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    cells = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((2, 2), "2") in cells and ((0, 2), "1") in cells  # (column = predicted, row = true)
    assert len(ax.texts) == 5  # zero cells stay empty
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert "66.7%" in ax.get_title()


def test_confusion_matrix_plot_errors():
    with pytest.raises(ValueError, match="must name the 2 classes, got 3"):
        plot_confusion_matrix([0, 1], [1, 0], class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="same shape"):
        plot_confusion_matrix([0, 1], [1])


def test_digit_grid_tiles_the_images_in_order():
    images = np.arange(5 * 4, dtype=float).reshape(5, 4)  # five 2x2 images
    ax = plot_digit_grid(images, ncols=3, image_shape=(2, 2))
    mosaic = np.ma.filled(ax.images[0].get_array(), np.nan)
    # No labels: one blank row above each row of tiles and one blank column between tiles.
    assert mosaic.shape == (2 * (2 + 1), 3 * 3 - 1)
    np.testing.assert_array_equal(mosaic[1:3, 0:2], images[0].reshape(2, 2))
    np.testing.assert_array_equal(mosaic[1:3, 6:8], images[2].reshape(2, 2))
    np.testing.assert_array_equal(mosaic[4:6, 3:5], images[4].reshape(2, 2))
    assert np.isnan(mosaic[4:6, 6:8]).all()  # the sixth slot is empty
    assert not ax.texts


def test_digit_grid_titles_mark_the_mistakes_red():
    images = np.random.default_rng(0).uniform(0, 16, size=(3, 8, 8))
    ax = plot_digit_grid(images, labels=[3, 5, 7], predictions=[3, 8, 7])
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["true 3\npred 3", "true 5\npred 8", "true 7\npred 7"]
    colours = [to_hex(t.get_color()) for t in ax.texts]
    assert colours[1] == PALETTE[1] and colours[0] != PALETTE[1]
    ax = plot_digit_grid(images, labels=[3, 5, 7])
    assert [t.get_text() for t in ax.texts] == ["3", "5", "7"]


def test_digit_grid_errors():
    with pytest.raises(ValueError, match="rows of 8 x 8 = 64 pixels"):
        plot_digit_grid(np.zeros((2, 63)))
    with pytest.raises(ValueError, match="at least one image"):
        plot_digit_grid(np.zeros((0, 64)))
    with pytest.raises(ValueError, match="need the true labels"):
        plot_digit_grid(np.zeros((2, 64)), predictions=[1, 2])
    with pytest.raises(ValueError, match=r"labels must have one entry per image \(2\), got 3"):
        plot_digit_grid(np.zeros((2, 64)), labels=[1, 2, 3])


def test_alt_text_says_what_the_figure_shows() -> None:
    from matplotlib.figure import Figure

    from nnlib.viz import alt_text

    fig = Figure()
    left, right = fig.subplots(1, 2)
    left.plot([0, 1], [1, 0], label="train")
    left.plot([0, 1], [1, 1], label="test")
    left.legend()
    left.set(title="Loss", xlabel="epoch", ylabel="$L$")
    right.set_title("Weights")
    fig.suptitle("Training a network")
    text = alt_text(fig)
    assert text.startswith("Training a network: a figure of 2 panels: Loss (L against epoch)")
    assert "lines: train, test" in text and "Weights" in text and "$" not in text
    assert alt_text(Figure()) == "A plot."
