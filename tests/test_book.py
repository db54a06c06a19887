"""The book: it builds from a clean checkout without warnings, and its pages work in a browser.

The build runs once per session into a temporary copy of the working tree (tracked files plus
untracked ones that git does not ignore, i.e. what a fresh clone with your changes would hold),
with ``jupyter-book build -n -W --keep-going`` and an empty execution cache. The browser tests
drive Debian's Chromium through Playwright against that build, served from 127.0.0.1, and block
every request that would leave the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from book_build import BIN, ROOT
from book_build import working_tree_files as _working_tree_files

# Frames and plots are drawn at twice their CSS pixel density (4x the pixels, ~2.3x the bytes):
# the heaviest pages (chapter 9, the playground) weigh 6-7 MB.
MAX_PAGE_BYTES = 7_000_000
INSTALL_MARKER = "except ImportError:"
MIN_PRINT_PPI = 200  # the PDF's pictures, at their printed size


# --- the sources ------------------------------------------------------------------------------
def _toc_files() -> list[str]:
    text = (ROOT / "_toc.yml").read_text()
    return re.findall(r"^\s*(?:root|- file):\s*(\S+)", text, flags=re.M)


def _chapters() -> list[Path]:
    return [ROOT / f"{name}.md" for name in _toc_files() if (ROOT / f"{name}.md").is_file()]


def _code_cells(path: Path) -> list[str]:
    import jupytext

    notebook = jupytext.read(path)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_every_chapter_is_in_the_toc() -> None:
    listed = {f"{name}.md" for name in _toc_files()}
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.md")}
    assert on_disk == listed, f"book/ and _toc.yml disagree: {sorted(on_disk ^ listed)}"


def test_every_notebook_chapter_starts_with_the_same_install_cell() -> None:
    notebooks = [p for p in _chapters() if _code_cells(p)]
    assert len(notebooks) >= 6
    first = {p.name: _code_cells(p)[0] for p in notebooks}
    reference = first[notebooks[0].name]
    assert INSTALL_MARKER in reference and "%pip install" in reference
    different = [name for name, src in first.items() if src != reference]
    assert not different, (
        f"these chapters' first cell differs from {notebooks[0].name}: {different}"
    )


def test_bibliography_entries_are_cited_or_listed() -> None:
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    text = "".join(p.read_text() for p in _chapters())
    cited = set()
    for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
        cited.update(k.strip() for k in group.split(","))
    assert cited <= keys, f"cited but missing from references.bib: {sorted(cited - keys)}"
    for key in (
        "mcculloch1943logical",
        "rosenblatt1958perceptron",
        "minsky1969perceptrons",
        "rumelhart1986learning",
        "cybenko1989approximation",
    ):
        assert key in cited, f"{key} is not cited"


@pytest.mark.slow
def test_install_cell_installs_nnlib_from_a_wheel_offline(tmp_path: Path) -> None:
    """The first cell, run where nnlib is missing, installs it (here from a local wheel)."""
    # Build the wheel from a copy, so that setuptools' build/ folder stays out of the checkout.
    src = tmp_path / "src"
    for rel in _working_tree_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [BIN / "python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", wheels, src],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # The test venv sees this environment's packages (numpy, IPython, pip...) through a folder of
    # links to them, without the editable nnlib: to the venv, nnlib is simply not installed.
    here = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()))
    outer = tmp_path / "outer"
    outer.mkdir()
    for entry in here.iterdir():
        if not entry.name.lower().startswith(("nnlib", "__editable__")):
            (outer / entry.name).symlink_to(entry)
    (site / "outer.pth").write_text(f"{outer}\n")
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), NNLIB_PIP_SPEC="nnlib",
               PIP_DISABLE_PIP_VERSION_CHECK="1")  # fmt: skip
    missing = subprocess.run(
        [python, "-c", "import nnlib.neurons"], cwd=tmp_path, env=env, capture_output=True
    )
    assert missing.returncode != 0, "nnlib is importable before the install cell ran"
    cell = _code_cells(ROOT / "book" / "02_formal_neuron.md")[0]
    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        f"result = shell.run_cell({cell!r})\n"
        "result.raise_error()\n"
        "import importlib; importlib.invalidate_caches()\n"
        "import nnlib.neurons\n"
        "print(nnlib.neurons.__file__)\n"
        "print(nnlib.neurons.truth_table(nnlib.neurons.AND, 2)[1].tolist())\n"
    )
    done = subprocess.run(
        [python, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-2].startswith(str(venv)), f"nnlib was not installed into the venv: {lines}"
    assert lines[-1] == "[0, 0, 0, 1]"


# --- the build (the built_book fixture lives in conftest.py) ------------------------------
def _pages(html: Path) -> list[Path]:
    return sorted((html / "book").glob("*.html"))


@pytest.mark.slow
@pytest.mark.book
def test_book_builds_every_chapter(built_book: Path) -> None:
    names = {p.stem for p in _pages(built_book)}
    expected = {Path(f).name for f in _toc_files()}
    assert expected <= names, f"pages missing from the build: {sorted(expected - names)}"
    assert len(names) >= 12


@pytest.mark.slow
@pytest.mark.book
def test_pages_are_small_self_contained_and_declare_thebe_once(built_book: Path) -> None:
    for page in _pages(built_book):
        text = page.read_text()
        # Sphinx 7.4 + sphinx-thebe would declare this const twice (a SyntaxError in the page).
        assert text.count("const THEBE_JS_URL") <= 1, page.name
        external = re.findall(r'<script[^>]+src="(https?://[^"]+)"', text)
        assert not external, f"{page.name} loads scripts from the network: {external}"
        images = re.findall(r'<img[^>]+src="(?!data:)([^"]+)"', text)
        size = len(text.encode()) + sum(
            (page.parent / src).stat().st_size for src in images if (page.parent / src).exists()
        )
        assert size < MAX_PAGE_BYTES, f"{page.name} weighs {size / 1e6:.1f} MB"


@pytest.mark.slow
@pytest.mark.book
def test_interactive_figures_are_static_html_not_widgets(built_book: Path) -> None:
    figures = 0
    for page in _pages(built_book):
        text = page.read_text()
        assert "application/vnd.jupyter.widget-view+json" not in text, page.name
        for match in re.finditer(r'<script type="application/json" class="nnlib-frames">(.*?)'
                                 r"</script>", text, flags=re.S):  # fmt: skip
            data = json.loads(match.group(1))
            assert len(data["frame_image"]) == _prod(data["shape"])
            figures += 1
    assert figures >= 12


# Markup that a reader must never see: a Markdown table's rule line (its dashes may have become
# em or en dashes: Sphinx's smart quotes), bold stars, display-math dollars. Code (where ``**``
# is Python's power) and math sources are not visible text.
RAW_MARKUP = re.compile(r"\|\s*:?(?:-{3,}|[\u2013\u2014]+)\s*:?\||\*\*|\$\$")


def _visible_text(page_html: str) -> str:
    """The text a reader sees on a built page: no scripts, styles, code or math sources."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page_html, "html.parser")
    for element in soup.find_all(["script", "style", "pre", "code", "textarea", "template"]):
        element.decompose()
    for element in soup.select(".math, .highlight"):
        element.decompose()
    return soup.get_text(" ")


