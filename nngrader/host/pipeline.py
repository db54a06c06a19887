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
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field

import nbformat

from nngrader.host import containment, engine, late, notebook, variants
from nngrader.host.containment import Limits

log = logging.getLogger("nngrader")
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
    "incomplete",  # what the score leaves out (nngrader.host.lms.incomplete)
]
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


@dataclass
class Options:
    """What ``grade`` was asked to do (see ``python -m nngrader --help``)."""

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
    scheduler: str | None = None  # a running dask scheduler's address; None: an embedded one
    db_url: str | None = None  # nbgrader's gradebook URL; None: the course's (sqlite)
    report: bool = True  # the class report (nngrader.host.report) after grading
    roster: str = ""  # a roster: per-student variants are graded (nngrader.host.variants)


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
    if not os.path.isdir(src):
        parent = os.path.dirname(src)
        known = sorted(os.listdir(parent)) if os.path.isdir(parent) else []
        raise SystemExit(
            f"no assignment {assignment!r}: {src} does not exist "
            f"(assignments in {parent}: {', '.join(known) or 'none'})"
        )
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
            late.zip_times(z, cleanup.name)  # (the submission times the zip records)
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
            if entry["notebooks"]:  # nbgrader's late penalty reads the time from there
                late.keep(folder, dest)
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


def job(entry: dict, sources: dict, options: Options) -> engine.Job:
    """One student's run as a task for the cluster: each rebuilt notebook's plan and the limits."""
    plans = {name: notebook.plan(nb, sources[name][0]) for name, nb in entry["notebooks"].items()}
    return engine.Job(_key(entry["notebooks"], options), plans, options.limits, options.unsafe)


def grade(options: Options) -> str:
    """Grade the class; return the path of the grades CSV.

    The sandboxed runs are tasks on a Dask cluster (:mod:`nngrader.host.engine`: an embedded one
    of ``jobs`` worker processes, or ``options.scheduler``), started in a thread; meanwhile this
    thread loads nbgrader and, as each student's run comes back, stores it and records it with
    nbgrader's autograde, so nbgrader's own work overlaps the runs.
    """
    course = os.path.abspath(options.course)
    options.course = course
    # nbgrader's gradebook runs the `alembic` command: find it next to this Python
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    students, sources = prepare(options)
    state = os.path.join(course, ".nnlib-grader", options.assignment)
    os.makedirs(state, exist_ok=True)

    keys = {sid: _key(e["notebooks"], options) for sid, e in students.items() if e["notebooks"]}
    todo = [sid for sid in keys if _stored_key(os.path.join(state, f"{sid}.json")) != keys[sid]]
    by_key: dict[str, list[str]] = {}
    for sid in todo:  # identical submissions are one task
        by_key.setdefault(keys[sid], []).append(sid)
    jobs = [job(students[sids[0]], sources, options) for sids in by_key.values()]

    def start() -> tuple[engine.Engine, object]:
        cluster = engine.Engine(options.scheduler, options.jobs)
        try:
            return cluster, cluster.results(jobs)  # (the first tasks start running now)
        except BaseException:
            cluster.close()
            raise

    starter = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    started = starter.submit(start) if jobs else None
    try:
        from nngrader.host import nbgrader_steps as steps

        db = options.db_url
        steps.ensure_gradebook(course, options.assignment, db_url=db)
        nothing = [s for s, e in students.items() if not e["notebooks"] and not e.get("invalid")]
        steps.forget(course, options.assignment, nothing, db_url=db)
        autograder = steps.Autograder(course, options.assignment, state, db_url=db)
        bar = _bar(len(keys), "grading", options.progress)

        def record(sid: str) -> None:
            done = os.path.join(state, f"{sid}.nbgrader")
            if _read(done) != keys[sid] or not autograder.has_output(sid):
                autograder.run(sid)
                atomic_write(done, keys[sid])
            bar.update()

        def failed(sid: str, error: BaseException) -> None:
            log.error("the run of %s failed: %r", sid, error)
            students[sid]["notes"].append(f"not graded: the grader failed ({error!r})"[:300])
            for suffix in (".json", ".nbgrader"):
                _remove(os.path.join(state, sid + suffix))
            steps.forget(course, options.assignment, [sid], db_url=db)
            bar.update()

        for sid in keys:
            if sid not in todo:
                record(sid)  # already run (a re-run, or a resumed batch)
        if started is not None:
            for done_job, outcome in started.result()[1]:
                if isinstance(outcome, containment.SandboxUnavailable):
                    raise outcome  # a machine that cannot sandbox: stop, say which and why
                for sid in by_key[done_job.key]:
                    if isinstance(outcome, BaseException):  # the CSV's reason says so
                        failed(sid, outcome)
                    else:
                        atomic_write(os.path.join(state, f"{sid}.json"), json.dumps(outcome))
                        record(sid)
        bar.close()
    finally:
        if started is not None:
            try:  # (still starting when something failed: wait for it, then close it)
                started.result()[0].close()
            except Exception:
                pass
        starter.shutdown(wait=True)
    path = write_csv(options, students, state)
    if options.feedback:
        _feedback_apart(options)
    if options.report:
        _report(options)
    return path


