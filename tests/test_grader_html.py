"""Student HTML is inert in the feedback pages (issue 15, item 7), and feedback reads on a phone.

A notebook carries every way we know to run script from a page: ``<script>``, event handlers
(``onerror``, ``onload``, ``ontoggle``, ``onfocus``), ``javascript:`` URLs, SVG, ``<iframe
srcdoc>``, MathML mutation tricks, a ``<base>``/``<meta refresh>``, and outputs whose text
nbconvert writes into attributes (an image's base64, its width). Each payload calls
``alert(<name>)``; headless Chromium records every dialog. The page is rendered with nbgrader's
own feedback template by :class:`nngrader.host.html.SafeHTMLExporter`, as ``Feedback`` does.

Each layer is proved alone (sanitizing without the page's policy, the policy without
sanitizing), and nbconvert's exporter as nbgrader uses it runs the payloads, so the test sees
them when they run.
"""

from __future__ import annotations

import os
import sys

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

sys.path.insert(0, os.path.dirname(__file__))

from instructor.browser import Tab, launch

from nngrader.host import html

pytestmark = pytest.mark.browser

#: A 2x1 red PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAEElEQVR4nGP4z8DAwMDAAAAJ/gH/"
    "OtTi6AAAAABJRU5ErkJggg=="
)
MARKDOWN_PAYLOADS = {
    "md-script": "<script>alert('md-script')</script>",
    "md-onerror": "<img src=x onerror=\"alert('md-onerror')\">",
    "md-svg": "<svg onload=\"alert('md-svg')\"><circle r=4 /></svg>",
    "md-svg-script": "<svg><script>alert('md-svg-script')</script></svg>",
    "md-iframe": "<iframe srcdoc=\"<script>parent.alert('md-iframe')</script>\"></iframe>",
    "md-details": "<details open ontoggle=\"alert('md-details')\"><summary>x</summary></details>",
    "md-autofocus": "<input autofocus onfocus=\"alert('md-autofocus')\">",
    "md-math": (
        "<math><mtext><table><mglyph><style><img src=x onerror=\"alert('md-math')\">"
        "</style></mglyph></table></mtext></math>"
    ),
    "md-object": "<object data=\"javascript:alert('md-object')\"></object>",
    "md-embed": "<embed src=\"data:text/html,<script>alert('md-embed')</script>\">",
    "md-body": "<body onload=\"alert('md-body')\"></body>",
    "md-style": "<style>*{background:url(\"javascript:alert('md-style')\")}</style>",
    "md-broken": "<scr<script>ipt>alert('md-broken')</script>",
}
#: Links that run script when clicked (the test clicks each).
LINKS = {
    "md-js-link": '<a id="md-js-link" href="javascript:alert(\'md-js-link\')">a link</a>',
    "md-js-link-md": "[a markdown link](javascript:alert('md-js-link-md'))",
    "md-data-link": (
        '<a id="md-data-link" href="data:text/html,<script>alert(\'md-data-link\')</script>">'
        "data</a>"
    ),
}


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, **nbgrader}
    return cell


