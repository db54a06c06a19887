"""Run an nbgrader source notebook's test cells in-process, and mutation-test its autograder.

``python tools/nbmutate.py a4_layers`` generates one-bug variants of every solution region of
``solutions/a4_layers/a4_layers.ipynb`` (AST-based: swapped operators, dropped transposes,
other axes, off-by-one constants, min/max swaps, deleted statements, ...) plus the course's
:data:`CATALOGUE` of typical mistakes, and reports the share the tests (hidden ones included)
kill, every variant they fail to catch, and the share of catalogued mistakes that the
*visible* checks alone catch (what a student sees before submitting: the target is all).

Why in-process and not ``nbgrader autograde`` per variant: a kernel start costs seconds and an
assignment has hundreds of variants. The verdict is the same because nbgrader's rule is simple
(``nbgrader.utils.determine_grade``): a grade cell scores its points unless its outputs hold an
error or anything written to stderr. Here every code cell of the notebook runs in order in one
namespace, in a forked child per variant (a fresh "kernel"); a grade cell passes iff it raises
nothing and writes nothing to stderr. ``tests/test_assignments.py`` checks this equivalence
against real ``nbgrader autograde`` on a sample of variants.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import dataclasses
import io
import json
import os
import re
import select
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CELL_TIMEOUT = 30  # seconds; a variant stuck in a loop fails the cell, as nbgrader's timeout would
MUTANT_TIMEOUT = 120


@dataclass(frozen=True)
class Cell:
    """One notebook cell as the runner needs it."""

    index: int
    cell_type: str
    source: str
    grade_id: str = ""
    points: float = 0.0
    grade: bool = False
    solution: bool = False

    @property
    def autograded(self) -> bool:
        return self.cell_type == "code" and self.grade and not self.solution


def read_cells(path: Path) -> list[Cell]:
    """The cells of a notebook with their nbgrader metadata."""
    nb = json.loads(Path(path).read_text())
    cells = []
    for i, c in enumerate(nb["cells"]):
        meta = c.get("metadata", {}).get("nbgrader", {})
        source = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        cells.append(
            Cell(
                index=i,
                cell_type=c["cell_type"],
                source=source,
                grade_id=meta.get("grade_id", ""),
                points=float(meta.get("points", 0) or 0),
                grade=bool(meta.get("grade")),
                solution=bool(meta.get("solution")),
            )
        )
    return cells


def source_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


# --- running ----------------------------------------------------------------------------------
class _CellTimeout(BaseException):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _CellTimeout()


def run_cells(cells: list[Cell], *, stop_early: bool = False) -> dict[str, bool]:
    """Run every code cell in order in a fresh namespace; return ``{grade_id: passed}``.

    With ``stop_early`` the run ends at the first failing grade cell (enough to know a variant
    is caught); the remaining grade cells are reported as failed.
    """
    return {gid: error is None for gid, error in diagnose(cells, stop_early=stop_early).items()}


def diagnose(cells: list[Cell], *, stop_early: bool = False) -> dict[str, str | None]:
    """Like :func:`run_cells`, but ``{grade_id: None if passed else the error's message}``
    (``"stderr: ..."`` when the cell only wrote to stderr)."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    results: dict[str, str | None] = {}
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
    cwd = os.getcwd()
    try:
        for cell in cells:
            if cell.cell_type != "code":
                continue
            if stop_early and any(v is not None for v in results.values()):
                if cell.autograded:
                    results[cell.grade_id] = "not run"
                continue
            err = io.StringIO()
            error: str | None = None
            signal.alarm(CELL_TIMEOUT)
            try:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    code = compile(cell.source, f"<cell {cell.grade_id or cell.index}>", "exec")
                    exec(code, namespace)
            except _CellTimeout:
                error = "timeout"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            finally:
                signal.alarm(0)
                os.chdir(cwd)
            if error is None and err.getvalue():
                error = "stderr: " + err.getvalue()
            if cell.autograded:
                results[cell.grade_id] = error
    finally:
        signal.signal(signal.SIGALRM, old_handler)
    return results


def run_forked(
    cells: list[Cell], *, stop_early: bool, timeout: float = MUTANT_TIMEOUT, messages: bool = False
) -> dict | None:
    """:func:`run_cells` (or :func:`diagnose`, with ``messages``) in a forked child (a fresh
    "kernel"); ``None`` if it died or hung."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        try:
            run = diagnose if messages else run_cells
            payload = json.dumps(run(cells, stop_early=stop_early)).encode()
        except BaseException:
            payload = b"null"
        with os.fdopen(write_fd, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_fd)
    chunks = []
    deadline = time.monotonic() + timeout
    with os.fdopen(read_fd, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks) or b"null")
    except ValueError:
        return None


def score(cells: list[Cell], results: dict[str, bool] | None) -> tuple[float, float]:
    """``(score, max_score)`` of the autograded cells, added up as nbgrader does."""
    graded = [c for c in cells if c.autograded]
    total = sum(c.points for c in graded)
    if results is None:
        return 0.0, total
    return sum(c.points for c in graded if results.get(c.grade_id)), total


# --- mutating ---------------------------------------------------------------------------------
@dataclass
class Mutant:
    """A one-bug variant of one solution cell."""

    cell_index: int
    grade_id: str
    line: int
    column: int
    operator: str
    before: str
    after: str
    source: str = field(repr=False)

    @property
    def key(self) -> str:
        """A stable name: where, which operator, what changed."""
        return (
            f"{self.grade_id}:{self.line}:{self.column}:{self.operator}: "
            f"{self.before} => {self.after}"
        )


def solution_lines(source: str) -> set[int]:
    """1-based line numbers strictly between BEGIN SOLUTION and END SOLUTION markers."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip().startswith(BEGIN):
            inside = True
        elif line.strip().startswith(END):
            inside = False
        elif inside:
            lines.add(number)
    return lines


_BINOP_SWAPS = {
    ast.Add: [ast.Sub],
    ast.Sub: [ast.Add],
    ast.Mult: [ast.Div],
    ast.Div: [ast.Mult],
    ast.Pow: [ast.Mult],
    ast.MatMult: [ast.Mult],
    ast.FloorDiv: [ast.Div],
}
_CMP_SWAPS = {
    ast.Gt: [ast.GtE, ast.Lt],
    ast.GtE: [ast.Gt, ast.Lt],
    ast.Lt: [ast.LtE, ast.Gt],
    ast.LtE: [ast.Lt, ast.Gt],
    ast.Eq: [ast.NotEq],
    ast.NotEq: [ast.Eq],
}
_AUG_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_NAME_SWAPS = {
    "max": "min",
    "min": "max",
    "maximum": "minimum",
    "minimum": "maximum",
    "argmax": "argmin",
    "argmin": "argmax",
    "sum": "mean",
    "mean": "sum",
    "exp": "log",
    "log": "exp",
    "log1p": "log",
    "zeros": "ones",
    "ones": "zeros",
    "zeros_like": "ones_like",
    "ones_like": "zeros_like",
    "any": "all",
    "all": "any",
}


def _replacements(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """``(operator name, replacement node)`` for every mutation of the expression ``node``."""
    if isinstance(node, ast.BinOp):
        for op in _BINOP_SWAPS.get(type(node.op), []):
            yield f"{type(node.op).__name__}->{op.__name__}", ast.BinOp(node.left, op(), node.right)
        if isinstance(node.op, ast.Add | ast.Sub):
            yield "drop-right-operand", node.left
    elif isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub | ast.Not):
            yield f"drop-{type(node.op).__name__}", node.operand
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        for op in _CMP_SWAPS.get(type(node.ops[0]), []):
            yield (
                f"{type(node.ops[0]).__name__}->{op.__name__}",
                ast.Compare(node.left, [op()], node.comparators),
            )
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield f"{type(node.op).__name__}->{type(other).__name__}", ast.BoolOp(other, node.values)
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        if node.attr == "T":
            yield "drop-transpose", node.value
        elif node.attr in _NAME_SWAPS:
            yield "swap-name", ast.Attribute(node.value, _NAME_SWAPS[node.attr], node.ctx)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        if node.id in ("max", "min"):
            yield "swap-name", ast.Name(_NAME_SWAPS[node.id], node.ctx)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield "negate-bool", ast.Constant(not node.value)
        elif isinstance(node.value, int | float):
            yield "constant+1", ast.Constant(node.value + 1)
            yield "constant-1", ast.Constant(node.value - 1)
    elif isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg == "axis":
                try:
                    value = ast.literal_eval(kw.value)
                except ValueError:
                    continue
                for new in {0: [1], 1: [0], -1: [0]}.get(value, []):
                    keywords = copy.deepcopy(node.keywords)
                    keywords[i] = ast.keyword("axis", ast.Constant(new))
                    yield "swap-axis", ast.Call(node.func, node.args, keywords)
            if kw.arg == "keepdims":
                keywords = [k for j, k in enumerate(node.keywords) if j != i]
                yield "drop-keepdims", ast.Call(node.func, node.args, keywords)
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("abs", "copy", "float")
            and len(node.args) == 1
        ):
            yield f"drop-{node.func.attr}", node.args[0]
        if isinstance(node.func, ast.Attribute) and node.func.attr == "copy" and not node.args:
            yield "drop-copy", node.func.value


