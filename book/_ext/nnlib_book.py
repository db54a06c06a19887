"""Sphinx extension for this book: offline MathJax, static widgets, and a fix for Thebe's script.

Jupyter Book loads it through ``sphinx.local_extensions`` in ``_config.yml``. It does these things:

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
4. Points the launch buttons (Colab, Binder, JupyterHub) at the executed ``.ipynb`` that the
   build publishes under ``_sources/`` on the branch that serves the site
   (``nnlib_colab_branch``): Colab cannot open the MyST-Markdown sources that the theme would
   otherwise link to, and Binder and JupyterHub open them as text.
5. Draws the chapters' matplotlib figures at twice their pixel density. The kernels read an
   IPython profile (``IPYTHONDIR``, under ``_build/``) that sets the inline backend's format to
   ``retina``: a PNG at 2x with its CSS size in the output's metadata, which myst-nb writes as
   the image's width and height (sharp on phones and high-density screens, same layout). A
   startup file of that profile writes each plot's description (:func:`nnlib.viz.alt_text`) into
   its PNG, and :func:`alt_text_from_png` makes it the ``<img>``'s alt text.
6. Keeps pages light (:func:`frames_to_files`, :func:`lazy_images`): an interactive figure's
   frames become files beside the page instead of base64 in it, plots load when scrolled into
   view, sphinx-design's assets only where a page uses them.
7. Prints a book (:class:`PrintedBook`, :func:`configure_latex`): a preface, numbered parts and
   the HTML's chapter numbers, no hidden cells, the bibliography inside its chapter with
   author-year labels (:class:`AuthorYearStyle`, for HTML too).
8. The ``{assignment}`` role: a link to an assignment's folder in the repository.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging, texescape

logger = logging.getLogger(__name__)

# The parts of MathJax's es5 tree the book may load: the tex-svg bundle, or (what _config.yml
# asks for) its components one by one (startup, core, TeX input, SVG output and its font), the TeX
# extensions that "autoload" fetches on first use, the menu, and the accessibility modules.
_MATHJAX_PARTS = (
    "tex-svg.js",
    "startup.js",
    "core.js",
    "input/tex.js",
    "output/svg.js",
    "output/svg/fonts",
    "input/tex/extensions",
    "ui",
    "a11y",
    "sre",
    "LICENSE",
)


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


def lazy_images(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Lighten a page: plots load when scrolled into view, sphinx-design only where used.

    The browser fetches an ``<img loading="lazy">`` when it comes near the screen. Jupyter Book
    loads sphinx-design's stylesheet and script (60 kB) on every page; only a page whose body
    uses its components (``sd-`` classes) keeps them.
    """
    body = context.get("body")
    if body is None:
        return
    context["body"] = re.sub(r"<img (?![^>]*\bloading=)", '<img loading="lazy" ', body)
    if not re.search(r'class="[^"]*\bsd-', body):
        for key in ("css_files", "script_files"):
            context[key] = [
                f for f in context.get(key, []) if "design" not in str(getattr(f, "filename", f))
            ]


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
    """Point every launch button at the executed notebook published with the site.

    The theme's buttons open the MyST-Markdown source on the default branch, which Colab
    cannot read and Binder and JupyterHub open as a text file. The published site (the branch
    ``nnlib_colab_branch``) holds each chapter as ``_sources/<page>.ipynb``; its first cell
    installs nnlib where it is missing. The repository comes from ``repository.url`` and the hub
    from ``launch_buttons.jupyterhub_url`` in ``_config.yml``: a course that forks the book sets
    those two and nothing else.
    """
    branch = app.config.nnlib_colab_branch
    repo_url = context.get("theme_repository_url") or ""
    if not branch or "github.com/" not in repo_url:
        return
    org_repo = repo_url.rstrip("/").split("github.com/", 1)[1]
    notebook = f"_sources/{pagename}.ipynb"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            url = button.get("url", "") if isinstance(button, dict) else ""
            if "colab" in url and "/github/" in url:
                colab = url.split("/github/", 1)[0]
                button["url"] = f"{colab}/github/{org_repo}/blob/{branch}/{notebook}"
            elif "/v2/gh/" in url:  # BinderHub
                binder = url.split("/v2/gh/", 1)[0]
                button["url"] = f"{binder}/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/{notebook}"
            elif "/git-pull?" in url:  # JupyterHub with nbgitpuller: the clone is named as the repo
                hub = url.split("/git-pull?", 1)[0]
                repo_name = org_repo.split("/")[-1]
                button["url"] = (
                    f"{hub}/git-pull?repo={quote(repo_url, safe='')}&branch={branch}"
                    f"&urlpath=lab/tree/{repo_name}/{notebook}"
                )


