"""Tests for nnlib.train: fit learns, records a faithful History, and rejects bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import nnlib.train as train_module
from nnlib.data import make_spirals, make_xor
from nnlib.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from nnlib.modules import MLP, Dropout, Linear, Module, Parameter, Sequential
from nnlib.optim import SGD, Adam
from nnlib.train import History, accuracy, evaluate, fit


def xor_data(n=200, seed=0):
    X, y = make_xor(n=n, noise=0.1, seed=seed)
    return X, y.reshape(-1, 1).astype(float)  # one logit per sample: targets as a column


def blobs(n=40, seed=0):
    """A small, easy 3-class problem."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    return centres[y] + rng.standard_normal((n, 2)), y


# --- it learns --------------------------------------------------------------------------------
@pytest.mark.slow
def test_mlp_learns_xor():
    X, y = xor_data()
    net = MLP([2, 8, 1], activation="tanh", seed=0)
    history = fit(
        net, BCEWithLogitsLoss(), Adam(net.parameters(), lr=0.05), X, y, epochs=50, seed=0
    )
    # Measured independently of fit's bookkeeping.
    train_accuracy = np.mean((net(X) > 0) == (y > 0.5))
    assert train_accuracy >= 0.95
    assert history["accuracy"][-1] == train_accuracy
    assert history["loss"][-1] < 0.1 < history["loss"][0]


@pytest.mark.slow
def test_mlp_learns_two_spirals():
    X, y = make_spirals(n=300, noise=0.05, seed=0)
    net = MLP([2, 48, 48, 2], activation="relu", seed=0)
    history = fit(net, CrossEntropyLoss(), Adam(net.parameters(), lr=0.01), X, y, epochs=60, seed=0)
    train_accuracy = np.mean(net(X).argmax(axis=1) == y)
    assert train_accuracy >= 0.95
    assert history["accuracy"][-1] == train_accuracy


def test_sgd_with_mse_fits_a_line():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (64, 1))
    y = 3.0 * X - 0.5
    net = Linear(1, 1, seed=0)
    history = fit(
        net, MSELoss(), SGD(net.parameters(), lr=0.1, momentum=0.9), X, y, epochs=150, seed=0
    )
    np.testing.assert_allclose(net.weight.value, [[3.0]], atol=1e-6)
    np.testing.assert_allclose(net.bias.value, [-0.5], atol=1e-6)
    assert list(history.history) == ["loss"]  # regression: no accuracy


# --- the loop itself --------------------------------------------------------------------------
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_runs_the_documented_minibatch_loop(shuffle):
    X, y = blobs(n=10)
    seed, batch_size, epochs = 7, 4, 3  # batches of 4, 4 and 2
    net = MLP([2, 5, 3], activation="tanh", seed=1)
    history = fit(
        net,
        CrossEntropyLoss(),
        SGD(net.parameters(), lr=0.3),
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
    )
    # The same computation written out by hand on an identical network.
    ref = MLP([2, 5, 3], activation="tanh", seed=1)
    loss, params = CrossEntropyLoss(), ref.parameters()
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        order = rng.permutation(10) if shuffle else np.arange(10)
        weighted = 0.0
        for start in range(0, 10, batch_size):
            idx = order[start : start + batch_size]
            for p in params:
                p.grad[...] = 0.0
            weighted += loss(ref(X[idx]), y[idx]) * len(idx)
            ref.backward(loss.backward())
            for p in params:
                p.value -= 0.3 * p.grad
        assert history["loss"][epoch] == pytest.approx(weighted / 10, rel=1e-12)
        assert history["accuracy"][epoch] == np.mean(ref(X).argmax(axis=1) == y)
    for mine, theirs in zip(net.parameters(), params, strict=True):
        np.testing.assert_allclose(mine.value, theirs.value, rtol=1e-12)