def _statement_mutations(node: ast.stmt) -> Iterator[tuple[str, str]]:
    """``(operator, new text)`` for statement-level mutations of ``node``."""
    if isinstance(node, ast.AugAssign):
        swapped = _AUG_SWAPS.get(type(node.op))
        if swapped:
            yield (
                f"Aug{type(node.op).__name__}->{swapped.__name__}",
                ast.unparse(ast.AugAssign(node.target, swapped(), node.value)),
            )
        if isinstance(node.op, ast.Add | ast.Sub):
            yield "augassign->assign", ast.unparse(ast.Assign([node.target], node.value, lineno=0))
    if isinstance(node, ast.Return) and node.value is not None:
        yield "negate-return", f"return -({ast.unparse(node.value)})"
    if isinstance(node, ast.If):
        yield "negate-if", "if not (" + ast.unparse(node.test) + "):"
    if not isinstance(node, ast.If | ast.For | ast.While | ast.With | ast.Try):
        yield "delete-statement", "pass"


def _char_offsets(source: str) -> list[int]:
    starts, total = [0], 0
    for line in source.splitlines(True):
        total += len(line)
        starts.append(total)
    return starts


def _span(source: str, starts: list[int], node: ast.AST) -> tuple[int, int]:
    # ast columns are UTF-8 byte offsets; the sources are ASCII in practice but be exact.
    lines = source.splitlines(True)

    def char(line: int, col: int) -> int:
        return starts[line - 1] + len(lines[line - 1].encode()[:col].decode())

    return char(node.lineno, node.col_offset), char(node.end_lineno, node.end_col_offset)


