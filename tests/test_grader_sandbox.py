"""The sandbox really contains student code: network, files, environment, limits, faults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nngrader.host.containment import UID_BASE, Limits
from nngrader.host.execute import Cell, run_cells
from nngrader.protocol import CellResult

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
