"""Small data sets for the book and the assignments, and a train/test split.

The toy generators return ``X`` of shape ``(N, 2)`` (float64, so the points can be plotted) and
integer labels ``y`` of shape ``(N,)`` (int64, values ``0 .. C-1``). They are deterministic
given ``seed`` (``np.random.default_rng(seed)``), split ``n`` as evenly as possible between the
classes, and return the points in a shuffled order so that any prefix is a fair sample.

:func:`load_digits` returns a real data set, the 8x8 handwritten digits, from a file shipped
inside the package (``nnlib/datasets/digits.csv.gz``; see ``nnlib/datasets/README.md`` for its
provenance and licence); nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnlib._validation import as_array, check_positive, describe

__all__ = [
    "load_digits",
    "make_and",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression_1d",
    "make_spirals",
    "make_xor",
    "train_test_split",
]

_DATASETS = Path(__file__).parent / "datasets"
_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])

Seed = int | np.random.Generator | None


def _check_n(n: object, minimum: int, why: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {describe(n)} {n!r}")
    if n < minimum:
        raise ValueError(f"n must be an int >= {minimum} ({why}), got {n}")
    return int(n)


def _split_evenly(n: int, k: int) -> np.ndarray:
    """Sizes of ``k`` groups that add up to ``n``; the first ``n % k`` get one extra."""
    return np.full(k, n // k) + (np.arange(k) < n % k)


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray) -> tuple:
    order = rng.permutation(len(y))
    return X[order], y[order].astype(np.int64)


def _noisy_corners(n: int, noise: float, labels: np.ndarray, seed: Seed) -> tuple:
    rng = np.random.default_rng(seed)
    corner = np.repeat(np.arange(4), _split_evenly(n, 4))
    X = _CORNERS[corner] + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, labels[corner])


def make_xor(n: int = 200, noise: float = 0.1, seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of the four corners of the unit square, labelled by XOR.

    Corners (0,0) and (1,1) have label 0, (0,1) and (1,0) label 1; each point is its corner
    plus Gaussian noise of standard deviation ``noise``. No line separates the classes.

    Args:
        n: number of points N, at least 4 (split evenly between the corners).
        noise: standard deviation of the Gaussian noise, >= 0.
        seed: seed for ``np.random.default_rng`` (or a Generator).

    Returns:
        ``(X, y)``: float64 array of shape ``(N, 2)`` and int64 labels of shape ``(N,)``.

    Raises:
        ValueError: ``n < 4`` or ``noise < 0``.
    """
    n = _check_n(n, 4, "one point per corner")
    noise = check_positive("noise", noise, allow_zero=True)
    return _noisy_corners(n, noise, np.array([0, 1, 1, 0]), seed)


