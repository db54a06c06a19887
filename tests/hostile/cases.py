"""The hostile class: one submission per fault or attack, with the grade it must get.

Each case starts from the released notebook of :mod:`hostile.course` with correct answers,
then changes what it needs. ``score`` is the expected total (of 6: three parts of 2 points) and
``reason`` a fragment the CSV's reason column must contain ("" means the reason is empty).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

CORRECT = {
    "sigmoid": "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))",
    "relu": "def relu(z):\n    return np.where(z > 0, z, 0.0)",
    "double": "def double(x):\n    return x + x",
}
WRONG_DOUBLE = "def double(x):\n    return 3 * x"
WRONG_SIGMOID = "def sigmoid(z):\n    return np.tanh(z)"


@dataclass
class Case:
    """A hostile submission: ``answers`` replace solution cells, ``edit`` changes the rest."""

    name: str
    score: float
    reason: str
    answers: dict[str, str] = field(default_factory=dict)
    edit: object = None  # callable(list of cells) -> list of cells
    files: dict[str, str] = field(default_factory=dict)  # extra files in the student's folder
    raw: str | None = None  # the notebook file's exact text (for malformed notebooks)
    missing: bool = False  # an empty folder


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def insert_after(gid: str, source: str):
    def edit(cells):
        at = next(i for i, c in enumerate(cells) if _gid(c) == gid) + 1
        return [*cells[:at], nbformat.v4.new_code_cell(source), *cells[at:]]

    return edit


def _edit_test(cells):
    for cell in cells:
        if _gid(cell) == "test_double":
            cell.source = "pass"
            cell.metadata["nbgrader"]["points"] = 100
    return cells


def _delete_test(cells):
    return [c for c in cells if _gid(c) != "test_sigmoid"]


def _duplicate(cells):
    extra = [copy.deepcopy(c) for c in cells if _gid(c) in ("double", "test_double")]
    return cells + extra


def _unmark_test(cells):
    for cell in cells:
        if _gid(cell) == "test_relu":
            del cell.metadata["nbgrader"]
            cell.source = "pass"
    return cells


CASES = [
    Case("correct", 6, ""),
    Case("blank", 0, "no answer", answers={k: None for k in CORRECT}),
    Case("empty_folder", 0, "no submission", missing=True),
    Case("malformed_json", 0, "unreadable notebook", raw='{"cells": [ this is not json'),
    Case("malformed_cells", 0, "unreadable notebook", raw='{"nbformat": 4, "cells": 7}'),
    Case("wrong_sigmoid", 4, "", answers={"sigmoid": WRONG_SIGMOID}),
    Case("syntax_error", 4, "", answers={"relu": "def relu(z) return z"}),
    # --- integrity ----------------------------------------------------------------------
    Case(
        "patch_allclose",
        4,
        "tampering detected",
        answers={"double": WRONG_DOUBLE + "\nnp.allclose = lambda *a, **k: True"},
    ),
    Case(
        "patch_code_object",
        4,
        "tampering detected",
        answers={
            "sigmoid": WRONG_SIGMOID + "\nimport nnlib.functional\n"
            "nnlib.functional.sigmoid.__code__ = (lambda z: np.tanh(z)).__code__"
        },
    ),
    Case(
        "patch_during_test",
        4,
        "tampering detected",
        answers={
            "double": "def double(x):\n    import numpy\n"
            "    numpy.allclose = lambda *a, **k: True\n    return 3 * x"
        },
    ),
    Case(
        "replace_module",
        4,
        "tampering detected",
        answers={
            "sigmoid": WRONG_SIGMOID
            + "\nimport sys, types\nfake = types.ModuleType('nnlib.functional')\n"
            "fake.sigmoid = sigmoid\nfake.relu = lambda z: np.maximum(z, 0)\n"
            "sys.modules['nnlib.functional'] = fake"
        },
    ),
    Case(
        "ipython_hooks",
        4,
        "installed an IPython hook",
        answers={
            "double": WRONG_DOUBLE + "\nip = get_ipython()\n"
            "ip.input_transformers_post.append(lambda lines: ['pass\\n'])\n"
            "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
            "import sys\nsys.excepthook = lambda *a: None"
        },
    ),
    Case(
        "trace_hook",
        4,
        "tampering detected",
        answers={
            "double": WRONG_DOUBLE
            + "\nimport sys\ndef tracer(frame, event, arg):\n    return tracer\n"
            "sys.settrace(tracer)"
        },
    ),
    Case(
        "lying_object",
        4,
        "",
        answers={
            "double": "class Liar:\n"
            "    def __array__(self, dtype=None, copy=None):\n"
            "        return np.zeros(4)\n"
            "    def __array_function__(self, *a, **k):\n        return True\n"
            "    def __eq__(self, other):\n        return True\n"
            "def double(x):\n    return Liar()"
        },
    ),
    Case(
        "ndarray_subclass",
        4,
        "",
        answers={
            "double": "class Sneaky(np.ndarray):\n"
            "    def __array_function__(self, *a, **k):\n        return True\n"
            "    def __eq__(self, other):\n        return np.ones(np.shape(other), bool)\n"
            "def double(x):\n    return (3 * np.asarray(x)).view(Sneaky)"
        },
    ),
    Case(
        "planted_files",
        4,
        "",
        answers={"sigmoid": WRONG_SIGMOID},
        files={
            "numpy.py": "allclose = lambda *a, **k: True\n",
            "nnlib/__init__.py": "",
            "nnlib/functional.py": "import numpy as np\nsigmoid = np.tanh\n",
        },
    ),
    Case(
        "planted_at_runtime",
        4,
        "tampering detected",
        answers={
            "sigmoid": WRONG_SIGMOID + "\nimport os, sys\nos.makedirs('nnlib', exist_ok=True)\n"
            "open('nnlib/__init__.py', 'w').close()\n"
            "open('nnlib/functional.py', 'w').write('import numpy as np\\nsigmoid = np.tanh\\n"
            "relu = lambda z: np.maximum(z, 0)\\n')\n"
            "sys.path.insert(0, os.getcwd())\n"
            "for name in [n for n in sys.modules if n.startswith('nnlib')]:\n"
            "    del sys.modules[name]"
        },
    ),
    Case(
        "edited_test",
        4,
        "edited test cell test_double restored",
        answers={"double": WRONG_DOUBLE},
        edit=_edit_test,
    ),
    Case(
        "deleted_test",
        4,
        "deleted cell test_sigmoid restored",
        answers={"sigmoid": WRONG_SIGMOID},
        edit=_delete_test,
    ),
    Case("duplicated_cells", 6, "duplicated cell", edit=_duplicate),
    Case(
        "unmarked_test",
        4,
        "deleted cell test_relu restored",
        answers={"relu": "def relu(z):\n    return z"},
        edit=_unmark_test,
    ),
    Case(
        "reference_use",
        2,
        "uses nnlib's reference implementation",
        answers={
            "sigmoid": "import nnlib.functional\ndef sigmoid(z):\n"
            "    return nnlib.functional.sigmoid(z)",
            "relu": "from nnlib.functional import relu",
        },
    ),
    # --- faults -------------------------------------------------------------------------
    Case(
        "infinite_loop_in_test",
        4,
        "test_relu: timed out",
        answers={"relu": "def relu(z):\n    while True:\n        pass"},
    ),
    Case(
        "swallows_interrupts",
        4,
        "double: timed out",
        answers={
            "double": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "while True:\n    try:\n        time.sleep(0.01)\n    except BaseException:\n"
            "        pass\n" + CORRECT["double"]
        },
    ),
    Case(
        "os_exit",
        4,
        "double: the kernel exited",
        answers={"double": "import os\nos._exit(3)\n" + CORRECT["double"]},
    ),
    Case(
        "kill_sandbox",
        4,
        "relu: the kernel",
        answers={"relu": "import os, signal\nos.killpg(0, signal.SIGKILL)\n" + CORRECT["relu"]},
    ),
    Case(
        "crash_in_test",
        4,
        "test_sigmoid: crashed",
        answers={
            "sigmoid": "import os, signal\ndef sigmoid(z):\n"
            "    os.kill(os.getpid(), signal.SIGSEGV)"
        },
    ),
    Case(
        "memory_bomb",
        4,
        "test_relu: memory limit",
        answers={"relu": "def relu(z):\n    hog = np.ones(10**10)\n    return np.maximum(z, 0)"},
    ),
    Case(
        "exit_in_test",
        4,
        "test_double: the test's process exited early",
        answers={"double": "import os\ndef double(x):\n    os._exit(0)"},
    ),
    Case(
        "huge_output",
        6,
        "",
        answers={"double": "print('x' * 50_000_000)\n" + CORRECT["double"]},
    ),
    Case(
        "fork_bomb",
        4,
        "test_double",
        answers={
            "double": "import os, time\nfor _ in range(10_000):\n    try:\n"
            "        if os.fork() == 0:\n            time.sleep(30)\n            os._exit(0)\n"
            "    except OSError:\n        break\n" + CORRECT["double"]
        },
    ),
    Case(
        "widgets",
        6,
        "",
        answers={
            "double": "import ipywidgets as widgets\nfrom IPython.display import display\n"
            "slider = widgets.FloatSlider(value=1.0)\ndisplay(slider)\n"
            "widgets.interact(lambda a: a, a=(0, 10))\n" + CORRECT["double"]
        },
    ),
    Case(
        "leak_hidden_tests",
        6,
        "",
        answers={
            "double": "import sys\ndef double(x):\n    frame = sys._getframe()\n"
            "    while frame is not None:\n        print(frame.f_code.co_consts)\n"
            "        frame = frame.f_back\n    return 2 * x"
        },
    ),
    Case(
        # Reading `z` makes test_relu's names needed later, so the worker runs that test too
        # (a "carry"); relu then collects the test's constants for a later cell to print.
        "leak_hidden_via_carry",
        6,
        "",
        answers={
            "relu": "import sys\nLEAK = []\ndef relu(z):\n    frame = sys._getframe()\n"
            "    while frame is not None:\n        LEAK.append(repr(frame.f_code.co_consts))\n"
            "        frame = frame.f_back\n    return np.maximum(z, 0.0)",
            "double": "print(z, LEAK)\n" + CORRECT["double"],
        },
    ),
    Case(
        "gradebook_attack",
        6,
        "",
        answers={
            "double": "import sqlite3\n"
            "try:\n    db = sqlite3.connect('file:{course}/gradebook.db?mode=rw', uri=True)\n"
            "    db.execute('UPDATE grade SET auto_score = 1000')\n    db.commit()\n"
            "except Exception as exc:\n    print('blocked:', exc)\n" + CORRECT["double"]
        },
    ),
]


# --- forged verdicts: the student's code reaches the worker from inside a test -------------
FORGE_FRAMES = """import sys, os
def double(x):
    f = sys._getframe()
    while f is not None:
        loc = f.f_locals
        if 'nonce' in loc and 'self' in loc and hasattr(loc['self'], 'send') and isinstance(
                loc['nonce'], str):
            loc['self'].send({"status": "ok", "outputs": [], "error": None, "tamper": [],
                              "reference": [], "nonce": loc['nonce']})
            os._exit(0)
        f = f.f_back
    return 3 * x
