"""Driving the book's JupyterLite site in headless Chromium, offline (tests and benchmark).

Every request goes to the site on 127.0.0.1, or to the pinned Pyodide CDN, whose files are
answered from the verified local copy (``tools/lite_assets.py``); any other request is aborted
and recorded, so a test can fail on it. The lite app is reached through ``window.jupyterapp``,
which JupyterLite exposes when its page config says ``exposeAppInBrowser``: the tab adds that
option to the ``jupyter-lite.json`` it receives (the published site does not expose the app).
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lite_assets  # noqa: E402

sys.path.pop(0)

# The notebook in the page, its kernel, its cells: JavaScript run in the lite tab.
_WIDGET = "window.jupyterapp && window.jupyterapp.shell.currentWidget"
_KERNEL_IDLE = f"""() => {{
  const w = {_WIDGET};
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === "idle" && !w.sessionContext.pendingInput;
}}"""
_CELLS = f"""() => {{
  const cells = {_WIDGET}.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {{
    const c = cells.get(i);
    out.push({{type: c.type, source: c.sharedModel.source,
               count: c.type === "code" ? c.executionCount : null,
               outputs: c.type === "code" ? c.outputs.toJSON() : []}});
  }}
  return out;
}}"""


@dataclass
class LiteTab:
    """A Chromium tab on the lite site, with the offline routing described above."""

    context: object
    origin: str
    pyodide: Path
    external: list[str] = field(default_factory=list)
    from_copy: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    # False: no routing (Playwright's routing turns the HTTP cache off; the benchmark measures a
    # warm cache, blocks off-machine requests with Chromium's resolver and exposes the app in the
    # site's own jupyter-lite.json).
    route: bool = True

    def __post_init__(self) -> None:
        if self.route:
            self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: object) -> None:
        url = route.request.url
        if url.startswith(self.origin):
            if url.split("?")[0].endswith("/jupyter-lite.json"):
                response = route.fetch()
                config = response.json()
                config.setdefault("jupyter-config-data", {})["exposeAppInBrowser"] = True
                route.fulfill(response=response, body=json.dumps(config))
            else:
                route.continue_()
        elif url.startswith(("data:", "blob:")):
            route.continue_()
        elif url.startswith(lite_assets.PYODIDE_CDN):
            path = self.pyodide / url[len(lite_assets.PYODIDE_CDN) :].split("?")[0]
            if path.is_file():
                self.from_copy.append(path.name)
                route.fulfill(path=str(path))
            else:
                self.external.append(url)
                route.abort()
        else:
            self.external.append(url)
            route.abort()

    def open(self, app: str, path: str, timeout: float = 240) -> float:
        """Open ``path`` in the lite ``app`` (notebooks, lab); wait for an idle kernel.

        Returns the seconds it took."""
        start = time.monotonic()
        self.page.goto(f"{self.origin}/lite/{app}/index.html?path={path}")
        self.page.wait_for_function(
            f"() => {{ const w = {_WIDGET}; return !!(w && w.sessionContext && w.content"
            " && w.content.model); }",
            timeout=timeout * 1000,
        )
        self.page.wait_for_function(_KERNEL_IDLE, timeout=timeout * 1000, polling=250)
        return time.monotonic() - start

    def cells(self) -> list[dict]:
        """The notebook's cells: type, source, execution count and outputs (nbformat JSON)."""
        return self.page.evaluate(_CELLS)

    def run_cell(self, index: int, timeout: float = 240) -> dict:
        """Select cell ``index``, run it, wait for an idle kernel; return the cell."""
        self.page.evaluate(
            f"""async (i) => {{
              const w = {_WIDGET};
              w.content.activeCellIndex = i;
              await window.jupyterapp.commands.execute("notebook:run-cell");
            }}""",
            index,
        )
        self.page.wait_for_timeout(100)
        self.page.wait_for_function(_KERNEL_IDLE, timeout=timeout * 1000, polling=100)
        return self.cells()[index]

    def show_cell(self, index: int) -> None:
        """Scroll cell ``index`` into the middle of the notebook (cells far away are hidden)."""
        self.page.evaluate(
            f"async (i) => {{ const w = {_WIDGET}; w.content.activeCellIndex = i;"
            " await w.content.scrollToItem(i, 'center'); }",
            index,
        )
        self.page.wait_for_timeout(300)

    def set_source(self, index: int, source: str) -> None:
        """Type ``source`` into cell ``index`` (replacing what it held), as a student would."""
        self.page.evaluate(
            f"([i, s]) => {{ {_WIDGET}.content.model.cells.get(i).sharedModel.setSource(s); }}",
            [index, source],
        )

    def run_all(self, timeout: float = 600) -> list[dict]:
        """Run every cell top to bottom (stops at an error, like Jupyter); return the cells."""
        self.page.evaluate(
            'async () => { await window.jupyterapp.commands.execute("notebook:run-all-cells"); }'
        )
        self.page.wait_for_timeout(200)
        self.page.wait_for_function(_KERNEL_IDLE, timeout=timeout * 1000, polling=250)
        return self.cells()

    def notebook_json(self) -> dict:
        """The notebook as the lite app would save or download it (nbformat JSON)."""
        return self.page.evaluate(f"() => {_WIDGET}.content.model.toJSON()")

    def close(self) -> None:
        self.page.close()


def errors_in(cell: dict) -> list[str]:
    """The ``ename: evalue`` of every error output of a cell."""
    return [f"{o['ename']}: {o['evalue']}" for o in cell["outputs"] if o["output_type"] == "error"]


def text_of(cell: dict) -> str:
    """Everything a cell printed (streams and text/plain results)."""
    parts = []
    for o in cell["outputs"]:
        if o["output_type"] == "stream":
            parts.append("".join(o["text"]) if isinstance(o["text"], list) else o["text"])
        elif o["output_type"] == "error":
            parts.append(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(o["traceback"])))
        elif "text/plain" in o.get("data", {}):
            data = o["data"]["text/plain"]
            parts.append("".join(data) if isinstance(data, list) else data)
    return "\n".join(parts)


def has_image(cell: dict) -> bool:
    """Whether a cell displayed a PNG or SVG image."""
    return any(
        k in o.get("data", {}) for o in cell["outputs"] for k in ("image/png", "image/svg+xml")
    )