def make_and(n: int = 200, noise: float = 0.1, seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of the four corners of the unit square, labelled by AND.

    Only the corner (1, 1) has label 1, so about a quarter of the points are positive. With
    small noise (below about 0.15) the classes are almost surely separable by a line.

    Args:
        n: number of points N, at least 4 (split evenly between the corners).
        noise: standard deviation of the Gaussian noise, >= 0.
        seed: seed for ``np.random.default_rng`` (or a Generator).

    Returns:
        ``(X, y)``: float64 array of shape ``(N, 2)`` and int64 labels of shape ``(N,)``.

    Raises:
        ValueError: ``n < 4`` or ``noise < 0``.
    """
    n = _check_n(n, 4, "one point per corner")
    noise = check_positive("noise", noise, allow_zero=True)
    return _noisy_corners(n, noise, np.array([0, 0, 0, 1]), seed)


def make_circles(
    n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: the outer one (radius 1) is class 0, the inner one class 1.

    Args:
        n: number of points N, at least 2.
        noise: standard deviation of the Gaussian noise added to each coordinate, >= 0.
        factor: radius of the inner circle relative to the outer one, in (0, 1).
        seed: seed for ``np.random.default_rng`` (or a Generator).

    Returns:
        ``(X, y)``: float64 array of shape ``(N, 2)`` and int64 labels of shape ``(N,)``.

    Raises:
        ValueError: ``n < 2``, ``noise < 0`` or ``factor`` outside (0, 1).
    """
    n = _check_n(n, 2, "one point per class")
    noise = check_positive("noise", noise, allow_zero=True)
    factor = check_positive("factor", factor)
    if factor >= 1:
        raise ValueError(f"factor must lie in (0, 1) (inner radius / outer radius), got {factor}")
    rng = np.random.default_rng(seed)
    sizes = _split_evenly(n, 2)
    y = np.repeat([0, 1], sizes)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X += noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def make_moons(
    n: int = 200, noise: float = 0.1, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as in scikit-learn's ``make_moons``).

    Class 0 is the upper arc ``(cos t, sin t)``, class 1 the lower arc
    ``(1 - cos t, 1/2 - sin t)``, for ``t`` uniform in ``[0, pi]``.

    Args:
        n: number of points N, at least 2.
        noise: standard deviation of the Gaussian noise added to each coordinate, >= 0.
        seed: seed for ``np.random.default_rng`` (or a Generator).

    Returns:
        ``(X, y)``: float64 array of shape ``(N, 2)`` and int64 labels of shape ``(N,)``.

    Raises:
        ValueError: ``n < 2`` or ``noise < 0``.
    """
    n = _check_n(n, 2, "one point per class")
    noise = check_positive("noise", noise, allow_zero=True)
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], _split_evenly(n, 2))
    t = rng.uniform(0.0, np.pi, n)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where((y == 0)[:, None], upper, lower) + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def make_spirals(
    n: int = 200, noise: float = 0.05, n_turns: float = 1.5, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spiral arms, one per class (the hard case of TensorFlow Playground).

    Arm ``k`` (k = 0, 1) is ``r (cos(2 pi n_turns r + k pi), sin(...))`` for radii ``r``
    spread evenly over (0, 1]: the second arm is the first one turned by half a circle.

    Args:
        n: number of points N, at least 2.
        noise: standard deviation of the Gaussian noise added to each coordinate, >= 0.
            Neighbouring arms are ``1 / (2 n_turns)`` apart, so keep ``noise`` well below that.
        n_turns: how many full turns each arm makes, > 0.
        seed: seed for ``np.random.default_rng`` (or a Generator).

    Returns:
        ``(X, y)``: float64 array of shape ``(N, 2)`` (inside the disc of radius about 1) and
        int64 labels of shape ``(N,)``.

    Raises:
        ValueError: ``n < 2``, ``noise < 0`` or ``n_turns <= 0``.
    """
    n = _check_n(n, 2, "one point per class")
    noise = check_positive("noise", noise, allow_zero=True)
    n_turns = check_positive("n_turns", n_turns)
    rng = np.random.default_rng(seed)
    sizes = _split_evenly(n, 2)
    y = np.repeat([0, 1], sizes)
    # Start slightly off the centre, where both arms meet and the labels would be ambiguous.
    r = np.concatenate([np.linspace(0.05, 1.0, s) for s in sizes])
    angle = 2 * np.pi * n_turns * r + np.pi * y
    X = r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X += noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def make_blobs(
    n: int = 200, centers: int | object = 2, std: float = 1.0, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs, one class per centre.

    Args:
        n: number of points N, at least the number of centres K.
        centers: either an int K >= 1, which places K centres evenly on the circle of radius 4
            around the origin (for K = 2: (4, 0) and (-4, 0), so blobs with ``std=1`` are
            practically always linearly separable), or an array of shape ``(K, D)`` of centres.
        std: standard deviation of each blob, > 0 (a number, or one per centre of shape
            ``(K,)``).
        seed: seed for ``np.random.default_rng`` (or a Generator).

    Returns:
        ``(X, y)``: float64 array of shape ``(N, D)`` (D = 2 for an int ``centers``) and int64
        labels of shape ``(N,)`` with values ``0 .. K-1`` (the index of the centre).

    Raises:
        ValueError: bad ``centers``, ``std <= 0`` or ``n < K``.
    """
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"centers must be an int >= 1 or a (K, D) array, got {centers}")
        angle = 2 * np.pi * np.arange(centers) / centers
        C = 4.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    else:
        C = np.asarray(as_array(centers, "centers", ndim=2, finite=True), dtype=np.float64)
        if C.shape[0] == 0 or C.shape[1] == 0:
            raise ValueError(f"centers must be a non-empty (K, D) array, got shape {C.shape}")
    k, d = C.shape
    std_arr = np.asarray(as_array(std, "std", ndim=(0, 1), finite=True), dtype=np.float64)
    if std_arr.ndim == 1 and std_arr.shape != (k,):
        raise ValueError(f"std must be a number or have shape ({k},), got shape {std_arr.shape}")
    if (std_arr <= 0).any():
        raise ValueError(f"std must be > 0, got {std_arr.tolist()}")
    n = _check_n(n, k, f"at least one point for each of the {k} centres")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), _split_evenly(n, k))
    scale = np.broadcast_to(std_arr, (k,))[y]
    X = C[y] + scale[:, None] * rng.standard_normal((n, d))
    return _shuffled(rng, X, y)


def make_regression_1d(
    n: int = 100,
    noise: float = 0.1,
    seed: Seed = None,
    fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of a function of one variable, for regression.

    ``x`` is uniform in [-1, 1] and ``y = fn(x) + noise * eps`` with standard normal ``eps``.

    Args:
        n: number of points N, >= 1.
        noise: standard deviation of the noise on ``y``, >= 0.
        seed: seed for ``np.random.default_rng`` (or a Generator).
        fn: the true function, mapping an array of shape ``(N,)`` to one of shape ``(N,)``;
            by default the line ``y = 2 x + 1`` (slope 2, intercept 1).

    Returns:
        ``(X, y)``: float64 arrays of shapes ``(N, 1)`` (a one-column design matrix) and
        ``(N,)``.

    Raises:
        ValueError: ``n < 1``, ``noise < 0``, or ``fn`` returns the wrong shape.
        TypeError: ``fn`` is not callable.
    """
    n = _check_n(n, 1, "at least one point")
    noise = check_positive("noise", noise, allow_zero=True)
    if fn is not None and not callable(fn):
        raise TypeError(f"fn must be callable or None, got {describe(fn)}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    clean = 2.0 * x + 1.0 if fn is None else fn(x.copy())
    clean = np.asarray(as_array(clean, "fn(x)", finite=True), dtype=np.float64)
    if clean.shape != (n,):
        raise ValueError(f"fn must map shape ({n},) to shape ({n},), got shape {clean.shape}")
    y = clean + noise * rng.standard_normal(n)
    return x[:, None], y


def train_test_split(
    X: object,
    y: object,
    test_size: float | int = 0.25,
    seed: Seed = None,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X`` and ``y`` into random train and test parts.

    Args:
        X: array of shape ``(N, ...)``, N >= 2.
        y: array of shape ``(N, ...)``, the same number of rows.
        test_size: a fraction in (0, 1) (the test part gets ``ceil(test_size * N)`` rows) or
            an int number of test rows in [1, N - 1].
        seed: seed for ``np.random.default_rng`` (or a Generator).
        stratify: keep the class proportions of the labels ``y`` (1-D) in both parts: each
            class contributes ``round(test_size * N_class)`` rows to the test part (at least 1
            and at most ``N_class - 1``), so the test size may differ by a few rows from the
            unstratified one.

    Returns:
        ``(X_train, X_test, y_train, y_test)``: rows of ``X`` and ``y`` (copies, dtypes kept),
        each part in random order; every row lands in exactly one part.

    Raises:
        ValueError: different numbers of rows, ``N < 2``, a bad ``test_size``, or (with
            ``stratify``) a class with fewer than 2 rows.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"X and y must be arrays with one row per sample, got shapes {X.shape} and {y.shape}"
        )
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(
            f"X and y must have the same number of rows (samples), got {n} and {y.shape[0]}"
        )
    if n < 2:
        raise ValueError(f"need at least 2 rows to split, got {n}")
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        if not 1 <= test_size <= n - 1:
            raise ValueError(f"test_size as an int must lie in [1, {n - 1}], got {test_size}")
        fraction, n_test = test_size / n, int(test_size)
    else:
        fraction = check_positive("test_size", test_size)
        if fraction >= 1:
            raise ValueError(
                f"test_size as a fraction must lie in (0, 1), got {test_size} (or pass an int "
                "number of rows)"
            )
        # round first: 0.3 * 10 is 3.0000000000000004, which must give 3 rows, not 4
        n_test = min(max(int(np.ceil(round(fraction * n, 9))), 1), n - 1)
    rng = np.random.default_rng(seed)
    if not stratify:
        order = rng.permutation(n)
        test_idx, train_idx = order[:n_test], order[n_test:]
    else:
        if y.ndim != 1:
            raise ValueError(f"stratify needs 1-D class labels y, got shape {y.shape}")
        test_parts, train_parts = [], []
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            rare = classes[np.argmin(counts)].item()
            raise ValueError(
                f"stratify needs at least 2 rows of every class, but class {rare!r} has "
                f"{counts.min()}"
            )
        for label, count in zip(classes, counts, strict=True):
            idx = rng.permutation(np.flatnonzero(y == label))
            k = min(max(round(fraction * count), 1), count - 1)
            test_parts.append(idx[:k])
            train_parts.append(idx[k:])
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


@functools.lru_cache(maxsize=1)
def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    path = _DATASETS / "digits.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(
            f"the digits data file is missing: {path}; nnlib ships it as package data "
            "(reinstall nnlib, e.g. pip install -e .)"
        )
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",", dtype=np.float64)
    X, y = data[:, :64], data[:, 64].astype(np.int64)
    # The cache hands out copies, but make the cached originals immutable all the same.
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits (UCI optical recognition data set, the test part).

    1797 grey-scale images of the digits 0-9 written by 13 people; each pixel counts the "on"
    pixels of a 4x4 block of the original 32x32 bitmap, so it is an integer from 0 to 16. The
    file ships with nnlib (see ``nnlib/datasets/README.md``); it is read once and cached.

    Returns:
        ``(X, y)``: a float64 array of shape ``(1797, 64)`` with values in [0, 16] (row ``i``
        is the image ``X[i].reshape(8, 8)``, row-major), and int64 labels of shape
        ``(1797,)`` with values 0-9. Both are fresh copies: modifying them is safe.

    Raises:
        FileNotFoundError: the data file is missing from the installed package.
    """
    X, y = _read_digits()
    return X.copy(), y.copy()