class Spy(Module):
    """Records the batch size and train/eval mode of every forward call."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = Linear(2, 3, seed=0)
        self.calls: list[tuple[int, bool]] = []

    def forward(self, x):
        self.calls.append((x.shape[0], self.training))
        return self.inner.forward(x)

    def backward(self, grad_out):
        return self.inner.backward(grad_out)


def test_train_mode_for_steps_and_eval_mode_for_metrics():
    X, y = blobs(n=20)
    X_val, y_val = blobs(n=6, seed=1)
    spy = Spy()
    fit(
        spy,
        CrossEntropyLoss(),
        SGD(spy.parameters(), lr=0.1),
        X,
        y,
        epochs=2,
        batch_size=8,
        validation=(X_val, y_val),
    )
    epoch = [(8, True), (8, True), (4, True), (20, False), (6, False)]
    assert spy.calls == epoch + epoch
    assert spy.training is False and spy.inner.training is False  # left in eval mode


def test_dropout_is_off_when_metrics_are_measured():
    X, y = xor_data(n=40)
    net = Sequential(Linear(2, 16, seed=0), Dropout(0.5, seed=0), Linear(16, 1, seed=1))
    history = fit(
        net, BCEWithLogitsLoss(), Adam(net.parameters(), lr=0.01), X, y, epochs=3, validation=(X, y)
    )
    # Measured in eval mode, the validation loss on the training set is deterministic.
    assert history["val_loss"][-1] == BCEWithLogitsLoss()(net(X), y)
    assert history["val_accuracy"][-1] == history["accuracy"][-1]


def test_history_keys_lengths_and_validation_values():
    X, y = blobs(n=30)
    X_val, y_val = blobs(n=12, seed=5)
    net = MLP([2, 6, 3], seed=0)
    history = fit(
        net,
        CrossEntropyLoss(),
        Adam(net.parameters(), lr=0.01),
        X,
        y,
        epochs=7,
        batch_size=8,
        validation=(X_val, y_val),
    )
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(history) == 7
    assert all(len(v) == 7 for v in history.history.values())
    assert all(type(v) is float for values in history.history.values() for v in values)
    assert history["loss"] is history.history["loss"]
    # The last validation entries describe the model fit returned.
    assert history["val_loss"][-1] == CrossEntropyLoss()(net(X_val), y_val)
    assert history["val_accuracy"][-1] == np.mean(net(X_val).argmax(axis=1) == y_val)


def test_same_seed_same_history_and_another_seed_another():
    X, y = xor_data(n=64)

    def run(seed):
        net = MLP([2, 6, 1], activation="tanh", seed=3)
        return fit(
            net,
            BCEWithLogitsLoss(),
            SGD(net.parameters(), lr=0.5),
            X,
            y,
            epochs=5,
            batch_size=8,
            seed=seed,
        ).history

    assert run(11) == run(11)
    assert run(11)["loss"] != run(12)["loss"]


def test_fit_does_not_mutate_the_data():
    X, y = blobs(n=16)
    X_copy, y_copy = X.copy(), y.copy()
    net = MLP([2, 4, 3], seed=0)
    fit(net, CrossEntropyLoss(), SGD(net.parameters(), lr=0.1), X, y, epochs=2, seed=0)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_batch_size_larger_than_the_data_is_one_batch():
    X, y = blobs(n=5)
    spy = Spy()
    fit(spy, CrossEntropyLoss(), SGD(spy.parameters(), lr=0.1), X, y, epochs=1, batch_size=64)
    assert spy.calls == [(5, True), (5, False)]


# --- metrics ----------------------------------------------------------------------------------
def test_metric_selection():
    X, y = xor_data(n=16)
    net = MLP([2, 3, 1], seed=0)

    def keys(loss, target, **kwargs):
        opt = SGD(net.parameters(), lr=0.01)
        return list(fit(net, loss, opt, X, target, epochs=1, **kwargs).history)

    assert keys(BCEWithLogitsLoss(), y) == ["loss", "accuracy"]
    assert keys(BCEWithLogitsLoss(), y, metrics=None) == ["loss"]
    assert keys(BCEWithLogitsLoss(), y, metrics=()) == ["loss"]
    assert keys(BCEWithLogitsLoss(), np.full_like(y, 0.3)) == ["loss"]  # soft targets
    assert keys(BCEWithLogitsLoss(), np.full_like(y, 0.3), metrics=["accuracy"]) == [
        "loss",
        "accuracy",
    ]
    assert keys(MSELoss(), y) == ["loss"]


def test_bce_on_probabilities_uses_a_half_threshold():
    X, y = xor_data(n=40)
    net = MLP([2, 8, 1], activation="tanh", output_activation="sigmoid", seed=0)
    history = fit(net, BCELoss(), Adam(net.parameters(), lr=0.05), X, y, epochs=3, seed=0)
    assert history["accuracy"][-1] == np.mean((net(X) > 0.5) == (y > 0.5))


def test_accuracy_argmax_and_threshold():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 3.0, 2.0], [9.0, 0.0, 0.0]])
    labels = np.array([0, 2, 0, 0])
    assert accuracy(logits, labels) == 0.75
    assert accuracy(logits, np.eye(3)[labels]) == 0.75
    scores = np.array([[-1.0], [0.5], [2.0], [-0.1]])
    truth = np.array([0, 1, 0, 0])
    assert accuracy(scores, truth, threshold=0.0) == 0.75
    assert accuracy(scores, truth.reshape(-1, 1), threshold=0.0) == 0.75
    assert accuracy(scores.ravel(), truth, threshold=1.0) == 0.5


def test_accuracy_errors():
    with pytest.raises(ValueError, match=r"single score per sample; pass threshold=0.0 for logits"):
        accuracy(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match=r"y must be labels of shape \(4,\) or one-hot rows"):
        accuracy(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(ValueError, match=r"same shape, got output of shape \(4, 2\) and y of"):
        accuracy(np.zeros((4, 2)), np.zeros(4), threshold=0.5)


def test_evaluate_matches_a_manual_computation_and_restores_the_mode():
    X, y = blobs(n=12)
    net = MLP([2, 4, 3], seed=0)
    result = evaluate(net, CrossEntropyLoss(), X, y)
    assert result == {
        "loss": CrossEntropyLoss()(net(X), y),
        "accuracy": np.mean(net(X).argmax(axis=1) == y),
    }
    assert net.training is True
    assert list(evaluate(net, CrossEntropyLoss(), X, y, metrics=None)) == ["loss"]


# --- History ----------------------------------------------------------------------------------
def test_history_access_and_repr():
    history = History(["loss", "accuracy"])
    assert len(history) == 0
    assert repr(history) == "History(epochs=0, keys=['loss', 'accuracy'])"
    history._record({"loss": 0.5, "accuracy": 0.75})
    history._record({"loss": 0.25, "accuracy": 1.0})
    assert len(history) == 2
    assert history["loss"] == [0.5, 0.25]
    assert "accuracy" in history and "val_loss" not in history
    assert (
        repr(history) == "History(epochs=2, keys=['loss', 'accuracy'], last: loss=0.25, accuracy=1)"
    )
    with pytest.raises(KeyError, match=r"History has no 'val_loss'; recorded: 'loss', 'accuracy'"):
        history["val_loss"]


# --- progress bar -----------------------------------------------------------------------------
def short_run(**kwargs):
    X, y = xor_data(n=16)
    net = MLP([2, 3, 1], seed=0)
    fit(net, BCEWithLogitsLoss(), SGD(net.parameters(), lr=0.1), X, y, epochs=3, **kwargs)


def test_progress_bar_is_shown_when_forced(capsys):
    short_run(progress=True)
    err = capsys.readouterr().err
    assert "training: 100%" in err
    assert "3/3" in err and "loss=" in err and "accuracy=" in err


@pytest.mark.parametrize("progress", [None, False])
def test_no_progress_bar_by_default_or_when_disabled(capsys, progress):
    short_run(progress=progress)
    assert capsys.readouterr().err == ""


def test_no_progress_bar_in_a_short_interactive_run(capsys, monkeypatch):
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)  # as in the Python REPL
    short_run()
    assert capsys.readouterr().err == ""  # the bar waits PROGRESS_DELAY seconds before showing


def test_progress_bar_appears_in_an_interactive_run_once_the_delay_has_passed(capsys, monkeypatch):
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)
    monkeypatch.setattr(train_module, "PROGRESS_DELAY", 0.0)  # as if the run were long
    short_run()
    assert "training: 100%" in capsys.readouterr().err


def test_no_progress_bar_when_executed_into_static_pages(capsys, monkeypatch):
    # The book's build executes chapters in kernels (interactive) with NNLIB_WIDGETS_MODE=static:
    # a bar there would be a stored widget in a page with no kernel.
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)
    monkeypatch.setattr(train_module, "PROGRESS_DELAY", 0.0)
    monkeypatch.setenv("NNLIB_WIDGETS_MODE", "static")
    short_run()
    assert capsys.readouterr().err == ""
    short_run(progress=True)  # asking for one still shows it
    assert "training: 100%" in capsys.readouterr().err


# --- errors -----------------------------------------------------------------------------------
def fit_args(**overrides):
    X, y = blobs(n=12)
    net = MLP([2, 4, 3], seed=0)
    args = {
        "model": net,
        "loss": CrossEntropyLoss(),
        "optimizer": SGD(net.parameters(), lr=0.1),
        "X": X,
        "y": y,
        "epochs": 1,
    }
    args.update(overrides)
    return args


X_NAN = np.array([[0.0, 1.0]] * 11 + [[np.nan, 0.0]])


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"X": X_NAN}, ValueError, r"X contains 1 non-finite value.* index \(11, 0\)"),
        ({"y": np.r_[np.zeros(11), np.inf]}, ValueError, r"y contains 1 non-finite value"),
        (
            {"y": np.zeros(10, dtype=int)},
            ValueError,
            r"X and y must have the same number of rows.*12 and 10",
        ),
        ({"X": np.zeros(12)}, ValueError, r"X must be a 2-D array, got a 1-D array"),
        ({"y": np.zeros((12, 3, 1))}, ValueError, r"y must be a 1-D or 2-D array, got a 3-D"),
        (
            {"y": np.array(["a"] * 12)},
            TypeError,
            r"y must be a numeric array, got <U1 array of shape \(12,\)",
        ),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, ValueError, r"X has no rows"),
        ({"epochs": 0}, ValueError, r"epochs must be a positive integer, got 0"),
        ({"epochs": 2.0}, TypeError, r"epochs must be a positive integer, got float 2.0"),
        ({"batch_size": 0}, ValueError, r"batch_size must be a positive integer, got 0"),
        ({"batch_size": True}, TypeError, r"batch_size must be a positive integer, got bool"),
        (
            {"validation": np.zeros((3, 2))},
            ValueError,
            r"validation must be a pair \(X_val, y_val\)",
        ),
        (
            {"validation": (np.zeros((3, 5)), np.zeros(3, dtype=int))},
            ValueError,
            r"X_val must have the 2 columns of X, got shape \(3, 5\)",
        ),
        (
            {"validation": (np.zeros((3, 2)), np.zeros(4, dtype=int))},
            ValueError,
            r"X_val and y_val must have the same number of rows",
        ),
        (
            {"validation": (np.full((3, 2), np.nan), np.zeros(3))},
            ValueError,
            r"X_val contains 6 non-finite",
        ),
        ({"model": lambda x: x}, TypeError, r"model must be an nnlib Module .* got function"),
        ({"loss": lambda a, b: 0.0}, TypeError, r"loss must be an nnlib Loss .* got function"),
        ({"optimizer": "adam"}, TypeError, r"optimizer must be an nnlib Optimizer .* got str"),
        (
            {"optimizer": SGD([Parameter(np.zeros(2))], lr=0.1)},
            ValueError,
            r"optimizer updates none of the model's parameters",
        ),
        ({"progress": "yes"}, TypeError, r"progress must be True, False or None, got str"),
        ({"metrics": "accuracy"}, ValueError, r"metrics must be 'auto', None or a sequence"),
        ({"metrics": ["f1"]}, ValueError, r"unknown metric 'f1'; expected one of: 'accuracy'"),
        ({"metrics": 3}, TypeError, r"metrics must be 'auto', None or a sequence .* got int"),
        (
            {"loss": MSELoss(), "y": np.zeros((12, 3)), "metrics": ["accuracy"]},
            ValueError,
            r"'accuracy' metric needs a classification loss .* got MSELoss",
        ),
        ({"y": np.r_[np.zeros(11), 3]}, ValueError, r"labels must lie in \[0, 3\) .* from 0 to 3"),
    ],
)
def test_fit_errors(overrides, error, message):
    with pytest.raises(error, match=message):
        fit(**fit_args(**overrides))


def test_fit_reports_the_column_versus_flat_target_trap():
    X, y = make_xor(n=8, seed=0)  # y has shape (8,), the network's output (8, 1)
    net = MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"broadcast them to \(8, 8\).*target.reshape\(-1, 1\)"):
        fit(net, BCEWithLogitsLoss(), SGD(net.parameters(), lr=0.1), X, y, epochs=1)


def test_evaluate_errors():
    X, y = blobs(n=4)
    with pytest.raises(TypeError, match=r"model must be an nnlib Module, got str"):
        evaluate("net", CrossEntropyLoss(), X, y)
    with pytest.raises(TypeError, match=r"loss must be an nnlib Loss .* got type"):
        evaluate(MLP([2, 3]), CrossEntropyLoss, X, y)
    with pytest.raises(ValueError, match=r"X contains 1 non-finite"):
        evaluate(MLP([2, 3]), CrossEntropyLoss(), np.r_[X[:3], [[np.nan, 0]]], y)


# --- confusion matrix ---------------------------------------------------------------------------
def test_confusion_matrix_counts_each_true_predicted_pair():
    from nnlib.train import confusion_matrix

    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(y_true, y_pred)
    expected = np.zeros((3, 3), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(m, expected)
    assert m[2, 0] == 1 and m[0, 1] == 1  # rows are true classes, columns predictions
    np.testing.assert_array_equal(m.sum(axis=1), np.bincount(y_true))
    scores = np.eye(3)[y_pred]  # one-hot "scores" whose argmax is y_pred
    assert np.trace(m) / m.sum() == pytest.approx(accuracy(scores, y_true))
    assert confusion_matrix([1.0, 0.0], [1, 1], n_classes=4).shape == (4, 4)


def test_confusion_matrix_rejects_what_is_not_labels():
    from nnlib.train import confusion_matrix

    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="whole numbers"):
        confusion_matrix([0, 0.5], [0, 1])
    with pytest.raises(ValueError, match="whole numbers"):
        confusion_matrix([0, -1], [0, 1])
    with pytest.raises(ValueError, match="n_classes=2 but a label is 3"):
        confusion_matrix([0, 3], [0, 1], n_classes=2)
