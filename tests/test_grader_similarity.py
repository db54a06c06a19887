"""The similarity report on a4_layers: near-copies are the top pair, honest work is not flagged.

The class is written straight into nbgrader's ``submitted/`` folder (what ``grade`` leaves
there): the instructor's solution, the correct alternative solution of
``tests/mutation/alternatives.py`` (written differently: loops, other names, other formulas)
and two near-copies of that alternative (variables renamed, comments and blank lines changed).
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nngrader.host import similarity
from tests.test_assignments import ALTERNATIVES, _submission, release_nb, source_nb

NAME = "a4_layers"


def disguise(code: str) -> str:
    """``code`` with every local name renamed, comments added and blank lines doubled."""
    tree = ast.parse(code)
    names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    names |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)} - {"self"}
    for name in sorted(names, key=len, reverse=True):
        code = re.sub(rf"\b{re.escape(name)}\b", f"my_{name.lower()}_value", code)
    lines = []
    for line in code.splitlines():
        lines.append(line)
        if line.strip().startswith("def "):
            lines.append(" " * (len(line) - len(line.lstrip()) + 4) + "# my own work")
    return "\n\n".join(lines)


def _write(course, sid: str, nb: dict) -> None:
    folder = course / "submitted" / sid / NAME
    folder.mkdir(parents=True)
    (folder / f"{NAME}.ipynb").write_text(json.dumps(nb))


def _tree_digest(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "similarity" not in p.parts
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.source_directory = "solutions"\n'
        'c.CourseDirectory.release_directory = "assignments"\n'
    )
    rel, src = release_nb(NAME), source_nb(NAME)
    (root / "assignments" / NAME).mkdir(parents=True)
    (root / "assignments" / NAME / f"{NAME}.ipynb").write_text(json.dumps(rel))
    alternative = {"*": "solution", **ALTERNATIVES[NAME]}
    copied = {k: disguise(v) for k, v in ALTERNATIVES[NAME].items()}
    _write(root, "honest_instructor_style", _submission(rel, src, {"*": "solution"}))
    _write(root, "honest_other_style", _submission(rel, src, alternative))
    _write(root, "copier", _submission(rel, src, {"*": "solution", **copied}))
    _write(root, "untouched", rel)  # the skeleton alone: nothing of it counts
    return root


def test_near_copies_are_the_top_pair_and_honest_solutions_are_not_flagged(course):
    before = _tree_digest(course)
    argv = [sys.executable, "-m", "nngrader", "similarity", NAME, "--no-progress"]
    done = subprocess.run(argv, cwd=course, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 flagged pairs" in done.stderr
    assert _tree_digest(course) == before  # it reads; it never changes a grade or a file
    page = (course / "similarity" / NAME / "index.html").read_text()
    table = page.split('<table id="pairs">', 1)[1].split("</table>", 1)[0]
    links = re.findall(r'<a href="pairs-1.html#pair-\d+">([^<]+)</a>', table)
    assert links == ["copier / honest_other_style"]
    # both answers side by side, the shared regions highlighted in each
    pairs_page = (course / "similarity" / NAME / "pairs-1.html").read_text()
    section = pairs_page.split('<h2 id="pair-0">', 1)[1]
    assert section.count("<pre>") == 2 and "<mark>" in section
    assert "my_" in section and "# my own work" in section


def test_pair_scores(course):
    codes, skeleton = similarity.collect(str(course), NAME)
    assert sorted(codes) == ["copier", "honest_instructor_style", "honest_other_style", "untouched"]
    pairs = similarity.compare(codes, skeleton)
    top = pairs[0]
    assert {top.a, top.b} == {"copier", "honest_other_style"}
    assert min(top.similarity_a, top.similarity_b) > 0.9  # renaming hides nothing
    others = [p for p in pairs if {p.a, p.b} != {"copier", "honest_other_style"}]
    assert all(p.similarity < similarity.THRESHOLD for p in others)
    # the untouched release shares only skeleton code, which is boilerplate
    assert all("untouched" not in (p.a, p.b) or p.similarity == 0 for p in pairs)
    # without the skeleton as boilerplate, the untouched release would match everyone
    bare = similarity.compare(codes, "", common=False)
    assert any("untouched" in (p.a, p.b) and p.similarity > 0 for p in bare)


def test_answers_keep_only_solution_cells():
    nb = nbformat.reads(json.dumps(source_nb(NAME)), 4)
    text = similarity.answers(nb)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests and all(c.source[:60] not in text for c in tests if c.cell_type == "code")
    assert "### BEGIN SOLUTION" in text  # the solution cells, all of them


# --- calibration: a class that writes its short answers alike -----------------------------
SHORT = {  # the two ways everybody writes each short part
    "relu": ["def relu(x):\n    return np.maximum(0, x)", "def relu(x):\n    return x * (x > 0)"],
    "sigmoid": [
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
        "def sigmoid(z):\n    return np.exp(z) / (1 + np.exp(z))",
    ],
    "mse": [
        "def mse(y_hat, y):\n    return np.mean((y_hat - y) ** 2)",
        "def mse(y_hat, y):\n    return ((y_hat - y) ** 2).sum() / len(y)",
    ],
}
STEPS = [  # statements a student's own training loop is made of, in their own order
    "w = w - lr * g",
    "g = X.T @ (X @ w - y) / len(y)",
    "loss = float(np.mean((X @ w - y) ** 2))",
    "history.append(loss)",
    "if loss < best:\n        best, keep = loss, w.copy()",
    "lr = lr * 0.99",
    "g = np.clip(g, -5.0, 5.0)",
    "w += momentum * velocity",
    "velocity = 0.9 * velocity - lr * g",
    "order = rng.permutation(len(y))",
    "X, y = X[order], y[order]",
    "if epoch % 10 == 0:\n        print(epoch, loss)",
    "w = w * (1 - 2 * lr * l2)",
    "norm = np.linalg.norm(g)",
    "if norm > 1e3:\n        break",
    "steps += 1",
]


def _class(n: int, seed: int = 0) -> dict[str, str]:
    """n honest students (short answers alike, a loop of their own), plus two copies."""
    import random

    rng = random.Random(seed)
    codes = {}
    for i in range(n):
        parts = [rng.choice(ways) for ways in SHORT.values()]
        body = rng.sample(STEPS, 9)
        loop = "def train(X, y, w, lr):\n    for epoch in range(100):\n" + "".join(
            "        " + s.replace("\n", "\n        ") + "\n" for s in body
        )
        codes[f"s{i:03d}"] = "\n\n".join([*parts, loop + "    return w"])
    codes["copier"] = disguise(codes["s007"])  # a renamed copy
    codes["s013"] = codes["s012"]  # an exact copy
    return codes


def test_honest_look_alikes_are_not_flagged_and_the_copies_are():
    codes = _class(300)  # (the rule before rarity weights flagged 25 honest pairs of it)
    pairs, calibration = similarity.compare_calibrated(codes)
    found = {(p.a, p.b) for p in similarity.flagged(pairs, calibration)}
    assert found == {("copier", "s007"), ("s012", "s013")}, sorted(found)[:10]
    assert {(p.a, p.b) for p in pairs[:2]} == found  # the copies on top
    assert calibration.common > 0 and calibration.pairs == 301 * 300 // 2  # (s013 copies s012)
    # the threshold alone, on raw scores, flags honest students by the dozen
    raw = similarity.compare(codes, common=False)
    honest = [p for p in raw if p.similarity >= 0.5 and (p.a, p.b) not in found]
    assert len(honest) > 20


# --- calibration on a realistic class of 300: short exercises whose answers converge ----------
CONVERGENT = {  # each short part: the few ways a class writes it, and how often (weights)
    "relu": [
        ("def relu(x):\n    return np.maximum(0, x)", 6),
        ("def relu(x):\n    return x * (x > 0)", 2),
        ("def relu(x):\n    return np.where(x > 0, x, 0.0)", 2),
        ("def relu(x):\n    out = x.copy()\n    out[out < 0] = 0\n    return out", 1),
    ],
    "relu_backward": [
        ("def relu_backward(x, grad):\n    return grad * (x > 0)", 6),
        ("def relu_backward(x, grad):\n    return np.where(x > 0, grad, 0.0)", 3),
        ("def relu_backward(x, grad):\n    mask = x > 0\n    return grad * mask", 1),
    ],
    "sigmoid": [
        ("def sigmoid(z):\n    return 1 / (1 + np.exp(-z))", 7),
        ("def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))", 2),
        ("def sigmoid(z):\n    return np.exp(z) / (1 + np.exp(z))", 1),
    ],
    "sigmoid_backward": [
        ("def sigmoid_backward(z, grad):\n    s = sigmoid(z)\n    return grad * s * (1 - s)", 6),
        ("def sigmoid_backward(z, grad):\n    return grad * sigmoid(z) * (1 - sigmoid(z))", 3),
    ],
    "tanh_backward": [
        ("def tanh_backward(z, grad):\n    return grad * (1 - np.tanh(z) ** 2)", 6),
        ("def tanh_backward(z, grad):\n    t = np.tanh(z)\n    return grad * (1 - t * t)", 2),
    ],
    "linear": [
        ("def linear(X, W, b):\n    return X @ W + b", 7),
        ("def linear(X, W, b):\n    return np.dot(X, W) + b", 3),
        ("def linear(X, W, b):\n    return X.dot(W) + b", 1),
    ],
    "linear_backward": [
        (
            "def linear_backward(X, W, grad):\n    dX = grad @ W.T\n    dW = X.T @ grad\n"
            "    db = grad.sum(axis=0)\n    return dX, dW, db",
            5,
        ),
        (
            "def linear_backward(X, W, grad):\n    dW = X.T @ grad\n"
            "    db = np.sum(grad, axis=0)\n    dX = grad @ W.T\n    return dX, dW, db",
            3,
        ),
        ("def linear_backward(X, W, grad):\n    return grad @ W.T, X.T @ grad, grad.sum(0)", 2),
    ],
    "softmax": [
        (
            "def softmax(z):\n    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
            "    return e / e.sum(axis=1, keepdims=True)",
            6,
        ),
        (
            "def softmax(z):\n    z = z - np.max(z, axis=1, keepdims=True)\n    e = np.exp(z)\n"
            "    return e / np.sum(e, axis=1, keepdims=True)",
            3,
        ),
    ],
    "cross_entropy": [
        ("def cross_entropy(p, y):\n    return -np.mean(np.log(p[np.arange(len(y)), y]))", 5),
        (
            "def cross_entropy(p, y):\n    n = y.shape[0]\n"
            "    return -np.log(p[range(n), y]).sum() / n",
            3,
        ),
    ],
    "mse": [
        ("def mse(y_hat, y):\n    return np.mean((y_hat - y) ** 2)", 7),
        ("def mse(y_hat, y):\n    return ((y_hat - y) ** 2).mean()", 2),
        ("def mse(y_hat, y):\n    return np.sum((y_hat - y) ** 2) / len(y)", 1),
    ],
    "grad_mse": [
        ("def grad_mse(y_hat, y):\n    return 2 * (y_hat - y) / len(y)", 6),
        ("def grad_mse(y_hat, y):\n    return 2 * (y_hat - y) / y.shape[0]", 4),
    ],
}


def _loop(rng) -> str:
    body = rng.sample(STEPS, 9)
    return (
        "def train(X, y, w, lr):\n    for epoch in range(100):\n"
        + "".join("        " + s.replace("\n", "\n        ") + "\n" for s in body)
        + "    return w"
    )


def _short_answers(rng) -> list[str]:
    return [
        rng.choices([code for code, _ in ways], weights=[k for _, k in ways])[0]
        for ways in CONVERGENT.values()
    ]


def _convergent_class(n: int, seed: int = 0) -> tuple[dict[str, str], set]:
    """n honest students: eleven short parts, each written one of the few ways a class writes
    it (the popular way by half the class or more: two honest students often agree on most
    parts), and a training loop of their own; plus three copies: a renamed copy of a whole
    submission, an exact copy, and a student who wrote their own short answers but copied
    (and renamed) someone's loop. Returns the codes and the copied pairs."""
    import random

    rng = random.Random(seed)
    codes, loops = {}, {}
    for i in range(n):
        loops[i] = _loop(rng)
        codes[f"s{i:03d}"] = "\n\n".join([*_short_answers(rng), loops[i]])
    codes["copier"] = disguise(codes["s007"])
    codes["s013"] = codes["s012"]
    codes["loop_copier"] = "\n\n".join([*_short_answers(rng), disguise(loops[21])])
    return codes, {("copier", "s007"), ("s012", "s013"), ("loop_copier", "s021")}


