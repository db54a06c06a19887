"""The sandbox really contains student code: network, files, environment, limits, faults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nngrader.host.containment import UID_BASE, Limits
from nngrader.host.execute import Cell, SlotSandboxes, run_cells
from nngrader.protocol import STREAM_LIMIT, CellResult

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
    ),
]
LIMITS = Limits(cell_timeout=10, test_timeout=10, memory_mb=1024, cpu_seconds=30, fsize_mb=4)


def probe(source: str, monkeypatch=None) -> dict:
    """Run ``source`` as a student cell in a sandbox; it must print one JSON line."""
    replies = run_cells([Cell(0, "state", source)], LIMITS, uid=UID_BASE + 7)
    text = "".join(o.get("text", "") for o in replies[0].outputs if o["output_type"] == "stream")
    assert replies[0].status == "ok", replies[0]
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    (root / "gradebook.db").write_text("secret gradebook")
    (root / "solutions").mkdir()
    (root / "solutions" / "hidden.txt").write_text("hidden tests")
    (root / "submitted" / "other_student").mkdir(parents=True)
    return str(root)


def test_network_is_unreachable():
    out = probe(
        "import json, socket\nresult = {}\n"
        "for name, call in [('connect', lambda: socket.create_connection(('1.1.1.1', 53), 2)),"
        " ('dns', lambda: socket.getaddrinfo('example.com', 80))]:\n"
        "    try:\n        call()\n        result[name] = 'open'\n"
        "    except OSError as exc:\n        result[name] = 'blocked'\n"
        "result['interfaces'] = [n for _, n in socket.if_nameindex()]\n"
        "print(json.dumps(result))"
    )
    assert out["connect"] == "blocked" and out["dns"] == "blocked"
    assert out["interfaces"] == ["lo"]


def test_course_gradebook_solutions_and_other_students_are_invisible(course):
    paths = [
        os.path.join(course, "gradebook.db"),
        os.path.join(course, "solutions", "hidden.txt"),
        os.path.join(course, "submitted", "other_student"),
        str(ROOT / "README.md"),  # the checkout around nnlib and nngrader
        os.path.expanduser("~/.ssh"),
        "/etc/passwd",
        "/etc/shadow",
    ]
    out = probe(f"import json, os\nprint(json.dumps([os.path.exists(p) for p in {paths!r}]))")
    assert out == [False] * len(paths)


def test_system_is_read_only_and_files_are_capped():
    out = probe(
        "import json, sys\nresult = {}\n"
        "for path in ['/usr/evil', sys.prefix + '/evil', '/tmp/work/big']:\n"
        "    try:\n        with open(path, 'wb') as f:\n            f.write(b'x' * (8 << 20))\n"
        "        result[path] = 'written'\n    except OSError as exc:\n"
        "        result[path] = 'refused'\nprint(json.dumps(result))"
    )
    assert set(out.values()) == {"refused"}  # the last: larger than fsize_mb (4 MiB)


def test_environment_is_clean_and_user_unprivileged(monkeypatch):
    monkeypatch.setenv("NNLIB_INSTRUCTOR_SECRET", "hunter2")
    out = probe(
        "import json, os, resource\n"
        "print(json.dumps({'env': dict(os.environ), 'uid': os.getuid(),"
        " 'as': resource.getrlimit(resource.RLIMIT_AS)[0],"
        " 'cpu': resource.getrlimit(resource.RLIMIT_CPU)[0],"
        " 'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0],"
        " 'fsize': resource.getrlimit(resource.RLIMIT_FSIZE)[0]}))"
    )
    assert "hunter2" not in json.dumps(out["env"])
    assert not any(k.startswith(("NNLIB_GRADER", "AWS", "GITHUB")) for k in out["env"])
    assert out["uid"] != 0
    assert out["as"] == LIMITS.memory_mb << 20
    assert out["cpu"] == LIMITS.cpu_seconds
    assert out["fsize"] == LIMITS.fsize_mb << 20


def test_a_fault_costs_only_its_cell():
    cells = [
        Cell(0, "state", "def f(x):\n    return 2 * x"),
        Cell(1, "state", "while True:\n    pass"),
        Cell(2, "test", "assert f(2) == 4", grade_id="t1"),
        Cell(3, "test", "import os\nos._exit(1)", grade_id="t2"),
        Cell(4, "test", "x = bytearray(4 << 30)", grade_id="t3"),
        Cell(5, "test", "assert f(3) == 6", grade_id="t4"),
    ]
    r = run_cells(cells, Limits(cell_timeout=2, test_timeout=2, memory_mb=1024), uid=UID_BASE + 7)
    assert r[1] == CellResult.fault("timed out after 2 s")
    assert r[2].status == "ok" and r[5].status == "ok"
    assert r[3].status == "fault" and "exited early" in r[3].reason
    assert r[4].status == "error" and r[4].error.ename == "MemoryError"


def test_import_nnlib_does_not_import_the_grader():
    code = (
        "import sys, nnlib; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nngrader', 'nbgrader')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- bounds the host enforces --------------------------------------------------------------

HOG = """import json, os
written = {}
for folder in ('/tmp', '/dev/shm'):
    total = 0
    try:
        for i in range(100):
            with open(os.path.join(folder, f'hog{i}'), 'wb') as f:
                for _ in range(4):
                    f.write(b'x' * (1 << 20))
                    total += 1 << 20
    except OSError:
        pass
    written[folder] = total
    for i in range(100):
        try:
            os.remove(os.path.join(folder, f'hog{i}'))
        except OSError:
            pass
