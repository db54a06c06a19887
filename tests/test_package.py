"""The public surface of nnlib: every name of the design's table exists, is documented, and
``import nnlib`` stays numpy-only."""

import importlib
import inspect
import subprocess
import sys

import pytest

import nnlib

# The design's table (../shared/design.md), module by module. widgets and grading are checked
# by their own suites.
DESIGN_NAMES = {
    "neurons": "step ThresholdNeuron AND OR NOT NAND xor_two_layer xor_with_feature truth_table",
    "perceptron": "Perceptron",
    "functional": "sigmoid log_sigmoid softplus softmax log_softmax relu leaky_relu elu tanh "
    "softsign one_hot",
    "modules": "Module Parameter Linear Identity Sigmoid Tanh ReLU LeakyReLU ELU Softplus "
    "Softsign Step Softmax Dropout Sequential MLP",
    "losses": "MSELoss MAELoss BCELoss BCEWithLogitsLoss CrossEntropyLoss",
    "optim": "SGD Adam",
    "init": "zeros normal xavier_uniform xavier_normal he_normal",
    "gradcheck": "numerical_gradient rel_error check_module check_loss",
    "autograd": "Value draw_graph",
    "regression": "LinearRegression LogisticRegression",
    "data": "make_xor make_and make_circles make_moons make_spirals make_blobs "
    "make_regression_1d train_test_split load_digits",
    "train": "fit History",
    "viz": "plot_decision_boundary plot_history plot_activation plot_truth_table",
}
PAIRS = [(mod, name) for mod, names in DESIGN_NAMES.items() for name in names.split()]


@pytest.mark.parametrize(("module", "name"), PAIRS, ids=[f"{m}.{n}" for m, n in PAIRS])
def test_design_name_exists_with_docstring(module, name):
    mod = importlib.import_module(f"nnlib.{module}")
    assert name in mod.__all__, f"nnlib.{module}.__all__ does not list {name}"
    obj = getattr(mod, name)
    if callable(obj) and not isinstance(obj, nnlib.ThresholdNeuron):
        doc = inspect.getdoc(obj) or ""
        assert len(doc) > 40, f"nnlib.{module}.{name} needs a real docstring, got {doc!r}"


@pytest.mark.parametrize("module", sorted(DESIGN_NAMES))
def test_every_public_name_of_a_module_is_documented(module):
    mod = importlib.import_module(f"nnlib.{module}")
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"nnlib.{module}.{name} has no docstring"


def test_top_level_exports_resolve():
    for name in nnlib.__all__:
        assert getattr(nnlib, name) is not None
    assert nnlib.plot_history is importlib.import_module("nnlib.viz").plot_history


def test_unknown_attribute_is_a_clear_error():
    with pytest.raises(AttributeError, match="no attribute 'MPL'"):
        nnlib.MPL  # noqa: B018


def test_import_nnlib_loads_neither_matplotlib_nor_ipywidgets():
    code = (
        "import sys, nnlib; "
        "bad = [m for m in ('matplotlib', 'ipywidgets', 'tqdm') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import nnlib loaded {out.stdout.strip()}"


def test_no_nnlib_module_loads_the_grader_nbgrader_or_dask():
    """Students (and the in-browser book) install nnlib alone: none of it needs the grader."""
    code = (
        "import importlib, pkgutil, sys, nnlib\n"
        "for m in pkgutil.walk_packages(nnlib.__path__, 'nnlib.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in ('nngrader', 'nbgrader', 'distributed', 'dask', 'nbclient')\n"
        "       if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing nnlib's modules loaded {out.stdout.strip()}"


@pytest.mark.slow
def test_nnlib_wheel_holds_no_grader_code(tmp_path):
    """The wheel built from the checkout's pyproject is the library alone."""
    import shutil
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"  # a copy: setuptools' build/ folder stays out of the checkout
    shutil.copytree(root, src, ignore=shutil.ignore_patterns(".venv", "_build", ".git", "*.db"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", tmp_path / "wheels", src],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "wheels").glob("nnlib-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("nnlib/grading/") for n in names)
    tops = {n.split("/")[0] for n in names if not n.startswith("nnlib-")}
    assert tops == {"nnlib"}, f"the nnlib wheel holds {sorted(tops - {'nnlib'})}"