def mutants(cells: list[Cell]) -> list[Mutant]:
    """Every one-bug variant of the solution regions of the solution cells."""
    found: list[Mutant] = []
    seen: set[str] = set()
    for cell in cells:
        if not (cell.solution and cell.cell_type == "code"):
            continue
        region = solution_lines(cell.source)
        tree = ast.parse(cell.source)
        starts = _char_offsets(cell.source)
        for node in ast.walk(tree):
            lineno = getattr(node, "lineno", None)
            if lineno not in region or node.end_lineno not in region:
                continue
            start, end = _span(cell.source, starts, node)
            edits: list[tuple[str, int, int, str]] = []
            if isinstance(node, ast.stmt):
                for op, text in _statement_mutations(node):
                    if op == "negate-if":
                        header_end = cell.source.index(":\n", start) + 1
                        edits.append((op, start, header_end, text))
                    else:
                        edits.append((op, start, end, text))
            elif isinstance(node, ast.expr):
                for op, new in _replacements(node):
                    edits.append((op, start, end, "(" + ast.unparse(new) + ")"))
            for op, a, b, text in edits:
                new_source = cell.source[:a] + text + cell.source[b:]
                if new_source in seen or new_source == cell.source:
                    continue
                try:
                    compile(new_source, "<mutant>", "exec")
                except SyntaxError:
                    continue
                seen.add(new_source)
                found.append(
                    Mutant(
                        cell_index=cell.index,
                        grade_id=cell.grade_id,
                        line=lineno,
                        column=node.col_offset,
                        operator=op,
                        before=" ".join(cell.source[a:b].split())[:70],
                        after=" ".join(text.split())[:70],
                        source=new_source,
                    )
                )
    return found