# A static interactive figure (nnlib.widgets) as the kernel printed it: a frame table in a JSON
# script whose images are PNG data: URIs, and the first frame's <img> with one of them.
_FRAMES_RE = re.compile(
    r'(<script type="application/json" class="nnlib-frames">)(.*?)(</script>)', re.S
)
_DATA_URI_RE = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
FRAMES_DIR = "_frames"


def frames_to_files(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Move the interactive figures' frames out of the page, into files beside it.

    In a notebook, a figure's frames are base64 PNGs inside its HTML (one self-contained
    output). On the site that made chapters of 6 MB that a browser loads in full before the
    reader touches anything. Each PNG becomes ``_frames/<hash>.png`` (identical frames, also
    across pages, are stored once) and the page keeps only its URL: the browser fetches a frame
    when it is shown (the default one lazily, when the figure scrolls into view).
    """
    if app.builder.format != "html":
        return
    out = Path(app.outdir) / FRAMES_DIR
    prefix = "../" * docname.count("/") + FRAMES_DIR + "/"

    def to_file(match: re.Match) -> str:
        png = base64.b64decode(match.group(1))
        name = hashlib.sha1(png).hexdigest()[:20] + ".png"
        target = out / name
        if not target.is_file():
            out.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(png)
            tmp.replace(target)  # atomic: parallel writers may store the same frame
        return prefix + name

    for node in doctree.findall(nodes.raw):
        text = node.astext()
        if "nnlib-frames" not in text or node.get("format") != "html":
            continue
        new = _DATA_URI_RE.sub(to_file, text)
        node.children = [nodes.Text(new)]
        node.rawsource = new


# --- the PDF ----------------------------------------------------------------------------------
# Tags that keep a cell's code out of the printed book: the HTML shows such code behind a toggle
# (hide-*) or not at all (remove-*); paper has no toggle.
_HIDDEN_INPUT_TAGS = ("tag_hide-cell", "tag_hide-input", "tag_remove-input")
_HIDDEN_OUTPUT_TAGS = ("tag_hide-output", "tag_remove-output")
PREFACE_TITLE = "Preface"


def _latex_heading(command: str, title: str) -> nodes.raw:
    r"""A LaTeX heading: ``\part``, or ``\chapter*`` (listed in the contents) or ``\section*``."""
    text = texescape.escape(title)
    latex = f"\\{command}{{{text}}}\n"
    if command == "chapter*":
        latex += f"\\addcontentsline{{toc}}{{chapter}}{{{text}}}\\markboth{{{text}}}{{{text}}}\n"
    return nodes.raw("", latex, format="latex")


class PrintedBook(SphinxPostTransform):
    r"""Give the PDF the book's structure: a preface, numbered parts, chapters as in the HTML.

    Sphinx's LaTeX builder inlines every chapter into the root page (``book/intro``), whose title
    it takes as the book's title, so the root page's own sections became chapters 1-3 and every
    real chapter was numbered three too high; the table of contents was headed by the first
    part's caption. Here, on that assembled tree (LaTeX builders only):

    * the root page's text becomes an unnumbered front-matter chapter, "Preface", its sections
      unnumbered sections;
    * each part of ``_toc.yml`` starts with ``\part``; the unnumbered back matter (notation,
      bibliography) follows with chapter numbers off, like the HTML's;
    * cells whose code the HTML hides or removes (install, ``glue`` and table-building cells,
      tagged ``hide-cell``, ``hide-input`` or ``remove-input``) print only their output;
    * the self-check questions (a cell tagged ``self-check``), which answer on screen only, are
      left out with their section.
    """

    default_priority = 200
    formats = ("latex",)

    # SphinxPostTransform.apply calls run() only for the builders in ``formats``.
    def run(self, **kwargs: Any) -> None:
        self._hide_cells()
        if self.document.get("docname") != self.config.root_doc:
            return
        sitemap = getattr(self.config, "external_site_map", None)
        root = next(iter(self.document.findall(nodes.section)), None)
        if sitemap is None or root is None:
            return
        part_of = {}
        for subtree in sitemap.root.subtrees:
            for docname in subtree.files():
                part_of[docname] = subtree
        preface: list[nodes.Node] = [_latex_heading("chapter*", PREFACE_TITLE)]
        body: list[nodes.Node] = []
        current = None
        for child in list(root.children[1:]):  # [0] is the book's title
            files = [n for n in child.findall(addnodes.start_of_file) if n["docname"] in part_of]
            if not files:
                preface.extend(self._unnumbered(child))
                continue
            for sof in files:
                subtree = part_of[sof["docname"]]
                if subtree is not current:
                    current = subtree
                    body.append(self._part(subtree))
                body.append(sof)
        root.children = [root.children[0]]
        root.extend(preface)
        root.extend(body)

    @staticmethod
    def _part(subtree: Any) -> nodes.raw:
        caption = subtree.caption or ""
        if subtree.numbered:
            # "Part I: From one neuron..." -> \part{From one neuron...} (LaTeX numbers parts).
            return _latex_heading("part", re.sub(r"^Part [IVXLC]+[:.]\s*", "", caption))
        return nodes.raw(
            "",
            "\\cleardoublepage\\phantomsection"
            f"\\addcontentsline{{toc}}{{part}}{{{texescape.escape(caption)}}}"
            "\\setcounter{secnumdepth}{-1}\n",
            format="latex",
        )

    def _unnumbered(self, node: nodes.Node) -> list[nodes.Node]:
        r"""The root page's content, its sections flattened to ``\section*`` headings."""
        if not isinstance(node, nodes.section):
            return [node]
        out: list[nodes.Node] = []
        for child in node.children:
            if isinstance(child, nodes.title):
                out.append(_latex_heading("section*", child.astext()))
            else:
                out.extend(self._unnumbered(child))
        return out

    def _hide_cells(self) -> None:
        # The self-check questions answer on the screen only: paper gets the exercises.
        for cell in list(self.document.findall(nodes.container)):
            if "tag_self-check" in cell.get("classes", []):
                section = cell.parent
                if isinstance(section, nodes.section) and section.parent is not None:
                    section.parent.remove(section)
                elif cell.parent is not None:
                    cell.parent.remove(cell)
        for cell in list(self.document.findall(nodes.container)):
            classes = cell.get("classes", [])
            if "cell" not in classes:
                continue
            hidden = (("cell_input", _HIDDEN_INPUT_TAGS), ("cell_output", _HIDDEN_OUTPUT_TAGS))
            for part, tags in hidden:
                if any(t in classes for t in tags):
                    for sub in list(cell.children):
                        if isinstance(sub, nodes.container) and part in sub.get("classes", []):
                            cell.remove(sub)
            if not cell.children:
                cell.parent.remove(cell)


