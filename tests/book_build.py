"""The book's test build, its server and its browser: helpers behind the fixtures in conftest.py.

The build runs once per session into a temporary copy of the working tree (tracked files plus
untracked ones that git does not ignore, i.e. what a fresh clone with your changes would hold),
with ``jupyter-book build -n -W --keep-going`` and an empty execution cache. It includes the
in-browser site (``_build/html/lite``, book/_ext/nnlib_lite.py).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


_BROWSER: dict[str, object] = {}


def shared_browser() -> object:
    """The session's one headless Chromium (Playwright's sync API runs one event loop per
    thread, so every test that needs a browser shares this one; each opens its own pages).

    Skips the calling test, with the reason, where Chromium or Playwright is missing.
    """
    import atexit

    import pytest

    if "browser" not in _BROWSER:
        if not CHROMIUM.exists():
            pytest.skip(
                "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
            )
        sync_api = pytest.importorskip("playwright.sync_api")
        playwright = sync_api.sync_playwright().start()
        _BROWSER["browser"] = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )

        def stop() -> None:
            _BROWSER.pop("browser").close()
            playwright.stop()

        atexit.register(stop)
    return _BROWSER["browser"]


def working_tree_files() -> list[str]:
    """The files a fresh clone with the working tree's changes would hold."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return [f for f in out.stdout.decode().split("\0") if f and (ROOT / f).is_file()]


def copy_working_tree(dest: Path) -> Path:
    """Copy :func:`working_tree_files` into ``dest``; return ``dest``."""
    for rel in working_tree_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    return dest


def build_book(src: Path) -> str:
    """Build the book in ``src``; return the log, or raise AssertionError on failure or warning."""
    build = subprocess.run(
        [BIN / "jupyter-book", "build", ".", "-n", "-W", "--keep-going"],
        cwd=src, capture_output=True, text=True, timeout=1500,
        env={**os.environ, "PYTHONPATH": str(src)},
    )  # fmt: skip
    log = build.stdout + build.stderr
    assert build.returncode == 0, f"the book build failed:\n{log[-6000:]}"
    # Sphinx's warnings read "WARNING: ..." (the kernels' own log lines read "WARNING | ...").
    assert "WARNING:" not in log, f"the book build warned:\n{log[-6000:]}"
    return log


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log every request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) while in the block; yield its origin."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
