"""The class report: what a lecturer should re-teach after grading an assignment.

``python -m nngrader report ASSIGNMENT`` (``make report``; ``grade`` writes it too) reads
what grading left in the course folder, never the students' code:

* nbgrader's gradebook: each student's score and the points of each part (graded cell);
* nbgrader's autograded notebooks: the error each failed test showed, which is exactly what
  the feedback HTML shows the student (feedback is rendered from these notebooks);
* the grader's ``.nnlib-grader/<assignment>/<student>.json``: the unusual events (timeouts,
  crashes, tampering) behind the CSV's ``reason`` column.

It writes ``<course>/reports/<assignment>/index.html`` with one PNG per figure beside it: the
score distribution, the points per part, and the diagnoses the checks produced counted over
the class ("grad_mse: missing 1/N ...: 12 students"), each with links to those students'
feedback.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field

#: Error names the grader itself gives a failed test (see ``pipeline._outputs``).
GRADER_ERRORS = ("Timeout", "KernelDied", "MemoryLimit", "ReferenceUsed", "Tampering")
#: The diagnosis of a part the student left as released: counted apart, not re-taught.
NOT_ATTEMPTED = "not implemented (NotImplementedError)"
#: How many example feedback pages each diagnosis row links to.
EXAMPLES = 2


@dataclass
class Student:
    """One graded student: total, points per part and the diagnosis of each failed part."""

    sid: str
    score: float
    max_score: float
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)  # part -> (got, max)
    diagnoses: dict[str, str] = field(default_factory=dict)  # part -> diagnosis
    not_attempted: set[str] = field(default_factory=set)  # parts left as released
    awaiting: set[str] = field(default_factory=set)  # hand-graded parts not graded yet
    reasons: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)  # paths of the feedback HTML files


@dataclass
class ClassReport:
    """The whole class, as :func:`collect` reads it."""

    assignment: str
    max_score: float
    parts: list[str]
    part_max: dict[str, float]
    students: list[Student]

    def count(self, part: str, attribute: str) -> int:
        """How many students have ``part`` in their set ``attribute`` (e.g. ``awaiting``)."""
        return sum(1 for s in self.students if part in getattr(s, attribute))

    def diagnosis_counts(self) -> list[tuple[str, str, list[str]]]:
        """(part, diagnosis, students) for every diagnosis, most frequent first."""
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for student in self.students:
            for part, diagnosis in student.diagnoses.items():
                groups[part, diagnosis].append(student.sid)
        order = {p: i for i, p in enumerate(self.parts)}
        return [
            (part, diagnosis, sorted(sids))
            for (part, diagnosis), sids in sorted(
                groups.items(), key=lambda kv: (-len(kv[1]), order.get(kv[0][0], 0), kv[0][1])
            )
        ]


def diagnosis(ename: str, evalue: str) -> str:
    """The diagnosis a failed test's error gives, in words shared by every student it fits.

    The likely bug when the check named one ("missing 1/N: ..."); otherwise the message without
    the student-specific numbers (the element, expected and got), so that students who made
    the same mistake land in the same row.
    """
    evalue = " ".join(str(evalue).split())
    if "likely bug: " in evalue:
        bug = evalue.split("likely bug: ", 1)[1]
        return bug.split(". ", 1)[0].strip().rstrip(".")
    if ename == "NotImplementedError":
        return NOT_ATTEMPTED
    if ename in GRADER_ERRORS:
        return f"{ename}: {re.sub(r'[0-9.]+ s', 'N s', evalue)}"[:200]
    head = re.split(r"\s+at (?:element|the value)\b|: expected\b|\s+\(", evalue)[0]
    head = head.strip().rstrip(":")
    return f"{ename}: {head}"[:200] if head else ename


def _failed_tests(nb: dict) -> dict[str, str]:
    """Part (grade_id of a test cell) -> diagnosis of its first error output.

    ``nb`` is the notebook's JSON (a dict, or an ``nbformat.NotebookNode``): nbgrader wrote
    it, so it is read without nbformat's validation, a third of the report's time.
    """
    out = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                out[meta["grade_id"]] = diagnosis(output.get("ename", ""), output.get("evalue", ""))
                break
    return out


def collect(
    course: str, assignment: str, progress: bool = True, db_url: str | None = None
) -> ClassReport:
    """Read the gradebook (``db_url``, else the course's), the autograded notebooks and the
    grader's results of the class."""
    from nbgrader.api import Gradebook, MissingEntry
    from tqdm import tqdm

    from nngrader.host.nbgrader_steps import coursedir

    course = os.path.abspath(course)
    cd = coursedir(course, db_url)
    state = os.path.join(course, ".nnlib-grader", assignment)
    students: list[Student] = []
    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise SystemExit(
                f"assignment {assignment!r} is not in the gradebook: grade it first"
            ) from None
        parts, part_max = [], {}
        for notebook in a.notebooks:
            for cell in notebook.grade_cells:
                parts.append(cell.name)
                part_max[cell.name] = float(cell.max_score)
        subs = sorted(gb.assignment_submissions(assignment), key=lambda s: s.student.id)
        for sub in tqdm(subs, desc="report", unit="student", disable=not progress, file=sys.stderr):
            student = Student(sub.student.id, float(sub.score), float(a.max_score))
            for nb in sub.notebooks:
                for grade in nb.grades:
                    student.parts[grade.name] = (float(grade.score), float(grade.max_score))
                    if grade.needs_manual_grade and grade.manual_score is None:
                        student.awaiting.add(grade.name)
                    elif (  # an answer cell left as released: nbgrader scored it 0 itself
                        grade.cell_type == "markdown"
                        and grade.manual_score is None
                        and not grade.auto_score
                    ):
                        student.not_attempted.add(grade.name)
                auto = os.path.join(
                    cd.format_path(cd.autograded_directory, student.sid, assignment),
                    f"{nb.name}.ipynb",
                )
                if os.path.exists(auto):
                    with open(auto, encoding="utf-8") as f:
                        failed = _failed_tests(json.load(f))
                    for part, text in failed.items():  # a part that lost points
                        got, most = student.parts.get(part, (0.0, 0.0))
                        if got >= most or part in student.awaiting:
                            continue
                        if text == NOT_ATTEMPTED:
                            student.not_attempted.add(part)
                        else:
                            student.diagnoses[part] = text
                html_path = os.path.join(
                    cd.format_path(cd.feedback_directory, student.sid, assignment),
                    f"{nb.name}.html",
                )
                if os.path.exists(html_path):
                    student.feedback.append(html_path)
            try:
                with open(os.path.join(state, f"{student.sid}.json")) as f:
                    student.reasons = list(json.load(f).get("reasons", []))
            except (OSError, ValueError):
                pass
            students.append(student)
        return ClassReport(assignment, float(a.max_score), parts, part_max, students)


#: Bump when the figures' drawing changes: every report draws them again once.
FIGURES = "nngrader-report-figures-1"


def _figure_data(report: ClassReport) -> list:
    """Everything the figures are drawn from (what :func:`_figures` reads of the report)."""
    return [
        FIGURES,
        report.max_score,
        [s.score for s in report.students],
        report.parts,
        [report.part_max[p] for p in report.parts],
        [[s.parts.get(p, (0.0, 0.0))[0] for p in report.parts] for s in report.students],
        [(p, d, len(sids)) for p, d, sids in report.diagnosis_counts()[:12]],
    ]


def _figures(report: ClassReport, out: str) -> dict[str, str]:
    """Draw the report's figures as PNG files in ``out``; return title -> file name.

    The figures are drawn again only when what they show changed (a digest of
    :func:`_figure_data` is kept in ``out/.figures.sha256``): a report of an unchanged class
    neither loads matplotlib nor draws.
    """
    import hashlib

    names = {"Score distribution": "score_distribution.png"}
    if report.parts:
        names["Points per part"] = "points_per_part.png"
    if report.diagnosis_counts():
        names["Most frequent diagnoses"] = "diagnoses.png"
    blob = json.dumps(_figure_data(report), default=str).encode()
    digest = hashlib.sha256(blob).hexdigest() + "\n"
    stored = os.path.join(out, ".figures.sha256")
    try:
        with open(stored) as f:
            same = f.read() == digest
    except OSError:
        same = False
    if same and all(os.path.isfile(os.path.join(out, n)) for n in names.values()):
        return names
    made = _draw(report, out)
    with open(stored, "w") as f:
        f.write(digest)
    return made


def _draw(report: ClassReport, out: str) -> dict[str, str]:
    """Draw the report's figures as PNG files in ``out``; return title -> file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    made = {}
    scores = np.array([s.score for s in report.students], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = max(report.max_score, 1.0)
    # one bar per point when the scale is small (each bar centred on its score), else 20 bins
    width = 1.0 if top <= 30 else top / 20
    bins = np.arange(-width / 2, top + width, width)
    ax.hist(scores, bins=bins, color="#4c72b0", rwidth=0.85)
    ax.set(xlabel="score", ylabel="students", title=f"Scores ({len(scores)} students)")
    ax.set_xlim(bins[0], bins[-1])
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "score_distribution.png"), dpi=100)
    plt.close(fig)
    made["Score distribution"] = "score_distribution.png"

    if report.parts:
        means = [
            float(np.mean([s.parts.get(p, (0.0, 0.0))[0] for s in report.students] or [0.0]))
            for p in report.parts
        ]
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(report.parts) + 1.2))
        y = np.arange(len(report.parts))
        ax.barh(y, [report.part_max[p] for p in report.parts], color="#dddddd", label="points")
        ax.barh(y, means, color="#55a868", label="class mean")
        ax.set_yticks(y, report.parts)
        ax.invert_yaxis()
        ax.set(xlabel="points", title="Points per part")
        ax.legend(loc="lower right", fontsize="small")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "points_per_part.png"), dpi=100)
        plt.close(fig)
        made["Points per part"] = "points_per_part.png"

    rows = report.diagnosis_counts()[:12]
    if rows:
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
        y = np.arange(len(rows))
        ax.barh(y, [len(r[2]) for r in rows], color="#c44e52")
        labels = [f"{p}: {d}" for p, d, _ in rows]
        ax.set_yticks(y, [t if len(t) < 60 else t[:57] + "..." for t in labels], fontsize=8)
        ax.invert_yaxis()
        ax.set(xlabel="students", title="Most frequent diagnoses")
        ax.xaxis.get_major_locator().set_params(integer=True)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "diagnoses.png"), dpi=100)
        plt.close(fig)
        made["Most frequent diagnoses"] = "diagnoses.png"
    return made


def _href(student: Student, out: str) -> str | None:
    if not student.feedback:
        return None
    return os.path.relpath(student.feedback[0], out).replace(os.sep, "/")


def _links(report: ClassReport, sids: list[str], out: str) -> str:
    by_id = {s.sid: s for s in report.students}
    links = []
    for sid in sids:
        href = _href(by_id[sid], out)
        if href:
            links.append(f'<a href="{html.escape(href)}">{html.escape(sid)}</a>')
        else:
            links.append(html.escape(sid))
    return ", ".join(links)


def _examples(report: ClassReport, sids: list[str], out: str) -> str:
    """Links to :data:`EXAMPLES` students' feedback (those who have one), the rest folded."""
    by_id = {s.sid: s for s in report.students}
    with_page = [sid for sid in sids if _href(by_id[sid], out)]
    shown = with_page[:EXAMPLES]
    links = [
        f'<a class="example" href="{html.escape(_href(by_id[sid], out) or "")}">'
        f"{html.escape(sid)}</a>"
        for sid in shown
    ]
    rest = [sid for sid in sids if sid not in shown]
    if rest:
        links.append(
            f"<details><summary>{len(rest)} more</summary>{_links(report, rest, out)}</details>"
        )
    return " ".join(links)


#: The report's style: tables within the page at 1366 px, each row a stacked card at 390 px.
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 75em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; width: 100%; table-layout: auto; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f3f3f3; }
td.count, td.num { text-align: right; white-space: nowrap; }
td.count { font-weight: bold; }
figure { display: inline-block; margin: 0.5em; max-width: 100%; }
figure img { max-width: 100%; height: auto; }
details { display: inline; }
.awaiting { color: #8a6d00; }
@media (max-width: 700px) {
  body { margin: 0.5em; padding: 0; }
  table, thead, tbody, tr, th, td { display: block; width: auto; }
  tr.head { display: none; }
  tr { border: 1px solid #ccc; margin: 0 0 0.6em 0; }
  td { border: none; border-bottom: 1px solid #eee; text-align: left !important; }
  td::before { content: attr(data-label) ": "; font-weight: bold; }
  figure { display: block; margin: 0.5em 0; }
}
"""


def _row(cells: list[tuple[str, str, str]]) -> str:
    """A table row of (label, class, HTML) cells; the label heads the cell when stacked."""
    return (
        "<tr>"
        + "".join(
            f'<td data-label="{html.escape(label)}"'
            + (f' class="{kind}"' if kind else "")
            + f">{content}</td>"
            for label, kind, content in cells
        )
        + "</tr>"
    )


def _head(labels: list[str]) -> str:
    return '<tr class="head">' + "".join(f"<th>{html.escape(t)}</th>" for t in labels) + "</tr>"


def render(report: ClassReport, out: str, figures: dict[str, str]) -> str:
    """The report's HTML page (links relative to the folder ``out``).

    Every string from the class (student ids, diagnoses, reasons) is escaped, and the page
    carries a policy that allows no script at all (:data:`nngrader.host.html.STATIC_CSP`).
    """
    from nngrader.host.html import STATIC_CSP, csp_meta

    esc = html.escape
    n = len(report.students)
    scores = sorted(s.score for s in report.students)
    mean = sum(scores) / n if n else 0.0
    median = (scores[(n - 1) // 2] + scores[n // 2]) / 2 if n else 0.0
    parts_rows = []
    for part in report.parts:
        got = [s.parts.get(part, (0.0, 0.0))[0] for s in report.students]
        full = sum(1 for g in got if g >= report.part_max[part] - 1e-9)
        waiting = report.count(part, "awaiting")
        skipped = report.count(part, "not_attempted")
        lost = n - full - waiting - skipped
        parts_rows.append(
            _row(
                [
                    ("part", "", esc(part)),
                    ("points", "num", f"{report.part_max[part]:g}"),
                    ("mean", "num", f"{(sum(got) / n if n else 0):.2f}"),
                    ("full marks", "num", str(full)),
                    ("lost points", "num", str(lost)),
                    ("not attempted", "num", str(skipped)),
                    (
                        "awaiting grading",
                        "num awaiting" if waiting else "num",
                        str(waiting),
                    ),
                ]
            )
        )
    diag_rows = [
        _row(
            [
                ("part", "", esc(part)),
                ("diagnosis", "diagnosis", esc(text)),
                ("students", "count", str(len(sids))),
                ("examples", "examples", _examples(report, sids, out)),
            ]
        )
        for part, text, sids in report.diagnosis_counts()
    ]
    reasons = Counter(r for s in report.students for r in dict.fromkeys(s.reasons))
    reason_rows = [
        _row([("reason", "", esc(r)), ("students", "count", str(c))])
        for r, c in reasons.most_common()
    ]
    student_rows = []
    for s in report.students:
        lost = [
            f"{esc(p)} ({got - most:g})"
            for p in report.parts
            for got, most in [s.parts.get(p, (0.0, report.part_max[p]))]
            if got < most and p not in s.awaiting and p not in s.not_attempted
        ]
        student_rows.append(
            _row(
                [
                    ("student", "", _links(report, [s.sid], out)),
                    ("score", "num", f"{s.score:g}"),
                    ("lost points in", "", ", ".join(lost)),
                    ("not attempted", "", esc(", ".join(sorted(s.not_attempted)))),
                    ("awaiting grading", "awaiting", esc(", ".join(sorted(s.awaiting)))),
                    ("reason", "", esc("; ".join(s.reasons))),
                ]
            )
        )
    imgs = "".join(
        f'<figure><img src="{esc(f)}" alt="{esc(t)}"><figcaption>{esc(t)}</figcaption></figure>'
        for t, f in figures.items()
    )
    waiting_total = sum(len(s.awaiting) for s in report.students)
    waiting_note = (
        f" {waiting_total} hand-graded answers await grading (formgrader); their points are "
        "not counted as lost."
        if waiting_total
        else ""
    )
    empty = '<tr><td colspan="4">no failed test</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en"><head>{csp_meta(STATIC_CSP)}<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class report: {esc(report.assignment)}</title>
<style>{STYLE}</style></head><body>
<h1>Class report: {esc(report.assignment)}</h1>
<p>{n} students graded; mean {mean:.2f}, median {median:g} of {report.max_score:g} points.\
{waiting_note}</p>
{imgs}
<h2>What to re-teach: diagnoses over the class</h2>
<p>Each row counts the students whose feedback shows this diagnosis for the part, with two of
their feedback pages as examples. Parts left as released are counted apart, under
<em>not attempted</em> in the points per part.</p>
<table id="diagnoses">{_head(["part", "diagnosis", "students", "examples"])}
{"".join(diag_rows) or empty}</table>
<h2>Points per part</h2>
<table id="parts">{
        _head(
            [
                "part",
                "points",
                "mean",
                "full marks",
                "lost points",
                "not attempted",
                "awaiting grading",
            ]
        )
    }{"".join(parts_rows)}</table>
<h2>Unusual events</h2>
<table id="reasons">{_head(["reason", "students"])}
{"".join(reason_rows) or '<tr><td colspan="2">none</td></tr>'}</table>
<h2>Students</h2>
<table id="students">{
        _head(
            [
                "student",
                "score",
                "lost points in",
                "not attempted",
                "awaiting grading",
                "reason",
            ]
        )
    }
{"".join(student_rows)}</table>
</body></html>
"""


def write(
    course: str,
    assignment: str,
    out: str | None = None,
    progress: bool = True,
    db_url: str | None = None,
) -> str:
    """Write the class report of ``assignment``; return the path of its HTML page."""
    from nngrader.host.html import write_page

    report = collect(course, assignment, progress, db_url)
    out = os.path.abspath(out or os.path.join(course, "reports", assignment))
    os.makedirs(out, exist_ok=True)
    figures = _figures(report, out)
    path = os.path.join(out, "index.html")
    write_page(path, render(report, out, figures))
    return path
