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

import nbformat

#: Error names the grader itself gives a failed test (see ``pipeline._outputs``).
GRADER_ERRORS = ("Timeout", "KernelDied", "MemoryLimit", "ReferenceUsed", "Tampering")


@dataclass
class Student:
    """One graded student: total, points per part and the diagnosis of each failed part."""

    sid: str
    score: float
    max_score: float
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)  # part -> (got, max)
    diagnoses: dict[str, str] = field(default_factory=dict)  # part -> diagnosis
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
        return "not implemented (NotImplementedError)"
    if ename in GRADER_ERRORS:
        return f"{ename}: {re.sub(r'[0-9.]+ s', 'N s', evalue)}"[:200]
    head = re.split(r"\s+at (?:element|the value)\b|: expected\b|\s+\(", evalue)[0]
    head = head.strip().rstrip(":")
    return f"{ename}: {head}"[:200] if head else ename


def _failed_tests(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Part (grade_id of a test cell) -> diagnosis of its first error output."""
    out = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
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
                auto = os.path.join(
                    cd.format_path(cd.autograded_directory, student.sid, assignment),
                    f"{nb.name}.ipynb",
                )
                if os.path.exists(auto):
                    failed = _failed_tests(nbformat.read(auto, as_version=4))
                    for part, text in failed.items():  # a part that lost points
                        got, most = student.parts.get(part, (0.0, 0.0))
                        if got < most:
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


def _figures(report: ClassReport, out: str) -> dict[str, str]:
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


def _links(report: ClassReport, sids: list[str], out: str) -> str:
    by_id = {s.sid: s for s in report.students}
    links = []
    for sid in sids:
        student = by_id[sid]
        if student.feedback:
            href = os.path.relpath(student.feedback[0], out).replace(os.sep, "/")
            links.append(f'<a href="{html.escape(href)}">{html.escape(sid)}</a>')
        else:
            links.append(html.escape(sid))
    return ", ".join(links)


def render(report: ClassReport, out: str, figures: dict[str, str]) -> str:
    """The report's HTML page (links relative to the folder ``out``)."""
    esc = html.escape
    n = len(report.students)
    scores = sorted(s.score for s in report.students)
    mean = sum(scores) / n if n else 0.0
    median = (scores[(n - 1) // 2] + scores[n // 2]) / 2 if n else 0.0
    parts_rows = []
    for part in report.parts:
        got = [s.parts.get(part, (0.0, 0.0))[0] for s in report.students]
        full = sum(1 for g in got if g >= report.part_max[part] - 1e-9)
        parts_rows.append(
            f"<tr><td>{esc(part)}</td><td>{report.part_max[part]:g}</td>"
            f"<td>{(sum(got) / n if n else 0):.2f}</td><td>{full}</td><td>{n - full}</td></tr>"
        )
    diag_rows = [
        f'<tr><td>{esc(part)}</td><td class="diagnosis">{esc(text)}</td>'
        f'<td class="count">{len(sids)}</td><td>{_links(report, sids, out)}</td></tr>'
        for part, text, sids in report.diagnosis_counts()
    ]
    reasons = Counter(r for s in report.students for r in dict.fromkeys(s.reasons))
    reason_rows = [f"<tr><td>{esc(r)}</td><td>{c}</td></tr>" for r, c in reasons.most_common()]
    student_rows = [
        f"<tr><td>{_links(report, [s.sid], out)}</td><td>{s.score:g}</td>"
        + "".join(f"<td>{s.parts.get(p, (0.0, 0.0))[0]:g}</td>" for p in report.parts)
        + f"<td>{esc('; '.join(s.reasons))}</td></tr>"
        for s in report.students
    ]
    imgs = "".join(
        f'<figure><img src="{esc(f)}" alt="{esc(t)}"><figcaption>{esc(t)}</figcaption></figure>'
        for t, f in figures.items()
    )
    part_heads = "".join(f"<th>{esc(p)}</th>" for p in report.parts)
    empty = '<tr><td colspan="4">no failed test</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Class report: {esc(report.assignment)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 70em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
figure {{ display: inline-block; margin: 0.5em; }}
td.count {{ text-align: right; font-weight: bold; }}
</style></head><body>
<h1>Class report: {esc(report.assignment)}</h1>
<p>{n} students graded; mean {mean:.2f}, median {median:g} of {report.max_score:g} points.</p>
{imgs}
<h2>What to re-teach: diagnoses over the class</h2>
<p>Each row counts the students whose feedback shows this diagnosis for the part.</p>
<table id="diagnoses"><tr><th>part</th><th>diagnosis</th><th>students</th><th>who</th></tr>
{"".join(diag_rows) or empty}</table>
<h2>Points per part</h2>
<table id="parts"><tr><th>part</th><th>points</th><th>mean</th><th>full marks</th>
<th>lost points</th></tr>{"".join(parts_rows)}</table>
<h2>Unusual events</h2>
<table id="reasons"><tr><th>reason</th><th>students</th></tr>
{"".join(reason_rows) or '<tr><td colspan="2">none</td></tr>'}</table>
<h2>Students</h2>
<table id="students"><tr><th>student</th><th>score</th>{part_heads}<th>reason</th></tr>
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
    from nngrader.host.pipeline import atomic_write

    report = collect(course, assignment, progress, db_url)
    out = os.path.abspath(out or os.path.join(course, "reports", assignment))
    os.makedirs(out, exist_ok=True)
    figures = _figures(report, out)
    path = os.path.join(out, "index.html")
    atomic_write(path, render(report, out, figures))
    return path
