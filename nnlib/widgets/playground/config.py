"""The configuration of a playground run: its vocabulary, :class:`PlaygroundConfig` and the presets.

A configuration is the whole description of a run (data set, noise, split, input features,
hidden layers, activation, learning rate, L2, batch size, dropout, initialisation, seed,
classes, points). :class:`PlaygroundConfig` validates it and reads and writes it as one short
string that a reader can copy::

    data=spirals noise=0.05 split=0.5 features=x1,x2 layers=8,8 act=tanh lr=0.1 l2=0
    batch=10 dropout=0 init=xavier seed=0 classes=2 points=500

This module also holds the names a configuration may use (:data:`DATASETS`, :data:`FEATURES`,
:data:`ACTIVATIONS`, :data:`INITS`, the size limits) and the curated :data:`PRESETS` of the
chapter. Plain Python and numpy: no training, no drawing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# --- vocabulary ---------------------------------------------------------------------------------
DATASETS = ("xor", "circles", "moons", "spirals", "gaussians")
"""The data sets, in menu order."""

FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x1": lambda P: P[:, 0],
    "x2": lambda P: P[:, 1],
    "x1^2": lambda P: P[:, 0] ** 2,
    "x2^2": lambda P: P[:, 1] ** 2,
    "x1x2": lambda P: P[:, 0] * P[:, 1],
    "sinx1": lambda P: np.sin(P[:, 0]),
    "sinx2": lambda P: np.sin(P[:, 1]),
}
"""Input features: name -> function of the points ``P`` of shape ``(N, 2)`` returning ``(N,)``."""

_FEATURE_ALIASES = {
    "x1sq": "x1^2",
    "x1**2": "x1^2",
    "x2sq": "x2^2",
    "x2**2": "x2^2",
    "x1*x2": "x1x2",
    "sin(x1)": "sinx1",
    "sin(x2)": "sinx2",
}
FEATURE_LABELS = {
    "x1": "x1",
    "x2": "x2",
    "x1^2": "x1²",
    "x2^2": "x2²",
    "x1x2": "x1·x2",
    "sinx1": "sin x1",
    "sinx2": "sin x2",
}
"""How the figures label each feature."""

ACTIVATIONS = {
    "tanh": "tanh",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "linear": "identity",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
    "softplus": "softplus",
}
"""Hidden activations: config name -> :data:`nnlib.modules.ACTIVATIONS` name."""

INITS = {
    "xavier": "xavier_uniform",
    "xavier_normal": "xavier_normal",
    "he": "he_normal",
    "normal": "normal",
    "zeros": "zeros",
}
"""Weight initialisations: config name -> :mod:`nnlib.init` name (``normal`` is N(0, 0.01^2))."""
_INIT_ALIASES = {"xavier_uniform": "xavier", "glorot": "xavier", "he_normal": "he"}

MAX_LAYERS, MAX_UNITS, MAX_CLASSES = 6, 8, 6
"""At most 6 hidden layers of at most 8 units, and at most 6 classes."""


# --- the configuration --------------------------------------------------------------------------
def format_number(x: float) -> str:
    """Shortest text that reads back as the same float: 0.03 -> '0.03', 1.0 -> '1'."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _bad(key: str, value: object, expected: str) -> ValueError:
    return ValueError(f"playground config: {key}={value!r} is not valid; {key} must be {expected}")


def _choices(options: Sequence[str]) -> str:
    return "one of " + ", ".join(options)


def _check_number(key: str, value: object, lo: float, hi: float, lo_open: bool = False) -> float:
    what = f"a number in {'(' if lo_open else '['}{format_number(lo)}, {format_number(hi)}]"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise _bad(key, value, what)
    v = float(value)
    if not (np.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi):
        raise _bad(key, value, what)
    return v