def test_visible_text_finds_raw_markup_but_not_code() -> None:
    """The check below, on a page fragment with and without the faults it looks for."""
    clean = (
        "<p>The power <code>x**2</code>, a <strong>bold</strong> word and "
        '<span class="math">$$x$$</span>.</p><pre>a | --- | b</pre><script>"**"</script>'
    )
    assert not RAW_MARKUP.search(_visible_text(clean))
    rules = ("| run | configuration | |---|---|", "|:---|", "|\u2014|\u2014|")
    for raw in (*rules, "a **bold** word", "$$ x = 1 $$"):
        assert RAW_MARKUP.search(_visible_text(f"<div><p>{raw}</p></div>")), raw


@pytest.mark.slow
@pytest.mark.book
def test_no_page_shows_raw_markdown_or_math_markup(built_book: Path) -> None:
    found = []
    for page in [*_pages(built_book), built_book / "index.html"]:
        text = _visible_text(page.read_text())
        for match in RAW_MARKUP.finditer(text):
            context = " ".join(text[max(0, match.start() - 60) : match.end() + 60].split())
            found.append(f"{page.name}: ...{context}...")
    assert not found, "raw markup in the visible text:\n" + "\n".join(found)


def _prod(xs: list[int]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


# --- the browser ------------------------------------------------------------------------------
class _Page:
    """A browser tab that records JS errors and blocks (and records) non-local requests."""

    def __init__(self, browser: object, origin: str, **options: object) -> None:
        self.page = browser.new_page(**options)
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"exception: {e}"))
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console.error: {m.text}") if m.type == "error" else None,
        )

        def route(r: object) -> None:
            url = r.request.url
            if url.startswith((origin, "data:", "file:")):
                r.continue_()
            else:
                self.external.append(url)
                r.abort()

        self.page.route("**/*", route)

    def close(self) -> None:
        self.page.close()


def _move_every_control(page: object) -> tuple[int, list[str]]:
    """Move each static control of each figure; return (sliders that changed it, failures)."""
    changed, failures = 0, []
    figures = page.locator(".nnlib-figure")
    for f in range(figures.count()):
        figure = figures.nth(f)
        controls = figure.locator("[data-nnlib-control]")
        for c in range(controls.count()):
            control = controls.nth(c)
            name = control.get_attribute("data-nnlib-control")
            n_values = (
                control.locator("option").count()
                if control.evaluate("e => e.tagName") == "SELECT"
                else int(control.get_attribute("max")) + 1
            )
            start_src = figure.locator("img.nnlib-frame").get_attribute("src")
            start_value = control.input_value()
            moved = False
            for v in range(n_values):
                if str(v) == start_value:
                    continue
                if control.evaluate("e => e.tagName") == "SELECT":
                    control.select_option(str(v))
                else:
                    control.fill(str(v))
                if figure.locator("img.nnlib-frame").get_attribute("src") != start_src:
                    moved = True
                    break
            if moved:
                changed += control.get_attribute("type") == "range"
            else:
                failures.append(f"figure {f}: moving {name!r} never changed the picture")
            # Put the control back so the next control starts from the defaults.
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(start_value)
            else:
                control.fill(start_value)
    return changed, failures


@pytest.mark.slow
@pytest.mark.browser
def test_every_page_works_in_chromium(built_book: Path, server: str, browser: object) -> None:
    pages = [f"book/{p.name}" for p in _pages(built_book)]
    assert len(pages) >= 12
    sliders_that_move = 0
    problems: list[str] = []
    for rel in pages:
        tab = _Page(browser, server)
        page = tab.page
        page.goto(f"{server}/{rel}", wait_until="load")
        # Request every image now, the lazy ones (fetched when scrolled into view) included.
        page.evaluate("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.src.slice(0, 80))"
        )
        if broken:
            problems.append(f"{rel}: images that did not load: {broken}")
        n_math = page.locator(".math").count()
        if n_math:
            page.wait_for_function(
                "document.querySelectorAll('.math').length === "
                "document.querySelectorAll('.math mjx-container').length",
                timeout=20_000,
            )
            if page.locator("mjx-merror").count():
                problems.append(f"{rel}: MathJax reported errors in some formulas")
        changed, failures = _move_every_control(page)
        problems += [f"{rel}: {msg}" for msg in failures]
        sliders_that_move += changed
        if tab.errors:
            problems.append(f"{rel}: JavaScript errors: {tab.errors}")
        if tab.external:
            problems.append(f"{rel}: requests that left the machine: {tab.external}")
        tab.close()
    assert not problems, "\n".join(problems)
    assert sliders_that_move >= 9


@pytest.mark.slow
@pytest.mark.browser
def test_index_leads_to_the_first_page(server: str, browser: object) -> None:
    tab = _Page(browser, server)
    tab.page.goto(f"{server}/index.html")
    tab.page.wait_for_url("**/book/intro.html")
    tab.page.wait_for_load_state("load")
    assert "Neural Networks from the Neuron Up" in tab.page.title()
    tab.close()
    assert not tab.errors and not tab.external, (tab.errors, tab.external)


@pytest.mark.slow
@pytest.mark.browser
def test_static_figure_works_from_file_url(built_book: Path, browser: object) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((built_book / "book" / "02_formal_neuron.html").as_uri(), wait_until="load")
    figure = page.locator(".nnlib-figure").first
    side = figure.locator(".nnlib-side")
    assert "computes <b>AND</b>" in side.inner_html()
    # AND (1, 1, -1.5) -> OR (1, 1, -0.5): bias slider index 2 of -1.5 .. 1.5.
    figure.locator("input[data-nnlib-control=b]").fill("2")
    assert "computes <b>OR</b>" in side.inner_html()
    assert figure.get_attribute("data-nnlib-frame") is not None
    page.close()
    assert not errors, errors


