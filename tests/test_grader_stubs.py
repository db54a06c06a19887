"""The nnlib a student's sandbox gets (nngrader.host.stubs): forbidden names are stubs.

Each assignment's policy (nnlib.grading.policy) is applied to a copy of the nnlib package:
every module still imports, what the notebooks legitimately import still works, each
forbidden name raises ``ReferenceUsedError`` and its source is not in the copy. The copy is
built once per (nnlib, policy) in a folder only the grader may write to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nngrader.host import stubs
from nnlib.grading import policy

#: What each assignment's notebook imports from nnlib, and must keep working.
LEGITIMATE = {
    "a1_neurons": ["nnlib.data.make_xor", "nnlib.viz.plot_truth_table"],
    "a2_regression": ["nnlib.data.make_regression_1d", "nnlib.functional.relu"],
    "a3_autograd": ["nnlib.autograd.draw_graph"],
    "a4_layers": [
        "nnlib.modules.Module",
        "nnlib.modules.Parameter",
        "nnlib.gradcheck.check_module",
        "nnlib.gradcheck.check_loss",
    ],
    "a5_mlp": [
        "nnlib.losses.CrossEntropyLoss",
        "nnlib.optim.Optimizer",
        "nnlib.train.fit",
        "nnlib.data.load_digits",
        "nnlib.data.train_test_split",
        "nnlib.modules.Module",
    ],
}

PROBE = """
import importlib, json, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import nnlib
assert nnlib.__file__.startswith(sys.argv[1]), nnlib.__file__
for m in pkgutil.walk_packages(nnlib.__path__, 'nnlib.'):
    importlib.import_module(m.name)
def get(dotted):
    module, _, name = dotted.rpartition('.')
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return importlib.import_module(dotted)
def tried(dotted):
    try:
        get(dotted)(*[1] * 0)
        return 'works'
    except Exception as exc:
        return type(exc).__name__
out = {'legit': {d: get(d) is not None for d in json.loads(sys.argv[2])},
       'forbidden': {d: tried(d) for d in json.loads(sys.argv[3])}}
print(json.dumps(out))
"""


def callable_names(dotted: str) -> list[str]:
    """Functions and classes a forbidden name stands for (every public one of a module)."""
    import importlib
    import inspect

    try:
        module = importlib.import_module(dotted)
    except ImportError:
        return [dotted]
    return [
        f"{dotted}.{n}"
        for n, v in vars(module).items()
        if not n.startswith("_")
        and (inspect.isfunction(v) or inspect.isclass(v))
        and getattr(v, "__module__", "") == dotted
    ]


@pytest.mark.parametrize("assignment", sorted(policy.POLICIES))
def test_every_module_imports_and_only_the_forbidden_names_raise(assignment):
    forbidden, allowed = stubs.for_assignment(assignment)
    path = stubs.stubbed_nnlib(forbidden, allowed)
    names = [n for f in forbidden for n in callable_names(f) if n not in allowed]
    names = [n for n in names if not n.endswith(("Warning", "Error"))]
    argv = [sys.executable, "-c", PROBE, os.path.dirname(path)]
    argv += [json.dumps(LEGITIMATE[assignment]), json.dumps(names)]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert all(out["legit"].values()), out["legit"]
    assert names and set(out["forbidden"].values()) == {"ReferenceUsedError"}, out["forbidden"]


def test_a_forbidden_functions_source_is_not_in_the_copy():
    path = stubs.stubbed_nnlib(*stubs.for_assignment("a1_neurons"))
    with open(os.path.join(path, "neurons.py")) as f:
        text = f.read()
    with open(os.path.join(stubs.nnlib_dir(), "neurons.py")) as f:
        real = f.read()
    assert "def step(*args, **kwargs):" in text and "_nnlib_reference_used" in text
    body = real[real.index("def step(") :].split("\ndef ")[0].split("\n")[-3:]
    assert not any(line.strip() and line in text for line in body if "return" in line)
    assert not any(name.endswith(".pyc") for name in os.listdir(path))  # (in __pycache__)


def test_copies_are_cached_by_content_and_policy():
    a1 = stubs.stubbed_nnlib(*stubs.for_assignment("a1_neurons"))
    assert stubs.stubbed_nnlib(*stubs.for_assignment("a1_neurons")) == a1
    assert stubs.stubbed_nnlib(*stubs.for_assignment("a4_layers")) != a1


def test_a_cache_folder_others_may_write_to_is_refused(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    monkeypatch.setenv("NNLIB_GRADER_STUBS", str(shared))
    with pytest.raises(RuntimeError, match="only it may write to"):
        stubs.stubbed_nnlib(*stubs.for_assignment("a3_autograd"))
