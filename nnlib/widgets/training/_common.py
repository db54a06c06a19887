"""What the figures of chapters 9 and 11 share: the colours of the two classes and of the
probability bands, and two small helpers (mark the artists an update moves, lay a grid over the
plane).

Private: used by the modules of :mod:`nnlib.widgets.training` and, for :func:`_animate`, by
:mod:`nnlib.widgets.autoencoders`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap

from nnlib.viz import PALETTE

_C0, _C1 = PALETTE[0], PALETTE[1]  # class 0 blue, class 1 red, as in nnlib.viz
# The probability of class 1 in ten bands, from a light version of class 0's blue to a light
# version of class 1's red (light, so that the data points drawn over them stand out).
_BANDS = ListedColormap(
    [
        "#8fb6dc",
        "#a8c6e4",
        "#c1d7ec",
        "#d9e6f3",
        "#f0f5fa",
        "#fbf0f0",
        "#f5d6d6",
        "#efbcbc",
        "#e8a2a2",
        "#e28888",
    ]
)
_BAND_NORM = BoundaryNorm(np.linspace(0, 1, 11), _BANDS.N)


def _square_grid(lo: float, hi: float, n: int) -> np.ndarray:
    """The ``n * n`` points of a grid over ``[lo, hi]^2``, shape ``(n * n, 2)``, row by row."""
    t = np.linspace(lo, hi, n)
    xx, yy = np.meshgrid(t, t)
    return np.column_stack([xx.ravel(), yy.ravel()])