def apply(cells: list[Cell], mutant: Mutant) -> list[Cell]:
    """The cells with the mutant's cell replaced."""
    out = list(cells)
    out[mutant.cell_index] = dataclasses.replace(cells[mutant.cell_index], source=mutant.source)
    return out


# --- the catalogue of typical mistakes ----------------------------------------------------------
@dataclass(frozen=True)
class Bug:
    """A mistake a teaching assistant sees every week, as one edit of a solution cell.

    Attributes:
        name: what the student did, e.g. ``"forgot the bias"``.
        cell: the ``grade_id`` of the solution cell it edits.
        before: text of that cell (inside its solution region) that the bug replaces; every
            occurrence is replaced.
        after: the buggy text.
        part: the ``grade_id`` of the test cell whose *visible* check must fail, and the only
            one that may lose points (one bug, one part).
        hint: a piece of that check's diagnosis: the likely bug it names.
    """

    name: str
    cell: str
    before: str
    after: str
    part: str
    hint: str


CATALOGUE: dict[str, list[Bug]] = {
    "a1_neurons": [
        Bug("step fires at 0 (>=)", "neuron", "(z > 0)", "(z >= 0)", "test_step", "not z >= 0"),
        Bug("inverted step", "neuron", "(z > 0)", "(z < 0)", "test_step", "inverted"),
        Bug(
            "threshold_neuron without the bias",
            "neuron",
            "return step(X @ w + b)",
            "return step(X @ w)",
            "test_threshold_neuron",
            "forgot the bias",
        ),
        Bug(
            "threshold_neuron fires at the threshold (>=)",
            "neuron",
            "return step(X @ w + b)",
            "return (X @ w + b >= 0).astype(float)",
            "test_threshold_neuron",
            "not >= 0",
        ),
        Bug(
            "perceptron update with the sign flipped",
            "perceptron",
            "(y - y_hat)",
            "(y_hat - y)",
            "test_perceptron_update",
            "sign is flipped",
        ),
        Bug(
            "perceptron predicts 1 at the threshold (>=)",
            "perceptron",
            "y_hat = 1.0 if x @ w + b > 0 else 0.0",
            "y_hat = 1.0 if x @ w + b >= 0 else 0.0",
            "test_perceptron_update",
            "not >=",
        ),
        Bug(
            "perceptron update in place",
            "perceptron",
            "new_w = w + lr * (y - y_hat) * x",
            "w += lr * (y - y_hat) * x\n    new_w = w",
            "test_perceptron_update",
            "in place",
        ),
        Bug(
            "perceptron update without the learning rate",
            "perceptron",
            "new_w = w + lr * (y - y_hat) * x",
            "new_w = w + (y - y_hat) * x",
            "test_perceptron_update",
            "forgot the learning rate",
        ),
        Bug(
            "training does not stop after an epoch without mistakes",
            "perceptron",
            "if mistakes == 0:",
            "if mistakes == 0 and epoch == max_epochs:",
            "test_train_separable",
            "stop after the first epoch without a mistake",
        ),
    ],
    "a2_regression": [
        Bug(
            "mse_grad without 1/N",
            "losses",
            "2.0 * (y_hat - y) / y.shape[0]",
            "2.0 * (y_hat - y)",
            "test_mse_grad",
            "missing 1/N",
        ),
        Bug(
            "mse_grad without the factor 2",
            "losses",
            "2.0 * (y_hat - y) / y.shape[0]",
            "(y_hat - y) / y.shape[0]",
            "test_mse_grad",
            "factor 2",
        ),
        Bug(
            "mae_grad without 1/N",
            "losses",
            "np.sign(y_hat - y) / y.shape[0]",
            "np.sign(y_hat - y)",
            "test_mae_grad",
            "without 1/N",
        ),
        Bug(
            "gradient descent climbs",
            "gradient_descent",
            "w = w - lr",
            "w = w + lr",
            "test_gradient_descent",
            "wrong sign",
        ),
        Bug(
            "sigmoid with e^z",
            "sigmoid_logloss",
            "np.exp(-np.logaddexp(0.0, -z))",
            "np.exp(-np.logaddexp(0.0, z))",
            "test_sigmoid",
            "e^z instead of e^-z",
        ),
        Bug(
            "log-loss without the stability trick",
            "sigmoid_logloss",
            "np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))",
            "np.mean(-y * np.log(sigmoid(z)) - (1 - y) * np.log(1 - sigmoid(z)))",
            "test_log_loss",
            "numerically stable",
        ),
        Bug(
            "log_loss_grad with the sign flipped",
            "sigmoid_logloss",
            "(sigmoid(z) - y) / z.shape[0]",
            "(y - sigmoid(z)) / z.shape[0]",
            "test_log_loss_grad",
            "sign is flipped",
        ),
        Bug(
            "log_loss_grad without 1/N",
            "sigmoid_logloss",
            "(sigmoid(z) - y) / z.shape[0]",
            "(sigmoid(z) - y)",
            "test_log_loss_grad",
            "missing 1/N",
        ),
    ],
    "a3_autograd": [
        Bug(
            "= instead of += on .grad",
            "value",
            "self.grad += out.grad\n            other.grad += out.grad",
            "self.grad = out.grad\n            other.grad = out.grad",
            "test_add",
            "overwrote .grad",
        ),
        Bug(
            "product rule with the operand itself",
            "value",
            "self.grad += other.data * out.grad",
            "self.grad += self.data * out.grad",
            "test_mul",
            "the operand itself",
        ),
        Bug(
            "power rule without lowering the exponent",
            "value",
            "k * self.data ** (k - 1)",
            "k * self.data**k",
            "test_pow",
            "lower the exponent",
        ),
        Bug(
            "exp' as x",
            "value",
            "self.grad += out.data * out.grad",
            "self.grad += self.data * out.grad",
            "test_exp",
            "used x instead of e^x",
        ),
        Bug(
            "tanh' without the square",
            "value",
            "(1.0 - out.data**2)",
            "(1.0 - out.data)",
            "test_tanh",
            "missing the square",
        ),
        Bug(
            "x (1 - x) for the sigmoid's derivative",
            "value",
            "s * (1.0 - s) * out.grad",
            "x * (1.0 - x) * out.grad",
            "test_sigmoid",
            "x (1 - x)",
        ),
        Bug(
            "backward() in topological instead of reverse order",
            "value",
            "for node in reversed(order):",
            "for node in order:",
            "test_backward",
            "reverse topological order",
        ),
        Bug(
            "backward() does not seed the root's gradient",
            "value",
            "self.grad = 1.0",
            "self.grad = self.grad",
            "test_backward",
            "seed",
        ),
    ],
    "a4_layers": [
        Bug(
            "Linear.forward without the bias",
            "linear",
            "return X @ self.weight.value + self.bias.value",
            "return X @ self.weight.value",
            "test_linear_forward",
            "forgot the bias",
        ),
        Bug(
            "Linear.backward without the transpose of W",
            "linear",
            "return grad_out @ self.weight.value.T",
            "return grad_out @ self.weight.value",
            "test_linear_backward",
            "a missing .T",
        ),
        Bug(
            "bias gradient summed over the wrong axis",
            "linear",
            "grad_out.sum(axis=0)",
            "grad_out.sum(axis=1)",
            "test_linear_backward",
            "wrong axis",
        ),
        Bug(
            "dW transposed",
            "linear",
            "X.T @ grad_out",
            "grad_out.T @ X",
            "test_linear_backward",
            "dL/dW transposed",
        ),
        Bug(
            "bias gradient summed over everything",
            "linear",
            "grad_out.sum(axis=0)",
            "grad_out.sum()",
            "test_linear_backward",
            "summed over everything",
        ),
        Bug(
            "= instead of += on .grad",
            "linear",
            "self.weight.grad += X.T @ grad_out",
            "self.weight.grad = X.T @ grad_out",
            "test_linear_backward",
            "overwrote .grad",
        ),
        Bug(
            "ReLU backward mask flipped",
            "activations",
            "self._cache = X > 0",
            "self._cache = X < 0",
            "test_relu",
            "mask flipped",
        ),
        Bug(
            "ReLU backward edits grad_out in place",
            "activations",
            "return grad_out * self._cache",
            "grad_out[~self._cache] = 0\n        return grad_out",
            "test_relu",
            "in place",
        ),
        Bug(
            "x (1 - x) for the sigmoid's derivative",
            "activations",
            "out = 1.0 / (1.0 + np.exp(-X))\n        self._cache = out",
            "out = 1.0 / (1.0 + np.exp(-X))\n        self._cache = X",
            "test_sigmoid",
            "x (1 - x) of the input",
        ),
        Bug(
            "tanh' without the square",
            "activations",
            "(1.0 - t**2)",
            "(1.0 - t)",
            "test_tanh",
            "missing the square",
        ),
        Bug(
            "cross-entropy gradient without 1/N",
            "softmax_ce",
            "return grad / n",
            "return grad",
            "test_softmax_ce_backward",
            "missing 1/N",
        ),
        Bug(
            "cross-entropy without the max shift",
            "softmax_ce",
            "shifted = logits - logits.max(axis=1, keepdims=True)",
            "shifted = logits",
            "test_softmax_ce_stable",
            "numerically stable",
        ),
        Bug(
            "dropout keeps u < p",
            "dropout",
            "self.rng.random(X.shape) >= self.p",
            "self.rng.random(X.shape) < self.p",
            "test_dropout_train",
            "u < p",
        ),
        Bug(
            "dropout without the 1 / (1 - p) scaling",
            "dropout",
            "mask = (self.rng.random(X.shape) >= self.p) / (1.0 - self.p)",
            "mask = (self.rng.random(X.shape) >= self.p) * 1.0",
            "test_dropout_train",
            "forgot to scale",
        ),
        Bug(
            "dropout active in eval mode",
            "dropout",
            "if not self.training or self.p == 0:",
            "if self.p == 0:",
            "test_dropout_eval",
            "eval() must be the identity",
        ),
    ],
    "a5_mlp": [
        Bug(
            "ReLU after the last layer",
            "mlp",
            "if i < len(sizes) - 2:",
            "if True:",
            "test_mlp_forward",
            "a ReLU after the last layer",
        ),
        Bug(
            "backward through the layers in forward order",
            "mlp",
            "for layer in reversed(self.layers):",
            "for layer in self.layers:",
            "test_mlp_backward",
            "reverse order",
        ),
        Bug(
            "SGD climbs",
            "sgd",
            "p.value -= self.lr * v",
            "p.value += self.lr * v",
            "test_sgd_plain",
            "sign flipped",
        ),
        Bug(
            "SGD forgets the velocity",
            "sgd",
            "v *= self.momentum\n            v += g",
            "v[...] = g",
            "test_sgd_momentum",
            "momentum missing",
        ),
        Bug(
            "SGD without weight decay",
            "sgd",
            "g = p.grad + self.weight_decay * p.value",
            "g = p.grad",
            "test_sgd_weight_decay",
            "weight decay missing",
        ),
    ],
}


