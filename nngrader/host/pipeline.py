"""Grade a class: collect, rebuild, run sandboxed in parallel, autograde, feedback, CSV.

Every step is safe to repeat. The sandboxed run of each student is stored atomically in
``<course>/.nnlib-grader/<assignment>/<student>.json`` under a key that covers the rebuilt
notebook and the limits, so an interrupted batch resumes where it stopped and a second run
with the same inputs gives the same grades. The grades CSV is written last, atomically.

Each student is a fault boundary of their own: reading, rebuilding, planning, recording with
nbgrader and writing their row happen inside it, so whatever one submission makes the host
raise costs that student a row that says "not graded: <why>", and never the batch.
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
from dataclasses import asdict, dataclass, field

import nbformat

from nngrader.host import containment, engine, intake, late, notebook, variants
from nngrader.host.containment import Limits
from nngrader.protocol import RunResult

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
#: Characters of one reason in the CSV, and of a student's whole reason column.
REASON_LIMIT = 300
REASONS_LIMIT = 1500
NOT_GRADED = "not graded: "


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
    regrade: list[str] | None = None  # students run again from scratch ([]: all); None: none


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
        self.max_file_size = int(cd.get("max_file_size", 100_000))  # kB, as nbgrader counts

    @property
    def max_bytes(self) -> int:
        """The largest notebook the course grades, in bytes (``max_file_size`` is in kB)."""
        return self.max_file_size * 1000

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


def not_graded(entry: dict, why: str) -> None:
    """Mark a student as not graded: no run, no score, ``why`` in the CSV."""
    entry["notes"].append(NOT_GRADED + why)
    entry["not_graded"] = True
    entry.pop("job", None)


def prepare(options: Options) -> tuple[dict, dict]:
    """Rebuild every student's notebooks into nbgrader's submitted/ folder, and plan the runs.

    Returns (student -> {"notebooks": {name: rebuilt notebook}, "notes": [...], "job": the
    run}, sources). Each student is prepared inside a fault boundary (:func:`prepare_student`).
    """
    sources = _source_notebooks(options.course, options.assignment)
    key = variants.grading_key(options.course, options.roster, [s for s, _ in sources.values()])
    cd = CourseDirs(options.course)
    room = intake.classroom(options.submissions, options.assignment, cd.max_bytes)
    students: dict[str, dict] = {}
    try:
        for sid, why in room.refused.items():
            students[sid] = entry = {"notebooks": {}, "notes": []}
            not_graded(entry, why)
            entry["invalid"] = not STUDENT_ID.match(sid)  # (kept out of the gradebook)
        for sid, folder in room.folders.items():
            students[sid] = entry = {"notebooks": {}, "notes": list(room.notes.get(sid, []))}
            try:
                prepare_student(entry, sid, folder, sources, key, options, cd)
            except Exception as exc:  # a bug of ours that this submission found: its row says so
                log.exception("preparing %s failed", sid)
                not_graded(entry, f"the grader could not prepare it ({_why(exc)})")
    finally:
        room.close()
    return students, sources


def prepare_student(
    entry: dict,
    sid: str,
    folder: str,
    sources: dict,
    key: bytes | None,
    options: Options,
    cd: CourseDirs,
) -> None:
    """Read, rebuild, write into submitted/ and plan one student's notebooks into ``entry``."""
    if not STUDENT_ID.match(sid):
        entry["notes"].append("folder name is not a valid student id: not graded")
        entry["invalid"] = True
        return
    dest = cd.path(cd.submitted, sid, options.assignment)
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    for name, (source, release) in sources.items():
        path, notes, refusal = intake.find_notebook(folder, name, only=len(sources) == 1)
        entry["notes"] += notes
        if refusal is not None:
            not_graded(entry, refusal)
            return
        if path is None:
            entry["notes"].append(f"no submission of {name}.ipynb")
            continue
        try:
            data = intake.read_regular(folder, os.path.relpath(path, folder), cd.max_bytes)
        except intake.Refused as exc:
            not_graded(entry, str(exc))
            return
        try:
            fixed = notebook.sanitize(notebook.parse(data), source, release)
        except notebook.Unreadable as exc:
            entry["notes"].append(f"{name}.ipynb: {exc}")
            continue
        entry["notes"] += fixed.notes
        variants.for_grading(fixed.notebook, source, key, options.assignment, sid)
        entry["notebooks"][name] = fixed.notebook
        atomic_write(os.path.join(dest, f"{name}.ipynb"), nbformat.writes(fixed.notebook))
    if entry["notebooks"]:
        # nbgrader's late penalty reads the submission time there
        entry["timestamp"] = late.keep(folder, dest)
        entry["job"] = job(entry, sources, options)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {notebook.clip(str(exc), 150)}"


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
    key = _key(entry["notebooks"], options)
    return engine.Job(key, plans, options.limits, options.unsafe, options.assignment)


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
    students, _ = prepare(options)
    state = os.path.join(course, ".nnlib-grader", options.assignment)
    os.makedirs(state, exist_ok=True)
    _forget_runs(state, students, options.regrade)

    keys = {sid: e["job"].key for sid, e in students.items() if e.get("job")}
    todo = [sid for sid in keys if _stored_key(os.path.join(state, f"{sid}.json")) != keys[sid]]
    by_key: dict[str, list[str]] = {}
    for sid in todo:  # identical submissions are one task
        by_key.setdefault(keys[sid], []).append(sid)
    jobs = [students[sids[0]]["job"] for sids in by_key.values()]

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
        nothing = [s for s, e in students.items() if not e.get("job") and not e.get("invalid")]
        steps.forget(course, options.assignment, nothing, db_url=db)
        for sid in nothing:  # (no run of theirs is "graded" now: feedback skips them)
            for suffix in (".json", ".nbgrader"):
                _remove(os.path.join(state, sid + suffix))
        autograder = steps.Autograder(course, options.assignment, state, db_url=db)
        # what the late penalty depends on now (due date, extension, time): recorded with
        # each run, so that a change to any of them records the stored run again
        times = {sid: students[sid].get("timestamp") for sid in keys}
        for sid, late_key in late.recording_keys(course, options.assignment, times, db).items():
            students[sid]["late"] = late_key
        bar = _bar(len(keys), "grading", options.progress)

        def record(sid: str) -> None:
            """nbgrader's autograde of this student's stored run, unless it recorded it already.

            The marker holds the digest of the run it recorded and of the late-penalty
            settings it was recorded with (:func:`_marker`), so a run stored anew (a regrade,
            a deleted result run again) or a new due date or extension is recorded anew.
            """
            done = os.path.join(state, f"{sid}.nbgrader")
            try:
                digest = _marker(state, sid, students[sid])
                if _read(done) != digest or not autograder.has_output(sid):
                    _remove(done)
                    autograder.run(sid)
                    atomic_write(done, digest)
            except Exception as exc:  # nbgrader failed on it: "not graded", never a stale score
                log.error("recording %s failed: %s", sid, exc)
                why = exc.reason if isinstance(exc, steps.StepFailed) else _why(exc)
                not_graded(students[sid], f"nbgrader's autograde failed ({why})")
                _remove(done)
                try:
                    steps.void(course, options.assignment, sid, db_url=db)
                except Exception:
                    log.exception("clearing the grades of %s failed", sid)
            bar.update()

        def failed(sid: str, error: BaseException) -> None:
            log.error("the run of %s failed: %r", sid, error)
            students[sid]["notes"].append(f"{NOT_GRADED}the grader failed ({_why(error)})")
            students[sid]["not_graded"] = True
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
                        _remove(os.path.join(state, f"{sid}.nbgrader"))
                        atomic_write(
                            os.path.join(state, f"{sid}.json"), json.dumps(outcome.to_json())
                        )
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
    """The key of a stored run that may be reused; None for none, or one not to reuse.

    A run that a fault of the grading machine spoiled (``machine_fault``: a sandbox that did
    not start, a timeout on a loaded machine) is recorded for this batch but never reused.
    """
    try:
        stored = RunResult.load(path)
    except (OSError, ValueError):
        return None
    return None if stored.machine_fault else stored.key


