"""Sphinx extension: the book's chapters and assignments run in the reader's browser.

It drives jupyterlite-sphinx (which runs ``jupyter lite build`` at the end of an HTML build) so
that ``_build/html/lite/`` is a JupyterLite site with the Pyodide kernel, and:

1. fills the JupyterLite contents with every chapter as a notebook (``book/<chapter>.ipynb``,
   from the MyST sources, unexecuted) and the five released assignments
   (``assignments/<name>/<name>.ipynb``);
2. serves nnlib's wheel, built from this checkout, and the few pure-Python wheels the kernel
   needs that Pyodide lacks, from the site's own package index (``lite/pypi``), with PyPI
   switched off: ``%pip install nnlib`` in the browser installs exactly this checkout;
3. chooses where the Pyodide runtime comes from (``nnlib_lite_pyodide``, or the environment
   variable ``NNLIB_LITE_PYODIDE``, which ``make book LITE_PYODIDE=local`` sets): ``cdn``, the
   pinned public CDN, or ``local``, a copy inside ``_build/html/lite/static/pyodide`` assembled
   by ``tools/lite_assets.py`` from the registries with every file checked against
   ``pyodide-lock.json``'s sha256, its modules compiled to bytecode (``tools/lite_pyc.py``);
4. keeps the pages light: jupyterlite-sphinx's stylesheet, script and Google Fonts link are
   removed from every page (nothing here uses its directives), so no page loads anything of
   JupyterLite or Pyodide until the reader presses the launch button's "JupyterLite" entry;
5. keeps its staging out of the repository's root and lets a failed ``jupyter lite build`` show
   its output: everything lives under ``_build/lite``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
MODES = ("cdn", "local")
KERNEL = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
# The front-end extensions the lite site needs: the kernel's, from this environment, and the
# widgets' from the pinned jupyterlab_widgets wheel the site serves (the environment's own is
# built for a newer JupyterLab; its other extensions, e.g. jupytext's, break the lite app).
KERNEL_EXTENSION = "@jupyterlite/pyodide-kernel-extension"
WIDGETS_WHEEL = "jupyterlab_widgets-"
# Page assets jupyterlite-sphinx adds to every page, for directives this book does not use.
UNUSED_ASSETS = ("fonts.googleapis.com", "jupyterlite_sphinx.")
# The site's wheels every kernel loads at start (the rest are there for %pip install).
PRELOAD = ("nnlib-", "ipywidgets-", "tqdm-")
# pyodide-kernel 0.6.1 starts a kernel in steps, one after the other (its worker.js: micropip,
# then piplite, then `piplite.install` of ssl, sqlite3, ipykernel, comm, pyodide_kernel, jedi and
# ipython, each a round trip through micropip), and skips each package that
# `loadPyodideOptions.packages` names, spelled exactly so. Named there, they load in the one
# parallel batch of Pyodide's boot instead (benchmarks/bench_lite.py: seconds saved).
KERNEL_PACKAGES = ("micropip", "ssl", "sqlite3", "jedi", "ipython")
# The rest are wheels no Pyodide lock file lists (the kernel extension's own, and comm from the
# site's index): only a local Pyodide, whose lock file the site writes, can name them.
KERNEL_WHEELS = ("piplite", "ipykernel", "pyodide_kernel", "comm")


def _tools() -> Any:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import lite_assets
    finally:
        sys.path.pop(0)
    return lite_assets


def lite_dir(app: Sphinx) -> Path:
    """Where the lite build's inputs are staged: ``_build/lite`` beside ``_build/html``."""
    return Path(app.outdir).parent / "lite"


def pyodide_mode(config: Config) -> str:
    """``cdn`` or ``local``: the environment variable wins over ``nnlib_lite_pyodide``."""
    mode = os.environ.get("NNLIB_LITE_PYODIDE") or config.nnlib_lite_pyodide
    if mode not in MODES:
        raise ConfigError(f"nnlib_lite_pyodide / NNLIB_LITE_PYODIDE must be one of {MODES}, "
                          f"got {mode!r}")  # fmt: skip
    return mode