def test_a_class_of_300_whose_short_answers_converge_flags_only_the_copies():
    codes, copies = _convergent_class(300)
    pairs, calibration = similarity.compare_calibrated(codes)
    found = {(p.a, p.b) for p in similarity.flagged(pairs, calibration)}
    assert found == copies, sorted(found - copies)[:10]  # no other of the 45,753 pairs flagged
    assert {(p.a, p.b) for p in pairs[:3]} == copies  # the copies on top...
    assert all(p.similarity > 0.9 for p in pairs[:3])  # ...the loop copy included
    honest = [p for p in pairs if (p.a, p.b) not in copies]
    assert honest[0].similarity < 0.4  # (the most alike honest pair: far below the copies)
    # every fingerprint weighing the same (no weight for rarity), honest pairs reach the
    # threshold by the dozen, and the loop copy scores below many of them
    raw = similarity.compare(codes, common=False)
    honest_raw = [p for p in raw if (p.a, p.b) not in copies and p.similarity >= 0.5]
    assert len(honest_raw) > 100
    loop_copy = next(p for p in raw if (p.a, p.b) == ("loop_copier", "s021"))
    assert loop_copy.similarity < honest_raw[0].similarity


def test_the_page_of_a_class_of_300_is_capped_and_small(tmp_path):
    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    from instructor.browser import Tab, launch

    code = "\n".join(f"def f{i}(x):\n    return x * {i} + {i}" for i in range(40))
    slices = np.array([[0, 40 * 20], [len(code) // 2, len(code)]]).T.reshape(2, -1)
    students = [f"s{i:03d}" for i in range(300)]
    pairs = [  # every pair of the class far above a cut: the cap must hold
        similarity.Pair(a, b, 0.95, 0.95, 500, code, code, slices, slices, (400, 400))
        for a, b in itertools.combinations(students, 2)
    ]
    calibration = similarity.Calibration(len(pairs), 0.1, 0.05, 0.5, 0)
    pages = similarity.render(pairs, NAME, 0.5, len(students), calibration)
    assert len(pages) == 1 + similarity.LISTED // similarity.PER_PAGE
    assert (
        f"{len(pairs) - similarity.LISTED} more flagged pairs are not listed" in pages["index.html"]
    )
    for name, text in pages.items():
        (tmp_path / name).write_text(text)
        # What makes a page open fast is its size, which does not drift with the machine's load
        # (it opened in under 2 s on a quiet machine; a time assertion fails on a loaded one).
        assert len(text.encode()) < 1_500_000, f"{name}: {len(text.encode()):,} bytes"
    browser = launch()
    b = next(browser)
    try:
        for name in ("index.html", similarity.page_name(1)):
            tab = Tab(b, str(tmp_path / name))  # it loads, and its table is there
            tab.close()
    finally:
        browser.close()