def _digest(path: str) -> str:
    """The SHA-256 of a stored run's file (what its nbgrader marker records)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _marker(state: str, sid: str, entry: dict) -> str:
    """What a student's nbgrader marker holds once their stored run is recorded: the run's
    digest and the late-penalty settings' (:func:`nngrader.host.late.recording_keys`)."""
    return f"{_digest(os.path.join(state, f'{sid}.json'))} late:{entry.get('late', '')}"


def _forget_runs(state: str, students: dict, regrade: list[str] | None) -> None:
    """``--regrade``: drop the stored runs (and markers) of those students ([]: everyone's)."""
    if regrade is None:
        return
    unknown = sorted(set(regrade) - set(students))
    if unknown:
        raise SystemExit(f"--regrade: no such student in the submissions: {', '.join(unknown)}")
    for sid in regrade or list(students):
        for suffix in (".json", ".nbgrader"):
            _remove(os.path.join(state, sid + suffix))


def write_csv(options: Options, students: dict, state: str) -> str:
    """Write the grades CSV: one row per student, each built inside its own fault boundary."""
    from nngrader.host import nbgrader_steps as steps

    rows, info = steps.scores(options.course, options.assignment, options.db_url)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_KEYS, lineterminator="\n")
    writer.writeheader()
    for sid, entry in sorted(students.items()):
        try:
            row = _row(sid, entry, rows.get(sid, {}), info, state)
        except Exception as exc:  # a bug of ours: this row says so, the others are written
            log.exception("the CSV row of %s failed", sid)
            row = {**info, "student_id": sid, "reason": f"{NOT_GRADED}{_why(exc)}"}
            row.update(raw_score=0.0, late_submission_penalty=0.0, score=0.0)
        writer.writerow({k: row.get(k, "") for k in CSV_KEYS})
    atomic_write(options.grades, buffer.getvalue())
    return options.grades


