"""Student HTML made inert in every page the grader writes.

A student controls much of what a feedback page shows: markdown cells (the reflection answer
among them), and every output their code produced (``text/html``, ``image/svg+xml``,
``text/markdown``, the base64 text of an image and its ``width``/``height`` metadata). None of
it may run in the browser of whoever opens the page: the student, or the instructor following a
link from the class report. Three layers, each enough on its own for what it covers:

* :func:`clean`: an allow-list of tags, attributes and URL schemes (bleach) applied to every
  piece of HTML that comes from a notebook: no ``<script>``, ``<iframe>``, ``<object>``,
  ``<svg>``, ``<math>``, ``<style>``, no ``on*`` handlers, no ``style``, no ``javascript:``
  URLs, images only from ``http(s)``, relative paths and ``data:image/...``;
* :class:`SafeOutputs`: a preprocessor that keeps only the output types a page shows inertly,
  drops JavaScript and widget outputs, checks that an image's data is base64 and its size
  metadata numbers (nbconvert writes those into ``<img>`` attributes), and replaces an
  ``nbgrader`` ``grade_id`` that is not a plain name (the template writes it into anchors);
* :func:`protect`: a Content-Security-Policy ``<meta>`` as the head's first element, which
  allows only the scripts of the page's own ``<head>`` (nbconvert's MathJax loader and its
  configuration, by hash) and no inline handler, frame, plugin, form or base URL, so that
  anything the first two layers missed still cannot run.

:class:`SafeHTMLExporter` is nbconvert's ``HTMLExporter`` with all three, used by
:class:`nngrader.host.nbgrader_steps.Feedback`; the class report and the similarity page
escape every student string and carry :data:`STATIC_CSP` (no script at all).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re

import bleach
import jinja2
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor

#: Tags a notebook's markdown or HTML output may keep (what markdown produces, plus tables).
TAGS = frozenset(
    {
        *("a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl"),
        *("dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li"),
        *("ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "table"),
        *("tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "details", "summary"),
    }
)
#: Attributes per tag (``*``: every tag). No ``style`` and no event handler anywhere.
ATTRIBUTES = {
    "*": ["class", "id", "title", "lang", "dir"],
    "a": ["href", "name"],
    "img": ["src", "alt", "width", "height"],
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align", "scope"],
    "ol": ["start"],
}
#: URL schemes of links; images may also be ``data:image/...`` (checked by :func:`_image_src`).
PROTOCOLS = frozenset({"http", "https", "mailto", "data"})
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)
_NUMBER = re.compile(r"^\d{1,5}(\.\d{1,3})?(px|%)?$")


def _attribute(tag: str, name: str, value: str) -> bool:
    """bleach's attribute filter: the allow-list, with links and image sources checked."""
    allowed = ATTRIBUTES.get(tag, []) + ATTRIBUTES["*"]
    if name not in allowed:
        return False
    if tag == "a" and name == "href":
        return not value.strip().lower().startswith("data:")  # (bleach checks the others)
    if tag == "img" and name == "src":
        return _image_src(value)
    if name in ("width", "height"):
        return bool(_NUMBER.match(value.strip()))
    return True


def _image_src(value: str) -> bool:
    text = value.strip()
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", text)
    if scheme is None:
        return True  # a relative path
    if scheme.group(1).lower() == "data":
        return bool(_DATA_IMAGE.match(text))
    return scheme.group(1).lower() in ("http", "https")


_CLEANER = bleach.Cleaner(
    tags=TAGS,
    attributes=_attribute,
    protocols=PROTOCOLS,
    strip=True,
    strip_comments=True,
)
#: Tags whose content is dropped with them (bleach's ``strip`` keeps the text of a tag).
_DROP_WITH_CONTENT = re.compile(
    r"<(script|style|iframe|object|embed|svg|math|template|noscript|textarea|title|xmp|noembed"
    r"|noframes|plaintext)\b.*?(</\1\s*>|$)",
    re.IGNORECASE | re.DOTALL,
)


def clean(fragment: str | bytes) -> str:
    """``fragment`` with only :data:`TAGS`, :data:`ATTRIBUTES` and safe URLs left.

    Scripts, styles, frames, plugins, SVG and MathML are removed with their content; other
    tags outside the list are removed and their text kept (escaped). Text such as TeX math
    (``$x^2 < 1$``) is kept as text.
    """
    text = fragment.decode("utf-8", "replace") if isinstance(fragment, bytes) else str(fragment)
    previous = None
    while previous != text:  # (a removal can join the halves of another tag)
        previous, text = text, _DROP_WITH_CONTENT.sub("", text)
    return _CLEANER.clean(text)