@pytest.mark.slow
@pytest.mark.browser
def test_playground_page_switches_runs_and_plays_epochs(server: str, browser: object) -> None:
    tab = _Page(browser, server)
    page = tab.page
    page.goto(f"{server}/book/10_playground.html", wait_until="load")
    figure = page.locator(".nnlib-figure").filter(has=page.locator("select")).first
    runs = figure.locator("select[data-nnlib-control]")
    assert runs.locator("option").count() >= 5, "the playground offers fewer than 5 runs"
    epoch = figure.locator("input[type=range]").first
    frame = figure.locator("img.nnlib-frame")
    shown = {frame.get_attribute("src")}
    runs.select_option("1")  # another configuration
    shown.add(frame.get_attribute("src"))
    figure.locator("button.nnlib-play").first.click()  # play the epochs of that run
    page.wait_for_function("e => e.value !== '0'", arg=epoch.element_handle(), timeout=10_000)
    shown.add(frame.get_attribute("src"))
    assert len(shown) == 3, "switching the run or playing the epochs did not change the picture"
    tab.close()
    assert not tab.errors and not tab.external, (tab.errors, tab.external)


# --- the chapters' closing sections, the notation page ----------------------------------------
def _numbered_chapters() -> list[Path]:
    return [p for p in _chapters() if re.match(r"\d\d_", p.name)]


def _headings(path: Path) -> list[str]:
    """The ``## `` headings of a chapter's Markdown, outside code cells and fences."""
    heads, fence = [], None
    for line in path.read_text().splitlines():
        marker = re.match(r"^(`{3,}|:{3,})", line)
        if marker and fence is None and line.strip() != marker.group(1):
            fence = marker.group(1)  # an opening fence names what it opens: ```{code-cell}
        elif marker and fence is not None and line.strip() == fence:
            fence = None
        elif fence is None and line.startswith("## "):
            heads.append(line[3:].strip())
    return heads


def _section(path: Path, heading: str) -> str:
    text = path.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_chapter_ends_with_exercises_summary_and_further_reading() -> None:
    chapters = _numbered_chapters()
    assert len(chapters) >= 11
    for path in chapters:
        heads = _headings(path)
        assert heads[-3:] == ["Exercises", "Summary", "Further reading"], (
            f"{path.name} must end with Exercises, Summary, Further reading; its last "
            f"sections are {heads[-3:]}"
        )
        summary = _section(path, "Summary")
        assert len(re.findall(r"^- ", summary, flags=re.M)) >= 3, f"{path.name}: a thin summary"
        reading = _section(path, "Further reading")
        items = re.findall(r"^- ", reading, flags=re.M)
        cited = re.findall(r"\{cite(?::\w+)?\}`[^`]+`", reading)
        assert len(items) >= 2 and len(cited) >= len(items), (
            f"{path.name}: further reading needs at least two items, each citing a reference"
        )


def test_notation_page_is_in_the_back_matter_and_defines_the_alphabet() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    back = toc[toc.index("caption: Back matter") :]
    assert re.search(r"^\s*- file: book/notation\s*$", back, flags=re.M), (
        "the notation page is not listed in the back matter"
    )
    text = (ROOT / "book" / "notation.md").read_text()
    # The symbols a row defines: the $...$ in its first cell, up to any "=" ("$Z = X W + b$").
    first_cells = re.findall(r"^\| ([^|]+) \|", text, flags=re.M)
    defined = {
        m.split("=")[0].strip() for cell in first_cells for m in re.findall(r"\$([^$]+)\$", cell)
    }
    wanted = ["N", "D", "H", "C", "X", "W", "b", "Z", "A", "y", r"\hat y", "p", "L", r"\ell",
              r"\theta", r"\eta"]  # fmt: skip
    missing = [s for s in wanted if s not in defined]
    assert not missing, f"the notation page defines no row for: {missing}"


# --- worked numbers: the built pages' text agrees with nnlib -----------------------------------
def _soup(html: Path, name: str) -> object:
    bs4 = pytest.importorskip("bs4")
    return bs4.BeautifulSoup((html / "book" / f"{name}.html").read_text(), "html.parser")


def _table_rows(soup: object, css_class: str) -> list[list[str]]:
    table = soup.select_one(f"table.{css_class}")
    assert table is not None, f"no table.{css_class} on the page"
    return [[c.get_text(strip=True) for c in tr.find_all(["td", "th"])]
            for tr in table.find_all("tr")]  # fmt: skip


# Elements wider than the viewport that do not sit inside a box that scrolls (or clips) them
# sideways. Hidden elements (the closed navigation drawer, skip links) do not count.
_OVERFLOW_JS = """
() => {
  const vw = document.documentElement.clientWidth;
  const inside = r => r.left >= -1 && r.right <= vw + 1;
  const shown = el => {
    for (let e = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.display === "none" || st.visibility === "hidden") { return false; }
      if (e.tagName === "DIALOG" && !e.open) { return false; }
    }
    return true;
  };
  const boxed = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const ox = getComputedStyle(p).overflowX;
      // Clipped by a box that is itself on the screen (an inner one may be wider: inline
      // math's own span is clipped by the table's scroll box around it).
      if (["auto", "scroll", "hidden", "clip"].includes(ox) && inside(p.getBoundingClientRect())) {
        return true;
      }
    }
    return false;
  };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || inside(r) || !shown(el) || boxed(el)) { continue; }
    const name = el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
      ? "." + String(el.className).trim().split(/\\s+/).join(".") : "");
    bad.push(name + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "]: "
             + (el.textContent || "").trim().slice(0, 60));
  }
  const page = document.documentElement.scrollWidth;
  if (page > vw + 1) { bad.push("the page scrolls sideways: " + page + " px > " + vw + " px"); }
  return bad.slice(0, 8);
}
"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1366])
def test_nothing_is_wider_than_the_screen(
    built_book: Path, server: str, browser: object, width: int
) -> None:
    """At a phone's and a laptop's width, figures, code, equations and tables fit the page or
    scroll inside their own box; the page itself never scrolls sideways."""
    problems = []
    for page_path in _pages(built_book):
        tab = _Page(browser, server, viewport={"width": width, "height": 900})
        page = tab.page
        page.goto(f"{server}/book/{page_path.name}", wait_until="load")
        if page.locator(".math").count():
            page.wait_for_function(
                "document.querySelectorAll('.math').length === "
                "document.querySelectorAll('.math mjx-container').length",
                timeout=20_000,
            )
        problems += [f"{page_path.name} at {width} px: {m}" for m in page.evaluate(_OVERFLOW_JS)]
        tab.close()
    assert not problems, "\n".join(problems)


# --- the PDF ----------------------------------------------------------------------------------
def _tex_missing() -> str | None:
    for tool in ("xelatex", "latexmk", "pdftoppm", "pdftotext", "pdfinfo", "pdfimages"):
        if shutil.which(tool) is None:
            return (
                f"{tool} is not installed (.ci/run installs TeX and poppler: apt-get install "
                "texlive-xetex texlive-latex-recommended texlive-fonts-recommended "
                "fonts-freefont-otf lmodern latexmk poppler-utils)"
            )
    return None


@pytest.fixture(scope="session")
def book_pdf(built_book: Path) -> Path:
    """``make pdf``'s build, in the HTML build's copy: it reuses that build's execution cache."""
    missing = _tex_missing()
    if missing:
        pytest.skip(missing)
    src = built_book.parents[1]
    build = subprocess.run(
        [BIN / "jupyter-book", "build", ".", "--builder", "pdflatex", "-n", "--keep-going"],
        cwd=src, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(src)},
    )  # fmt: skip
    log = build.stdout + build.stderr
    pdf = src / "_build" / "latex" / "book.pdf"
    assert build.returncode == 0 and pdf.is_file(), f"the PDF build failed:\n{log[-6000:]}"
    assert "Executing notebook" not in log, "the PDF build ran the chapters again (no cache)"
    return pdf