def _display(data: dict, metadata: dict | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def hostile_notebook() -> nbformat.NotebookNode:
    """Every payload, around the content a feedback page must still show."""
    nb = nbformat.v4.new_notebook()
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = kernel
    intro = (
        "# Feedback probe\n\nThe loss is $L = \\frac{1}{N}\\sum_i (y_i - t_i)^2$.\n\n"
        "| part | points |\n|---|---|\n| grad_mse | 2 |\n\n"
        f"![a red dot](data:image/png;base64,{PNG})\n"
    )
    nb.cells.append(_cell("markdown", intro))
    for payload in [*MARKDOWN_PAYLOADS.values(), *LINKS.values()]:
        nb.cells.append(_cell("markdown", f"Before {payload} after"))
    reflection = "My reflection <script>alert('reflection')</script><img src=x onerror=alert(1)>"
    nb.cells.append(
        _cell("markdown", reflection, grade=True, solution=True, grade_id="reflection", points=1)
    )
    nb.cells[-1].metadata["nbgrader"]["score"] = 0
    code = _cell("code", "def grad_mse(y_hat, y):\n    return 2 * (y_hat - y)")
    code.metadata["nbgrader"] = {
        "schema_version": 3,
        "grade": False,
        "solution": True,
        "task": False,
        "grade_id": "grad_mse",
        "locked": False,
    }
    code.outputs = [
        _display({"text/html": "<b>bold</b><script>alert('out-html')</script>"}),
        _display({"text/html": "<img src=x onerror=\"alert('out-html-img')\">"}),
        _display(
            {"text/html": "<iframe src=\"javascript:alert('out-isolated')\"></iframe>"},
            {"text/html": {"isolated": True}},
        ),
        _display(
            {
                "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' onload=\"alert('out-svg')"
                "\"><script>alert('out-svg-script')</script><rect width='9' height='9'/></svg>"
            }
        ),
        _display({"text/markdown": "<img src=x onerror=\"alert('out-markdown')\">"}),
        _display({"application/javascript": "alert('out-js')"}),
        _display({"image/png": f'{PNG}"><img src=x onerror="alert(\'out-png-data\')">'}),
        _display({"image/png": PNG}, {"image/png": {"width": "4 onerror=alert('out-png-width')"}}),
        _display({"image/png": PNG}, {"filenames": {"image/png": 'x" onerror="alert(9)'}}),
        _display(
            {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "w"}
        ),
        _display({"text/latex": "<script>alert('out-latex')</script>"}),
        _display({"image/png": PNG}, {"image/png": {"width": 40, "height": 20}}),
    ]
    nb.cells.append(code)
    long_line = "grading.assert_close(grad_mse(y_hat, y), expected, 'grad_mse')  # " + "x" * 400
    test = _cell("code", long_line)
    test.metadata["nbgrader"] = {
        "schema_version": 3,
        "grade": True,
        "solution": False,
        "task": False,
        "grade_id": 'test_grad_mse"><script>alert("grade-id")</script>',
        "points": 2,
        "score": 0,
        "locked": True,
    }
    diagnosis = (
        "grad_mse: value check failed at element (0,): expected -0.5, got -2 (4 of 4 elements "
        "differ); likely bug: missing 1/N: the answer is N = 4 times too large (sum vs mean). "
        + "Details: "
        + "y" * 300
    )
    test.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="GradingError",
            evalue=diagnosis,
            traceback=[f"GradingError: {diagnosis}"],
        )
    ]
    nb.cells.append(test)
    return nb


def render(exporter_class: type, nb: nbformat.NotebookNode, tmp_path, name: str) -> str:
    """Write ``nb`` as nbgrader's feedback page with ``exporter_class``; return its path."""
    gf = GenerateFeedback(coursedir=CourseDirectory(config=Config()), config=Config())
    exporter = exporter_class(parent=gf, config=gf.config)
    if exporter_class is not HTMLExporter:
        exporter.register_preprocessor(html.SafeOutputs, enabled=True)
    resources = {"nbgrader": {"notebook": "probe", "score": 0.0, "max_score": 2.0}}
    resources["nbgrader"]["late_penalty"] = 0.0
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    path = tmp_path / f"{name}.html"
    path.write_text(page)
    return str(path)


class CleanOnly(html.SafeHTMLExporter):
    """Sanitized, without the page's Content-Security-Policy."""

    def from_notebook_node(self, nb, resources=None, **kw):
        return html.HTMLExporter.from_notebook_node(self, nb, resources, **kw)


class PolicyOnly(HTMLExporter):
    """nbconvert as nbgrader uses it (nothing sanitized), with only the page's policy."""

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        return html.protect(output), resources


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _visit(browser, path: str, width: int = 1366) -> Tab:
    tab = Tab(browser, path, width=width)
    for link in ("#md-js-link", "#md-data-link", "a[href^='javascript']"):
        for i in range(tab.page.locator(link).count()):
            tab.page.locator(link).nth(i).click(timeout=2000, no_wait_after=True)
    tab.page.wait_for_timeout(200)
    return tab


