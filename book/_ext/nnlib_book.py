"""Sphinx extension for this book: offline MathJax, static widgets, and a fix for Thebe's script.

Jupyter Book loads it through ``sphinx.local_extensions`` in ``_config.yml``. It does five things:

1. Sets ``NNLIB_WIDGETS_MODE=static`` in the environment before any notebook runs. The kernels
   that execute the chapters inherit it, so :mod:`nnlib.widgets` emits the precomputed,
   self-contained HTML face of each interactive figure instead of live ipywidgets (no kernel runs
   behind the built pages).
2. Serves MathJax 3 from the book itself. Sphinx loads MathJax from a CDN by default; readers of
   this book may be offline and the build must not depend on the network. The files come from the
   ``django-static-mathjax`` wheel (MathJax 3.2.2, no Django needed), and ``mathjax_path`` in
   ``_config.yml`` points at the copy. SVG output needs no web fonts, so it also works from
   ``file://``, where Chromium refuses to load fonts.
3. Removes duplicated inline scripts. Sphinx 7.4 registers an inline script (one with a ``body``
   and no file name) that an extension adds after the builder is initialised twice: once as
   ``_JavaScript(None, ...)`` when ``app.add_js_file`` forwards it to the builder, and again as
   ``_JavaScript('', ...)`` when ``prepare_writing`` replays the registry; ``None != ''`` defeats
   the de-duplication. sphinx-thebe adds ``const THEBE_JS_URL = ...`` this way, so every page of a
   stock Jupyter Book 1.0.4 declares that constant twice and throws
   ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``. Normalising the file
   name to ``''`` makes the two copies equal, and Sphinx keeps one.
4. Points the Colab launch button at the executed ``.ipynb`` that the build publishes under
   ``_sources/`` on the branch that serves the site (``nnlib_colab_branch``): Colab cannot open the
   MyST-Markdown sources that the theme would otherwise link to.
5. Draws the chapters' matplotlib figures at twice their pixel density. The kernels read an
   IPython profile (``IPYTHONDIR``, under ``_build/``) that sets the inline backend's format to
   ``retina``: a PNG at 2x with its CSS size in the output's metadata, which myst-nb writes as
   the image's width and height (sharp on phones and high-density screens, same layout).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

# The parts of MathJax's es5 tree that the tex-svg component loads: itself, the TeX extensions
# that "autoload" fetches on first use, the menu, and the accessibility modules it can enable.
_MATHJAX_PARTS = ("tex-svg.js", "input/tex/extensions", "ui", "a11y", "sre", "LICENSE")


def _mathjax_source() -> Path | None:
    try:
        import mathjax  # the django-static-mathjax wheel
    except ImportError:
        return None
    root = Path(mathjax.__file__).parent / "static" / "mathjax"
    return root if (root / "es5" / "tex-svg.js").is_file() else None


def copy_mathjax(app: Sphinx) -> None:
    """Copy MathJax into ``_static/mathjax`` when ``mathjax_path`` points there."""
    if app.builder.format != "html":
        return
    target_rel = app.config.mathjax_path
    if "://" in target_rel or not target_rel.startswith("mathjax/"):
        return  # a CDN or a custom copy: nothing to do
    source = _mathjax_source()
    if source is None:
        logger.warning(
            "mathjax_path is %r but the MathJax files are missing: install the book extras "
            "(pip install -e '.[book]', which brings django-static-mathjax)",
            target_rel,
        )
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in _MATHJAX_PARTS:
        src = source / "es5" / part if part != "LICENSE" else source / part
        dst = target / part
        if not src.exists() or dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)


def dedupe_inline_scripts(app: Sphinx, env: Any, docnames: list[str]) -> None:
    """Give inline scripts the file name ``''`` so that Sphinx's de-duplication sees them."""
    js_files = getattr(app.builder, "_js_files", None)
    if not js_files:
        return
    for i, js in enumerate(js_files):
        if getattr(js, "filename", "") is None:
            js_files[i] = type(js)("", priority=js.priority, **js.attributes)


def colab_from_published_notebooks(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Rewrite the Colab launch URL to the executed notebook published with the site."""
    branch = app.config.nnlib_colab_branch
    repo_url = context.get("theme_repository_url") or ""
    if not branch or "github.com/" not in repo_url:
        return
    org_repo = repo_url.rstrip("/").split("github.com/", 1)[1]
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            url = button.get("url", "") if isinstance(button, dict) else ""
            if "colab" in url and "/github/" in url:
                colab = url.split("/github/", 1)[0]
                button["url"] = f"{colab}/github/{org_repo}/blob/{branch}/_sources/{pagename}.ipynb"


_KERNEL_CONFIG = """\
# Written by book/_ext/nnlib_book.py for the kernels that execute the book's chapters.
c.InlineBackend.figure_formats = {"retina"}
c.HistoryManager.enabled = False
"""


def kernel_profile(build_dir: Path) -> Path:
    """Write the kernels' IPython profile under ``build_dir``; return the IPython directory."""
    ipython_dir = build_dir / ".ipython"
    config = ipython_dir / "profile_default" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    if not config.is_file() or config.read_text() != _KERNEL_CONFIG:
        config.write_text(_KERNEL_CONFIG)
    return ipython_dir


def setup(app: Sphinx) -> dict[str, Any]:
    # Set at import time of the extension, i.e. before jupyter-cache starts any kernel.
    os.environ.setdefault("NNLIB_WIDGETS_MODE", "static")
    os.environ["IPYTHONDIR"] = str(kernel_profile(Path(app.outdir).parent))
    # The chapters train small networks: BLAS threads only add overhead there (4-20x slower on a
    # busy 2-core machine). The kernels inherit this environment.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    app.add_config_value("nnlib_colab_branch", "gh-pages", "html")
    app.connect("builder-inited", copy_mathjax)
    # After sphinx-thebe (priority 500) has added its configuration script.
    app.connect("env-before-read-docs", dedupe_inline_scripts, priority=900)
    # After sphinx-book-theme has built the launch buttons (priority 501).
    app.connect("html-page-context", colab_from_published_notebooks, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
