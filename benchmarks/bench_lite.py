"""Time the book's chapters in the reader's browser (JupyterLite + Pyodide), and weigh the site.

1. Builds the lite site alone (the chapters and assignments, nnlib's wheel, the local Pyodide
   copy: what ``make book LITE_PYODIDE=local`` puts under ``_build/html/lite``) in a temporary
   folder and serves it on 127.0.0.1.
2. Derives from it the baseline: the site as it was before the kernel's start was cut down
   (Pyodide's files without bytecode, and only numpy, matplotlib and the site's wheels named in
   ``loadPyodideOptions``, so the kernel loads its own packages one by one after Pyodide).
3. In headless Chromium (every host but 127.0.0.1 unresolvable, so nothing leaves the machine),
   opens chapter 2 in JupyterLite's notebook app and runs its code cells in order until one
   shows output: the time from opening the page to that output, with a cold cache (a new
   browser profile) and a warm one (the same profile, the page opened again: a new kernel), and
   the CPU time Chromium spent meanwhile (all its processes: less sensitive than the wall time
   to other work on the machine). Site and baseline alternate, round by round, and the ratios
   of their medians are printed.
4. Prints the site's size with and without the local Pyodide (and the built book's, when
   ``_build/html`` exists).

Usage: ``python benchmarks/bench_lite.py [--rounds N]``. Exits 1 if the site's median first
output is over budget (20 s cold, 8 s warm).
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


def baseline_site(html: Path, root: Path) -> Path:
    """The site as before the kernel's start was cut down (see the module's doc), in ``root``."""
    base = root / "html"
    shutil.copytree(html, base, copy_function=os.link)
    pyodide = base / "lite" / "static" / "pyodide"
    shutil.rmtree(pyodide)
    shutil.copytree(lite_assets.pyodide_copy(), pyodide, copy_function=os.link)
    config_path = base / "lite" / "jupyter-lite.json"
    config = json.loads(config_path.read_text())
    kernel = config["jupyter-config-data"]["litePluginSettings"][nnlib_lite.KERNEL_PLUGIN]
    wheels = sorted(p.name for p in (base / "lite" / "pypi").glob("*.whl"))
    preload = [w for w in wheels if w.startswith(nnlib_lite.PRELOAD)]
    kernel["loadPyodideOptions"]["packages"] = [
        "numpy", "matplotlib", *(f"{nnlib_lite.WORKER_TO_SITE}pypi/{w}" for w in preload)
    ]  # fmt: skip
    config_path.unlink()  # a hard link to the site's own
    config_path.write_text(json.dumps(config))
    return base


def chromium_cpu() -> dict[int, int]:
    """CPU clock ticks (user + system) of each process descended from this one, by pid."""
    children: dict[int, list[int]] = {}
    ticks = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    out, todo = {}, [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            out[child] = ticks[child]
            todo.append(child)
    return out


def first_output(tab: LiteTab) -> tuple[float, float, str]:
    """Open the chapter, run code cells in order until one shows output:
    (seconds, CPU seconds of Chromium, output)."""
    before = chromium_cpu()
    start = time.monotonic()
    tab.open("notebooks", CHAPTER)
    cells = tab.cells()
    for i, cell in enumerate(cells):
        if cell["type"] != "code":
            continue
        done = tab.run_cell(i)
        if done["outputs"]:
            seconds = time.monotonic() - start
            after = chromium_cpu()
            cpu = sum(t - before.get(pid, 0) for pid, t in after.items()) / os.sysconf("SC_CLK_TCK")
            return seconds, cpu, text_of(done).strip()[:60]
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
        sites = {"site": html, "baseline": baseline_site(html, Path(tmp) / "baseline")}
        times: dict[tuple[str, str, str], list[float]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(book_build.CHROMIUM), args=[*book_build.CHROMIUM_ARGS, OFFLINE]
            )
            for _ in range(args.rounds):
                for name, site in sites.items():
                    with book_build.serve(site) as origin:
                        context = browser.new_context()  # a new profile: an empty cache
                        for kind in ("cold", "warm"):
                            pyodide = site / "lite" / "static" / "pyodide"
                            tab = LiteTab(context, origin, pyodide, route=False)
                            seconds, cpu, output = first_output(tab)
                            times.setdefault((name, kind, "wall"), []).append(seconds)
                            times.setdefault((name, kind, "cpu"), []).append(cpu)
                            print(f"  {name:>8} {kind}: first output after {seconds:5.1f} s, "
                                  f"CPU {cpu:5.1f} s ({output!r})")  # fmt: skip
                            tab.close()
                        context.close()
            browser.close()
    failed = False
    median = {key: statistics.median(values) for key, values in times.items()}
    for kind in ("cold", "warm"):
        wall, cpu = median["site", kind, "wall"], median["site", kind, "cpu"]
        base_wall, base_cpu = median["baseline", kind, "wall"], median["baseline", kind, "cpu"]
        ok = wall <= BUDGET_S[kind]
        failed |= not ok
        verdict = "ok" if ok else "OVER BUDGET"
        print(f"{kind:>5}: median {wall:5.1f} s to the first output (budget "
              f"{BUDGET_S[kind]:.0f} s) {verdict}; baseline {base_wall:5.1f} s, ratio "
              f"{wall / base_wall:.2f}; CPU {cpu:5.1f} s, baseline {base_cpu:5.1f} s, ratio "
              f"{cpu / base_cpu:.2f}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    if not book_build.CHROMIUM.exists() or shutil.which("npm") is None:
        print("bench_lite needs Debian's chromium and npm (apt-get install chromium npm)")
        sys.exit(0)
    sys.exit(main())
