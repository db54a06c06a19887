"""Rebuild a submitted notebook from the instructor's source before anything runs.

Only the student's answers survive: every test cell and every locked cell comes from the
source notebook (with its hidden tests and its metadata), deleted ones are put back where the
source has them, and every other cell is rebuilt as a plain cell from its type and source
alone (a cell that claims a ``grade_id`` the source does not know, or carries nbgrader
metadata of the wrong shape, loses it). A graded cell seen twice is JupyterLab's "split cell"
(which copies the metadata to both halves) when it is the student's: the later halves of a
solution cell are kept, in place, as the student's code; a test or locked cell seen twice is
ignored. Each repair is reported. The submission is untrusted: anything of a type the rebuild
does not expect raises :class:`Unreadable` (a ``ValueError``) with a reason for the CSV.
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
#: Characters of one cell the head parses (a solution is a few kB; see :func:`parse_code`).
PARSE_LIMIT = 200_000


@dataclass
class Sanitized:
    """The notebook to grade, and what had to be repaired to get it."""

    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


class Unreadable(ValueError):
    """A submitted notebook that cannot be graded; the message says why."""


def _meta(cell) -> dict:
    """The cell's nbgrader metadata, or ``{}`` when it is missing or not a mapping."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _gid(cell) -> str | None:
    """The cell's ``grade_id`` if it is a non-empty string, else None."""
    gid = _meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def _claims_nbgrader(cell) -> bool:
    """Whether the cell carries nbgrader metadata that asks for anything (of any shape)."""
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if isinstance(meta, dict):
        return any(meta.get(k) for k in ("grade", "solution", "locked", "task", "grade_id"))
    return meta is not None


def _is_graded(cell) -> bool:
    meta = _meta(cell)
    return _gid(cell) is not None and bool(
        meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")
    )


def is_test(cell) -> bool:
    """A cell whose output decides points: graded, code, and not a solution."""
    meta = _meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _instructor_owned(cell) -> bool:
    meta = _meta(cell)
    return not meta.get("solution")  # tests, locked cells, tasks: the student may not edit


def parse(data: bytes) -> nbformat.NotebookNode:
    """A submitted notebook's bytes as nbformat 4; raise :class:`Unreadable` saying why not.

    Whatever nbformat raises on hostile JSON (a ``RecursionError`` on deep nesting included)
    becomes :class:`Unreadable`; so does a notebook without a list of cells, a cell that is not
    a mapping with a known ``cell_type``, or a source that is not text.
    """
    try:
        text = data.decode("utf-8-sig")
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        raise Unreadable(f"unreadable notebook ({type(exc).__name__}: {clip(str(exc))})") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Unreadable("unreadable notebook (no list of cells)")
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise Unreadable("unreadable notebook (a cell has no valid cell_type)")
        if not isinstance(cell.get("source", ""), str):
            raise Unreadable("unreadable notebook (a cell's source is not text)")
    return nb


def read(path: str) -> nbformat.NotebookNode:
    """Read a trusted notebook file (see :func:`parse`; submissions go through ``intake``)."""
    with open(path, "rb") as f:
        return parse(f.read())


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, the cut marked (for reasons in the CSV)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} characters cut]"


def _plain(cell: dict) -> nbformat.NotebookNode:
    """A student cell rebuilt from its type and source only (no metadata, no outputs)."""
    source = cell.get("source", "")
    if cell.get("cell_type") == "code":
        return nbformat.v4.new_code_cell(source)
    if cell.get("cell_type") == "raw":
        return nbformat.v4.new_raw_cell(source)
    return nbformat.v4.new_markdown_cell(source)


def sanitize(
    student: nbformat.NotebookNode,
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode | None = None,
) -> Sanitized:
    """Rebuild ``student`` on the structure of the instructor's ``source`` notebook.

    ``release`` (the student version) tells an untouched test cell from an edited one.
    """
    notes: list[str] = []
    by_id = {_gid(c): c for c in source.cells if _is_graded(c)}
    released = {_gid(c): c.source for c in (release or source).cells if _is_graded(c)}
    order = [_gid(c) for c in source.cells if _is_graded(c)]
    cells: list = []
    seen: dict[str, int] = {}  # grade_id -> its position in ``cells``
    for cell in student.cells:
        gid = _gid(cell)
        if gid is not None and gid not in by_id:
            notes.append(f"cell claiming unknown grade_id {clip(gid, 60)!r} graded as plain code")
            gid = None
        elif gid is None and _claims_nbgrader(cell):
            notes.append("cell with malformed nbgrader metadata graded as plain code")
        if gid is None:
            cells.append(_plain(cell))
            continue
        original = by_id[gid]
        if gid in seen:
            if not _meta(original).get("solution"):
                notes.append(f"duplicated cell {gid} ignored")
            elif original.cell_type == "markdown" and cell.get("cell_type") != "code":
                first = cells[seen[gid]]  # a split written answer: one answer, both halves
                first.source = first.source + "\n\n" + cell.get("source", "")
            else:  # a split solution cell: the later half runs in place, as the student's code
                cells.append(_plain(cell))
            continue
        seen[gid] = len(cells)
        if _instructor_owned(original):
            expected = released.get(gid, "") if release is not None else _visible(original.source)
            if is_test(original) and cell.get("source", "").strip() != expected.strip():
                notes.append(f"edited test cell {gid} restored")
            cells.append(copy.deepcopy(original))
        else:
            fixed = copy.deepcopy(original)
            fixed.source = cell.get("source", "")
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
            positions = [k for k, c in enumerate(cells) if _gid(c) == earlier]
            if positions:
                where = positions[0] + 1
                break
        restored = copy.deepcopy(by_id[gid])
        if _meta(restored).get("solution"):
            restored.source = _stub(restored.source)
        if restored.cell_type == "code":
            restored.outputs, restored.execution_count = [], None
        cells.insert(where, restored)
        seen[gid] = where
    answers = [c for c in cells if _meta(c).get("solution") and c.cell_type == "code"]
    if (
        release is not None
        and answers
        and all(c.source.strip() == released.get(_gid(c), "").strip() for c in answers)
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
    try:
        nbformat.validate(nb)
    except Exception as exc:  # (cannot happen with plain cells; a bug of ours if it does)
        raise Unreadable(f"the rebuilt notebook is invalid ({clip(str(exc))})") from exc
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


def parse_code(source: str) -> ast.Module | None:
    """``source`` parsed, or None for code that does not parse or is too long to parse here.

    Student code may be anything: a syntax error, a null byte (``ValueError``), 20 kB of
    chained attribute access (``RecursionError`` in the parser) or of unary minus signs
    (``MemoryError``). None of these is the grader's fault, and none may stop the batch.
    A cell longer than :data:`PARSE_LIMIT` is not parsed in the head at all: Python's syntax
    tree of 10 MB of code takes minutes and gigabytes, once per test that follows it.
    """
    if len(source) > PARSE_LIMIT:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def defined_names(source: str) -> list[str]:
    """Top-level functions and classes a cell defines."""
    tree = parse_code(source)
    if tree is None:
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

    tree = parse_code(source)
    if tree is None:
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
    tree = parse_code(source)
    if tree is None:
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
    tree = parse_code(source)
    if tree is None:
        return set()
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return loaded - _stored_names(source)
