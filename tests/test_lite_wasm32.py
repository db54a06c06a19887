"""nnlib on wasm32 (Pyodide), where ``np.intp`` is 32-bit: index arrays must be castable to it.

numpy cannot be made 32-bit here, so ``tests/wasm32.py`` makes the numpy functions that cast
their index argument to ``np.intp`` "safely" refuse what a 32-bit numpy refuses (int64 arrays).
nnlib's dtype-sensitive tests then run again under that rule; the browser tests in
test_lite.py run the real thing (chapter 9 counts labels, a1 trains a perceptron).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import wasm32
from book_build import ROOT

import nnlib
from nnlib.train import confusion_matrix

# The test modules whose code paths handle integer labels and index arrays.
DTYPE_SENSITIVE = ["test_train.py", "test_data.py", "test_losses.py", "test_functional.py",
                   "test_perceptron.py", "test_viz.py"]  # fmt: skip


@pytest.fixture
def intp32() -> Iterator[None]:
    wasm32.install()
    yield
    wasm32.uninstall()


def test_the_rule_refuses_int64_indices_like_wasm32(
    intp32: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wasm32, "CHECKED_PACKAGES", {"nnlib", __name__.split(".")[0]})
    with pytest.raises(TypeError, match=r"int64.*int32.*safe"):
        np.bincount(np.array([0, 1, 1], dtype=np.int64))
    assert np.bincount(np.array([0, 1, 1], dtype=np.int32)).tolist() == [1, 2]
    assert np.bincount([0, 1, 1]).tolist() == [1, 2]  # a list of Python ints is fine


def test_confusion_matrix_counts_int64_labels_with_a_32_bit_intp(intp32: None) -> None:
    _, y = nnlib.load_digits()
    assert y.dtype == np.int64
    m = confusion_matrix(y, y)
    assert m.dtype == np.int64 and m.trace() == len(y) and m.shape == (10, 10)


@pytest.mark.slow
def test_nnlib_dtype_sensitive_suite_passes_with_a_32_bit_intp(tmp_path: Path) -> None:
    # A fixed Hypothesis seed and an empty example database (in tmp_path): the same examples
    # as the plain run, so a failure here is the 32-bit rule's.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "wasm32", "-p", "no:cacheprovider",
         "--hypothesis-seed=0", "--rootdir", ROOT, *(ROOT / "tests" / n for n in DTYPE_SENSITIVE)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
