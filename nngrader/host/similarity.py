"""Pairs of submissions whose answers are suspiciously alike, for a human to look at.

``python -m nngrader similarity ASSIGNMENT`` (``make similarity``) reads the notebooks that
``grade`` rebuilt in nbgrader's ``submitted/`` folder and keeps only the solution cells (the
cells nbgrader marks ``solution``; tests and instructor cells are the same for everyone).
Each student's answers are fingerprinted with copydetect's winnowing (MOSS's algorithm: the
code is tokenized, so renamed variables and changed comments do not hide a copy, then
k-grams of tokens are hashed and winnowed); the fingerprints of the released skeleton (the
``# YOUR CODE HERE`` stubs and the given signatures) are boilerplate and never count.

Every pair of students is compared; a pair is flagged when the share of either student's
answer found in the other's reaches ``threshold``. The HTML page
``<course>/similarity/<assignment>/index.html`` lists the flagged pairs, most similar first,
with both answers side by side and the shared regions highlighted. It reads; it never
changes a grade.
"""

from __future__ import annotations

import glob
import html
import io
import itertools
import os
import sys
from dataclasses import dataclass

import nbformat

#: copydetect's defaults: k-grams of 25 filtered characters, every fingerprint kept.
NOISE = 25
GUARANTEE = 25
THRESHOLD = 0.5


@dataclass
class Pair:
    """Two students and how much of each one's answer appears in the other's."""

    a: str
    b: str
    similarity_a: float  # share of a's answer (fingerprinted tokens) found in b's
    similarity_b: float
    shared_tokens: int
    code_a: str
    code_b: str
    slices_a: object  # 2 x M array of [start, end) character ranges in code_a
    slices_b: object

    @property
    def similarity(self) -> float:
        return max(self.similarity_a, self.similarity_b)


