"""Per-student variants: parameters drawn from (course secret, assignment, student id).

An assignment declares its parameters in the source notebook's metadata and shows them in
one plain code cell (no nbgrader metadata, marked ``metadata.nnlib.variant = true``) whose
literal assignments hold the defaults, e.g. ::

    # Your parameters for Part 4 (drawn for your student id; keep them as they are)
    LR = 1.0
    DATA_SEED = 7

with ``metadata.nnlib.variants = {"LR": {"choice": [0.25, 0.5, 1.0, 2.0]},
"DATA_SEED": {"randint": [0, 999]}}``. Rules: ``choice`` (one of a list), ``randint``
(an integer in ``[lo, hi]``), ``uniform`` (a float in ``[lo, hi)``, with ``round`` digits).
Tests read the parameters by name (``lr=LR``).

* ``release-variants`` writes one notebook per student of a roster CSV, with that student's
  values in the parameter cell.
* ``grade --roster`` derives the same values from each student's id. The judge, which runs
  the tests, gets them from the grader as literal assignments run before every test
  (:func:`judge_prelude`), never from the student's namespace, so overwriting ``LR`` or
  copying a neighbour's notebook does not change what the student is checked against.
* Without a roster, the defaults of the source's cell are used (the committed release), and
  the judge still takes them from the grader.

The seed is ``HMAC-SHA256(secret, "<assignment>\\0<student id>")``: without the secret, nobody
can compute another student's values, and the instructor can always recompute them. The
secret lives in ``<course>/.nnlib-secret`` (created by the first ``release-variants``, mode
0600, git-ignored: never commit it, back it up) or in the environment variable
``NNLIB_COURSE_SECRET``, which takes precedence.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import hmac
import os
import secrets

import nbformat

SECRET_FILE = ".nnlib-secret"
SECRET_ENV = "NNLIB_COURSE_SECRET"
RULES = ("choice", "randint", "uniform")


class VariantError(ValueError):
    """A malformed variant declaration, or a missing secret."""


def secret(course: str, create: bool = False) -> bytes:
    """The course secret (see the module docstring); ``create`` makes one if there is none."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode()
    path = os.path.join(course, SECRET_FILE)
    if not os.path.exists(path):
        if not create:
            raise VariantError(
                f"no course secret: expected {path} (written by release-variants) or the "
                f"environment variable {SECRET_ENV}"
            )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    with open(path) as f:
        value = f.read().strip()
    if len(value) < 16:
        raise VariantError(f"course secret in {path}: expected at least 16 characters")
    return value.encode()