def _row(sid: str, entry: dict, graded: dict, info: dict, state: str) -> dict:
    """One student's CSV row: nbgrader's scores only for a run recorded in this batch."""
    from nngrader.host import lms

    row = {
        "timestamp": "",
        "raw_score": 0.0,
        "late_submission_penalty": 0.0,
        "score": 0.0,
        **info,
        "student_id": sid,
        **{k: graded[k] for k in ("last_name", "first_name", "email") if k in graded},
    }
    reasons, run = list(entry["notes"]), []
    if entry.get("job") and not entry.get("not_graded"):
        try:
            stored = RunResult.load(os.path.join(state, f"{sid}.json"))
            recorded = _read(os.path.join(state, f"{sid}.nbgrader"))
            if recorded != _marker(state, sid, entry):
                raise ValueError("not recorded")
            run = list(stored.reasons)
            reasons += run
        except (OSError, ValueError, KeyError, TypeError):
            reasons.append(f"{NOT_GRADED}the grader's results are missing (run grade again)")
        else:
            row.update(graded)
            if graded.get("manual"):
                reasons.append(graded["manual"])
    elif not reasons:
        reasons.append("no submission")
    reasons.sort(key=lambda r: not r.startswith(NOT_GRADED))  # why it is not graded, first
    row["reason"] = cap_reasons(reasons)
    row["incomplete"] = lms.incomplete(entry, run, str(graded.get("manual") or ""))
    for key in ("raw_score", "late_submission_penalty", "score", "max_score"):
        row[key] = round(float(row.get(key) or 0.0), 6)
    return row


def cap_reasons(reasons: list[str]) -> str:
    """The reason column: distinct reasons, each and all of them capped, the cuts marked.

    Each reason keeps :data:`REASON_LIMIT` characters and the column :data:`REASONS_LIMIT`:
    a reason is text a submission can make as long as it likes (a fault's message, a
    ``grade_id``), and the CSV is read by LMS importers with field limits.
    """
    out, length, unique = [], 0, list(dict.fromkeys(reasons))
    for i, reason in enumerate(unique):
        reason = notebook.clip(reason, REASON_LIMIT)
        if length + len(reason) > REASONS_LIMIT:
            out.append(f"... [{len(unique) - i} more reasons cut]")
            break
        out.append(reason)
        length += len(reason) + 2
    return "; ".join(out)


def _bar(total: int, what: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="student", disable=not enabled, file=sys.stderr)
