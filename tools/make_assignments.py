"""Regenerate the student notebooks in ``assignments/`` from the sources in ``solutions/``.

``python tools/make_assignments.py [NAME ...]`` (``make assignments``) runs the real
``nbgrader generate_assignment`` for every assignment listed in ``nbgrader_config.py`` (or the
ones named), in a temporary copy of the course so that no gradebook or log lands in the
repository, and replaces ``assignments/<name>/`` with the result. nbgrader's output depends
only on the source notebook, so running it twice leaves the tree unchanged; CI checks that the
committed release equals a fresh generation.

``--check`` compares instead of writing and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import ast
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configured_assignments(root: Path = ROOT) -> list[str]:
    """The ``ASSIGNMENTS`` list of ``nbgrader_config.py``, read without executing the file."""
    tree = ast.parse((root / "nbgrader_config.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "ASSIGNMENTS" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise SystemExit("nbgrader_config.py defines no ASSIGNMENTS list")


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader: its helper executables (alembic) live beside Python."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``course``; raise with nbgrader's log if it fails."""
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_course(course: Path, names: list[str], root: Path = ROOT) -> None:
    """A throw-away course folder: the config and the sources of ``names``."""
    shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
    for name in names:
        shutil.copytree(root / "solutions" / name, course / "solutions" / name)


def generate(names: list[str], out: Path, root: Path = ROOT) -> None:
    """Generate the release of ``names`` into ``out/<name>/`` with nbgrader."""
    with tempfile.TemporaryDirectory(prefix="nnlib-course-") as tmp:
        course = Path(tmp)
        make_course(course, names, root)
        for name in names:
            nbgrader(course, "generate_assignment", name, "--force")
            target = out / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course / "assignments" / name, target)


def differences(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on either side included)."""
    cmp = filecmp.dircmp(a, b)
    out = [f"only in {a}: {n}" for n in cmp.left_only] + [
        f"only in {b}: {n}" for n in cmp.right_only
    ]
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    out += [f"differs: {n}" for n in mismatch + errors]
    for sub in cmp.common_dirs:
        out += differences(a / sub, b / sub)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments (default: all configured)")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    names = args.names or configured_assignments()
    if not args.check:
        generate(names, ROOT / "assignments")
        print("regenerated:", " ".join(names))
        return 0
    with tempfile.TemporaryDirectory(prefix="nnlib-release-") as tmp:
        generate(names, Path(tmp))
        stale = (
            [d for n in names for d in differences(ROOT / "assignments" / n, Path(tmp) / n)]
            if all((ROOT / "assignments" / n).is_dir() for n in names)
            else ["missing release"]
        )
    for line in stale:
        print(line)
    if stale:
        print("assignments/ is stale: run `make assignments` and commit the result")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
