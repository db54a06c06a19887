"""The nnlib a student's sandbox gets: the assignment's forbidden names are stubs that raise.

An assignment forbids some of nnlib's names (:mod:`nnlib.grading.policy`): a4 asks for
``Linear``, so ``nnlib.modules.Linear`` is nnlib's answer to it. Rather than watch the
student's process for calls into those names (which that process could hide, alias or lie
about), the grader gives the student's worker a copy of the nnlib package in which each
forbidden function, class and module-level object is a stub that raises
:class:`nnlib.grading.ReferenceUsedError`. The stub keeps the name, so every legitimate
``import`` still works; the reference's source, bytecode and objects are simply not in the
student's sandbox, so there is nothing to call, alias, wrap, re-exec from source or reach
through ``gc``. The copy is bound read-only over nnlib's own folder in the worker's sandbox
only; the judge keeps the real nnlib.

The copy is built on the machine that runs the sandboxes (a Dask worker may be another
machine than the head), once per (nnlib sources, policy), under a folder named by the hash
of both.
"""

from __future__ import annotations

import ast
import compileall
import hashlib
import importlib.util
import os
import shutil
import stat
import tempfile
import threading

#: Bump when the transformation changes: copies built by an older one are not reused.
VERSION = "3"

_HELPER = "_nnlib_reference_used"
_HELPER_SOURCE = f'''
def {_HELPER}(name):
    """Raise ReferenceUsedError for nnlib's ``name``, left out of the grader's copy of nnlib."""
    import sys

    from nnlib.grading._guard import ReferenceUsedError, stub_message

    raise ReferenceUsedError(stub_message(name, sys._getframe(1)))
'''
_LOCK = threading.Lock()


def nnlib_dir() -> str:
    """The folder of the real nnlib package (what the copy is made from, and bound over)."""
    return os.path.dirname(os.path.realpath(importlib.util.find_spec("nnlib").origin))


def cache_dir() -> str:
    """Where the copies are kept (``NNLIB_GRADER_STUBS`` overrides it)."""
    return os.environ.get("NNLIB_GRADER_STUBS") or os.path.join(
        tempfile.gettempdir(), "nnlib-grader-stubs"
    )


def _module_name(relpath: str) -> str:
    parts = relpath[: -len(".py")].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["nnlib", *parts])


def _covered(dotted: str, names: tuple[str, ...]) -> bool:
    return any(dotted == n or dotted.startswith(n + ".") for n in names)


def _stub_function(name: str, dotted: str, method: bool = False) -> ast.FunctionDef:
    args = "self, *args, **kwargs" if method else "*args, **kwargs"
    return ast.parse(f"def {name}({args}):\n    {_HELPER}({dotted!r})\n").body[0]