def test_the_probe_sees_student_script_run_in_nbgraders_own_feedback(browser, tmp_path):
    path = render(HTMLExporter, hostile_notebook(), tmp_path, "nbgrader")
    tab = _visit(browser, path)
    ran = set(tab.dialogs)
    tab.close()
    # the payloads are real: without the grader's layers, these run in the page
    want = {"md-script", "md-onerror", "md-svg", "md-iframe", "md-details", "md-js-link"}
    assert want | {"reflection", "out-html", "out-html-img", "out-markdown", "grade-id"} <= ran


@pytest.mark.parametrize("exporter", [html.SafeHTMLExporter, CleanOnly, PolicyOnly])
def test_no_student_script_runs_and_no_handler_fires(browser, tmp_path, exporter):
    path = render(exporter, hostile_notebook(), tmp_path, exporter.__name__)
    tab = _visit(browser, path)
    assert tab.dialogs == [], tab.dialogs
    frames = [f.url for f in tab.page.frames[1:]]
    tab.close()
    if exporter is not PolicyOnly:  # (the policy alone stops frames' scripts, not the frames)
        assert frames == []


def test_the_content_a_student_needs_still_shows(browser, tmp_path):
    path = render(html.SafeHTMLExporter, hostile_notebook(), tmp_path, "safe")
    with open(path) as f:
        page = f.read()
    assert "<script>alert" not in page and "onerror=" not in page
    tab = _visit(browser, path)
    p = tab.page
    text = p.inner_text("body")
    assert "\\frac{1}{N}\\sum_i (y_i - t_i)^2" in text  # the TeX, for MathJax (or to read)
    assert "likely bug: missing 1/N" in text and "GradingError" in text
    assert "Score: 0.0 / 2.0" in text
    assert "My reflection" in text and "Before" in text and "after" in text
    assert p.locator("table td", has_text="grad_mse").count() == 1
    assert p.locator("b", has_text="bold").count() == 1
    sizes = p.eval_on_selector_all(
        "img", "els => els.filter(e => e.complete && e.naturalWidth > 0).map(e => e.width)"
    )
    assert len(sizes) >= 3 and 40 in sizes, sizes  # markdown image, PNG outputs, their width
    tab.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_feedback_fits_the_screen_with_score_and_diagnosis_in_view(browser, tmp_path, width):
    path = render(html.SafeHTMLExporter, hostile_notebook(), tmp_path, f"w{width}")
    tab = Tab(browser, path, width=width)
    p = tab.page
    scroll = p.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways at {width} px: {scroll} px wide"
    for selector in ("h4", ".output_error"):
        box = p.locator(selector).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
            selector,
            box,
        )
    error = p.locator(".output_error pre").first
    assert error.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the diagnosis is cut off"
    tab.close()


@pytest.mark.parametrize(
    ("fragment", "kept", "gone"),
    [
        ("<p>a <b>b</b></p>", "<p>a <b>b</b></p>", ""),
        ("x<script>alert(1)</script>y", "xy", "alert"),
        ("<img src=x onerror=alert(1)>", '<img src="x">', "onerror"),
        ('<a href="javascript:alert(1)">l</a>', "<a>l</a>", "javascript"),
        ('<img src="data:text/html,&lt;script&gt;">', "<img>", "data:text"),
        (f'<img src="data:image/png;base64,{PNG}">', f"data:image/png;base64,{PNG}", ""),
        ('<span style="position:fixed">s</span>', "<span>s</span>", "fixed"),
        ("$a < b$", "$a &lt; b$", ""),
        ("<svg><g onload=x>t</g></svg>k", "k", "onload"),
    ],
)
def test_clean_keeps_markup_and_drops_script(fragment, kept, gone):
    out = html.clean(fragment)
    assert kept in out
    if gone:
        assert gone not in out


def test_protect_allows_only_the_heads_scripts():
    page = (
        "<html><head><title>t</title><script src='https://cdn.example/m.js'></script>"
        "<script>var a = 1;</script></head><body><script>alert(1)</script></body></html>"
    )
    out = html.protect(page)
    policy = out.split('content="', 1)[1].split('"', 1)[0]
    assert "https://cdn.example" in policy and "'sha256-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert policy.count("'sha256-") == 1  # the body's script is not allowed
    assert out.index("Content-Security-Policy") < out.index("<title>")
