"""nngrader's two halves: the sandbox half never imports the host half."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nngrader"
SANDBOX_SIDE = [*sorted((PACKAGE / "sandbox").glob("*.py")), PACKAGE / "protocol.py"]


def _imports(path: Path) -> set[str]:
    """Every module an ``import`` or ``from ... import`` anywhere in the file names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", SANDBOX_SIDE, ids=lambda p: p.name)
def test_sandbox_half_imports_nothing_of_the_host_half(path: Path) -> None:
    host = sorted(
        n for n in _imports(path) if n == "nngrader.host" or n.startswith("nngrader.host.")
    )
    assert host == [], f"{path.name} imports {host}"


def test_the_walk_sees_a_host_import() -> None:
    """The check above reads function-level imports too (a planted one is found)."""
    planted = ast.parse("def f():\n    from nngrader.host import pipeline\n")
    found = {
        f"{n.module}.{a.name}"
        for n in ast.walk(planted)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    assert "nngrader.host.pipeline" in found
    assert any(n.startswith("nngrader.host") for n in _imports(PACKAGE / "host" / "engine.py"))


def test_importing_the_sandbox_half_loads_no_host_module_nor_nbgrader() -> None:
    code = (
        "import sys\n"
        "import nngrader.sandbox.worker, nngrader.sandbox.judge, nngrader.sandbox.zygote\n"
        "import nngrader.sandbox.remote, nngrader.protocol\n"
        "bad = ('nngrader.host', 'nbgrader', 'distributed')\n"
        "print(sorted(m for m in sys.modules if m.startswith(bad)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