def _check_int(key: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise _bad(key, value, f"an integer from {lo} to {hi}")
    return int(value)


@dataclass(frozen=True)
class PlaygroundConfig:
    """Everything that defines a playground run; frozen, validated, and printable as one line.

    ``str(config)`` (or :meth:`format`) gives ``key=value`` pairs separated by spaces, and
    :meth:`parse` reads them back: ``PlaygroundConfig.parse(str(c)) == c``. Missing keys take the
    defaults below; an unknown key or a bad value raises ``ValueError`` naming the key, the value
    and what is allowed.

    Attributes:
        data: ``xor``, ``circles``, ``moons``, ``spirals`` or ``gaussians``.
        noise: the ``noise`` of the :mod:`nnlib.data` generator, in [0, 1], in units of the data
            set's own size (for ``gaussians`` each blob's standard deviation is ``4 * noise``,
            at least 0.04, around centres at distance 4 from the origin).
        split: fraction of the points used for training, in [0.05, 0.95]; the rest is the test
            set (a stratified split, so every class is in both).
        features: input features, a tuple of names from :data:`FEATURES` (canonical order).
        layers: hidden layer widths, a tuple of 0 to 6 ints from 1 to 8 (``none`` in the string
            for no hidden layer: a linear or softmax classifier on the features).
        act: hidden activation, a name from :data:`ACTIVATIONS`.
        lr: learning rate of SGD, in (0, 10].
        l2: L2 coefficient ``lambda`` (SGD's ``weight_decay``, on every parameter), in [0, 10].
        batch: minibatch size, 1 to 1000 (capped at the training set's size).
        dropout: drop probability after each hidden activation, in [0, 0.9].
        init: weight initialisation, a name from :data:`INITS`.
        seed: seed of the data, the split, the initial weights, the shuffling and the dropout
            masks, an int from 0 to 2**31 - 1.
        classes: number of classes ``C``, 2 to 6; above 2 only for ``gaussians``.
        points: number of points ``N`` (train and test together), 20 to 2000.
    """

    data: str = "spirals"
    noise: float = 0.05
    split: float = 0.5
    features: tuple[str, ...] = ("x1", "x2")
    layers: tuple[int, ...] = (8, 8)
    act: str = "tanh"
    lr: float = 0.1
    l2: float = 0.0
    batch: int = 10
    dropout: float = 0.0
    init: str = "xavier"
    seed: int = 0
    classes: int = 2
    points: int = 500

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        put("data", self._choice("data", self.data, DATASETS))
        put("noise", _check_number("noise", self.noise, 0.0, 1.0))
        put("split", _check_number("split", self.split, 0.05, 0.95))
        put("features", self._features(self.features))
        put("layers", self._layers(self.layers))
        put("act", self._choice("act", self.act, tuple(ACTIVATIONS)))
        put("lr", _check_number("lr", self.lr, 0.0, 10.0, lo_open=True))
        put("l2", _check_number("l2", self.l2, 0.0, 10.0))
        put("batch", _check_int("batch", self.batch, 1, 1000))
        put("dropout", _check_number("dropout", self.dropout, 0.0, 0.9))
        init = self.init.strip().lower() if isinstance(self.init, str) else self.init
        put("init", self._choice("init", _INIT_ALIASES.get(init, init), tuple(INITS)))
        put("seed", _check_int("seed", self.seed, 0, 2**31 - 1))
        put("classes", _check_int("classes", self.classes, 2, MAX_CLASSES))
        put("points", _check_int("points", self.points, 20, 2000))
        if self.classes != 2 and self.data != "gaussians":
            raise ValueError(
                f"playground config: classes={self.classes} needs data=gaussians; "
                f"data={self.data} has 2 classes (use classes=2)"
            )

    @staticmethod
    def _choice(key: str, value: object, options: Sequence[str]) -> str:
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise _bad(key, value, _choices(options))
        return value.strip().lower()

    @staticmethod
    def _features(value: object) -> tuple[str, ...]:
        names = value.split(",") if isinstance(value, str) else value
        if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
            raise _bad("features", value, "a comma-separated list of " + _choices(list(FEATURES)))
        chosen = set()
        for raw in names:
            name = str(raw).strip().lower().replace(" ", "")
            if not name:  # "features=" or a trailing comma
                continue
            name = _FEATURE_ALIASES.get(name, name)
            if name not in FEATURES:
                raise ValueError(
                    f"playground config: features has an unknown feature {raw!r}; each feature "
                    f"must be {_choices(list(FEATURES))}"
                )
            chosen.add(name)
        if not chosen:
            raise _bad("features", value, "at least one of " + ", ".join(FEATURES))
        return tuple(name for name in FEATURES if name in chosen)

    @staticmethod
    def _layers(value: object) -> tuple[int, ...]:
        what = (
            f"'none' or up to {MAX_LAYERS} comma-separated widths from 1 to {MAX_UNITS}, e.g. 8,8"
        )
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("", "none", "0", "-"):
                return ()
            try:
                widths = [int(part) for part in text.split(",")]
            except ValueError:
                raise _bad("layers", value, what) from None
        else:
            try:
                widths = list(value)
            except TypeError:
                raise _bad("layers", value, what) from None
        ok = all(
            isinstance(w, (int, np.integer)) and not isinstance(w, bool) and 1 <= w <= MAX_UNITS
            for w in widths
        )
        if not ok or len(widths) > MAX_LAYERS:
            raise _bad("layers", value, what)
        return tuple(int(w) for w in widths)

    # -- the string ----------------------------------------------------------------------------
    def format(self) -> str:
        """The configuration as one line of ``key=value`` pairs, every key in a fixed order."""
        values = {
            "data": self.data,
            "noise": format_number(self.noise),
            "split": format_number(self.split),
            "features": ",".join(self.features),
            "layers": ",".join(map(str, self.layers)) if self.layers else "none",
            "act": self.act,
            "lr": format_number(self.lr),
            "l2": format_number(self.l2),
            "batch": str(self.batch),
            "dropout": format_number(self.dropout),
            "init": self.init,
            "seed": str(self.seed),
            "classes": str(self.classes),
            "points": str(self.points),
        }
        return " ".join(f"{k}={v}" for k, v in values.items())

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def parse(cls, text: str) -> PlaygroundConfig:
        """Read a configuration string such as ``"data=xor features=x1x2 layers=none"``.

        Pairs are separated by spaces (or ``;``), in any order; missing keys keep their default.

        Raises:
            TypeError: ``text`` is not a string.
            ValueError: a token without ``=``, an unknown or repeated key, or a bad value; the
                message names the key and value and lists what is allowed.
        """
        if not isinstance(text, str):
            raise TypeError(f"playground config must be a string, got {type(text).__name__}")
        keys = [f.name for f in dataclasses.fields(cls)]
        values: dict[str, Any] = {}
        for token in text.replace(";", " ").split():
            key, sep, raw = token.partition("=")
            key = key.strip().lower()
            if not sep:
                raise ValueError(
                    f"playground config: {token!r} is not key=value; valid keys: {', '.join(keys)}"
                )
            if key not in keys:
                raise ValueError(
                    f"playground config: unknown key {key!r} (in {token!r}); valid keys: "
                    f"{', '.join(keys)}"
                )
            if key in values:
                raise ValueError(f"playground config: key {key!r} is given twice")
            values[key] = cls._convert(key, raw)
        return cls(**values)

    @staticmethod
    def _convert(key: str, raw: str) -> Any:
        """Turn the text of one value into the type of its field; text that does not convert
        is passed on as it is, and the range check names what was expected."""
        kind = {f.name: f.type for f in dataclasses.fields(PlaygroundConfig)}[key]
        try:
            return {"float": float, "int": int}.get(kind, str)(raw)
        except ValueError:
            return raw

    def replace(self, **changes: Any) -> PlaygroundConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def n_outputs(self) -> int:
        """Output units: 1 (a logit) for two classes, ``C`` (softmax logits) for more."""
        return 1 if self.classes == 2 else self.classes

    @property
    def sizes(self) -> list[int]:
        """Layer widths of the network, ``[D, H1, ..., out]``."""
        return [len(self.features), *self.layers, self.n_outputs]


def as_config(config: PlaygroundConfig | str) -> PlaygroundConfig:
    """``config`` itself, or the configuration that its string describes (see
    :meth:`PlaygroundConfig.parse`)."""
    return PlaygroundConfig.parse(config) if isinstance(config, str) else config


DEFAULT_CONFIG = PlaygroundConfig()
"""Spirals, 500 points, a 2-8-8-1 tanh network: the benchmark configuration."""

PRESETS: dict[str, str] = {
    "XOR: one product feature, no hidden layer": (
        "data=xor noise=0.1 features=x1x2 layers=none lr=0.03 batch=10"
    ),
    "Circles: squared features, no hidden layer": (
        "data=circles noise=0.1 features=x1^2,x2^2 layers=none lr=0.03 batch=10"
    ),
    "Circles: raw features, 3 hidden units": (
        "data=circles noise=0.1 features=x1,x2 layers=3 act=tanh lr=0.1 batch=10"
    ),
    "Spirals: raw features, 2 tanh layers": (
        "data=spirals noise=0.05 features=x1,x2 layers=8,8 act=tanh lr=0.1 batch=10"
    ),
    "Spirals: sin features, 1 layer": (
        "data=spirals noise=0.05 features=x1,x2,sinx1,sinx2 layers=8 act=tanh lr=0.03 batch=10"
    ),
    "Gaussians: 3 classes, softmax": (
        "data=gaussians classes=3 noise=0.3 features=x1,x2 layers=4 act=relu lr=0.03 batch=10"
    ),
    "Moons: 50 training points, no regularisation": (
        "data=moons noise=0.3 split=0.1 features=x1,x2 layers=8,8,8 act=relu lr=0.1 batch=10"
    ),
    "Moons: 50 training points, L2 = 0.03": (
        "data=moons noise=0.3 split=0.1 features=x1,x2 layers=8,8,8 act=relu lr=0.1 batch=10 "
        "l2=0.03"
    ),
}
"""The curated runs of the chapter: name -> configuration string (validated at import)."""

PRESET_CONFIGS = {name: PlaygroundConfig.parse(text) for name, text in PRESETS.items()}
"""The presets parsed: name -> :class:`PlaygroundConfig`."""