def visible(cells: list[Cell]) -> list[Cell]:
    """The cells as the student's release has them: hidden tests removed."""
    pattern = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.S)
    return [
        dataclasses.replace(c, source=pattern.sub("", c.source)) if c.autograded else c
        for c in cells
    ]


def with_bug(cells: list[Cell], bug: Bug) -> list[Cell]:
    """The cells with ``bug`` put into its solution cell."""
    out = list(cells)
    for i, cell in enumerate(cells):
        if cell.grade_id == bug.cell:
            if bug.before not in cell.source:
                raise ValueError(f"{bug.name}: {bug.before!r} is not in cell {bug.cell}")
            out[i] = dataclasses.replace(cell, source=cell.source.replace(bug.before, bug.after))
            return out
    raise ValueError(f"{bug.name}: no cell {bug.cell}")


def check_catalogue(assignment: str) -> dict:
    """Run the visible checks on every catalogued bug of ``assignment``.

    Returns the report: for each bug whether its own part's visible check fails (``caught``),
    whether that diagnosis names it (``hinted``) and which other parts lose points with it,
    in the visible checks (``collateral``) and with the hidden tests too
    (``collateral_hidden``): none may; plus ``visible_catch``, the share caught.
    """
    warm_up()
    full = read_cells(source_path(assignment))
    cells = visible(full)
    bugs = CATALOGUE.get(assignment, [])
    rows = []
    for bug in bugs:
        verdicts = run_forked(with_bug(cells, bug), stop_early=False, messages=True) or {}
        graded = run_forked(with_bug(full, bug), stop_early=False) or {}
        message = verdicts.get(bug.part)
        rows.append(
            {
                "bug": bug.name,
                "part": bug.part,
                "caught": message is not None,
                "hinted": message is not None and bug.hint in message,
                "collateral": sorted(g for g, m in verdicts.items() if m and g != bug.part),
                "collateral_hidden": sorted(
                    g for g, ok in graded.items() if not ok and g != bug.part
                ),
                "message": message,
            }
        )
    caught = sum(r["caught"] for r in rows)
    return {
        "assignment": assignment,
        "bugs": rows,
        "visible_catch": caught / len(rows) if rows else 1.0,
    }


