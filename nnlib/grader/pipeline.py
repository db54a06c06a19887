"""Grade a class: collect, rebuild, run sandboxed in parallel, autograde, feedback, CSV.

Every step is safe to repeat. The sandboxed run of each student is stored atomically in
``<course>/.nnlib-grader/<assignment>/<student>.json`` under a key that covers the rebuilt
notebook and the limits, so an interrupted batch resumes where it stopped and a second run
with the same inputs gives the same grades. The grades CSV is written last, atomically.
"""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import json
import logging
import os
import queue
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field

import nbformat

from nnlib.grader import execute, notebook, sandbox, variants
from nnlib.grader.nbgrader_steps import source_hash
from nnlib.grader.sandbox import Limits

log = logging.getLogger("nnlib.grader")
VERSION = "1"
CSV_KEYS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
    "reason",
]
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


@dataclass
class Options:
    """What ``grade`` was asked to do (see ``python -m nnlib.grader --help``)."""

    assignment: str
    submissions: str
    grades: str
    course: str = "."
    jobs: int = 0
    unsafe: bool = False
    feedback: bool = False
    show_hidden_tests: bool = False
    progress: bool = True
    limits: Limits = field(default_factory=Limits)
    report: bool = True  # the class report (nnlib.grader.report) after grading
    roster: str = ""  # a roster: per-student variants are graded (nnlib.grader.variants)


