"""One playground run, without pictures: the points, the features, the network and its training.

:class:`Playground` draws the points with :mod:`nnlib.data` (:func:`make_points`), computes the
input features (:func:`feature_matrix`), builds an :class:`nnlib.modules.MLP` (with
:class:`~nnlib.modules.Dropout` after each hidden activation when asked), and trains it epoch by
epoch with :func:`nnlib.train.fit` and :class:`nnlib.optim.SGD` (``weight_decay`` is the L2
term). Two classes use one output and :class:`~nnlib.losses.BCEWithLogitsLoss`; more use ``C``
outputs, the softmax and :class:`~nnlib.losses.CrossEntropyLoss`. :meth:`Playground.snapshot`
collects what a figure draws at one epoch as a :class:`Snapshot`. numpy and nnlib only: no
matplotlib, no widgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nnlib.data import (
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    train_test_split,
)
from nnlib.functional import sigmoid, softmax
from nnlib.losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss
from nnlib.modules import MLP, Dropout, Linear, Module, Sequential
from nnlib.optim import SGD
from nnlib.train import evaluate, fit
from nnlib.widgets.playground.config import (
    ACTIVATIONS,
    DEFAULT_CONFIG,
    FEATURES,
    INITS,
    PlaygroundConfig,
    as_config,
)

BOX = 6.0
"""Every data set is stretched to fit the square ``[-BOX, BOX]^2`` that the maps show (as in
TensorFlow Playground, so that ``sin x1`` goes through about two periods across the plot)."""

HISTORY_KEYS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")
"""The measurements recorded after every epoch, in :attr:`Playground.history` order."""


# --- data and features --------------------------------------------------------------------------
def make_points(config: PlaygroundConfig) -> tuple[np.ndarray, np.ndarray]:
    """Draw the points of ``config`` with :mod:`nnlib.data` and stretch them to the plot's box.

    Returns:
        ``(P, y)``: points of shape ``(N, 2)`` inside about ``[-6, 6]^2`` and int labels ``(N,)``
        in ``0 .. C-1``.
    """
    n, noise, seed = config.points, config.noise, config.seed
    if config.data == "xor":
        P, y = make_xor(n, noise=noise, seed=seed)
        return (P - 0.5) * 6.0, y  # corners at (+-3, +-3): label 1 where x1 x2 < 0
    if config.data == "circles":
        P, y = make_circles(n, noise=noise, seed=seed)
        return P * 5.0, y
    if config.data == "moons":
        P, y = make_moons(n, noise=noise, seed=seed)
        return (P - np.array([0.5, 0.25])) * 3.0, y
    if config.data == "spirals":
        P, y = make_spirals(n, noise=noise, seed=seed)
        return P * 5.0, y
    return make_blobs(n, centers=config.classes, std=4.0 * max(noise, 0.01), seed=seed)


def feature_matrix(points: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """The network's input: one column per feature.

    Args:
        points: ``(N, 2)`` coordinates ``(x1, x2)``.
        features: names from :data:`FEATURES`.

    Returns:
        ``X`` of shape ``(N, D)`` with ``D = len(features)``.
    """
    P = np.asarray(points, dtype=np.float64)
    return np.column_stack([FEATURES[name](P) for name in features])


def _grid_points(n: int) -> np.ndarray:
    """The n x n grid over the box, shape ``(n*n, 2)``; row ``i`` of the image is ``x2[i]``."""
    t = np.linspace(-BOX, BOX, n)
    xx, yy = np.meshgrid(t, t)
    return np.column_stack([xx.ravel(), yy.ravel()])


# --- one run ------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """What the figure needs to draw a run at one epoch (arrays are not copied).

    Attributes:
        config: the run's configuration.
        epoch: epochs trained so far.
        points_train, points_test: ``(N_train, 2)`` and ``(N_test, 2)`` coordinates.
        labels_train, labels_test: their labels, ``(N_train,)`` and ``(N_test,)``.
        features: the input features over the map grid, ``(D, m, m)``.
        hidden: one array ``(H_l, m, m)`` per hidden layer: each unit's output over the grid.
        output: class probabilities over the output grid, ``(n, n, C)``.
        weights: every layer's weight matrix ``W`` of shape ``(D_in, D_out)``.
        history: ``train_loss``, ``test_loss``, ``train_accuracy``, ``test_accuracy``, each of
            shape ``(epoch + 1,)`` (index 0: before training).
        diverged: why training stopped early, or ``None``.
    """

    config: PlaygroundConfig
    epoch: int
    points_train: np.ndarray
    labels_train: np.ndarray
    points_test: np.ndarray
    labels_test: np.ndarray
    features: np.ndarray
    hidden: list[np.ndarray]
    output: np.ndarray
    weights: list[np.ndarray]
    history: dict[str, np.ndarray] = field(default_factory=dict)
    diverged: str | None = None


class Playground:
    """One playground run: data, features, network, optimiser and loss history.

    Args:
        config: a :class:`PlaygroundConfig` or its string (:meth:`PlaygroundConfig.parse`).

    Attributes:
        config: the configuration.
        points_train, points_test: coordinates, ``(N_train, 2)`` and ``(N_test, 2)``.
        labels_train, labels_test: int labels, ``(N_train,)`` and ``(N_test,)``.
        X_train, X_test: the network's inputs (features), ``(N_train, D)`` and ``(N_test, D)``.
        net: an :class:`nnlib.modules.Sequential`: the layers of an :class:`nnlib.modules.MLP`
            ``[D, H1, ..., out]`` with a :class:`~nnlib.modules.Dropout` after each hidden
            activation when ``config.dropout > 0``.
        loss: :class:`~nnlib.losses.BCEWithLogitsLoss` (2 classes, one output) or
            :class:`~nnlib.losses.CrossEntropyLoss` (``C`` outputs, softmax).
        optimizer: :class:`nnlib.optim.SGD` with ``lr`` and ``weight_decay = l2``.
        epoch: epochs trained so far.
        history: lists ``train_loss``, ``test_loss``, ``train_accuracy``, ``test_accuracy``
            measured in evaluation mode (dropout off) after every epoch; index 0 is before
            training. The losses are the data terms, without the L2 penalty.
        diverged: ``None``, or a message once the weights or the loss stopped being finite
            (training then stops and the last finite weights are kept).
    """

    def __init__(self, config: PlaygroundConfig | str = DEFAULT_CONFIG) -> None:
        cfg = as_config(config)
        if not isinstance(cfg, PlaygroundConfig):
            raise TypeError(f"config must be a PlaygroundConfig or a string, got {config!r}")
        self.config = cfg
        points, labels = make_points(cfg)
        split = train_test_split(
            points, labels, test_size=1.0 - cfg.split, seed=cfg.seed, stratify=True
        )
        self.points_train, self.points_test, self.labels_train, self.labels_test = split
        self.X_train = feature_matrix(self.points_train, cfg.features)
        self.X_test = feature_matrix(self.points_test, cfg.features)
        self.net, self._hidden_index = self._build_network(cfg)
        if cfg.classes == 2:
            self.loss: Loss = BCEWithLogitsLoss()
            self._target_train = self.labels_train[:, None].astype(np.float64)
            self._target_test = self.labels_test[:, None].astype(np.float64)
        else:
            self.loss = CrossEntropyLoss()
            self._target_train, self._target_test = self.labels_train, self.labels_test
        self.optimizer = SGD(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.l2)
        self._shuffle_rng = np.random.default_rng([cfg.seed, 1])
        self.epoch = 0
        self.diverged: str | None = None
        self.history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        self._record()

    @staticmethod
    def _build_network(cfg: PlaygroundConfig) -> tuple[Sequential, list[int]]:
        """The MLP's layers, with dropout after each hidden activation; and the positions of
        the hidden activations (whose outputs are the hidden maps)."""
        mlp = MLP(cfg.sizes, activation=ACTIVATIONS[cfg.act], init=INITS[cfg.init], seed=cfg.seed)
        modules: list[Module] = []
        hidden: list[int] = []
        dropout_rng = np.random.default_rng([cfg.seed, 2])
        for module in mlp:
            modules.append(module)
            if not isinstance(module, Linear):  # an activation: the end of a hidden layer
                hidden.append(len(modules) - 1)
                if cfg.dropout > 0:
                    modules.append(Dropout(cfg.dropout, seed=dropout_rng))
        return Sequential(*modules), hidden

    # -- training --------------------------------------------------------------------------------
    def _record(self) -> None:
        """Append the current losses and accuracies (evaluation mode) to :attr:`history`."""
        for part, X, target in (
            ("train", self.X_train, self._target_train),
            ("test", self.X_test, self._target_test),
        ):
            metrics = evaluate(self.net, self.loss, X, target)
            self.history[f"{part}_loss"].append(metrics["loss"])
            self.history[f"{part}_accuracy"].append(metrics["accuracy"])

    def step(self, epochs: int = 1) -> Playground:
        """Train for ``epochs`` more epochs (one :func:`nnlib.train.fit` epoch each) and record
        the losses after each. Does nothing once training has diverged.

        Returns:
            ``self``, so that ``Playground(cfg).step(100).test_loss`` works.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
        params = self.net.parameters()
        batch = min(self.config.batch, len(self.X_train))
        for _ in range(int(epochs)):
            if self.diverged:
                break
            saved = [p.value.copy() for p in params]
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    fit(
                        self.net,
                        self.loss,
                        self.optimizer,
                        self.X_train,
                        self._target_train,
                        epochs=1,
                        batch_size=batch,
                        seed=int(self._shuffle_rng.integers(2**31)),
                        progress=False,
                        metrics=None,
                    )
                    finite = all(np.isfinite(p.value).all() for p in params)
                    if finite:
                        self.epoch += 1
                        self._record()
                        finite = np.isfinite(self.history["train_loss"][-1])
            except ValueError as exc:  # nnlib's losses refuse NaN/inf logits
                finite, reason = False, str(exc)
            else:
                reason = "the weights or the loss became infinite"
            if not finite:
                for p, value in zip(params, saved, strict=True):
                    p.value[...] = value
                while len(self.history["train_loss"]) > self.epoch + 1:
                    for values in self.history.values():
                        values.pop()
                self.diverged = (
                    f"training diverged in epoch {self.epoch + 1} ({reason}); the weights of "
                    f"epoch {self.epoch} are kept: lower the learning rate"
                )
        return self

    @property
    def train_loss(self) -> float:
        """Loss on the training set after the last epoch (evaluation mode, no L2 term)."""
        return self.history["train_loss"][-1]

    @property
    def test_loss(self) -> float:
        """Loss on the test set after the last epoch."""
        return self.history["test_loss"][-1]

    @property
    def train_accuracy(self) -> float:
        """Fraction of training points classified correctly after the last epoch."""
        return self.history["train_accuracy"][-1]

    @property
    def test_accuracy(self) -> float:
        """Fraction of test points classified correctly after the last epoch."""
        return self.history["test_accuracy"][-1]

    # -- looking inside ------------------------------------------------------------------------
    def _forward(self, points: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Hidden activations ``[(M, H_l)]`` and output logits ``(M, out)`` in eval mode."""
        was_training = self.net.training
        self.net.eval()
        h = feature_matrix(points, self.config.features)
        hidden = []
        for i, module in enumerate(self.net):
            h = module(h)
            if i in self._hidden_index:
                hidden.append(h)
        self.net.train(was_training)
        return hidden, h

    def predict_proba(self, points: np.ndarray) -> np.ndarray:
        """Class probabilities at ``points`` of shape ``(M, 2)``; returns ``(M, C)``.

        Two classes: ``[1 - p, p]`` with ``p = sigmoid(logit)``; more: ``softmax(logits)``.
        """
        _, logits = self._forward(np.asarray(points, dtype=np.float64))
        if self.config.classes == 2:
            p = sigmoid(logits[:, 0])
            return np.column_stack([1.0 - p, p])
        return softmax(logits, axis=1)

    def predict_grid(self, n: int = 60) -> np.ndarray:
        """Class probabilities on an ``n x n`` grid over the box: shape ``(n, n, C)``, row ``i``
        at ``x2 = linspace(-6, 6, n)[i]`` and column ``j`` at ``x1 = linspace(-6, 6, n)[j]``."""
        return self.predict_proba(_grid_points(n)).reshape(n, n, -1)

    def hidden_maps(self, n: int = 32) -> list[np.ndarray]:
        """Each hidden unit's output over an ``n x n`` grid: one array ``(H_l, n, n)`` per
        hidden layer (after the activation, in evaluation mode)."""
        hidden, _ = self._forward(_grid_points(n))
        return [h.T.reshape(-1, n, n) for h in hidden]

    def feature_maps(self, n: int = 32) -> np.ndarray:
        """Each input feature over an ``n x n`` grid, shape ``(D, n, n)``."""
        return feature_matrix(_grid_points(n), self.config.features).T.reshape(-1, n, n)

    def snapshot(self, n: int = 60, m: int = 32) -> Snapshot:
        """Everything the figure draws at the current epoch (output grid ``n``, maps ``m``)."""
        return Snapshot(
            config=self.config,
            epoch=self.epoch,
            points_train=self.points_train,
            labels_train=self.labels_train,
            points_test=self.points_test,
            labels_test=self.labels_test,
            features=self.feature_maps(m),
            hidden=self.hidden_maps(m),
            output=self.predict_grid(n),
            weights=[mod.weight.value.copy() for mod in self.net if isinstance(mod, Linear)],
            history={k: np.array(v) for k, v in self.history.items()},
            diverged=self.diverged,
        )

    def __repr__(self) -> str:
        return f"Playground({str(self.config)!r}, epoch={self.epoch})"
