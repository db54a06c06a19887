"""Bytecode for the in-browser book's local Pyodide: its standard library and packages, compiled.

Pyodide ships Python sources only and its Python writes no bytecode (``sys.dont_write_bytecode``),
so every kernel compiles each module it imports: the ~760 modules a kernel imports before a
chapter's first output cost 2-5 s of ``compile()`` on a 2-core machine (measured in the browser),
the largest single part of the kernel's start after Pyodide's own boot.

:func:`compiled_copy` makes a copy of the verified local Pyodide (``lite_assets.pyodide_copy``)
whose ``python_stdlib.zip`` and wheels also hold each module's ``.pyc``, and whose lock file
carries the new files' sha256 (Pyodide checks them when it loads a package). The ``.pyc`` are
compiled by the copy's own interpreter (Pyodide in Node.js: the same Python version, magic number
and flags) and are unchecked hash-based (PEP 552): Python loads them without reading the source,
which stays beside them for tracebacks and ``inspect``. Native libraries and every other file are
unchanged. The copy is cached beside the one it derives from, keyed by this module's programs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

STDLIB = "python_stdlib.zip"
# Where Pyodide puts each archive's files: code objects name their source by these paths.
STDLIB_PATH = "/lib/python312.zip"
INSTALL_DIRS = {"site": "/lib/python3.12/site-packages", "stdlib": "/lib/python3.12"}
_EPOCH = (1980, 1, 1, 0, 0, 0)

# Runs in Node.js: boots the copy's Pyodide, mounts the work folder, runs the compile program.
_NODE = """
const path = require("path");
const [pyodideDir, workDir, program] = process.argv.slice(2);
const { loadPyodide } = require(path.join(pyodideDir, "pyodide.js"));
(async () => {
  const py = await loadPyodide({ indexURL: pyodideDir + "/" });
  py.FS.mkdirTree("/work");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: workDir }, "/work");
  py.runPython(require("fs").readFileSync(program, "utf8"));
})().catch((e) => { console.error(e); process.exit(1); });
"""
# Runs in Pyodide: compiles every .py of each job's folder. The standard library, imported from
# its zip by zipimport, keeps each .pyc beside its source; packages use __pycache__.
_PYTHON = """
import compileall, json, os, py_compile
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for folder, prefix, beside in json.load(open("/work/jobs.json")):
    root = "/work/" + folder
    if not beside:
        compileall.compile_dir(root, ddir=prefix, quiet=2, invalidation_mode=mode)
        continue
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                src = os.path.join(d, f)
                dfile = prefix + "/" + os.path.relpath(src, root)
                try:
                    py_compile.compile(src, src + "c", dfile, True, invalidation_mode=mode)
                except py_compile.PyCompileError:
                    pass  # a file Python cannot compile stays source only, as before
"""


def _rezip(original: Path, extracted: Path, target: Path) -> None:
    """Write ``target``: ``original``'s entries unchanged, then the .pyc files that compiling
    added under ``extracted``, in sorted order with a fixed date (the same bytes every time)."""
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(target, "w") as dst:
        names = set(src.namelist())
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        added = sorted(
            p.relative_to(extracted).as_posix()
            for p in extracted.rglob("*.pyc")
            if p.relative_to(extracted).as_posix() not in names
        )
        for name in added:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, (extracted / name).read_bytes())


def compiled_copy(copy: Path, sha256: object) -> Path:
    """A copy of the Pyodide folder ``copy`` with compiled bytecode (see the module's doc);
    ``sha256`` hashes a file. Assembled once, in ``<copy>-pyc-<key>`` beside it."""
    key = hashlib.sha256((_NODE + _PYTHON + repr(_EPOCH)).encode()).hexdigest()[:8]
    target = copy.parent / f"{copy.name}-pyc-{key}"
    if (target / "pyodide-lock.json").exists():
        return target
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise RuntimeError("Node.js is needed to compile the local Pyodide (apt-get install npm)")
    lock = json.loads((copy / "pyodide-lock.json").read_text())
    archives = {STDLIB: (STDLIB_PATH, True)}
    for entry in lock["packages"].values():
        if entry["file_name"].endswith(".whl"):
            prefix = INSTALL_DIRS.get(entry.get("install_dir", "site"), INSTALL_DIRS["site"])
            archives[entry["file_name"]] = (prefix, False)
    with tempfile.TemporaryDirectory(dir=copy.parent) as tmp:
        work, out = Path(tmp) / "work", Path(tmp) / "out"
        work.mkdir()
        out.mkdir()
        jobs = []
        for i, (name, (prefix, beside)) in enumerate(sorted(archives.items())):
            with zipfile.ZipFile(copy / name) as zf:
                zf.extractall(work / str(i))
            jobs.append([str(i), prefix, beside])
        (work / "jobs.json").write_text(json.dumps(jobs))
        (work / "compile.py").write_text(_PYTHON)
        (Path(tmp) / "compile.js").write_text(_NODE)
        done = subprocess.run(
            [node, Path(tmp) / "compile.js", copy.resolve(), work.resolve(), work / "compile.py"],
            capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"compiling Pyodide's modules failed:\n{done.stderr[-4000:]}")
        for i, name in enumerate(sorted(archives)):
            _rezip(copy / name, work / str(i), out / name)
        for path in copy.iterdir():
            if not (out / path.name).exists() and path.name != "pyodide-lock.json":
                shutil.copy2(path, out / path.name)
        for entry in lock["packages"].values():
            if entry["file_name"] in archives:
                entry["sha256"] = sha256(out / entry["file_name"])
        (out / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
        try:
            os.replace(out, target)
        except OSError:  # another process assembled it meanwhile
            if not (target / "pyodide-lock.json").exists():
                raise
    return target