_BIBLIOGRAPHY_LATEX = r"""
% The bibliography page's chapter holds the list: no second, unnumbered "Bibliography" heading
% (report's thebibliography opens one with \chapter*).
\makeatletter
\renewenvironment{sphinxthebibliography}[1]
  {\let\nnlib@chapter\chapter\def\chapter*##1{\let\chapter\nnlib@chapter}%
   \begin{thebibliography}{#1}}
  {\end{thebibliography}}
\makeatother
"""


def configure_latex(app: Sphinx) -> None:
    """The LaTeX builder: contents headed "Contents", the bibliography inside its chapter."""
    if app.builder.format != "latex":
        return
    # Sphinx heads the contents with the root toctree's first caption ("Part I: ...").
    app.builder.get_contentsname = lambda indexfile: ""
    # The builder copied latex_elements into its template context when it was initialised.
    preamble = app.builder.context.get("preamble", "")
    if _BIBLIOGRAPHY_LATEX not in preamble:
        app.builder.context["preamble"] = preamble + _BIBLIOGRAPHY_LATEX


# --- citations --------------------------------------------------------------------------------
class AuthorYearLabels(BaseLabelStyle):
    """Bibliography labels that match the text's author-year citations: "Rosenblatt, 1958"."""

    def format_labels(self, sorted_entries: Any) -> Any:
        seen: dict[str, int] = {}
        labels = []
        for entry in sorted_entries:
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [" ".join(p.prelast_names + p.last_names) for p in persons]
            names = [re.sub(r"[{}\\]", "", n) for n in names]
            if not names:
                who = entry.fields.get("organization", entry.key)
            elif len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = f"{names[0]} et al."
            label = f"{who}, {entry.fields.get('year', 'n.d.')}"
            seen[label] = seen.get(label, 0) + 1
            labels.append(label)
        counts: dict[str, int] = {}
        for label in labels:
            if seen[label] > 1:  # two works of one author in one year: 1986a, 1986b
                counts[label] = counts.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[counts[label] - 1]
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    """pybtex's unsrt entries, sorted by author and year, labelled by :class:`AuthorYearLabels`."""

    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.formatting", "nnlib_author_year", AuthorYearStyle)