def seed(key: bytes, assignment: str, student: str) -> int:
    """The student's seed: the first 8 bytes of HMAC-SHA256(key, assignment NUL student)."""
    digest = hmac.new(key, f"{assignment}\0{student}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def declared(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """The notebook's parameter rules (``metadata.nnlib.variants``), checked; {} if none."""
    spec = (nb.get("metadata", {}).get("nnlib", {}) or {}).get("variants") or {}
    if not isinstance(spec, dict):
        raise VariantError(f"metadata.nnlib.variants: expected a mapping, got {spec!r}")
    for name, rule in spec.items():
        if not name.isidentifier() or not isinstance(rule, dict):
            raise VariantError(f"variant {name!r}: expected a name and a rule, got {rule!r}")
        kinds = [k for k in RULES if k in rule]
        if len(kinds) != 1:
            raise VariantError(f"variant {name}: expected one of {RULES}, got {sorted(rule)}")
        values = rule[kinds[0]]
        if kinds[0] == "choice" and not (isinstance(values, list) and values):
            raise VariantError(f"variant {name}: choice expects a non-empty list, got {values!r}")
        if kinds[0] != "choice" and not (
            isinstance(values, list) and len(values) == 2 and values[0] <= values[1]
        ):
            raise VariantError(f"variant {name}: {kinds[0]} expects [lo, hi], got {values!r}")
    return spec


def draw(spec: dict[str, dict], student_seed: int) -> dict:
    """The parameters for one seed: each rule drawn in name order from one generator."""
    import numpy as np

    rng = np.random.default_rng(student_seed)
    out = {}
    for name in sorted(spec):
        rule = spec[name]
        if "choice" in rule:
            value = rule["choice"][int(rng.integers(len(rule["choice"])))]
        elif "randint" in rule:
            lo, hi = rule["randint"]
            value = int(rng.integers(lo, hi + 1))
        else:
            lo, hi = rule["uniform"]
            value = round(float(rng.uniform(lo, hi)), int(rule.get("round", 3)))
        out[name] = value
    return out


def parameters(
    nb: nbformat.NotebookNode, key: bytes | None, assignment: str, student: str | None
) -> dict:
    """A student's parameters (or, with no ``key``/``student``, the cell's defaults)."""
    spec = declared(nb)
    if not spec:
        return {}
    if key is None or student is None:
        return defaults(nb)
    return draw(spec, seed(key, assignment, student))


def variant_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the parameter cells (``metadata.nnlib.variant``)."""
    return [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("metadata", {}).get("nnlib", {}) or {}).get("variant")
    ]


def _assignments(source: str) -> dict[str, ast.Assign]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise VariantError(f"the parameter cell is not valid Python: {exc}") from exc
    return {
        node.targets[0].id: node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    }


def defaults(nb: nbformat.NotebookNode) -> dict:
    """The values the parameter cell(s) of ``nb`` assign to the declared names."""
    spec = declared(nb)
    found = {}
    for i in variant_cells(nb):
        for name, node in _assignments(nb.cells[i].source).items():
            if name in spec:
                found[name] = ast.literal_eval(node.value)
    missing = sorted(set(spec) - set(found))
    if missing:
        raise VariantError(f"declared variants {missing} are not assigned in a parameter cell")
    return found


def render(source: str, params: dict) -> str:
    """The parameter cell's ``source`` with the literal of each ``NAME = ...`` replaced."""
    lines = source.split("\n")
    nodes = _assignments(source)
    for name, value in params.items():
        node = nodes.get(name)
        if node is None:
            continue
        v = node.value
        if v.lineno != v.end_lineno:
            raise VariantError(f"parameter {name}: its value must fit on one line")
        line = lines[v.lineno - 1]
        lines[v.lineno - 1] = line[: v.col_offset] + repr(value) + line[v.end_col_offset :]
    return "\n".join(lines)


def apply(nb: nbformat.NotebookNode, params: dict) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose parameter cells hold ``params``."""
    out = copy.deepcopy(nb)
    for i in variant_cells(out):
        out.cells[i].source = render(out.cells[i].source, params)
    return out


def judge_prelude(params: dict) -> list[str]:
    """The statements the judge runs before each test: ``NAME = <literal>``, one per name."""
    statements = []
    for name, value in sorted(params.items()):
        text = f"{name} = {value!r}"
        try:
            same = ast.literal_eval(text.split(" = ", 1)[1]) == value
        except (ValueError, SyntaxError):
            same = False
        if not same:
            raise VariantError(f"parameter {name}: {value!r} is not a plain literal")
        statements.append(text)
    return statements


#: Where the grader puts the prelude in the notebook it rebuilt (the student cannot: the
#: rebuilt notebook's metadata is the instructor's, see ``notebook.sanitize``).
PRELUDE_KEY = "judge_prelude"


def for_grading(
    nb: nbformat.NotebookNode,
    source: nbformat.NotebookNode,
    key: bytes | None,
    assignment: str,
    student: str,
) -> nbformat.NotebookNode:
    """The rebuilt notebook ``nb`` with the student's parameters recorded for the judge."""
    params = parameters(source, key, assignment, student)
    if not params:
        return nb
    nb.metadata.setdefault("nnlib", {})[PRELUDE_KEY] = judge_prelude(params)
    return nb


def grading_key(course: str, roster: str, sources: list[nbformat.NotebookNode]) -> bytes | None:
    """The secret ``grade`` derives the parameters with: only with a roster and variants."""
    if not roster or not any(declared(nb) for nb in sources):
        return None
    try:
        return secret(course)
    except VariantError as exc:
        raise SystemExit(f"ERROR: {exc}") from None


def prelude_of(nb: nbformat.NotebookNode) -> list[str]:
    """The judge's parameter statements recorded by :func:`for_grading` (or none)."""
    found = (nb.get("metadata", {}).get("nnlib", {}) or {}).get(PRELUDE_KEY) or []
    return [s for s in found if isinstance(s, str)]


def release(
    course: str,
    assignment: str,
    roster: str,
    out: str | None = None,
    progress: bool = True,
) -> tuple[str, dict[str, dict]]:
    """One copy of the released assignment per roster student, with that student's values.

    Writes ``<out>/<student>/<notebook>.ipynb`` (and the release's other files) and
    ``<out>/parameters.csv``; ``out`` defaults to ``<course>/variants/<assignment>``. Creates
    the course secret if there is none. Returns ``out`` and student -> parameters.
    """
    import csv
    import io
    import shutil
    import sys

    from tqdm import tqdm

    from nngrader.host.lms import read_roster
    from nngrader.host.nbgrader_steps import coursedir
    from nngrader.host.pipeline import atomic_write

    course = os.path.abspath(course)
    cd = coursedir(course)
    folder = cd.format_path(cd.release_directory, ".", assignment)
    if not os.path.isdir(folder):
        raise VariantError(f"no release of {assignment} in {folder}: run `make assignments`")
    notebooks = {
        f[:-6]: nbformat.read(os.path.join(folder, f), as_version=4)
        for f in sorted(os.listdir(folder))
        if f.endswith(".ipynb")
    }
    if not any(declared(nb) for nb in notebooks.values()):
        raise VariantError(
            f"{assignment} declares no variants (metadata.nnlib.variants in its notebook)"
        )
    students = list(read_roster(roster))
    key = secret(course, create=True)
    out = os.path.abspath(out or os.path.join(course, "variants", assignment))
    drawn: dict[str, dict] = {}
    for sid in tqdm(
        students, desc="variants", unit="student", disable=not progress, file=sys.stderr
    ):
        target = os.path.join(out, sid)
        if os.path.isdir(target):
            shutil.rmtree(target)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("*.ipynb"))
        drawn[sid] = {}
        for name, nb in notebooks.items():
            params = parameters(nb, key, assignment, sid)
            drawn[sid].update(params)
            text = nbformat.writes(apply(nb, params) if params else nb)
            atomic_write(os.path.join(target, f"{name}.ipynb"), text)
    names = sorted({n for p in drawn.values() for n in p})
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["student_id", *names])
    for sid in students:
        writer.writerow([sid, *(drawn[sid].get(n, "") for n in names)])
    atomic_write(os.path.join(out, "parameters.csv"), table.getvalue())
    return out, drawn