@pytest.mark.slow
@pytest.mark.book
def test_five_object_cross_entropy_table_sums_to_7_52_by_nnlib(built_book: Path) -> None:
    import numpy as np

    from nnlib.losses import CrossEntropyLoss

    rows = _table_rows(_soup(built_book, "07_softmax_cross_entropy"), "five-objects")
    classes = ["dog", "cat", "bug"]
    data = [r for r in rows[1:] if r[0].isdigit()]
    assert len(data) == 5, rows
    P = np.array([[float(v) for v in r[2].split(",")] for r in data])  # shown probabilities
    y = np.array([classes.index(r[1]) for r in data])
    losses = [CrossEntropyLoss()(np.log(P[i : i + 1]), y[i : i + 1]) for i in range(5)]
    for row, loss in zip(data, losses, strict=True):
        assert float(row[4]) == pytest.approx(loss, abs=5e-4), row
    shown_sum = next(r[-1] for r in rows if "sum" in r)
    assert shown_sum == f"{sum(losses):.2f}" == "7.52"


@pytest.mark.slow
@pytest.mark.book
def test_three_pictures_sentence_is_the_tables_numbers(built_book: Path) -> None:
    import numpy as np

    from nnlib.functional import softmax
    from nnlib.losses import CrossEntropyLoss

    soup = _soup(built_book, "07_softmax_cross_entropy")
    rows = [r for r in _table_rows(soup, "three-pictures")[1:] if r[0].isdigit()]
    classes = ["dog", "cat", "bug"]
    logits = np.array([[float(v) for v in r[2].split(",")] for r in rows])
    y = np.array([classes.index(r[1]) for r in rows])
    text = " ".join(soup.get_text().split())
    assert "{glue" not in text
    for i in range(len(y)):
        p_y = softmax(logits[i])[y[i]]
        loss = CrossEntropyLoss()(logits[i : i + 1], y[i : i + 1])
        right = np.argmax(logits[i]) == y[i] and np.sum(logits[i] == logits[i].max()) == 1
        claim = "classified correctly" if right else "confidently wrong" if p_y < 0.05 else "wrong"
        phrase = f"{claim} (p = {p_y:.3f} for {classes[y[i]]}, loss {loss:.2f})"
        assert phrase in text, f"the text does not say: {phrase}"
    # The "bug" picture of the issue: p = 0.024, loss 3.72, confidently wrong.
    assert "confidently wrong (p = 0.024 for bug, loss 3.72)" in text


@pytest.mark.slow
@pytest.mark.book
def test_model_size_sentence_is_the_tables_numbers(built_book: Path) -> None:
    """Chapter 1's growth factor and doubling time are those of its table of published sizes."""
    import numpy as np

    soup = _soup(built_book, "01_introduction")
    rows = {r[0]: r for r in _table_rows(soup, "model-sizes")[1:]}
    assert len(rows) >= 6 and {"LeNet-5", "GPT-3"} <= set(rows), rows
    years = np.array([float(r[1]) for r in rows.values()])
    params = np.array([float(r[2].replace(",", "")) for r in rows.values()])
    slope = np.polyfit(years, np.log2(params), 1)[0]
    ratio = float(rows["GPT-3"][2].replace(",", "")) / float(rows["LeNet-5"][2].replace(",", ""))
    text = " ".join(soup.get_text().split())
    assert f"grew about {ratio / 1e6:.1f} million-fold" in text
    assert f"the line fitted to all {len(rows)} networks doubles every {12 / slope:.0f} months" in (
        text
    )
    assert "Table 1.1" in text, "the table is not numbered"


@pytest.mark.slow
@pytest.mark.book
def test_autoencoder_text_states_what_the_executed_table_shows(built_book: Path) -> None:
    soup = _soup(built_book, "11_autoencoders")
    outputs = [pre.get_text() for pre in soup.select(".cell_output pre")]
    table = next(o for o in outputs if "linear AE" in o and "nonlin/PCA" in o)
    rows = [line.split() for line in table.splitlines()[1:] if line.strip()]
    pca, linear = [float(r[1]) for r in rows], [float(r[2]) for r in rows]
    text = " ".join(soup.get_text().split())
    assert "{glue" not in text
    lower = [r[0] for r, a, b in zip(rows, pca, linear, strict=True) if b < a]
    if lower:
        assert "In this run it does, at k = " in text, "the table has a lower linear AE error"
    else:
        assert "In this run it does not: the linear autoencoder's test error is above PCA's" in (
            text.replace("\u2019", "'")
        ), "the exercise's answer does not say what the table shows"
    # The sentence is computed from unrounded errors, the table shows 5 decimals: allow for that.
    stated = re.search(r"differs from PCA.s by ([\d.]+)% to ([\d.]+)%", text)
    assert stated, "the text does not say how far the linear autoencoder is from PCA"
    gaps = [100 * abs(b / a - 1) for a, b in zip(pca, linear, strict=True)]
    slack = 100 * 1e-5 / min(pca) + 0.05  # table rounding, plus the sentence's own rounding
    assert float(stated.group(1)) == pytest.approx(min(gaps), abs=slack)
    assert float(stated.group(2)) == pytest.approx(max(gaps), abs=slack)