def _report(options: Options) -> None:
    from nngrader.host import report

    try:
        where = report.write(
            options.course, options.assignment, progress=options.progress, db_url=options.db_url
        )
    except (Exception, SystemExit) as exc:  # the grades are written: a failed report costs nothing
        log.error("the class report failed: %s", exc)
    else:
        print(f"class report in {where}", file=sys.stderr)


def _feedback_apart(options: Options) -> None:
    """``grade --feedback``: the feedback of every graded student, written by a new process.

    :func:`feedback` forks its workers, and this process ran distributed's threads: a fork
    copies locks that another thread may hold, so it is not made from here.
    """
    import subprocess

    argv = [sys.executable, "-m", "nngrader", "feedback", options.assignment]
    argv += ["--course", options.course, "--jobs", str(options.jobs), "--no-report"]
    argv += [] if options.progress else ["--no-progress"]
    argv += ["--show-hidden-tests"] if options.show_hidden_tests else []
    argv += ["--db-url", options.db_url] if options.db_url else []
    done = subprocess.run(argv)
    if done.returncode != 0:
        raise SystemExit(f"the feedback failed (exit code {done.returncode}); the grades stand")


def graded_students(course: str, assignment: str) -> list[str]:
    """Students whose notebooks nbgrader autograded for this assignment."""
    state = os.path.join(course, ".nnlib-grader", assignment)
    if not os.path.isdir(state):
        return []
    return sorted(f[: -len(".nbgrader")] for f in os.listdir(state) if f.endswith(".nbgrader"))


def feedback(options: Options, students: list[str] | None = None) -> list[str]:
    """nbgrader's feedback HTML for each graded student whose result changed (all graded
    students have a page afterwards), ``jobs`` processes at a time; see
    :mod:`nngrader.host.incremental`."""
    from nngrader.host import incremental

    course = os.path.abspath(options.course)
    if students is None:
        students = graded_students(course, options.assignment)
    if not students:
        return []
    incremental.render(
        course,
        options.assignment,
        students,
        options.show_hidden_tests,
        options.jobs,
        options.progress,
        options.db_url,
    )
    return students


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


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
    from nngrader.host import lms
    from nngrader.host import nbgrader_steps as steps

    rows, info = steps.scores(options.course, options.assignment, options.db_url)
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
        reasons, run = list(entry["notes"]), []
        if entry["notebooks"]:
            try:
                with open(os.path.join(state, f"{sid}.json")) as f:
                    run = list(json.load(f)["reasons"])
            except (OSError, ValueError, KeyError):
                run = ["grader results missing"]
            reasons += run
        elif not reasons:
            reasons.append("no submission")
        if row.get("manual"):
            reasons.append(row["manual"])
        row["reason"] = "; ".join(dict.fromkeys(reasons))
        row["incomplete"] = lms.incomplete(entry, run, row.get("manual", ""))
        for key in ("raw_score", "late_submission_penalty", "score", "max_score"):
            row[key] = round(float(row.get(key) or 0.0), 6)
        writer.writerow({k: row.get(k, "") for k in CSV_KEYS})
    atomic_write(options.grades, buffer.getvalue())
    return options.grades


def _bar(total: int, what: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="student", disable=not enabled, file=sys.stderr)
