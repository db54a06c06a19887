"""Rebuild a submitted notebook from the instructor's source before anything runs.

Only the student's answers survive: every test cell and every locked cell comes from the
source notebook (with its hidden tests and its metadata), duplicated graded cells are dropped,
deleted ones are put back where the source has them, and cells that claim a ``grade_id`` the
source does not know lose their grading metadata. Each such repair is reported.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

import nbformat

from nngrader.host import variants
from nngrader.host.execute import Cell

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


@dataclass
class Sanitized:
    """The notebook to grade, and what had to be repaired to get it."""

    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_graded(cell) -> bool:
    meta = _meta(cell)
    return bool(meta.get("grade_id")) and bool(
        meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")
    )


def is_test(cell) -> bool:
    """A cell whose output decides points: graded, code, and not a solution."""
    meta = _meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _instructor_owned(cell) -> bool:
    meta = _meta(cell)
    return not meta.get("solution")  # tests, locked cells, tasks: the student may not edit


def read(path: str) -> nbformat.NotebookNode:
    """Read a notebook as nbformat 4; raise ``ValueError`` saying why it is unreadable."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise ValueError(f"unreadable notebook ({type(exc).__name__}: {exc})"[:300]) from exc
    if not isinstance(nb.get("cells"), list):
        raise ValueError("unreadable notebook (no list of cells)")
    for cell in nb.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError("unreadable notebook (a cell has no valid cell_type)")
        if not isinstance(cell.get("source", ""), str):
            raise ValueError("unreadable notebook (a cell's source is not text)")
    return nb


def sanitize(
    student: nbformat.NotebookNode,
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode | None = None,
) -> Sanitized:
    """Rebuild ``student`` on the structure of the instructor's ``source`` notebook.

    ``release`` (the student version) tells an untouched test cell from an edited one.
    """
    notes: list[str] = []
    by_id = {_meta(c)["grade_id"]: c for c in source.cells if _is_graded(c)}
    released = {_meta(c)["grade_id"]: c.source for c in (release or source).cells if _is_graded(c)}
    order = [_meta(c)["grade_id"] for c in source.cells if _is_graded(c)]
    cells, seen = [], set()
    for cell in student.cells:
        cell = copy.deepcopy(cell)
        gid = _meta(cell).get("grade_id")
        if gid and gid in seen and gid in by_id:
            notes.append(f"duplicated cell {gid} ignored")
            continue
        if gid and gid not in by_id:
            cell.get("metadata", {}).pop("nbgrader", None)
            if _meta(cell) == {} and gid:
                notes.append(f"cell claiming unknown grade_id {gid!r} graded as plain code")
            gid = None
        if gid is None:
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
            cells.append(cell)
            continue
        seen.add(gid)
        original = by_id[gid]
        if _instructor_owned(original):
            expected = released.get(gid, "") if release is not None else _visible(original.source)
            if is_test(original) and cell.get("source", "").strip() != expected.strip():
                notes.append(f"edited test cell {gid} restored")
            cells.append(copy.deepcopy(original))
        else:
            fixed = copy.deepcopy(original)
            fixed.source = cell.get("source", "")
            fixed.cell_type = original.cell_type
            cells.append(fixed)
        if cells[-1].cell_type == "code":
            cells[-1].outputs, cells[-1].execution_count = [], None
    for i, gid in enumerate(order):  # put back what was deleted, after its predecessor
        if gid in seen:
            continue
        if by_id[gid].cell_type == "code":
            notes.append(f"deleted cell {gid} restored")
        where = 0
        for earlier in reversed(order[:i]):
            positions = [k for k, c in enumerate(cells) if _meta(c).get("grade_id") == earlier]
            if positions:
                where = positions[0] + 1
                break
        restored = copy.deepcopy(by_id[gid])
        if _meta(restored).get("solution"):
            restored.source = _stub(restored.source)
        if restored.cell_type == "code":
            restored.outputs, restored.execution_count = [], None
        cells.insert(where, restored)
        seen.add(gid)
    answers = [c for c in cells if _meta(c).get("solution") and c.cell_type == "code"]
    if (
        release is not None
        and answers
        and all(c.source.strip() == released.get(_meta(c)["grade_id"], "").strip() for c in answers)
    ):
        notes.append("no answer in any solution cell")
    nb = nbformat.v4.new_notebook()
    nb.metadata = copy.deepcopy(source.metadata)
    nb.cells = [nbformat.from_dict(c) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return Sanitized(nb, notes)


def _visible(source: str) -> str:
    """A test cell's source as the student saw it (hidden tests removed)."""
    return strip_hidden(source, replacement=None)


def strip_hidden(source: str, replacement: str | None = "# (hidden tests are not shown)") -> str:
    """Remove every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` block."""
    out, hiding = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            hiding = True
            if replacement:
                out.append(line[: len(line) - len(line.lstrip())] + replacement)
        elif line.strip() == HIDDEN_END:
            hiding = False
        elif not hiding:
            out.append(line)
    return "\n".join(out)


def _stub(source: str) -> str:
    return "# YOUR CODE HERE\nraise NotImplementedError()"


def defined_names(source: str) -> list[str]:
    """Top-level functions and classes a cell defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]


def plan(nb: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[Cell]:
    """The cells to run, in order, each test with the instructor's imports its judge runs.

    (Which nnlib names a part may not use is no business of the plan: the student's sandbox
    gets an nnlib without them, :mod:`nngrader.host.stubs`.)
    """
    cells = []
    code = [(idx, c) for idx, c in enumerate(nb.cells) if c.cell_type == "code"]
    # a per-student variant's parameters, as the grader derived them (never the student's)
    prelude: list[str] = variants.prelude_of(nb)
    for k, (idx, cell) in enumerate(code):
        meta = _meta(cell)
        if is_test(cell):
            gid = _meta(cell)["grade_id"]
            later = set().union(*[_free_names(c.source) for _, c in code[k + 1 :]])
            carry = bool(_stored_names(cell.source) & later)
            test = Cell(idx, "test", cell.source, gid, HIDDEN_BEGIN in cell.source, carry)
            test.prelude = list(prelude)
            cells.append(test)
            prelude += trusted_imports(cell.source)
        else:
            if meta.get("grade_id") and meta.get("locked") and not meta.get("solution"):
                prelude += trusted_imports(cell.source)
            cells.append(Cell(idx, "state", cell.source, _meta(cell).get("grade_id")))
    return cells


def trusted_imports(source: str) -> list[str]:
    """The top-level imports of numpy, nnlib and the standard modules the grader trusts.

    The judge runs these itself before a test, so the names they bind (``np``, ``grading``)
    are its own objects and are never taken from the student's side.
    """
    from nngrader.protocol import TRUSTED_PREFIXES

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.split(".")[0]]
        else:
            continue
        if all(r in TRUSTED_PREFIXES for r in roots):
            found.append(ast.unparse(node))
    return found


def _stored_names(source: str) -> set[str]:
    """Names a cell binds at top level (assignments, imports, defs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, ast.alias):
                names.add((sub.asname or sub.name).split(".")[0])
            elif isinstance(sub, ast.FunctionDef | ast.ClassDef) and sub in tree.body:
                names.add(sub.name)
    return names


def _free_names(source: str) -> set[str]:
    """Names a cell reads that it does not bind itself (so it expects them from before)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return loaded - _stored_names(source)
