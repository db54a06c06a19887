"""The similarity report on a4_layers: near-copies are the top pair, honest work is not flagged.

The class is written straight into nbgrader's ``submitted/`` folder (what ``grade`` leaves
there): the instructor's solution, the correct alternative solution of
``tests/mutation/alternatives.py`` (written differently: loops, other names, other formulas)
and two near-copies of that alternative (variables renamed, comments and blank lines changed).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys

import nbformat
import pytest

from nngrader.host import similarity
from tests.test_assignments import ALTERNATIVES, _submission, release_nb, source_nb

NAME = "a4_layers"


def disguise(code: str) -> str:
    """``code`` with every local name renamed, comments added and blank lines doubled."""
    tree = ast.parse(code)
    names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    names |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)} - {"self"}
    for name in sorted(names, key=len, reverse=True):
        code = re.sub(rf"\b{re.escape(name)}\b", f"my_{name.lower()}_value", code)
    lines = []
    for line in code.splitlines():
        lines.append(line)
        if line.strip().startswith("def "):
            lines.append(" " * (len(line) - len(line.lstrip()) + 4) + "# my own work")
    return "\n\n".join(lines)


def _write(course, sid: str, nb: dict) -> None:
    folder = course / "submitted" / sid / NAME
    folder.mkdir(parents=True)
    (folder / f"{NAME}.ipynb").write_text(json.dumps(nb))


def _tree_digest(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "similarity" not in p.parts
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.release_directory = "assignments"\n'
    )
    rel, src = release_nb(NAME), source_nb(NAME)
    (root / "assignments" / NAME).mkdir(parents=True)
    (root / "assignments" / NAME / f"{NAME}.ipynb").write_text(json.dumps(rel))
    alternative = {"*": "solution", **ALTERNATIVES[NAME]}
    copied = {k: disguise(v) for k, v in ALTERNATIVES[NAME].items()}
    _write(root, "honest_instructor_style", _submission(rel, src, {"*": "solution"}))
    _write(root, "honest_other_style", _submission(rel, src, alternative))
    _write(root, "copier", _submission(rel, src, {"*": "solution", **copied}))
    _write(root, "untouched", rel)  # the skeleton alone: nothing of it counts
    return root


def test_near_copies_are_the_top_pair_and_honest_solutions_are_not_flagged(course):
    before = _tree_digest(course)
    argv = [sys.executable, "-m", "nngrader", "similarity", NAME, "--no-progress"]
    done = subprocess.run(argv, cwd=course, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 flagged pairs" in done.stderr
    assert _tree_digest(course) == before  # it reads; it never changes a grade or a file
    page = (course / "similarity" / NAME / "index.html").read_text()
    table = page.split('<table id="pairs">', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<a href="#pair-\d+">([^<]+)</a>', table) == ["copier / honest_other_style"]
    # both answers side by side, the shared regions highlighted in each
    section = page.split('<h2 id="pair-0">', 1)[1]
    assert section.count("<pre>") == 2 and "<mark>" in section
    assert "my_" in section and "# my own work" in section


def test_pair_scores(course):
    codes, skeleton = similarity.collect(str(course), NAME)
    assert sorted(codes) == ["copier", "honest_instructor_style", "honest_other_style", "untouched"]
    pairs = similarity.compare(codes, skeleton)
    top = pairs[0]
    assert {top.a, top.b} == {"copier", "honest_other_style"}
    assert min(top.similarity_a, top.similarity_b) > 0.9  # renaming hides nothing
    others = [p for p in pairs if {p.a, p.b} != {"copier", "honest_other_style"}]
    assert others and all(p.similarity < similarity.THRESHOLD for p in others)
    # the untouched release shares only skeleton code, which is boilerplate
    assert all("untouched" not in (p.a, p.b) or p.similarity == 0 for p in pairs)
    # without the skeleton as boilerplate, the untouched release would match everyone
    bare = similarity.compare(codes, "")
    assert any("untouched" in (p.a, p.b) and p.similarity > 0 for p in bare)


def test_answers_keep_only_solution_cells():
    nb = nbformat.reads(json.dumps(source_nb(NAME)), 4)
    text = similarity.answers(nb)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests and all(c.source[:60] not in text for c in tests if c.cell_type == "code")
    assert "### BEGIN SOLUTION" in text  # the solution cells, all of them