def warm_up() -> None:
    """Import what every notebook imports, once, before forking (each child starts warm)."""
    import matplotlib

    # The forked children draw off screen. Chosen in this process, not through MPLBACKEND: a
    # caller's later subprocesses (e.g. a book build's kernels) would inherit that and lose
    # their inline plots.
    matplotlib.use("Agg")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")  # BLAS threads and fork() do not mix
    import numpy  # noqa: F401

    import nnlib.grading  # noqa: F401


def sweep(assignment: str, *, limit: int | None = None) -> dict:
    """Run every variant of ``assignment`` (the AST mutants and the catalogue's bugs) against
    all the tests, hidden ones included, and the catalogue against the visible checks alone;
    return the report as a dict."""
    warm_up()
    cells = read_cells(source_path(assignment))
    full, total = score(cells, run_forked(cells, stop_early=False))
    variants = [(m.key, apply(cells, m)) for m in mutants(cells)[:limit]]
    variants += [
        (f"catalogue: {b.name}", with_bug(cells, b)) for b in CATALOGUE.get(assignment, [])
    ]
    survivors, killed = [], 0
    started = time.monotonic()
    for key, variant in variants:
        got, _ = score(cells, run_forked(variant, stop_early=True))
        if got < total:
            killed += 1
        else:
            survivors.append(key)
    catalogue = check_catalogue(assignment)
    return {
        "assignment": assignment,
        "solution_score": full,
        "max_score": total,
        "mutants": len(variants),
        "killed": killed,
        "kill_rate": killed / len(variants) if variants else 1.0,
        "survivors": survivors,
        "catalogued": len(catalogue["bugs"]),
        "visible_catch": catalogue["visible_catch"],
        "visible_missed": [r["bug"] for r in catalogue["bugs"] if not r["caught"]],
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("assignments", nargs="+")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--limit", type=int, default=None, help="only the first N variants")
    args = parser.parse_args(argv)
    reports = [sweep(a, limit=args.limit) for a in args.assignments]
    if args.json:
        print(json.dumps(reports, indent=1))
        return 0
    for r in reports:
        print(
            f"{r['assignment']}: solution {r['solution_score']:g}/{r['max_score']:g}; the hidden "
            f"tests kill {r['killed']}/{r['mutants']} mutants ({100 * r['kill_rate']:.1f}%); "
            f"the visible checks catch {100 * r['visible_catch']:.0f}% of the "
            f"{r['catalogued']} catalogued bugs; {r['seconds']} s"
        )
        for key in r["survivors"]:
            print("  survivor:", key)
        for name in r["visible_missed"]:
            print("  passed by the visible checks:", name)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
