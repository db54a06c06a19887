"""The per-assignment reference policy: one declaration that every reader shares."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from nnlib import grading
from nnlib.grading import policy

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


def _resolve(dotted: str) -> object:
    try:
        return importlib.import_module(dotted)
    except ImportError:
        module, _, attr = dotted.rpartition(".")
        return getattr(importlib.import_module(module), attr)


def test_every_assignment_declares_a_policy_and_only_those() -> None:
    assert sorted(policy.POLICIES) == ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_forbidden_and_allowed_name_exists(assignment: str) -> None:
    declared = policy.policy_for(assignment)
    for dotted in (*declared.names, *declared.allowed):
        assert _resolve(dotted) is not None, dotted


def test_the_checks_forbid_exactly_what_the_policy_declares() -> None:
    bundles = {
        "a1_neurons": grading.neurons.NEURON_REFERENCES,
        "a2_regression": grading.regression.REGRESSION_REFERENCES,
        "a3_autograd": grading.autograd.AUTOGRAD_REFERENCES,
        "a4_layers": grading.layers.LAYER_REFERENCES,
        "a5_mlp": grading.mlp.MLP_REFERENCES,
    }
    for assignment, forbidden in bundles.items():
        assert tuple(forbidden) == policy.policy_for(assignment).forbidden, assignment


def test_grading_reference_answers_are_always_forbidden() -> None:
    assert all(policy.GRADING_REFERENCE in p.names for p in policy.POLICIES.values())


def test_unknown_assignment_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"no reference policy for assignment 'a9'.*a1_neurons"):
        policy.policy_for("a9")


def test_readme_table_names_each_forbidden_module() -> None:
    readme = (ROOT / "README.md").read_text()
    for assignment, declared in policy.POLICIES.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{assignment}`"))
        for dotted in declared.forbidden:
            module = ".".join(dotted.split(".")[:2])  # nnlib.<module>
            assert module in row, f"README's row of {assignment} does not name {module}"
