"""Hypothesis strategies shared by the nnlib test suites.

Shapes are kept small (gradient checks cost two forward passes per element) and arrays are
float64 in a moderate range, optionally pushed away from the kinks of ReLU-like functions so
that finite differences are meaningful.

Typical use::

    from tests.strategies import FAST, arrays, matrix_shapes

    @FAST
    @given(data=st.data(), shape=matrix_shapes())
    def test_something(data, shape):
        X = data.draw(arrays(shape, away_from=(0.0,)))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "FAST",
    "arrays",
    "batch_sizes",
    "feature_sizes",
    "json_values",
    "labels",
    "matrix_shapes",
    "notebook_documents",
    "protocol_messages",
    "seeds",
    "shapes",
]

FAST = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Settings for property tests that run gradient checks: no deadline, no size health checks.
The number of examples comes from the profile loaded in ``conftest.py`` (25, or 50 on CI)."""

batch_sizes = st.integers(min_value=1, max_value=6)
"""Batch sizes ``N``, including 1 (the edge case where sums and means coincide)."""

feature_sizes = st.integers(min_value=1, max_value=5)
"""Feature counts ``D``/``H``/``C``, independent of each other so shapes are non-square."""

seeds = st.integers(min_value=0, max_value=2**32 - 1)
"""Seeds for ``np.random.default_rng``."""


def matrix_shapes(
    min_rows: int = 1, max_rows: int = 6, min_cols: int = 1, max_cols: int = 5
) -> st.SearchStrategy[tuple[int, int]]:
    """Shapes ``(N, D)`` of a batch of feature vectors."""
    return st.tuples(
        st.integers(min_value=min_rows, max_value=max_rows),
        st.integers(min_value=min_cols, max_value=max_cols),
    )


def shapes(
    min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes of any rank in ``[min_dims, max_dims]`` (elementwise functions)."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def _push_away(x: np.ndarray, points: Sequence[float], margin: float) -> np.ndarray:
    for p in points:
        near = np.abs(x - p) < margin
        # Reflect onto the far side of the margin, keeping the sign relative to the kink.
        x = np.where(near, p + np.where(x >= p, margin, -margin), x)
    return x


def arrays(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
    low: float = -3.0,
    high: float = 3.0,
    away_from: Sequence[float] = (),
    margin: float = 0.05,
    dtype: type = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    """Finite arrays with elements in ``[low, high]``, none within ``margin`` of ``away_from``.

    Args:
        shape: a shape or a strategy for shapes.
        low: smallest element.
        high: largest element.
        away_from: kink locations to avoid (``(0.0,)`` for ReLU, LeakyReLU, ELU, Step).
        margin: minimum distance from each kink; much larger than the 1e-6 probe.
        dtype: element dtype (float64 by default; float32 to test acceptance).
    """
    elements = st.floats(
        min_value=low,
        max_value=high,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
        width=32 if dtype == np.float32 else 64,
    )
    strategy = hnp.arrays(dtype=dtype, shape=shape, elements=elements)
    if away_from:
        strategy = strategy.map(lambda x: _push_away(x, away_from, margin).astype(dtype))
    return strategy


def labels(n: int, num_classes: int) -> st.SearchStrategy[np.ndarray]:
    """Integer class labels of shape ``(n,)`` in ``[0, num_classes)``."""
    return hnp.arrays(
        dtype=np.int64, shape=(n,), elements=st.integers(min_value=0, max_value=num_classes - 1)
    )


# --- submitted notebooks (the grader's planner is fuzzed with these) ------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
"""Any JSON value: what a hostile notebook puts where the grader expects something else."""


def _cell_sources(grade_ids: Sequence[str]) -> st.SearchStrategy[str]:
    deep = st.integers(1, 3000).map(lambda n: "x = a" + ".b" * n)  # RecursionError in ast
    minus = st.integers(1, 200_000).map(lambda n: "x = " + "-" * n + "1")  # MemoryError in ast
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            ["def sigmoid(z):\n    return z", "import numpy as np", "%matplotlib inline"]
        ),
        deep,
        minus,
        st.sampled_from(grade_ids).map(lambda g: f"def {g}(x):\n    return x"),
    )


def notebook_documents(grade_ids: Sequence[str]) -> st.SearchStrategy[dict]:
    """Submitted notebooks as JSON documents: mostly the right shape, with every part wrong.

    Cells claim ``grade_ids`` (known ones, repeated, unknown ones, of the wrong type), carry
    ``grade: true`` without a ``grade_id``, metadata of every type, and sources that parse,
    that do not, and that make Python's parser raise ``RecursionError`` or ``MemoryError``.
    """
    gid = st.one_of(st.sampled_from(list(grade_ids)), st.text(max_size=8), _json_values)
    nbgrader = st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "grade_id": gid,
                "grade": st.one_of(st.booleans(), _json_values),
                "solution": st.one_of(st.booleans(), _json_values),
                "locked": st.one_of(st.booleans(), _json_values),
                "task": st.one_of(st.booleans(), _json_values),
                "points": st.one_of(st.integers(-5, 5), _json_values),
                "schema_version": st.one_of(st.just(3), _json_values),
            },
        ),
        _json_values,
    )
    metadata = st.one_of(st.fixed_dictionaries({}, optional={"nbgrader": nbgrader}), _json_values)
    cell = st.fixed_dictionaries(
        {
            "cell_type": st.one_of(st.sampled_from(["code", "markdown", "raw"]), _json_values),
            "source": st.one_of(
                _cell_sources(grade_ids), st.lists(st.text(max_size=10), max_size=3), _json_values
            ),
        },
        optional={
            "metadata": metadata,
            "outputs": st.one_of(st.just([]), _json_values),
            "execution_count": st.one_of(st.none(), _json_values),
            "id": st.one_of(st.text(min_size=1, max_size=8), _json_values),
            "attachments": _json_values,
        },
    )
    return st.fixed_dictionaries(
        {
            "nbformat": st.one_of(st.just(4), _json_values),
            "nbformat_minor": st.one_of(st.just(5), _json_values),
            "cells": st.one_of(st.lists(cell, max_size=8), _json_values),
        },
        optional={"metadata": st.one_of(st.just({}), _json_values)},
    )


# --- the grader's protocol (nngrader.protocol): what a hostile sandbox could send -----------

#: Any JSON value, nested a little (the reader's limits are tested with explicit cases).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)

_STATUSES = st.sampled_from(["ok", "error", "ended", "ready", "spawned", "status", "killed", "?"])
_KEYS = st.sampled_from(
    [
        "status",
        "outputs",
        "error",
        "reason",
        "tamper",
        "reference",
        "value",
        "lost",
        "idx",
        "nonce",
        "forks",
        "why",
        "pid",
        "returncode",
        "output_type",
        "name",
        "text",
        "data",
    ]
)


def protocol_messages() -> st.SearchStrategy[dict]:
    """Reply-shaped objects: the keys the host reads, with values of any JSON type."""
    output = st.dictionaries(
        st.sampled_from(["output_type", "name", "text", "data", "metadata", "ename", "evalue"]),
        st.sampled_from(["stream", "stdout", "stderr", "error", "display_data"]) | json_values,
        max_size=5,
    )
    value = json_values | st.lists(output, max_size=3)
    return st.fixed_dictionaries(
        {"status": _STATUSES}, optional={"nonce": st.text(max_size=40)}
    ).flatmap(
        lambda base: st.dictionaries(_KEYS, value, max_size=6).map(lambda extra: {**extra, **base})
    )
