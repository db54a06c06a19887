"""Pairs of submissions whose answers are suspiciously alike, for a human to look at.

``python -m nngrader similarity ASSIGNMENT`` (``make similarity``) reads the notebooks that
``grade`` rebuilt in nbgrader's ``submitted/`` folder and keeps only the solution cells (the
cells nbgrader marks ``solution``; tests and instructor cells are the same for everyone).
Each student's answers are fingerprinted with copydetect's winnowing (MOSS's algorithm: the
code is tokenized, so renamed variables and changed comments do not hide a copy, then
k-grams of tokens are hashed and winnowed); the fingerprints of the released skeleton (the
``# YOUR CODE HERE`` stubs and the given signatures) are boilerplate and never count.

Two honest students of a class of 300 who wrote short exercises agree on many of them (the
popular ``return np.maximum(0, x)``) and, by chance, on a few lines of their longer answers:
counted fingerprint by fingerprint, they look like copies. So each fingerprint weighs by how
rare it is in the class (:func:`rarity_weights`: ``log(n / df) ** 2``, an inverse document
frequency squared): code only two students wrote weighs most, a line a tenth of the class
writes little, and fingerprints that many students share (at least :data:`COMMON_SHARE` of
the class, and at least three students) nothing: they are boilerplate, like the skeleton. A
pair's score is the weighted share of either student's answer found in the other's; a copy
shares the copied student's rare code too, so it scores near 1, and honest look-alikes stay
far below. A pair is flagged relative to the class (:class:`Calibration`): its score reaches
``threshold`` and stands far above the class's own distribution of pair scores (its median
plus :data:`SPREADS` robust standard deviations, at most :data:`ALWAYS`), both answers are
longer than :data:`MIN_TOKENS` tokens beyond the boilerplate, and they share at least
:data:`MIN_SHARED` tokens of it (distinctive code, not only one-liners everybody writes).

The HTML page ``<course>/similarity/<assignment>/index.html`` lists at most :data:`LISTED`
flagged pairs, most similar first, and the calibration; both answers of each pair, side by
side with the shared regions highlighted, are on pages of :data:`PER_PAGE` pairs beside it.
It reads; it never changes a grade.
"""

from __future__ import annotations

import glob
import html
import io
import itertools
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass

import nbformat

#: copydetect's defaults: k-grams of 25 filtered characters, every fingerprint kept.
NOISE = 25
GUARANTEE = 25
THRESHOLD = 0.5
#: A fingerprint in this share of the class's answers (and in 3 at least) is boilerplate.
COMMON_SHARE = 0.2
#: A flagged pair stands this many robust standard deviations above the class's median (honest
#: pairs' scores have a long tail: short sequences written alike by chance)...
SPREADS = 8.0
#: ... or reaches this score (copies stay flagged in a class that writes much alike).
ALWAYS = 0.9
#: Both answers of a flagged pair have at least this many tokens beyond the boilerplate...
MIN_TOKENS = 40
#: ... and share at least this many of them (distinctive code: not skeleton, not common).
MIN_SHARED = 30
#: Flagged pairs listed on the page, and pairs per page of side-by-side answers.
LISTED = 200
PER_PAGE = 20


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
    tokens: tuple[int, int] = (0, 0)  # each answer's tokens beyond the boilerplate

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


@dataclass
class Calibration:
    """The class's distribution of pair scores and the score a flagged pair reaches."""

    pairs: int  # every pair of students with answers, alike or not
    median: float
    spread: float  # robust standard deviation (1.4826 x the median absolute deviation)
    cut: float  # the score a flagged pair reaches
    common: int  # fingerprints counted as boilerplate because many students share them

    @classmethod
    def of(cls, scores: list[float], pairs: int, threshold: float, common: int = 0):
        """The calibration of a class whose pairs that share code scored ``scores``.

        The distribution is that of the pairs sharing any code (most pairs of a class share
        none, and a median of 0 would make every shared line look unusual); with fewer than
        ten such pairs, of every pair.
        """
        import numpy as np

        values = np.asarray(scores, dtype=np.float64)
        if values.size < 10:
            values = np.zeros(max(pairs, 1))
            values[: len(scores)] = sorted(scores, reverse=True)[: values.size]
        median = float(np.median(values))
        spread = 1.4826 * float(np.median(np.abs(values - median)))
        cut = max(threshold, min(ALWAYS, median + SPREADS * max(spread, 0.02)))
        return cls(pairs, median, spread, cut, common)