#: Output types a feedback page shows, all rendered inertly (HTML and markdown via clean).
MIMETYPES = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
)
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_GRADE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def _safe_data(output: dict) -> None:
    data = output.get("data")
    if not isinstance(data, dict):
        output["data"] = {"text/plain": ""}
        return
    for mime in list(data):
        value = data[mime]
        if isinstance(value, list):  # (nbformat allows multi-line strings as lists)
            value = data[mime] = "".join(str(v) for v in value)
        keep = mime in MIMETYPES and isinstance(value, str)
        if keep and mime in ("image/png", "image/jpeg"):
            keep = bool(_BASE64.match(value))
        if not keep:
            del data[mime]
    if not data:
        data["text/plain"] = "(an output this page does not show)"
    metadata = output.get("metadata")
    safe_meta: dict = {}
    if isinstance(metadata, dict):
        for mime in ("image/png", "image/jpeg"):
            sizes = metadata.get(mime)
            if isinstance(sizes, dict):
                kept = {
                    k: v
                    for k, v in sizes.items()
                    if k in ("width", "height") and isinstance(v, int | float)
                }
                if kept:
                    safe_meta[mime] = kept
        for k in ("width", "height"):
            if isinstance(metadata.get(k), int | float):
                safe_meta[k] = metadata[k]
    output["metadata"] = safe_meta  # (no "filenames", no "isolated" iframe)


class SafeOutputs(Preprocessor):
    """Keep only output types and metadata that the feedback page renders inertly."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and "grade_id" in meta:
            if not _GRADE_ID.match(str(meta["grade_id"])):
                meta["grade_id"] = f"cell-{index}"
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result"):
                    _safe_data(output)
        return cell, resources


#: The policy of a page without scripts (class report, similarity): images from its folder.
STATIC_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEAD_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)


def csp_meta(policy: str) -> str:
    """The ``<meta http-equiv="Content-Security-Policy">`` element of ``policy``."""
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def protect(page: str, extra_head: str = "") -> str:
    """``page`` with a Content-Security-Policy allowing only its own ``<head>``'s scripts.

    The inline scripts of the head (nbconvert's, written before any student content) are
    allowed by their SHA-256, external ones by their origin; every other script, inline event
    handler and ``javascript:`` URL is refused by the browser (``'unsafe-eval'`` because
    MathJax 2 evaluates its configuration block; only an allowed script can call ``eval``,
    and none of them passes student text to it). ``extra_head`` (e.g. a
    stylesheet) goes in after the policy.
    """
    start = page.lower().find("<head")
    end = page.lower().find("</head>")
    if start < 0 or end < 0:
        raise ValueError("protect: expected an HTML page with a <head>")
    head_open = page.index(">", start) + 1
    head = page[head_open:end]
    sources = {"'self'"}
    for attrs, body in _HEAD_SCRIPT.findall(head):
        src = re.search(r"""\bsrc\s*=\s*["']?(https?://[^/"'\s>]+)""", attrs)
        if src:
            sources.add(src.group(1))
        elif body.strip():
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            sources.add(f"'sha256-{digest}'")
    policy = (
        f"default-src 'none'; script-src {' '.join(sorted(sources))} 'unsafe-eval'; "
        "style-src 'self' 'unsafe-inline' https:; img-src 'self' data: https: http:; "
        "font-src 'self' data: https:; connect-src 'none'; frame-src 'none'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return page[:head_open] + csp_meta(policy) + extra_head + page[head_open:]


#: Feedback a student can read on a phone: long lines wrap, no prompt column, nothing wider
#: than the screen (the score and the diagnosis of a failed test stay in view).
READABLE_CSS = """<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
pre, code, .output_text pre, .highlight pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.container, #notebook-container { width: auto; max-width: 70em; }
.rendered_html, .output_subarea, .inner_cell { min-width: 0; max-width: 100%; }
.rendered_html img, .output_subarea img { max-width: 100%; height: auto; }
.rendered_html table { display: block; max-width: 100%; overflow-x: auto; }
div.nbgrader_cell .panel-heading { height: auto; }
@media (max-width: 700px) {
  body { padding: 0; }
  .container { padding-left: 4px; padding-right: 4px; }
  div.prompt { display: none; }
  div.input, div.output_area { display: block; }
  .panel-body { padding: 2px; }
  .pull-right { float: none !important; display: block; }
}
</style>
"""


class SafeHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter with student HTML made inert (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sanitize_html = True  # (nbconvert's switch: no JavaScript or widget outputs)

    def default_filters(self):
        """nbconvert's filters, with every HTML-producing one passed through :func:`clean`."""
        markdown2html = self.markdown2html

        @jinja2.pass_context
        def clean_markdown2html(context, source):
            return clean(markdown2html(context, source))

        for name, value in super().default_filters():
            if name == "markdown2html":
                value = clean_markdown2html
            yield name, value
        yield "clean_html", clean

    def from_notebook_node(self, nb, resources=None, **kw):
        """The page, with :func:`protect`'s policy and :data:`READABLE_CSS` in its head."""
        output, resources = super().from_notebook_node(nb, resources, **kw)
        return protect(output, READABLE_CSS), resources


def write_page(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the course's group (0644).

    The pages of the class report and the similarity list are shared like their PNGs;
    :func:`nngrader.host.pipeline.atomic_write` makes private (0600) files.
    """
    from nngrader.host.pipeline import atomic_write

    atomic_write(path, text)
    os.chmod(path, 0o644)