print(json.dumps(written))
"""


@pytest.mark.parametrize("forked", [True, False], ids=["zygote-child", "own-sandbox"])
def test_tmpfs_mounts_are_sized_within_the_memory_limit(forked):
    """A student filling /tmp and /dev/shm stops at their sizes (400 MiB tried each)."""
    limits = Limits(cell_timeout=60, test_timeout=60, memory_mb=512, fsize_mb=8)
    tmp, shm = limits.tmpfs_bytes()
    assert tmp + shm < limits.memory_mb << 20
    kept = SlotSandboxes(limits, UID_BASE + 7, False, limits.nproc)
    if not forked:
        kept.forks = False
    try:
        r = run_cells([Cell(0, "state", HOG)], limits, uid=UID_BASE + 7, kept=kept)
    finally:
        kept.discard()
    assert r[0].status == "ok", r[0]
    written = json.loads(r[0].outputs[0]["text"])
    assert 0 < written["/tmp"] <= tmp, written
    assert 0 < written["/dev/shm"] <= shm, written


def test_open_files_are_limited():
    out = probe(
        "import json, os, resource\nfds = []\ntry:\n    while len(fds) < 5000:\n"
        "        fds.append(os.open('/dev/null', os.O_RDONLY))\nexcept OSError:\n    pass\n"
        "print(json.dumps({'limit': resource.getrlimit(resource.RLIMIT_NOFILE)[0],"
        " 'opened': len(fds)}))"
    )
    assert out["limit"] == LIMITS.nofile and out["opened"] < LIMITS.nofile


FLOOD = """import sys
sys.stderr.parts.append('e' * 10_000_000)
sys.stdout.parts.append('x' * 1_000_000)
"""


def test_a_stream_flood_past_the_students_own_cap_is_cut_by_the_host_at_once():
    """The student's process bypasses its capture (10 MB of stderr): the host keeps the head
    of it, and no regex or parser of the host spends more than linear time on it."""
    cells = [Cell(0, "state", FLOOD), Cell(1, "state", "print('after')")]
    start = time.monotonic()
    r = run_cells(cells, LIMITS, uid=UID_BASE + 7)
    elapsed = time.monotonic() - start
    assert r[0].status == "ok", r[0]
    for output in r[0].outputs:
        assert len(output["text"]) < STREAM_LIMIT + 100, output["name"]
    assert r[1].outputs[0]["text"] == "after\n"
    assert elapsed < 30, elapsed  # (most of it is starting the sandbox on a loaded machine)


def test_warnings_are_dropped_in_the_sandbox_not_by_the_host():
    cell = (
        "import sys, warnings\nwarnings.warn('careful', RuntimeWarning)\n"
        "print('real error', file=sys.stderr)\n"
        "import numpy as np\nnp.log(np.zeros(1))"
    )
    r = run_cells([Cell(0, "state", cell)], LIMITS, uid=UID_BASE + 7)
    stderr = [o["text"] for o in r[0].outputs if o.get("name") == "stderr"]
    assert stderr == ["real error\n"], r[0].outputs


REPLY_DEEP = """import gc, os
worker = next(o for o in gc.get_objects() if type(o).__name__ == 'Worker' and hasattr(o, 'wfd'))
os.write(worker.wfd, b'{"status": "ok", "x": ' + b'[' * 500_000 + b']' * 500_000 + b'}\\n')
"""
REPLY_FLOOD = """import gc, os
worker = next(o for o in gc.get_objects() if type(o).__name__ == 'Worker' and hasattr(o, 'wfd'))
chunk = b'x' * (1 << 20)
for _ in range(64):
    os.write(worker.wfd, chunk)
"""


@pytest.mark.parametrize(
    "cell, reason",
    [(REPLY_DEEP, "nested too deeply"), (REPLY_FLOOD, "too much output")],
    ids=["deep", "flood"],
)
def test_a_hostile_reply_costs_its_cell_and_nothing_else(cell, reason):
    cells = [Cell(0, "state", "x = 1"), Cell(1, "state", cell), Cell(2, "state", "print(x)")]
    start = time.monotonic()
    r = run_cells(cells, LIMITS, uid=UID_BASE + 7)
    assert r[1].status == "fault" and reason in r[1].reason, r[1]
    assert r[2].outputs[0]["text"] == "1\n"
    assert time.monotonic() - start < 60


MAGICS = """%matplotlib inline
%matplotlib notebook
%matplotlib widget
%config InlineBackend.figure_format = 'retina'
%load_ext autoreload
%autoreload 2
%qtconsole
%connect_info
import matplotlib.pyplot as plt
from IPython.display import display, HTML
import ipywidgets as widgets
plt.plot([1, 2, 3])
plt.show()
display(HTML('<b>hi</b>'), widgets.IntSlider())
def answer():
    return 42
"""


def test_what_students_put_in_cells_works_as_in_a_kernel():
    cells = [
        Cell(0, "state", MAGICS),
        Cell(1, "state", "%%time\nvalue = answer()"),
        Cell(2, "test", "assert answer() == 42 and value == 42", grade_id="t"),
    ]
    r = run_cells(cells, LIMITS, uid=UID_BASE + 7)
    assert r[0].status == "ok", r[0]
    kinds = [o["output_type"] for o in r[0].outputs]
    assert "display_data" in kinds
    assert r[1].status == "ok" and r[2].status == "ok", (r[1], r[2])