def _common_hashes(prints: dict) -> list[int]:
    """Fingerprints found in many students' answers (see :data:`COMMON_SHARE`)."""
    counts = Counter(h for fp in prints.values() for h in set(fp.hashes))
    least = max(3, int(COMMON_SHARE * len(prints) + 0.999))
    return sorted(h for h, n in counts.items() if n >= least)


def rarity_weights(sets: dict[str, set]) -> dict[int, float]:
    """Fingerprint -> its weight in a pair's score: ``log(n / df) ** 2``.

    ``n`` is the number of students and ``df`` the number whose answers hold the
    fingerprint: code that only two students wrote weighs ``log(n / 2) ** 2`` (25 in a
    class of 300), a line a tenth of the class writes ``log(10) ** 2`` (5), a line everybody
    writes nothing. The square makes a pair's score a matter of the code few others wrote: two
    honest students who happen to write the same popular one-liners (or a few lines in the
    same order) share mostly code of middling rarity, while a copy shares the copied
    student's own, rare code too. Common fingerprints (:func:`_common_hashes`) weigh 0.
    """
    counts = Counter(h for hashes in sets.values() for h in hashes)
    n = max(2, len(sets))
    least = max(3, int(COMMON_SHARE * len(sets) + 0.999))  # (as :func:`_common_hashes`)
    return {h: (math.log(n / k) ** 2 if k < least else 0.0) for h, k in counts.items()}


def compare(
    codes: dict[str, str], skeleton: str = "", progress: bool = False, common: bool = True
) -> list[Pair]:
    """Every pair of ``codes`` (student -> answers) sharing code, most similar first.

    The skeleton's fingerprints are boilerplate; every other fingerprint weighs by how rare
    it is in the class (:func:`rarity_weights`; the common ones are boilerplate). Only pairs
    that share a weighing fingerprint are compared (found through an index of fingerprint ->
    students); every other pair scores 0. ``common=False``: the raw scores, every
    fingerprint but the skeleton's weighing the same.
    """
    pairs, _ = compare_calibrated(codes, skeleton, progress, common=common)
    return pairs


def compare_calibrated(
    codes: dict[str, str],
    skeleton: str = "",
    progress: bool = False,
    threshold: float = THRESHOLD,
    common: bool = True,
) -> tuple[list[Pair], Calibration]:
    """:func:`compare`, and the class's :class:`Calibration` at ``threshold``.

    The pairs that reach the calibration's cut get their details from copydetect (the
    shared regions of each answer, the shared tokens and each answer's tokens, all beyond
    the skeleton and the common code): :func:`flagged` reads them. Other pairs have only
    their scores (no regions, 0 tokens).
    """
    import numpy as np
    from tqdm import tqdm

    skeleton_hashes = list(_fingerprint(skeleton).hashes) if skeleton else []

    def fingerprints(boilerplate: list[int], desc: str, which) -> dict:
        array = np.array(sorted(set(boilerplate)), dtype=np.int64)
        return {
            sid: _fingerprint(codes[sid], array)
            for sid in tqdm(which, desc=desc, unit="student", disable=not progress, file=sys.stderr)
        }

    prints = fingerprints(skeleton_hashes, "fingerprints", sorted(codes))
    sets = {sid: set(fp.hashes) for sid, fp in prints.items()}
    if common:
        weight = rarity_weights(sets)
    else:
        weight = {h: 1.0 for hashes in sets.values() for h in hashes}
    mass = {sid: sum(weight[h] for h in hashes) for sid, hashes in sets.items()}
    holders: dict[int, list[str]] = {}
    for sid in sorted(sets):
        for h in sets[sid]:
            if weight[h] > 0:
                holders.setdefault(h, []).append(sid)
    candidates = sorted(
        {(a, b) for sids in holders.values() for a, b in itertools.combinations(sids, 2)}
    )
    pairs = []
    for a, b in tqdm(candidates, desc="pairs", unit="pair", disable=not progress, file=sys.stderr):
        shared = sum(weight[h] for h in sets[a] & sets[b])
        if shared <= 0:
            continue
        empty = np.zeros((2, 0), dtype=np.int64)
        pairs.append(
            Pair(a, b, shared / mass[a], shared / mass[b], 0, codes[a], codes[b], empty, empty)
        )
    pairs.sort(key=lambda p: (-p.similarity, p.a, p.b))
    n = len(codes)
    shared_by_many = _common_hashes(prints) if common else []
    calibration = Calibration.of(
        [p.similarity for p in pairs], n * (n - 1) // 2, threshold, len(shared_by_many)
    )
    top = [p for p in pairs if p.similarity >= calibration.cut]
    if top:  # their regions, tokens beyond the skeleton and the common code, for the page
        students = sorted({p.a for p in top} | {p.b for p in top})
        detailed = fingerprints(skeleton_hashes + shared_by_many, "shared regions", students)
        for p in top:
            _detail(p, detailed[p.a], detailed[p.b])
    return pairs, calibration


