"""``make lab``: the student's JupyterLab, on a working copy, in a real browser.

The browser test starts JupyterLab itself (127.0.0.1, a free port, its own token, the lab's
own configuration from ``tools/lab/``) on a temporary working copy of ``a1_neurons``, then, in
Debian's Chromium driven by Playwright, does what a student does: writes ``threshold_neuron``
without its bias, runs its check cell and reads the diagnosis, runs Validate and reads its
verdict. ``assignments/`` must be unchanged in git afterwards, and no instructor or exchange
panel may show.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import lab  # noqa: E402
from book_build import shared_browser  # noqa: E402

BUGGY_NEURON = '''def step(z):
    """Heaviside step [z > 0], elementwise: an array of 0.0/1.0 of z's shape."""
    return (z > 0).astype(float)


def threshold_neuron(X, w, b):
    """McCulloch-Pitts neuron: X (N, D), w (D,), b a number -> outputs (N,) of 0.0/1.0."""
    return step(X @ w)
'''


def test_the_working_copy_is_made_once_and_never_overwritten(tmp_path):
    work = tmp_path / "work"
    assert lab.working_copy(["a1_neurons"], work=work) == [work / "a1_neurons"]
    notebook = work / "a1_neurons" / "a1_neurons.ipynb"
    assert notebook.read_bytes() == (ROOT / "assignments/a1_neurons/a1_neurons.ipynb").read_bytes()
    notebook.write_text("my work")
    assert lab.working_copy(["a1_neurons"], work=work) == []
    assert notebook.read_text() == "my work"


def test_the_lab_opens_the_working_copy_with_its_own_config(tmp_path):
    command = lab.lab_command(tmp_path)
    assert f"--ServerApp.root_dir={tmp_path}" in command
    env = lab.lab_environment({}, work=tmp_path)
    assert env["JUPYTER_CONFIG_DIR"] == str(ROOT / "tools" / "lab")
    assert env["JUPYTERLAB_SETTINGS_DIR"].startswith(str(tmp_path))
    assert "/work/" in (ROOT / ".gitignore").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git_status(path: str) -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else "(not a git checkout)"


_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> int:
    """The HTTP status of ``url`` (0: no answer)."""
    try:
        with _LOCAL.open(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.fixture
def jupyterlab(tmp_path):
    """A running lab on a fresh working copy: ``(base url, token, work folder)``."""
    work = tmp_path / "work"
    lab.working_copy(["a1_neurons"], work=work)
    port, token = _free_port(), secrets.token_hex(16)
    log = (tmp_path / "lab.log").open("w")
    command = lab.lab_command(
        work,
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
    )
    proc = subprocess.Popen(
        command, cwd=ROOT, env=lab.lab_environment(work=work), stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while _get(f"{url}/api/status?token={token}") != 200:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start in 90 s"
            time.sleep(0.5)
        yield url, token, work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    server_log = (tmp_path / "lab.log").read_text()
    for warning in ("Config option", "exchange directory", "Error fetching courses"):
        assert warning not in server_log, server_log[-3000:]


@pytest.mark.browser
@pytest.mark.slow
def test_a_student_reads_the_diagnosis_and_validates_in_the_lab(jupyterlab):
    url, token, work = jupyterlab
    before = _git_status("assignments")
    # The instructor's and the exchange's server endpoints are off.
    assert _get(f"{url}/formgrader?token={token}") == 404
    assert _get(f"{url}/assignments?token={token}") == 404
    page = shared_browser().new_page(viewport={"width": 1366, "height": 900})
    try:
        page.goto(f"{url}/lab/tree/a1_neurons/a1_neurons.ipynb?token={token}")
        cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        cells.nth(5).wait_for(timeout=90_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
            state="attached", timeout=90_000
        )
        # The student writes Part 1, forgetting the bias.
        cells.nth(3).locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(BUGGY_NEURON)
        # Run the set-up cell (once the kernel answers), Part 1 and its two check cells.
        cells.nth(1).locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")
        prompt = cells.nth(1).locator(".jp-InputPrompt")
        page.wait_for_function(
            "el => /\\[\\d+\\]/.test(el.innerText)", arg=prompt.element_handle(),
            timeout=300_000,
        )  # fmt: skip
        for _ in range(4):
            page.keyboard.press("Shift+Enter")
        output = cells.nth(5).locator(".jp-OutputArea-output")
        output.filter(has_text="likely bug").first.wait_for(timeout=300_000)
        text = output.first.inner_text()
        assert "threshold_neuron" in text and "likely bug: forgot the bias" in text, text
        assert "expected" in text and "got" in text
        assert "Traceback" not in text and "nnlib/grading" not in text, text
        assert "step: visible check passed" in cells.nth(4).inner_text()
        page.keyboard.press("Control+S")
        # Validate runs the whole notebook as the grader will.
        page.locator(".validate-button").first.click()
        dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
        dialog.wait_for(timeout=240_000)  # shown when the run is over
        verdict = dialog.inner_text()
        assert "forgot the bias" in verdict and "Success!" not in verdict, verdict
        page.keyboard.press("Escape")
        # No instructor panels, no exchange errors: neither in the side bars ...
        tabs = " ".join(
            page.evaluate(
                "Array.from(document.querySelectorAll('.lm-TabBar-tab'))"
                ".map(t => (t.getAttribute('title') || '') + ' ' + t.innerText)"
            )
        )
        assert "Create Assignment" not in tabs, tabs
        # ... nor as nbgrader's menu (it only holds the disabled panels: it would be empty).
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        assert menus and "Nbgrader" not in menus, menus
        body = page.locator("body").inner_text()
        assert "exchange" not in body.lower() and "Error fetching" not in body, body[-2000:]
    finally:
        page.close()
    saved = (work / "a1_neurons" / "a1_neurons.ipynb").read_text()
    assert "return step(X @ w)" in saved  # the student's work went to the working copy
    assert _get(f"{url}/api/status?token={token}") == 200
    assert _git_status("assignments") == before, "the lab changed the released notebooks"