def _is_solution(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return cell.get("cell_type") == "code" and bool(meta.get("solution"))


def answers(nb: nbformat.NotebookNode) -> str:
    """The notebook's solution cells as one Python text, each headed by its grade_id."""
    parts = []
    for cell in nb.cells:
        if _is_solution(cell):
            gid = cell["metadata"]["nbgrader"].get("grade_id", "")
            parts.append(f"# --- {gid}\n{cell.source.rstrip()}\n")
    return "\n".join(parts)


def _fingerprint(code: str, boilerplate=None, name: str = "answer.py"):
    from copydetect import CodeFingerprint

    return CodeFingerprint(
        name,
        NOISE,
        GUARANTEE - NOISE + 1,
        boilerplate=boilerplate,
        language="python",
        fp=io.StringIO(code),
    )


def collect(course: str, assignment: str) -> tuple[dict[str, str], str]:
    """Student id -> their answers (from nbgrader's submitted/), and the released skeleton."""
    from nngrader.host.nbgrader_steps import coursedir

    cd = coursedir(os.path.abspath(course))
    release = cd.format_path(cd.release_directory, ".", assignment)
    names = sorted(os.path.basename(p)[:-6] for p in glob.glob(os.path.join(release, "*.ipynb")))
    if not names:
        raise SystemExit(f"no released notebooks in {release}: the skeleton is needed")
    skeleton = "\n".join(
        answers(nbformat.read(os.path.join(release, f"{n}.ipynb"), as_version=4)) for n in names
    )
    pattern = cd.format_path(cd.submitted_directory, "*", assignment)
    prefix, suffix = pattern.split("*", 1)
    codes = {}
    for folder in sorted(glob.glob(pattern)):
        sid = folder[len(prefix) : len(folder) - len(suffix)]
        texts = []
        for n in names:
            path = os.path.join(folder, f"{n}.ipynb")
            if os.path.exists(path):
                try:
                    texts.append(answers(nbformat.read(path, as_version=4)))
                except Exception:  # an unreadable notebook has no answers to compare
                    continue
        if texts:
            codes[sid] = "\n".join(texts)
    if not codes:
        raise SystemExit(
            f"no submissions of {assignment} in {os.path.dirname(prefix)}: grade first"
        )
    return codes, skeleton


def compare(codes: dict[str, str], skeleton: str = "", progress: bool = False) -> list[Pair]:
    """Every pair of ``codes`` (student -> answers), most similar first."""
    import numpy as np
    from copydetect import compare_files
    from tqdm import tqdm

    boilerplate = np.array(sorted(_fingerprint(skeleton).hashes if skeleton else []))
    prints = {
        sid: _fingerprint(code, boilerplate)
        for sid, code in tqdm(
            codes.items(),
            desc="fingerprints",
            unit="student",
            disable=not progress,
            file=sys.stderr,
        )
    }
    pairs = []
    combos = list(itertools.combinations(sorted(prints), 2))
    for a, b in tqdm(combos, desc="pairs", unit="pair", disable=not progress, file=sys.stderr):
        if not prints[a].hashes or not prints[b].hashes:
            continue
        shared, (sim_a, sim_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        if shared == 0:
            continue
        pairs.append(
            Pair(
                a,
                b,
                float(sim_a),
                float(sim_b),
                int(shared),
                codes[a],
                codes[b],
                slices_a,
                slices_b,
            )
        )
    pairs.sort(key=lambda p: (-p.similarity, p.a, p.b))
    return pairs


def _highlighted(code: str, slices) -> str:
    from copydetect.utils import highlight_overlap

    if getattr(slices, "size", 0) == 0:
        return html.escape(code)
    text, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return text


def render(pairs: list[Pair], assignment: str, threshold: float, students: int) -> str:
    """The HTML page of the flagged pairs (similarity >= threshold), code side by side."""
    esc = html.escape
    flagged = [p for p in pairs if p.similarity >= threshold]
    rows = "".join(
        f'<tr><td><a href="#pair-{i}">{esc(p.a)} / {esc(p.b)}</a></td>'
        f"<td>{p.similarity_a:.0%}</td><td>{p.similarity_b:.0%}</td>"
        f"<td>{p.shared_tokens}</td></tr>"
        for i, p in enumerate(flagged)
    )
    sections = "".join(
        f'<h2 id="pair-{i}">{esc(p.a)} ({p.similarity_a:.0%}) and {esc(p.b)} '
        f'({p.similarity_b:.0%})</h2><div class="side">'
        f"<div><h3>{esc(p.a)}</h3><pre>{_highlighted(p.code_a, p.slices_a)}</pre></div>"
        f"<div><h3>{esc(p.b)}</h3><pre>{_highlighted(p.code_b, p.slices_b)}</pre></div></div>"
        for i, p in enumerate(flagged)
    )
    empty = '<tr><td colspan="4">no pair reaches the threshold</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Similar submissions: {esc(assignment)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
.side {{ display: flex; gap: 1em; }}
.side > div {{ flex: 1; min-width: 0; }}
pre {{ background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }}
mark {{ background: #ffd27f; }}
</style></head><body>
<h1>Similar submissions: {esc(assignment)}</h1>
<p>{students} students' solution cells compared pairwise with winnowing fingerprints
(copydetect), the released skeleton left out. {len(flagged)} pairs share at least
{threshold:.0%} of one student's answer. This flags pairs for a human to read: it is
not evidence on its own, and it changes no grade.</p>
<table id="pairs"><tr><th>pair</th><th>share of the first's answer</th>
<th>share of the second's</th><th>shared tokens</th></tr>{rows or empty}</table>
{sections}
</body></html>
"""


def write(
    course: str,
    assignment: str,
    out: str | None = None,
    threshold: float = THRESHOLD,
    progress: bool = True,
) -> tuple[str, list[Pair]]:
    """Compare the class's answers; write the HTML page; return its path and every pair."""
    from nngrader.host.pipeline import atomic_write

    if not 0 < threshold <= 1:
        raise ValueError(f"threshold: expected a share in (0, 1], got {threshold!r}")
    codes, skeleton = collect(course, assignment)
    pairs = compare(codes, skeleton, progress)
    out = os.path.abspath(out or os.path.join(course, "similarity", assignment))
    path = os.path.join(out, "index.html")
    atomic_write(path, render(pairs, assignment, threshold, len(codes)))
    return path, pairs
