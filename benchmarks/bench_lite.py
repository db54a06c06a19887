"""Time the book's chapters in the reader's browser (JupyterLite + Pyodide), and weigh the site.

1. Builds the lite site alone (the chapters and assignments, nnlib's wheel, the local Pyodide
   copy: what ``make book LITE_PYODIDE=local`` puts under ``_build/html/lite``) in a temporary
   folder and serves it on 127.0.0.1.
2. In headless Chromium (every host but 127.0.0.1 unresolvable, so nothing leaves the machine),
   opens chapter 2 in JupyterLite's notebook app and runs its code cells in order until one
   shows output: the time from opening the page to that output, with a cold cache (a new
   browser profile) and a warm one (the same profile, the page opened again: a new kernel).
3. Prints the site's size with and without the local Pyodide (and the built book's, when
   ``_build/html`` exists).

Usage: ``python benchmarks/bench_lite.py [--rounds N]``. Exits 1 if the median first output is
over budget (20 s cold, 8 s warm).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "book" / "_ext")]
import book_build
import nnlib_lite
from lite_browser import LiteTab, lite_assets, text_of

CHAPTER = "book/02_formal_neuron.ipynb"
BUDGET_S = {"cold": 20.0, "warm": 8.0}
# Chromium resolves no host but the local one: the bench cannot fetch anything off the machine.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def build_site(root: Path) -> Path:
    """Stage and build the lite site with the local Pyodide under ``root``; return its html."""
    staging, html = root / "lite", root / "html"
    nnlib_lite.stage(staging, staging / "contents", "local")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "lite", "build", "--config",
         staging / "jupyter_lite_config.json", "--contents", staging / "contents",
         "--output-dir", html / "lite", "--lite-dir", staging, "--apps", "notebooks"],
        cwd=root, check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    # The bench reaches the app through window.jupyterapp (no routing: it would disable caching).
    config_path = html / "lite" / "jupyter-lite.json"
    config = json.loads(config_path.read_text())
    config["jupyter-config-data"]["exposeAppInBrowser"] = True
    config_path.write_text(json.dumps(config))
    return html


def first_output(tab: LiteTab) -> tuple[float, str]:
    """Open the chapter, run code cells in order until one shows output: (seconds, output)."""
    start = time.monotonic()
    tab.open("notebooks", CHAPTER)
    cells = tab.cells()
    for i, cell in enumerate(cells):
        if cell["type"] != "code":
            continue
        done = tab.run_cell(i)
        if done["outputs"]:
            return time.monotonic() - start, text_of(done).strip()[:60]
    raise RuntimeError(f"no cell of {CHAPTER} printed anything")


def size(path: Path) -> int:
    return lite_assets.copy_tree_size(path) if path.exists() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="cold and warm runs [3]")
    args = parser.parse_args()
    if os.getloadavg()[0] > os.cpu_count():
        print(f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: "
              "Pyodide's start is CPU-bound, the times below are inflated")  # fmt: skip
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        html = build_site(Path(tmp))
        print(f"lite site built in {time.monotonic() - t0:.0f} s")
        lite = html / "lite"
        pyodide = size(lite / "static" / "pyodide")
        cdn, local = (size(lite) - pyodide) / 1e6, size(lite) / 1e6
        print(f"lite site: {cdn:.1f} MB with the CDN's Pyodide, {local:.1f} MB with the local "
              f"copy (+{pyodide / 1e6:.1f} MB)")  # fmt: skip
        book = ROOT / "_build" / "html"
        if (book / "lite").exists():
            total = size(book) - size(book / "lite" / "static" / "pyodide")
            print(f"built book (_build/html): {total / 1e6:.1f} MB with the CDN's Pyodide, "
                  f"{(total + pyodide) / 1e6:.1f} MB with the local copy")  # fmt: skip
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        with book_build.serve(html) as origin, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(book_build.CHROMIUM), args=[*book_build.CHROMIUM_ARGS, OFFLINE]
            )
            for _ in range(args.rounds):
                context = browser.new_context()  # a new profile: an empty cache
                for kind in ("cold", "warm"):
                    tab = LiteTab(context, origin, lite / "static" / "pyodide", route=False)
                    seconds, output = first_output(tab)
                    times[kind].append(seconds)
                    print(f"  {kind}: first output after {seconds:5.1f} s ({output!r})")
                    tab.close()
                context.close()
            browser.close()
    failed = False
    for kind, values in times.items():
        median = statistics.median(values)
        ok = median <= BUDGET_S[kind]
        failed |= not ok
        verdict = "ok" if ok else "OVER BUDGET"
        print(f"{kind:>5}: median {median:5.1f} s to the first output "
              f"(budget {BUDGET_S[kind]:.0f} s) {verdict}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    if not book_build.CHROMIUM.exists() or shutil.which("npm") is None:
        print("bench_lite needs Debian's chromium and npm (apt-get install chromium npm)")
        sys.exit(0)
    sys.exit(main())