def atomic_write(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    with os.fdopen(fd, "w", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class CourseDirs:
    """The folders nbgrader_config.py names, read without importing nbgrader (it is slow)."""

    def __init__(self, course: str) -> None:
        from traitlets.config.loader import Config, PyFileConfigLoader

        cfg = Config()
        if os.path.exists(os.path.join(course, "nbgrader_config.py")):
            cfg = PyFileConfigLoader("nbgrader_config.py", path=course).load_config()
        cd = cfg.get("CourseDirectory", {})
        self.root = course
        self.source = cd.get("source_directory", "source")
        self.release = cd.get("release_directory", "release")
        self.submitted = cd.get("submitted_directory", "submitted")
        self.structure = cd.get(
            "directory_structure", "{nbgrader_step}/{student_id}/{assignment_id}"
        )

    def path(self, step: str, student: str, assignment: str) -> str:
        rel = self.structure.format(
            nbgrader_step=step, student_id=student, assignment_id=assignment
        )
        return os.path.normpath(os.path.join(self.root, rel))


def _source_notebooks(course: str, assignment: str) -> dict[str, tuple]:
    """Notebook name -> (source notebook, release notebook or None)."""
    cd = CourseDirs(course)
    src = cd.path(cd.source, ".", assignment)
    rel = cd.path(cd.release, ".", assignment)
    names = sorted(f[:-6] for f in os.listdir(src) if f.endswith(".ipynb"))
    if not names:
        raise SystemExit(f"no source notebooks in {src}")
    out = {}
    for name in names:
        release = os.path.join(rel, f"{name}.ipynb")
        out[name] = (
            nbformat.read(os.path.join(src, f"{name}.ipynb"), as_version=4),
            nbformat.read(release, as_version=4) if os.path.exists(release) else None,
        )
    return out


def student_folders(submissions: str, assignment: str) -> tuple[dict[str, str], object]:
    """Student id -> folder. A zip (as an LMS exports it) is unpacked first."""
    cleanup = None
    if zipfile.is_zipfile(submissions):
        cleanup = tempfile.TemporaryDirectory(prefix="nnlib-grader-zip-")
        with zipfile.ZipFile(submissions) as z:
            for member in z.namelist():  # refuse paths that climb out of the folder
                if member.startswith("/") or ".." in member.split("/"):
                    raise SystemExit(f"unsafe path in {submissions}: {member}")
            z.extractall(cleanup.name)
        submissions = cleanup.name
        entries = [e for e in os.listdir(submissions) if not e.startswith((".", "__MACOSX"))]
        if len(entries) == 1 and os.path.isdir(os.path.join(submissions, entries[0])):
            submissions = os.path.join(submissions, entries[0])
    if not os.path.isdir(submissions):
        raise SystemExit(f"submissions folder not found: {submissions}")
    folders = {
        entry: os.path.join(submissions, entry)
        for entry in sorted(os.listdir(submissions))
        if not entry.startswith((".", "__MACOSX"))
        and os.path.isdir(os.path.join(submissions, entry))
    }
    return folders, cleanup


def find_notebook(folder: str, name: str, only: bool) -> tuple[str | None, str | None]:
    """The student's copy of notebook ``name``; with ``only``, a lone renamed one will do."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__MACOSX")))
        if root[len(folder) :].count(os.sep) > 3:
            continue
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".ipynb")]
    exact = [f for f in found if os.path.basename(f) == f"{name}.ipynb"]
    if exact:
        return exact[0], None
    if only and len(found) == 1:
        return found[0], f"notebook {os.path.basename(found[0])} graded as {name}.ipynb"
    return None, None


def prepare(options: Options) -> tuple[dict, dict]:
    """Rebuild every student's notebooks into nbgrader's submitted/ folder.

    Returns (student -> {"notebooks": {name: plan-ready notebook}, "notes": [...]}, sources).
    """
    sources = _source_notebooks(options.course, options.assignment)
    key = variants.grading_key(options.course, options.roster, [s for s, _ in sources.values()])
    folders, cleanup = student_folders(options.submissions, options.assignment)
    cd = CourseDirs(options.course)
    students = {}
    try:
        for sid, folder in folders.items():
            entry = {"notebooks": {}, "notes": []}
            students[sid] = entry
            if not STUDENT_ID.match(sid):
                entry["notes"].append("folder name is not a valid student id: not graded")
                entry["invalid"] = True
                continue
            dest = cd.path(cd.submitted, sid, options.assignment)
            if os.path.isdir(dest):
                shutil.rmtree(dest)
            for name, (source, release) in sources.items():
                path, note = find_notebook(folder, name, only=len(sources) == 1)
                if note:
                    entry["notes"].append(note)
                if path is None:
                    entry["notes"].append(f"no submission of {name}.ipynb")
                    continue
                try:
                    raw = notebook.read(path)
                    fixed = notebook.sanitize(raw, source, release)
                except ValueError as exc:
                    entry["notes"].append(f"{name}.ipynb: {exc}")
                    continue
                except Exception as exc:  # a notebook nbformat reads but we cannot rebuild
                    entry["notes"].append(f"{name}.ipynb: unreadable notebook ({exc})"[:300])
                    continue
                entry["notes"] += fixed.notes
                variants.for_grading(fixed.notebook, source, key, options.assignment, sid)
                entry["notebooks"][name] = fixed.notebook
                text = nbformat.writes(fixed.notebook)
                atomic_write(os.path.join(dest, f"{name}.ipynb"), text)
    finally:
        if cleanup is not None:
            cleanup.cleanup()
    return students, sources


def _key(nbs: dict, options: Options) -> str:
    blob = json.dumps(
        {
            "v": VERSION,
            "nbs": {n: nbformat.writes(nb) for n, nb in sorted(nbs.items())},
            "limits": asdict(options.limits),
            "unsafe": options.unsafe,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def run_student(sid: str, entry: dict, sources: dict, options: Options, slot: int) -> dict:
    """Run one student's notebooks in sandboxes; return the stored result."""
    uid = None if options.unsafe or os.getuid() != 0 else sandbox.UID_BASE + slot
    nproc = options.limits.nproc if os.getuid() == 0 else sandbox.user_nproc(options.limits, 1)
    result = {"key": _key(entry["notebooks"], options), "notebooks": {}, "reasons": []}
    for name, nb in entry["notebooks"].items():
        cells = notebook.plan(nb, sources[name][0])
        replies = execute.run_cells(cells, options.limits, uid, options.unsafe, nproc)
        stored = {}
        for cell in cells:
            reply = replies.get(cell.idx, execute._fault("not run"))
            outputs, reasons = _outputs(cell, reply)
            stored[str(cell.idx)] = {"hash": source_hash(cell.source), "outputs": outputs}
            result["reasons"] += reasons
        result["notebooks"][name] = {"cells": stored}
    return result


def _outputs(cell: execute.Cell, reply: dict) -> tuple[list[dict], list[str]]:
    """The cell's outputs for nbgrader, and the reasons worth a line in the CSV."""
    reasons: list[str] = []
    where = cell.grade_id or f"cell {cell.idx}"

    def error(ename: str, evalue: str) -> dict:
        return {
            "output_type": "error",
            "ename": ename,
            "evalue": evalue,
            "traceback": [f"{ename}: {evalue}"],
        }

    if reply.get("status") == "fault":
        reason = reply.get("reason", "crashed")
        kind = "Timeout" if "timed out" in reason else "KernelDied"
        if "memory" in reason:
            kind = "MemoryLimit"
        reasons.append(f"{where}: {reason}")
        return [error(kind, reason)], reasons
    if cell.kind == "state":
        return reply.get("outputs", []), reasons
    tamper = sorted(set(reply.get("tamper", [])))
    during = [t for t in tamper if t.startswith("during the test")]
    before = [t for t in tamper if t not in during]
    if before:  # undone before the test ran: the verdict stands, the attempt is reported
        shown = "; ".join(before[:3]) + ("; ..." if len(before) > 3 else "")
        reasons.append(f"tampering detected and undone before the tests ({shown})")
    if during:
        shown = "; ".join(t.removeprefix("during the test: ") for t in during[:3])
        reasons.append(f"{where}: tampering detected during the test, part scored 0 ({shown})")
    if reply.get("reference"):
        used = "; ".join(reply["reference"][:3])
        reasons.append(f"{where}: uses nnlib's reference implementation ({used})")
        return [
            error("ReferenceUsed", f"this part uses nnlib's reference implementation: {used}")
        ], reasons
    if during:
        return [error("Tampering", "the tested code changed the checking machinery")], reasons
    if reply.get("status") == "error":
        err = reply.get("error") or {}
        ename, evalue = err.get("ename", "Error"), err.get("evalue", "")
        if ename == "MemoryError":
            reasons.append(f"{where}: memory limit exceeded")
            evalue = evalue or "memory limit exceeded"
        out = [] if cell.hidden else [o for o in reply.get("outputs", [])]
        return [*out, error(ename, evalue)], reasons
    outputs = [] if cell.hidden else list(reply.get("outputs", []))
    if reply.get("value") is not None:
        value = reply["value"]
        outputs.append(
            {
                "output_type": "execute_result",
                "data": {"text/plain": repr(value)},
                "metadata": {},
                "execution_count": None,
            }
        )
    return outputs, reasons


def grade(options: Options) -> str:
    """Grade the class; return the path of the grades CSV.

    The sandboxed runs start first, in ``jobs`` threads (each drives one sandbox process);
    meanwhile this thread loads nbgrader and, as each student's run finishes, records it with
    nbgrader's autograde and writes the feedback, so nbgrader's own work overlaps the runs.
    """
    course = os.path.abspath(options.course)
    options.course = course
    # nbgrader's gradebook runs the `alembic` command: find it next to this Python
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    if not options.unsafe:
        sandbox.check_available()
    students, sources = prepare(options)
    state = os.path.join(course, ".nnlib-grader", options.assignment)
    os.makedirs(state, exist_ok=True)

    keys = {sid: _key(e["notebooks"], options) for sid, e in students.items() if e["notebooks"]}
    todo = [sid for sid in keys if _stored_key(os.path.join(state, f"{sid}.json")) != keys[sid]]
    jobs = options.jobs or os.cpu_count() or 1
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(jobs):
        slots.put(slot)

    def work(sid: str) -> str:
        slot = slots.get()
        try:
            result = run_student(sid, students[sid], sources, options, slot)
        finally:
            slots.put(slot)
        atomic_write(os.path.join(state, f"{sid}.json"), json.dumps(result))
        return sid

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(work, sid) for sid in todo]
    try:
        from nnlib.grader import nbgrader_steps as steps

        steps.ensure_gradebook(course, options.assignment)
        nothing = [s for s, e in students.items() if not e["notebooks"] and not e.get("invalid")]
        steps.forget(course, options.assignment, nothing)
        autograder = steps.Autograder(course, options.assignment, state)
        bar = _bar(len(keys), "grading", options.progress)

        def record(sid: str) -> None:
            done = os.path.join(state, f"{sid}.nbgrader")
            if _read(done) != keys[sid] or not autograder.has_output(sid):
                autograder.run(sid)
                atomic_write(done, keys[sid])
            bar.update()

        for sid in keys:
            if sid not in todo:
                record(sid)  # already run (a re-run, or a resumed batch)
        for future in concurrent.futures.as_completed(futures):
            record(future.result())
        bar.close()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    path = write_csv(options, students, state)
    if options.feedback:
        feedback(options, list(keys))
    if options.report:
        _report(options)
    return path


def _report(options: Options) -> None:
    from nnlib.grader import report

    try:
        where = report.write(options.course, options.assignment, progress=options.progress)
    except Exception as exc:  # the grades are written: a report that fails costs nothing else
        log.error("the class report failed: %s", exc)
    else:
        print(f"class report in {where}", file=sys.stderr)


def graded_students(course: str, assignment: str) -> list[str]:
    """Students whose notebooks nbgrader autograded for this assignment."""
    state = os.path.join(course, ".nnlib-grader", assignment)
    if not os.path.isdir(state):
        return []
    return sorted(f[: -len(".nbgrader")] for f in os.listdir(state) if f.endswith(".nbgrader"))


def feedback(options: Options, students: list[str] | None = None) -> list[str]:
    """nbgrader's feedback HTML for each graded student, ``jobs`` processes at a time."""
    import multiprocessing

    from nnlib.grader import nbgrader_steps as steps

    course = os.path.abspath(options.course)
    if students is None:
        students = graded_students(course, options.assignment)
    if not students:
        return []
    jobs = max(1, min(options.jobs or os.cpu_count() or 1, len(students)))
    chunks = [students[i::jobs] for i in range(jobs)]
    args = [(course, options.assignment, options.show_hidden_tests, c) for c in chunks if c]
    bar = _bar(len(students), "feedback", options.progress)
    if jobs == 1:
        steps.feedback_many(*args[0], progress=bar.update)
    else:  # nbgrader is imported already: forked workers start at once
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            for future in concurrent.futures.as_completed(
                [pool.submit(steps.feedback_many, *a) for a in args]
            ):
                bar.update(future.result())
    bar.close()
    return students


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _stored_key(path: str) -> str | None:
    try:
        with open(path) as f:
            return json.load(f).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def write_csv(options: Options, students: dict, state: str) -> str:
    from nnlib.grader import nbgrader_steps as steps

    rows, info = steps.scores(options.course, options.assignment)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_KEYS, lineterminator="\n")
    writer.writeheader()
    for sid, entry in sorted(students.items()):
        row = {
            "timestamp": "",
            "raw_score": 0.0,
            "late_submission_penalty": 0.0,
            "score": 0.0,
            **info,
            "student_id": sid,
            **rows.get(sid, {}),
        }
        reasons = list(entry["notes"])
        if entry["notebooks"]:
            try:
                with open(os.path.join(state, f"{sid}.json")) as f:
                    reasons += json.load(f)["reasons"]
            except (OSError, ValueError, KeyError):
                reasons.append("grader results missing")
        elif not reasons:
            reasons.append("no submission")
        if row.get("manual"):
            reasons.append(row["manual"])
        row["reason"] = "; ".join(dict.fromkeys(reasons))
        for key in ("raw_score", "late_submission_penalty", "score", "max_score"):
            row[key] = round(float(row.get(key) or 0.0), 6)
        writer.writerow({k: row.get(k, "") for k in CSV_KEYS})
    atomic_write(options.grades, buffer.getvalue())
    return options.grades


def _bar(total: int, what: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="student", disable=not enabled, file=sys.stderr)
