"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) for the grader's pages.

:func:`open_page` loads a page the grader wrote from its file, refuses every request that
leaves the machine, and records what a student's script would leave behind if it ran: a
dialog (``alert``), an uncaught error, a console message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from book_build import shared_browser


def launch() -> Iterator[object]:
    """Chromium for a pytest fixture: the session's shared browser (skipped where missing).

    Playwright's sync API allows one instance per thread, so this never starts a second one.
    """
    yield shared_browser()


class Tab:
    """A tab showing one file: ``dialogs`` and ``errors`` record what scripts did."""

    def __init__(self, browser: object, path: str, width: int = 1366, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r: object) -> None:
            url = r.request.url
            if url.startswith(("file:", "data:")):
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(Path(os.path.abspath(path)).as_uri(), wait_until="load")
        self.page.wait_for_timeout(300)  # (timers and late handlers a payload may set)

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.page.close()