def _detail(pair: Pair, print_a, print_b) -> None:
    """Fill in the shared regions and tokens of ``pair`` from copydetect's comparison."""
    from copydetect import compare_files

    pair.tokens = (int(print_a.token_coverage), int(print_b.token_coverage))
    if not print_a.hashes or not print_b.hashes:
        return
    shared, _, (slices_a, slices_b) = compare_files(print_a, print_b)
    pair.shared_tokens = int(shared)
    if shared:
        pair.slices_a, pair.slices_b = slices_a, slices_b


def flagged(pairs: list[Pair], calibration: Calibration) -> list[Pair]:
    """The pairs a human should read: far above the class, both answers long enough, and
    enough distinctive code (beyond the skeleton and the common code) shared."""
    return [
        p
        for p in pairs
        if p.similarity >= calibration.cut
        and min(p.tokens) >= MIN_TOKENS
        and p.shared_tokens >= MIN_SHARED
    ]


def _highlighted(code: str, slices) -> str:
    from copydetect.utils import highlight_overlap

    if getattr(slices, "size", 0) == 0:
        return html.escape(code)
    text, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return text


_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 90em; padding: 0 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
.side { display: flex; gap: 1em; flex-wrap: wrap; }
.side > div { flex: 1 1 30em; min-width: 0; }
pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; overflow-wrap: anywhere;
  font-size: 0.85em; }