def configure(app: Sphinx, config: Config) -> None:
    """Point jupyterlite-sphinx at ``_build/lite`` (before its own config-inited handler)."""
    staging = lite_dir(app)
    config.jupyterlite_dir = str(staging)
    config.jupyterlite_config = str(staging / "jupyter_lite_config.json")
    config.jupyterlite_content_dir = str(staging / "contents")
    config.jupyterlite_silence = False  # a failing lite build shows why
    config.jupyterlite_bind_ipynb_suffix = False  # myst-nb reads the notebooks
    # The launch button's "JupyterLite" entry: the chapter's notebook in the notebook app.
    launch = config.html_theme_options.setdefault("launch_buttons", {})
    launch["jupyterlite_url"] = "../lite/notebooks/index.html"
    launch["jupyterlite_ext"] = ".ipynb"
    pyodide_mode(config)


def chapter_notebooks(dest: Path) -> list[Path]:
    """Write every chapter of ``_toc.yml`` that has code as an unexecuted notebook in ``dest``."""
    import jupytext
    import nbformat
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]] + [
        c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])
    ]
    written = []
    for name in names:
        source = ROOT / f"{name}.md"
        notebook = jupytext.read(source)
        if not any(cell.cell_type == "code" for cell in notebook.cells):
            continue
        notebook.metadata["kernelspec"] = dict(KERNEL)
        notebook.metadata.pop("jupytext", None)
        target = dest / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        written.append(target)
    return written


def assignment_notebooks(dest: Path) -> list[Path]:
    """Copy the released assignments (``assignments/<name>/<name>.ipynb``) into ``dest``."""
    written = []
    for notebook in sorted((ROOT / "assignments").glob("*/*.ipynb")):
        target = dest / "assignments" / notebook.parent.name / notebook.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target)
        written.append(target)
    return written


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst``, hard-linking files where the file system allows."""

    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=link)


# The kernel's web worker runs from lite/extensions/<kernel extension>/static/: from there, the
# site's package index (lite/pypi/) is four levels up. A local Pyodide's lock file resolves its
# packages' file names from lite/static/pyodide/: the site's index is two levels up.
WORKER_TO_SITE = "../../../../"
PYODIDE_TO_SITE = "../../"


def _dist(wheel_name: str) -> str:
    """A wheel's distribution name, from its file name (``nnlib-0.1.0-py3-none-any.whl``)."""
    return wheel_name.split("-")[0]


def lite_settings(mode: str, cdn_url: str, preload: list[str]) -> dict:
    """The ``jupyter-lite.json`` of the site: where Pyodide comes from, no PyPI, and the
    packages every kernel starts with, in one batch while Pyodide boots: Pyodide's numpy and
    matplotlib, the kernel's own packages and the ``preload`` wheels of the site's index (nnlib
    is importable in every notebook, assignments too). With the CDN, the site's wheels are
    loaded by URL; a local Pyodide's lock file lists them (:func:`local_lock`), so they, and the
    kernel's wheels, are loaded by name."""
    packages = ["numpy", "matplotlib", *KERNEL_PACKAGES]
    if mode == "cdn":
        packages += [f"{WORKER_TO_SITE}pypi/{name}" for name in preload]
    else:
        packages += [*KERNEL_WHEELS, *(_dist(name) for name in preload)]
    kernel: dict[str, Any] = {
        "disablePyPIFallback": True,
        "loadPyodideOptions": {"packages": packages},
    }
    if mode == "cdn":
        kernel["pyodideUrl"] = f"{cdn_url}pyodide.js"
    # local: the Pyodide addon copies static/pyodide and points pyodideUrl at it.
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "Neural Networks from the Neuron Up",
            "litePluginSettings": {KERNEL_PLUGIN: kernel},
        },
    }


def _kernel_extension() -> Path:
    kernel = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / KERNEL_EXTENSION
    if not (kernel / "package.json").exists():
        raise ConfigError(f"the Pyodide kernel's extension is missing: {kernel} (make install "
                          "installs jupyterlite-pyodide-kernel)")  # fmt: skip
    return kernel