def _stub_class(node: ast.ClassDef, dotted: str) -> ast.ClassDef:
    """A class of the same name, with no bases, that can neither be made nor subclassed."""
    body = [
        ast.parse(f"def __new__(cls, *args, **kwargs):\n    {_HELPER}({dotted!r})\n").body[0],
        ast.parse(f"def __init_subclass__(cls, **kwargs):\n    {_HELPER}({dotted!r})\n").body[0],
    ]
    for item in node.body:  # the methods' names stay (``Linear.forward`` says why it fails)
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not (
            item.name.startswith("__") and item.name.endswith("__")
        ):
            body.append(_stub_function(item.name, f"{dotted}.{item.name}", method=True))
    return ast.ClassDef(name=node.name, bases=[], keywords=[], body=body, decorator_list=[])


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def transform(
    source: str, module: str, forbidden: tuple[str, ...], allowed: tuple[str, ...]
) -> str:
    """``source`` of nnlib module ``module`` with every forbidden top-level name stubbed.

    A name is forbidden when it, or its module, is in ``forbidden`` and it is not in
    ``allowed``. In a forbidden module, a module-level object built by a call (``AND =
    ThresholdNeuron(...)``) is replaced by a stub too; plain constants stay.
    """
    tree = ast.parse(source)
    whole = _covered(module, forbidden)

    def banned(name: str) -> bool:
        dotted = f"{module}.{name}"
        return (whole or _covered(dotted, forbidden)) and not _covered(dotted, allowed)

    body: list[ast.stmt] = []
    changed = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and banned(node.name):
            body.append(_stub_function(node.name, f"{module}.{node.name}"))
            changed = True
        elif isinstance(node, ast.ClassDef) and banned(node.name):
            body.append(_stub_class(node, f"{module}.{node.name}"))
            changed = True
        elif (
            whole
            and isinstance(node, ast.Assign | ast.AnnAssign)
            and node.value is not None
            and _has_call(node.value)
        ):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if len(names) != len(targets) or not all(banned(n) for n in names):
                body.append(node)
                continue
            for name in names:
                stub = _stub_function(name, f"{module}.{name}")
                body.append(stub)
            changed = True
        else:
            body.append(node)
    if not changed:
        return source
    # the helper goes after the docstring and ``from __future__`` imports
    at = 0
    while at < len(body) and (
        (isinstance(body[at], ast.ImportFrom) and body[at].module == "__future__")
        or (
            at == 0
            and isinstance(body[at], ast.Expr)
            and isinstance(getattr(body[at], "value", None), ast.Constant)
        )
    ):
        at += 1
    body[at:at] = ast.parse(_HELPER_SOURCE).body
    tree.body = body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _sources(root: str) -> list[tuple[str, bytes]]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.endswith((".pyc", ".pyo")) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                found.append((os.path.relpath(path, root), f.read()))
    return found


def _safe_folder(path: str) -> None:
    """Create ``path`` (mode 0755); refuse one another user owns or may write to."""
    os.makedirs(path, mode=0o755, exist_ok=True)
    info = os.lstat(path)
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.getuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise RuntimeError(
            f"{path} is not a folder of this user that only it may write to: "
            "set NNLIB_GRADER_STUBS to one that is"
        )


def stubbed_nnlib(forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> str:
    """The folder of an nnlib package with ``forbidden`` stubbed (built once, then reused).

    The folder is readable by everyone (the sandboxes run as other users) and written by
    this user only; it is named by the hash of nnlib's files, the policy and :data:`VERSION`.
    """
    source = nnlib_dir()
    files = _sources(source)
    digest = hashlib.sha256()
    digest.update(repr((VERSION, sorted(forbidden), sorted(allowed))).encode())
    for rel, data in files:
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    root = cache_dir()
    target = os.path.join(root, digest.hexdigest()[:32], "nnlib")
    if os.path.isdir(target):
        return target
    with _LOCK:
        _safe_folder(root)
        if os.path.isdir(target):
            return target
        build = tempfile.mkdtemp(dir=root, prefix=".build-")
        try:
            os.chmod(build, 0o755)
            package = os.path.join(build, "nnlib")
            for rel, data in files:
                path = os.path.join(package, rel)
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                if rel.endswith(".py"):
                    data = transform(
                        data.decode(), _module_name(rel), tuple(forbidden), tuple(allowed)
                    ).encode()
                with open(path, "wb") as f:
                    f.write(data)
                os.chmod(path, 0o644)
            # bytecode now: the sandbox copy is read-only (no compiling there at each start)
            compileall.compile_dir(package, quiet=2, workers=1)
            for folder, _dirs, names in os.walk(package):
                os.chmod(folder, 0o755)
                for name in names:
                    os.chmod(os.path.join(folder, name), 0o644)
            try:
                os.rename(build, os.path.dirname(target))
            except OSError:  # another process built it meanwhile: theirs is the same
                shutil.rmtree(build, ignore_errors=True)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
    return target


def for_assignment(assignment: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The forbidden and allowed names of ``assignment``, as :mod:`nnlib.grading.policy` says.

    An assignment the policy does not declare (a course's own) forbids grading's own
    reference answers only.
    """
    from nnlib.grading import policy

    declared = policy.POLICIES.get(assignment)
    if declared is None:
        return (policy.GRADING_REFERENCE,), ()
    return tuple(declared.names), tuple(declared.allowed)