mark { background: #ffd27f; }
nav a { margin-right: 0.6em; }
"""


def _page(title: str, body: str) -> str:
    from nngrader.host.html import STATIC_CSP, csp_meta

    return f"""<!DOCTYPE html>
<html lang="en"><head>{csp_meta(STATIC_CSP)}<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>
{body}
</body></html>
"""


def page_name(number: int) -> str:
    """The file of the ``number``-th (from 1) page of side-by-side answers."""
    return f"pairs-{number}.html"


def render(
    pairs: list[Pair],
    assignment: str,
    threshold: float,
    students: int,
    calibration: Calibration | None = None,
) -> dict[str, str]:
    """The pages: ``index.html`` (the flagged pairs and the calibration) and the pages of
    :data:`PER_PAGE` pairs side by side; file name -> HTML.

    Student ids and code are escaped; the pages allow no script (``STATIC_CSP``).
    """
    esc = html.escape
    n_pairs = students * (students - 1) // 2
    calibration = calibration or Calibration.of([p.similarity for p in pairs], n_pairs, threshold)
    found = flagged(pairs, calibration)
    shown = found[:LISTED]
    rows = "".join(
        f'<tr><td><a href="{page_name(i // PER_PAGE + 1)}#pair-{i}">{esc(p.a)} / {esc(p.b)}'
        f"</a></td><td>{p.similarity_a:.0%}</td><td>{p.similarity_b:.0%}</td>"
        f"<td>{p.shared_tokens}</td></tr>"
        for i, p in enumerate(shown)
    )
    more = (
        f"<p>{len(found) - len(shown)} more flagged pairs are not listed (the {LISTED} most "
        "similar are).</p>"
        if len(found) > len(shown)
        else ""
    )
    pages = (len(shown) + PER_PAGE - 1) // PER_PAGE
    nav = (
        "<nav>"
        + "".join(
            f'<a href="{page_name(k)}">pairs {(k - 1) * PER_PAGE + 1}-'
            f"{min(k * PER_PAGE, len(shown))}</a>"
            for k in range(1, pages + 1)
        )
        + "</nav>"
    )
    empty = '<tr><td colspan="4">no pair stands out from the class</td></tr>'
    title = f"Similar submissions: {assignment}"
    out = {
        "index.html": _page(
            title,
            f"""<h1>{esc(title)}</h1>
<p>{students} students' solution cells compared pairwise ({n_pairs} pairs) with winnowing
fingerprints (copydetect); the released skeleton and the {calibration.common} fingerprints that
many students share (code everybody writes alike) are left out, and every other fingerprint
weighs by how rare it is in the class (code few students wrote counts most). Over the pairs that
share any such code, a pair's score (the weighted share of either answer found in the other)
has median {calibration.median:.0%} and robust spread {calibration.spread:.0%}; a pair is
flagged when it reaches {calibration.cut:.0%} (at least {threshold:.0%}, and far above the
class), both answers are longer than {MIN_TOKENS} tokens of their own and they share at least
{MIN_SHARED} of them. {len(found)} pairs are flagged.
This flags pairs for a human to read: it is not evidence on its own, and it changes no grade.
</p>
{nav}
<table id="pairs"><tr><th>pair</th><th>share of the first's answer</th>
<th>share of the second's</th><th>shared tokens</th></tr>{rows or empty}</table>
{more}""",
        )
    }
    for k in range(1, pages + 1):
        sections = "".join(
            f'<h2 id="pair-{i}">{esc(p.a)} ({p.similarity_a:.0%}) and {esc(p.b)} '
            f'({p.similarity_b:.0%})</h2><div class="side">'
            f"<div><h3>{esc(p.a)}</h3><pre>{_highlighted(p.code_a, p.slices_a)}</pre></div>"
            f"<div><h3>{esc(p.b)}</h3><pre>{_highlighted(p.code_b, p.slices_b)}</pre></div>"
            "</div>"
            for i, p in enumerate(shown)
            if (k - 1) * PER_PAGE <= i < k * PER_PAGE
        )
        out[page_name(k)] = _page(
            f"{title} ({k} of {pages})",
            f'<h1>{esc(title)}</h1><p><a href="index.html">all flagged pairs</a></p>{nav}'
            f"{sections}{nav}",
        )
    return out


def write(
    course: str,
    assignment: str,
    out: str | None = None,
    threshold: float = THRESHOLD,
    progress: bool = True,
) -> tuple[str, list[Pair]]:
    """Compare the class's answers; write the pages; return the index's path and the
    flagged pairs."""
    from nngrader.host.html import write_page

    if not 0 < threshold <= 1:
        raise ValueError(f"threshold: expected a share in (0, 1], got {threshold!r}")
    codes, skeleton = collect(course, assignment)
    pairs, calibration = compare_calibrated(codes, skeleton, progress, threshold)
    out = os.path.abspath(out or os.path.join(course, "similarity", assignment))
    pages = render(pairs, assignment, threshold, len(codes), calibration)
    if os.path.isdir(out):  # (pages of an earlier, longer list)
        for name in os.listdir(out):
            if name.startswith("pairs-") and name.endswith(".html") and name not in pages:
                os.remove(os.path.join(out, name))
    for name, text in pages.items():
        write_page(os.path.join(out, name), text)
    return os.path.join(out, "index.html"), flagged(pairs, calibration)