def local_lock(lock: dict, site_wheels: list[Path]) -> dict:
    """A local Pyodide's lock file: ``lock`` plus the site's wheels that every kernel loads at
    start (``site_wheels``, served from lite/pypi) and the kernel extension's own wheels
    (served from its folder), each with its sha256, which Pyodide checks when loading it."""
    tools = _tools()
    pypi = _kernel_extension() / "static" / "pypi"
    kernel_dir = f"{PYODIDE_TO_SITE}extensions/{KERNEL_EXTENSION}/static/pypi/"
    wanted = {name.replace("_", "-") for name in KERNEL_WHEELS}
    wheels = {f"{PYODIDE_TO_SITE}pypi/{w.name}": w for w in site_wheels}
    for wheel in sorted(pypi.glob("*.whl")):
        if _dist(wheel.name).replace("_", "-") in wanted:
            wheels[kernel_dir + wheel.name] = wheel
    found = {_dist(w.name).replace("_", "-") for w in wheels.values()}
    if not wanted <= found:
        raise ConfigError(f"wheels missing for the lite kernel: {sorted(wanted - found)}")
    return tools.extend_lock(lock, wheels)


def build_config(wheels: list[Path]) -> dict:
    """The ``jupyter_lite_config.json``: the front-end extensions and the site's wheels."""
    kernel = _kernel_extension()
    widgets = [str(w) for w in wheels if w.name.startswith(WIDGETS_WHEEL)]
    return {
        "LiteBuildConfig": {
            "ignore_sys_prefix": ["federated_extensions"],
            "federated_extensions": [str(kernel), *widgets],
            "no_sourcemaps": True,
        },
        "PipliteAddon": {"piplite_urls": [str(w) for w in wheels]},
    }


def stage(staging: Path, contents: Path, mode: str) -> None:
    """Stage a lite build's inputs in ``staging``: contents, wheels, settings, (local) Pyodide.

    ``jupyter lite build --lite-dir staging --config staging/jupyter_lite_config.json
    --contents contents`` then builds the site (jupyterlite-sphinx runs it after the book).
    """
    tools = _tools()
    contents.mkdir(parents=True, exist_ok=True)
    chapter_notebooks(contents)
    assignment_notebooks(contents)
    wheel_dir = staging / "wheels"
    shutil.rmtree(wheel_dir, ignore_errors=True)
    wheels = [tools.nnlib_wheel(wheel_dir), *tools.site_wheels(wheel_dir)]
    (staging / "jupyter_lite_config.json").write_text(json.dumps(build_config(wheels), indent=1))
    preload = [w.name for w in wheels if w.name.startswith(PRELOAD)]
    settings = lite_settings(mode, tools.PYODIDE_CDN, preload)
    (staging / "jupyter-lite.json").write_text(json.dumps(settings, indent=1))
    local = staging / "static" / "pyodide"
    if mode == "local":
        _copy_tree(tools.compiled_pyodide_copy(), local)
        # The copy's files are hard links into the cache: the new lock file replaces its link.
        lock_path = local / "pyodide-lock.json"
        listed = [w for w in wheels if w.name in preload or _dist(w.name) in KERNEL_WHEELS]
        lock = local_lock(json.loads(lock_path.read_text()), listed)
        lock_path.unlink()
        lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))
    else:
        shutil.rmtree(local, ignore_errors=True)


def prepare(app: Sphinx) -> None:
    """Stage the lite build's inputs before the HTML build (the lite build runs after it)."""
    if app.builder.format != "html":
        return
    mode = pyodide_mode(app.config)
    stage(lite_dir(app), Path(app.config.jupyterlite_content_dir), mode)
    logger.info("[nnlib_lite] JupyterLite staged in %s (Pyodide: %s)", lite_dir(app), mode)


def drop_unused_assets(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object
) -> None:
    """Remove jupyterlite-sphinx's per-page stylesheet, script and Google Fonts link."""
    for key in ("css_files", "script_files"):
        if key in context:
            context[key] = [
                f for f in context[key]
                if not any(u in str(getattr(f, "filename", f) or "") for u in UNUSED_ASSETS)
            ]  # fmt: skip


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("jupyterlite_sphinx")
    app.add_config_value("nnlib_lite_pyodide", "cdn", "html")
    # Before jupyterlite-sphinx's config-inited handler (500), which creates the contents folder.
    app.connect("config-inited", configure, priority=400)
    app.connect("builder-inited", prepare)
    app.connect("html-page-context", drop_unused_assets, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