def test_pdf_has_every_chapter_typeset_math_and_every_figure(
    built_book: Path, book_pdf: Path, tmp_path: Path
) -> None:
    import numpy as np
    from PIL import Image

    info = subprocess.run(["pdfinfo", book_pdf], capture_output=True, text=True, check=True)
    n_pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, flags=re.M).group(1))
    assert n_pages >= 100, f"the PDF has only {n_pages} pages"
    text = subprocess.run(
        ["pdftotext", "-layout", book_pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    # Every chapter is in it: its title (without the section number) is in the text.
    for page in _pages(built_book):
        title = re.search(r"<h1>(.*?)</h1>", page.read_text(), flags=re.S)
        if title and page.stem not in ("bibliography", "intro"):
            heading = re.sub(r"<span class=\"section-number\">.*?</span>|<[^>]+>|#", "",
                             title.group(1))  # fmt: skip
            assert " ".join(heading.split()) in " ".join(text.split()), heading
    # Math is typeset: its symbols are in the text (partial signs, minus signs), and no TeX
    # source is. Code listings hold "$" and backslashes only inside string literals (matplotlib
    # labels), or on a wrapped listing line (which starts with Sphinx's ",→" mark): any other
    # line with them is prose math that was not typeset.
    assert text.count("\u2202") >= 50 and text.count("\u2212") >= 100, "is math typeset?"
    raw = [
        ln.strip()
        for ln in text.splitlines()
        if re.search(r"\$|\\(?:frac|partial|sigma|begin|sum|mathbf)\b", ln)
        and not re.search("[\"']", ln)
        and not ln.lstrip().startswith(",\u2192")
    ]
    assert not raw, f"raw TeX in the PDF's text: {raw[:5]}"
    # Every picture of the HTML book is in the PDF: the plots and each interactive figure's
    # default frame.
    n_figures = sum(
        len(re.findall(r'class="nnlib-frames"', p.read_text()))
        + len(re.findall(r'<img[^>]+src="(?!data:)[^"]*_images/', p.read_text()))
        for p in _pages(built_book)
    )
    listing = subprocess.run(
        ["pdfimages", "-list", book_pdf], capture_output=True, text=True, check=True
    ).stdout
    rows = [ln.split() for ln in listing.splitlines()[2:] if ln.split()[2:3] == ["image"]]
    n_images = len(rows)
    assert n_images >= n_figures, f"{n_images} images in the PDF for {n_figures} figures"
    # At print resolution: each picture has >= 200 pixels per inch at the size it is printed
    # (pdfimages' x-ppi and y-ppi columns; an alpha mask, "smask", rides on its image).
    coarse = [f"page {r[0]}: {r[3]}x{r[4]} px at {r[12]}x{r[13]} ppi" for r in rows
              if min(float(r[12]), float(r[13])) < MIN_PRINT_PPI]  # fmt: skip
    assert not coarse, f"{len(coarse)} pictures print below {MIN_PRINT_PPI} ppi: {coarse[:5]}"
    # Every page renders to a picture, and the figures are real pictures: each embedded image,
    # extracted, is large and not blank.
    subprocess.run(["pdftoppm", "-r", "12", "-png", book_pdf, tmp_path / "p"], check=True)
    assert len(list(tmp_path.glob("p*.png"))) == n_pages
    subprocess.run(["pdfimages", "-png", book_pdf, tmp_path / "img"], check=True)
    pictures = 0
    for png in tmp_path.glob("img*.png"):
        image = np.asarray(Image.open(png).convert("L"), dtype=float)
        pictures += image.shape[1] >= 300 and image.std() > 10
    assert pictures >= n_figures, f"{pictures} non-blank pictures for {n_figures} figures"


# --- issue 18: the printed book, light pages, phones, sliders ---------------------------------
def _pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout


def _chapter_numbers(html: Path) -> dict[str, str]:
    """``{title: number}`` of the numbered chapters, as the HTML heads them ("5. Logistic...")."""
    numbers = {}
    for page in _pages(html):
        head = re.search(
            r'<h1><span class="section-number">(\d+)\.\s*</span>(.*?)</h1>', page.read_text(),
            flags=re.S,
        )  # fmt: skip
        if head:
            title = " ".join(re.sub(r"<[^>]+>|#", "", head.group(2)).split())
            numbers[title] = head.group(1)
    return numbers


@pytest.mark.slow
@pytest.mark.book
def test_pdf_numbers_parts_and_hides_what_the_html_hides(built_book: Path, book_pdf: Path) -> None:
    text = _pdf_text(book_pdf)
    contents = text[: text.index("Bibliography")]  # the table of contents comes first
    numbers = _chapter_numbers(built_book)
    assert len(numbers) >= 11, numbers
    for title, number in numbers.items():
        # A contents line: "5 Logistic regression .... 31" (the PDF's number is the HTML's).
        line = re.search(rf"^\s*(\d+)\s+{re.escape(title)}\s+\d+\s*$", contents, flags=re.M)
        assert line, f"chapter {title!r} is not in the PDF's contents"
        assert line.group(1) == number, (
            f"{title!r} is chapter {line.group(1)} in the PDF, {number} in the HTML"
        )
    # The root page is a preface outside the numbering, and the parts are LaTeX parts.
    assert re.search(r"^\s*Preface\s+\d+\s*$", contents, flags=re.M), "no unnumbered preface"
    assert not re.search(r"^\s*\d+\s+How to read it", contents, flags=re.M)
    assert re.search(r"^\s*I\s+From one neuron to logistic regression\s+\d+", contents, flags=re.M)
    assert re.search(r"^\s*II\s+Neural networks and how to train them\s+\d+", contents, flags=re.M)
    assert "PART I:" not in text.upper().split("PREFACE")[0], "the contents are headed by a part"
    # Tables are typeset, and no hidden cell's code is printed: the install cell, glue calls,
    # the code that builds tables.
    assert "IPython.core.display" not in text
    for code in (INSTALL_MARKER, "%pip install", "NNLIB_PIP_SPEC", "glue(", "rows.append("):
        assert code not in text, f"the PDF prints a hidden cell: {code!r}"
    assert re.search(r"^\s*picture\s+true class\s+scores", text, flags=re.M), "no table of scores"


@pytest.mark.slow
@pytest.mark.book
def test_pdf_bibliography_chapter_lists_every_entry_with_author_year_labels(
    book_pdf: Path,
) -> None:
    pybtex = pytest.importorskip("pybtex.database")
    bib = pybtex.parse_file(str(ROOT / "book" / "references.bib"))
    text = _pdf_text(book_pdf)
    start = text.index("The original papers behind the chapters")
    chapter = text[start:]
    # One chapter: no second "Bibliography" heading between its sentence and its entries.
    first_entry = chapter.index("[")
    assert "BIBLIOGRAPHY" not in chapter[:first_entry].upper(), "the list has its own chapter"
    labels = re.findall(r"^\[([^\]]+?), (\d{4})[a-z]?\]", chapter, flags=re.M)
    assert len(labels) == len(bib.entries), f"{len(labels)} entries for {len(bib.entries)}"
    for key, entry in bib.entries.items():
        year = entry.fields["year"]
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        first = persons[0].last_names[-1].strip("{}") if persons else ""
        assert any(y == year and first in who for who, y in labels), (
            f"{key}: no [{first}..., {year}]"
        )


def _first_load(page: object) -> tuple[int, list[str]]:
    """Bytes the page has loaded (its HTML and every resource) and the resources' URLs."""
    return page.evaluate(
        "() => { const e = performance.getEntriesByType('navigation')"
        ".concat(performance.getEntriesByType('resource'));"
        " return [e.reduce((s, x) => s + (x.encodedBodySize || 0), 0),"
        " performance.getEntriesByType('resource').map(x => x.name)]; }"
    )


MAX_HTML_BYTES = 1_000_000
MAX_FIRST_LOAD_BYTES = 3_000_000


@pytest.mark.slow
@pytest.mark.browser
def test_pages_are_light_until_the_reader_interacts(
    built_book: Path, server: str, browser: object
) -> None:
    """HTML <= 1 MB and <= 3 MB loaded before the first interaction; frames are files that a
    figure fetches when shown; MathJax only where there is math; no FontAwesome JavaScript."""
    problems, weights = [], {}
    for path in _pages(built_book):
        html = path.read_text()
        if len(html.encode()) > MAX_HTML_BYTES:
            problems.append(f"{path.name}: {len(html.encode()) / 1e6:.2f} MB of HTML")
        if re.search(r'class="nnlib-frames">[^<]*data:image', html):
            problems.append(f"{path.name}: figure frames inlined as data: URIs")
        tab = _Page(browser, server)
        page = tab.page
        page.goto(f"{server}/book/{path.name}", wait_until="networkidle")
        loaded, urls = _first_load(page)
        weights[path.name] = loaded
        if loaded > MAX_FIRST_LOAD_BYTES:
            problems.append(f"{path.name}: {loaded / 1e6:.2f} MB before any interaction")
        if any("fontawesome" in u and u.split("?")[0].endswith(".js") for u in urls):
            problems.append(f"{path.name}: loads FontAwesome's JavaScript")
        has_math = page.locator(".math").count() > 0
        if has_math != any("/mathjax/" in u for u in urls):
            problems.append(
                f"{path.name}: math on the page {has_math}, MathJax loaded {not has_math}"
            )
        # The theme's icons still show, drawn by the CSS's web font.
        icons = page.evaluate(
            "() => Array.from(document.querySelectorAll('.fa-solid, .fa-brands, .fab, .fas'))"
            ".filter(i => i.offsetParent !== null)"
            ".map(i => getComputedStyle(i, '::before').content)"
        )
        if not icons or any(c in ("none", "normal", "") for c in icons):
            problems.append(f"{path.name}: theme icons without a glyph: {icons[:3]}")
        # A figure's frames are files of the site, fetched when a control moves.
        if page.locator(".nnlib-figure").count():
            _move_every_control(page)
            page.wait_for_load_state("networkidle")
            loaded_urls = set(_first_load(page)[1])
            for src in page.evaluate(
                "() => Array.from(document.querySelectorAll('img.nnlib-frame')).map(i => i.src)"
            ):
                if "/_frames/" not in src or src not in loaded_urls:
                    problems.append(f"{path.name}: a frame is not a file of the site: {src[:60]}")
        problems += [f"{path.name}: {e}" for e in tab.errors + tab.external]
        tab.close()
    print({k: f"{v / 1e6:.2f} MB" for k, v in weights.items()})
    assert not problems, "\n".join(problems)


_TICKS_OVERLAP_JS = """
() => {
  const bad = [];
  for (const ticks of document.querySelectorAll('.nnlib-ticks')) {
    const r = Array.from(ticks.children).map(s => [s.getBoundingClientRect(), s.textContent])
      .sort((a, b) => a[0].left - b[0].left);
    for (let i = 1; i < r.length; i++) {
      if (r[i][0].left < r[i - 1][0].right + 2) { bad.push(r[i - 1][1] + '|' + r[i][1]); }
    }
  }
  return bad;
}
"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1366])
def test_sliders_have_readable_ticks_valuetext_and_keyboard_focus(
    built_book: Path, server: str, browser: object, width: int
) -> None:
    problems, keyboard_checked = [], 0
    for path in _pages(built_book):
        if "nnlib-figure" not in path.read_text():
            continue
        tab = _Page(browser, server, viewport={"width": width, "height": 900})
        page = tab.page
        page.goto(f"{server}/book/{path.name}", wait_until="load")
        problems += [
            f"{path.name}: tick labels overlap: {b}" for b in page.evaluate(_TICKS_OVERLAP_JS)
        ]
        sliders = page.locator(".nnlib-figure input[type=range]")
        for i in range(sliders.count()):
            slider = sliders.nth(i)
            output = page.locator(f'output[data-for="{slider.get_attribute("id")}"]')
            text = slider.get_attribute("aria-valuetext") or ""
            if not text.startswith(output.inner_text().strip()):
                problems.append(f"{path.name}: aria-valuetext {text!r} is not the value shown")
        # The keyboard moves the first slider, the screen reader's text and the picture follow,
        # and the focused slider has a visible ring.
        if sliders.count():
            slider = sliders.first
            figure = slider.locator("xpath=ancestor::div[contains(@class, 'nnlib-figure')][1]")
            slider.fill("0")
            before = (
                slider.get_attribute("aria-valuetext"),
                figure.get_attribute("data-nnlib-frame"),
            )
            slider.focus()
            page.keyboard.press("ArrowRight")
            after = (
                slider.get_attribute("aria-valuetext"),
                figure.get_attribute("data-nnlib-frame"),
            )
            if slider.input_value() != "1" or after[0] == before[0] or after[1] == before[1]:
                problems.append(f"{path.name}: ArrowRight did not move the slider, text, frame")
            ring = slider.evaluate(
                "e => { const s = getComputedStyle(e);"
                " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
            )
            if ring[0] == "none" or ring[1] < 2:
                problems.append(f"{path.name}: no visible focus ring on a slider: {ring}")
            keyboard_checked += 1
        tab.close()
    assert keyboard_checked >= 8
    assert not problems, "\n".join(problems)


_TOO_WIDE_JS = """
() => {
  const bad = [];
  const column = document.querySelector('article.bd-article') || document.body;
  const right = column.getBoundingClientRect().right + 1;
  for (const fig of document.querySelectorAll('.nnlib-figure')) {
    if (fig.scrollWidth > fig.clientWidth + 1) {
      bad.push('figure scrolls sideways: ' + fig.scrollWidth + ' > ' + fig.clientWidth);
    }
    const img = fig.querySelector('img.nnlib-frame');
    if (img && img.getBoundingClientRect().right > right) { bad.push('figure picture too wide'); }
  }
  for (const el of document.querySelectorAll('article img, article table')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right) {
      bad.push(el.tagName.toLowerCase() + ' ' + Math.round(r.width) + ' px: '
               + (el.textContent || el.getAttribute('alt') || '').trim().slice(0, 40));
    }
  }
  return bad;
}
"""


@pytest.mark.slow
@pytest.mark.browser
def test_every_figure_and_table_fits_a_phone(
    built_book: Path, server: str, browser: object
) -> None:
    """At 390 px no figure scrolls sideways in its box and no picture or table is wider than
    the text column; the timeline's labels stay legible."""
    from nnlib.widgets.timeline import LABEL_POINTS, history_timeline_figure

    timeline_figure = history_timeline_figure()
    problems, timelines = [], 0
    for path in _pages(built_book):
        tab = _Page(browser, server, viewport={"width": 390, "height": 844})
        page = tab.page
        page.goto(f"{server}/book/{path.name}", wait_until="load")
        problems += [f"{path.name}: {m}" for m in page.evaluate(_TOO_WIDE_JS)]
        timeline = page.locator(f'.nnlib-figure img[alt^="{timeline_figure.title}"]')
        if timeline.count():
            # Legible: its labels, scaled with the picture to the phone's width, stay >= 10 px.
            shown, drawn = timeline.evaluate("i => [i.clientWidth, +i.getAttribute('width')]")
            label_px = LABEL_POINTS * timeline_figure.static_dpi / 72 * shown / drawn
            timelines += 1
            if label_px < 10 or shown < 0.8 * drawn:
                problems.append(f"{path.name}: timeline labels {label_px:.1f} px at {shown} px")
        tab.close()
    assert timelines == 1, "the timeline was not found"
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.book
def test_every_picture_has_alt_text_that_describes_it(built_book: Path) -> None:
    bs4 = pytest.importorskip("bs4")
    bad, pictures = [], 0
    for path in _pages(built_book):
        soup = bs4.BeautifulSoup(path.read_text(), "html.parser")
        # A plot that failed to draw leaves a traceback in its cell's output, and no picture.
        bad += [f"{path.name}: an output is a traceback" for _ in soup.select(".output.traceback")]
        for img in soup.select("article img"):
            alt = " ".join((img.get("alt") or "").split())
            pictures += 1
            looks_like_a_path = re.search(r"\.(png|jpe?g|svg|webp)\b|^[./]|/_|jupyter_execute", alt)
            if len(alt) < 10 or looks_like_a_path:
                bad.append(f"{path.name}: {img.get('src', '')[:50]} has alt {alt!r}")
    assert pictures >= 40, f"only {pictures} pictures"
    assert not bad, "\n".join(bad)


@pytest.mark.slow
@pytest.mark.book
def test_every_chapter_mention_is_a_link_that_resolves(built_book: Path) -> None:
    """ "chapter N", "section N", "equation (N)" and "figure N" in the prose link to what they
    name, and the number shown is the number of the target; only a chapter or section of a
    cited book (right after its citation: "Goodfellow et al. [2016], chapter 6") stays text.
    Nor does the prose point by place ("the figure below", "the next section"): a figure can
    float to another page in print."""
    bs4 = pytest.importorskip("bs4")
    numbers = {v: k for k, v in _chapter_numbers(built_book).items()}
    bad, links = [], 0
    kinds = {"figure": 0, "equation": 0, "section": 0}
    for path in [*_pages(built_book), built_book / "book" / "intro.html"]:
        soup = bs4.BeautifulSoup(path.read_text(), "html.parser")
        article = soup.select_one("article") or soup
        for a in article.select("a[href]"):
            m = re.fullmatch(r"[Cc]hapter (\d+)|(\d+)", a.get_text(strip=True))
            if not m or not re.search(r"^\d\d_\w+\.html", a["href"]):
                continue
            links += 1
            target = built_book / "book" / a["href"].split("#")[0]
            head = re.search(r'<span class="section-number">(\d+)\.', target.read_text())
            number = m.group(1) or m.group(2)
            if not head or head.group(1) != number:
                bad.append(f"{path.name}: {a.get_text()!r} links to {a['href']}")
        bad += _numbered_reference_problems(built_book, path, article, kinds)
        for text in article.find_all(string=_UNLINKED_MENTION):
            if text.find_parent(["a", "code", "pre", "script", "style", "figcaption"]) or (
                # Whole class names: notebook pages sit in a "tex2jax_ignore mathjax_ignore"
                # section, which a bare "math" would match (and so skip every page).
                text.find_parent(class_=_NOT_PROSE)
            ):
                continue
            previous = text.find_previous_sibling()
            cited = previous is not None and "bibliography.html" in str(previous)
            for m in _UNLINKED_MENTION.finditer(text):
                if not (cited and text[: m.start()].strip() == "," and m.group(0)[0] in "cCsS"):
                    bad.append(f"{path.name}: unlinked {m.group(0)!r} in {text.strip()[:60]!r}")
        # An assignment named in the prose links to its folder in the repository.
        for code in article.find_all(string=re.compile(r"^(assignments/)?a[1-5]_[a-z]+/?$")):
            if code.find_parent(["pre", "script"]) or not code.find_parent("code"):
                continue
            a = code.find_parent("a")
            name = code.strip().strip("/").split("/")[-1]
            if a is None or not a.get("href", "").endswith(f"/assignments/{name}"):
                bad.append(f"{path.name}: assignment {code.strip()!r} is not a link to its folder")
    assert numbers and links >= 40, f"only {links} chapter links"
    assert kinds["figure"] >= 16 and kinds["equation"] >= 10 and kinds["section"] >= 4, kinds
    assert not bad, "\n".join(bad)


_NOT_PROSE = re.compile(r"^(?:math|highlight(?:-\w+)?|cell_output|nnlib-figure)$")


# A numbered thing named in plain text ("chapter 3", "section 8.2", "equation (5.1)", "figure 2",
# "Fig. 2"), or pointed at by place instead of by number.
_UNLINKED_MENTION = re.compile(
    r"\b(?:[Cc]hapters? \d+|[Ss]ections? \d[\d.]*|[Ee]quations? \(?\d[\d.]*\)?"
    r"|[Ff]ig(?:ure|s?\.)s? \d[\d.]*"
    r"|the (?:figure|equation|formula|section) (?:below|above)"
    r"|the (?:next|previous|following) sections?)"
)


def _numbered_reference_problems(html: Path, path: Path, article: object, kinds: dict) -> list:
    """Links to figures ("Figure 3.1"), equations ("(5.2)") and sections ("Section 8.4") whose
    target does not exist or carries another number; counts the links by kind."""
    import bs4

    bad = []
    for a in article.select("a.reference.internal[href*='#']"):
        shown = a.get_text(" ", strip=True)
        m = re.fullmatch(r"(Figure|Section) (\d+(?:\.\d+)*)|\((\d+\.\d+)\)", shown)
        if not m:
            continue
        page, _, anchor = a["href"].partition("#")
        target_file = (path.parent / page) if page else path
        soup = bs4.BeautifulSoup(target_file.read_text(), "html.parser")
        target = soup.find(id=anchor)
        if m.group(3):  # an equation: its number is printed beside it
            kind, number = "equation", m.group(3)
            eqno = target.find(class_="eqno") if target else None
            found = re.search(r"\(([\d.]+)\)", eqno.get_text()) if eqno else None
            found = found and found.group(1)
        elif m.group(1) == "Figure":
            kind, number = "figure", m.group(2)
            cap = target.find(class_="caption-number") if target else None
            found = re.sub(r"^Figure\s*", "", cap.get_text(strip=True)) if cap else None
        else:
            kind, number = "section", m.group(2)
            # A label is an empty element just before its section (or the section itself).
            head = target.find_next(re.compile("^h[1-6]$")) if target else None
            num = head.find(class_="section-number") if head else None
            found = num.get_text(strip=True).rstrip(".") if num else None
        kinds[kind] += 1
        if found != number:
            bad.append(f"{path.name}: {shown!r} links to {a['href']}, which is {found!r}")
    return bad


@pytest.mark.slow
@pytest.mark.book
def test_launch_buttons_open_the_published_notebook_of_the_configured_repository(
    built_book: Path,
) -> None:
    config = (ROOT / "_config.yml").read_text()
    repo = re.search(r"^repository:\s*\n\s+url:\s*https://github.com/(\S+)", config, flags=re.M)
    assert repo, "no repository.url in _config.yml"
    page = (built_book / "book" / "02_formal_neuron.html").read_text()
    launch = re.findall(r'href="(https://(?:mybinder|colab)[^"]+|[^"]+/git-pull\?[^"]+)"', page)
    assert len(launch) >= 2, launch
    notebook = "_sources/book/02_formal_neuron.ipynb"
    for url in launch:
        url = url.replace("&amp;", "&")
        assert repo.group(1) in url and url.endswith(notebook), url
    assert "example.edu" not in page, "a launch button points at a placeholder host"


@pytest.mark.slow
@pytest.mark.browser
def test_self_checks_answer_right_and_wrong_from_the_keyboard(
    built_book: Path, server: str, browser: object
) -> None:
    questions = ".Quiz"  # jupyterquiz: one per question, its answers and feedback inside
    problems = []
    for path in _numbered_pages(built_book):
        tab = _Page(browser, server)
        tab.page.goto(f"{server}/book/{path.name}", wait_until="load")
        n = tab.page.locator(questions).count()
        if not 3 <= n <= 5:
            problems.append(f"{path.name}: {n} self-check questions")
        problems += [f"{path.name}: {e}" for e in tab.errors + tab.external]
        tab.close()
    assert not problems, "\n".join(problems)

    tab = _Page(browser, server)
    page = tab.page
    # A multiple-choice question, by keyboard: the first answer is wrong, the second right.
    page.goto(f"{server}/book/03_perceptron.html", wait_until="load")
    question = page.locator(".Quiz").filter(has=page.locator(".MultipleChoiceQn")).first
    question.locator("input[type=radio]").first.focus()
    ring = question.locator("label").first.evaluate("e => getComputedStyle(e).outlineStyle")
    page.keyboard.press("Space")
    wrong = question.locator(".Feedback").inner_text()
    page.keyboard.press("ArrowDown")
    right = question.locator(".Feedback").inner_text()
    assert wrong.startswith("No:") and "classified correctly" in wrong, wrong
    assert right.startswith("Right"), right
    assert ring != "none", "the focused answer has no visible ring"
    # A number: typed and checked with Enter.
    page.goto(f"{server}/book/05_logistic_regression.html", wait_until="load")
    question = page.locator(".Quiz").filter(has=page.locator(".NumericQn")).first
    field = question.locator("input").first
    field.fill("0.7")
    field.press("Enter")
    wrong = question.locator(".Feedback").inner_text()
    field.fill("0.5")
    field.press("Enter")
    right = question.locator(".Feedback").inner_text()
    assert wrong.startswith("Put") and not wrong.startswith("Right"), wrong
    assert right.startswith("Right"), right
    tab.close()
    assert not tab.errors and not tab.external, (tab.errors, tab.external)


def _numbered_pages(html: Path) -> list[Path]:
    return [p for p in _pages(html) if re.match(r"\d\d_", p.name)]


@pytest.mark.slow
@pytest.mark.book
def test_glossary_gives_each_term_in_english_and_russian_in_index_and_search(
    built_book: Path,
) -> None:
    bs4 = pytest.importorskip("bs4")
    soup = bs4.BeautifulSoup((built_book / "book" / "glossary.html").read_text(), "html.parser")
    entries = soup.select("dl.glossary > dt")
    terms = [" ".join(dt.get_text(" ").split()) for dt in entries]
    russian = [t for t in terms if re.search("[а-яё]", t, flags=re.I)]
    assert len(terms) - len(russian) >= 30, f"only {len(terms) - len(russian)} English terms"
    assert len(russian) == len(terms) - len(russian), "an English term without its Russian one"
    index = (built_book / "genindex.html").read_text()
    raw = (built_book / "searchindex.js").read_text()
    search = json.loads(raw[raw.index("(") + 1 : raw.rindex(")")])["terms"]
    for english, rus in (("perceptron", "перцептрон"), ("backpropagation", "обратное")):
        assert english in index and rus in index, f"{english}/{rus} not in the index"
        assert rus in search, f"the search does not find {rus!r}"