"""
STEAL_EXPECTED = """import sys
import numpy as np
def double(x):
    f = sys._getframe(1)
    while f is not None:
        for v in list(f.f_locals.values()):
            if isinstance(v, np.ndarray) and v.shape == np.shape(x) and v is not x:
                v[...] = 3 * np.asarray(x)
        f = f.f_back
    return 3 * x
"""
_FIND_NONCE = """import gc, json, os
def _forged():
    nonces = [o['nonce'] for o in gc.get_objects()
              if type(o) is dict and type(o.get('nonce')) is str and o.get('kind') == 'test']
    return [(json.dumps({"status": "ok", "outputs": [], "error": None, "tamper": [],
                         "reference": [], "nonce": n, "idx": 0}) + "\\n").encode()
            for n in nonces]
"""
FORGE_GC = (
    _FIND_NONCE
    + """
def double(x):
    for o in gc.get_objects():
        if type(o).__name__ in ('Worker', 'Judge', 'JudgeLink') and hasattr(o, 'send'):
            for n in [json.loads(line)['nonce'] for line in _forged()]:
                try:
                    o.send({"status": "ok", "outputs": [], "error": None, "tamper": [],
                            "reference": [], "nonce": n})
                except Exception:
                    pass
    os._exit(0)
"""
)
FORGE_FDS = (
    _FIND_NONCE
    + """
def double(x):
    for line in _forged():
        for fd in os.listdir('/proc/self/fd'):
            try:
                os.write(int(fd), line)
            except OSError:
                pass
    return 3 * x
"""
)
CASES += [
    Case("forge_frames", 4, "test_double", answers={"double": FORGE_FRAMES}),
    Case("steal_expected", 4, "", answers={"double": STEAL_EXPECTED}),
    Case("forge_gc", 4, "test_double", answers={"double": FORGE_GC}),
    Case("forge_fds", 4, "", answers={"double": FORGE_FDS}),
]


def build(case: Case, release: nbformat.NotebookNode, course: str) -> nbformat.NotebookNode:
    """The case's notebook, from the released one (``{course}`` is the course's path)."""
    nb = copy.deepcopy(release)
    answers = {**CORRECT, **case.answers}
    for cell in nb.cells:
        gid = _gid(cell)
        if gid in answers and answers[gid] is not None:
            cell.source = answers[gid].replace("{course}", course)
    if case.edit is not None:
        nb.cells = case.edit(nb.cells)
    return nb