def assignment_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Any,
    options: Any = None,
    content: Any = None,
) -> tuple[list[nodes.Node], list[Any]]:
    """``{assignment}`a1_neurons``` (or ```assignments/a1_neurons/```): a link to that folder.

    The address is built from ``repository.url`` and ``repository.branch`` in ``_config.yml``, so
    a course that forks the book links to its own assignments.
    """
    config = inliner.document.settings.env.config
    theme = config.html_theme_options or {}
    repo = str(theme.get("repository_url") or "").rstrip("/")
    branch = theme.get("repository_branch") or "main"
    folder = text.strip().strip("/").split("/")[-1]
    node = nodes.reference(
        rawtext, "", nodes.literal(text, text), refuri=f"{repo}/tree/{branch}/assignments/{folder}"
    )
    return [node], []


_KERNEL_CONFIG = """\
# Written by book/_ext/nnlib_book.py for the kernels that execute the book's chapters.
c.InlineBackend.figure_formats = {"retina"}
c.HistoryManager.enabled = False
"""


# Every plot's PNG carries a sentence that says what it shows (nnlib.viz.alt_text, from the
# titles, labels and legends its code drew); alt_text_from_png makes it the <img>'s alt.
_KERNEL_STARTUP = """\
# Written by book/_ext/nnlib_book.py: plots describe themselves in their PNG's metadata.
from matplotlib.backends.backend_agg import FigureCanvasAgg as _Canvas

from nnlib.viz import alt_text as _alt_text

_print_png = _Canvas.print_png


# matplotlib filters the keywords it passes only for its own print methods: the ones print_png
# does not take (dpi, facecolor, orientation, ...) are dropped here, as it would drop them.
def _print_png_with_alt(self, filename_or_obj, *, metadata=None, pil_kwargs=None, **_ignored):
    metadata = {"Description": _alt_text(self.figure), **(metadata or {})}
    return _print_png(self, filename_or_obj, metadata=metadata, pil_kwargs=pil_kwargs)


_Canvas.print_png = _print_png_with_alt
"""


def kernel_profile(build_dir: Path) -> Path:
    """Write the kernels' IPython profile under ``build_dir``; return the IPython directory."""
    ipython_dir = build_dir / ".ipython"
    profile = ipython_dir / "profile_default"
    files = {
        profile / "ipython_kernel_config.py": _KERNEL_CONFIG,
        profile / "startup" / "50-nnlib-alt-text.py": _KERNEL_STARTUP,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    return ipython_dir


def alt_text_from_png(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each plot of a cell output the alt text its PNG carries (its file path otherwise)."""
    from PIL import Image

    for node in doctree.findall(nodes.image):
        uri = node.get("uri", "")
        if not uri.endswith(".png") or (node.get("alt") and node["alt"] != uri):
            continue
        path = Path(app.srcdir, uri)
        if not path.is_file():
            continue
        with Image.open(path) as image:
            description = getattr(image, "text", {}).get("Description")
        if description:
            node["alt"] = description


def setup(app: Sphinx) -> dict[str, Any]:
    # Set at import time of the extension, i.e. before jupyter-cache starts any kernel.
    os.environ.setdefault("NNLIB_WIDGETS_MODE", "static")
    os.environ["IPYTHONDIR"] = str(kernel_profile(Path(app.outdir).parent))
    # The chapters' plots are the kernels' inline figures: a backend chosen in the caller's
    # environment (MPLBACKEND=Agg, common in CI and test set-ups) would leave every plot out.
    os.environ.pop("MPLBACKEND", None)
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
    app.connect("doctree-resolved", frames_to_files)
    app.connect("html-page-context", lazy_images)
    app.connect("doctree-resolved", alt_text_from_png)
    app.connect("builder-inited", configure_latex)
    app.add_post_transform(PrintedBook)
    app.add_role("assignment", assignment_role)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
