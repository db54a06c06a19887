"""Feedback rendered again only for the students whose graded result changed.

A student's feedback page is a function of their autograded notebooks (the outputs the run
left), what nbgrader's gradebook says of them (each part's automatic and manual score, the
comments, the late penalty) and how the page is made (hidden tests shown or not, this
module's :data:`RENDERER` version). :func:`keys` hashes exactly that, for the whole class from
one gradebook query; :func:`stale` lists the students whose stored key differs or whose page
is missing, and :func:`remember` stores the keys of the pages just written
(``.nnlib-grader/<assignment>/<student>.feedback``). A re-run of an unchanged class renders
nothing; five late submissions render five pages.
"""

from __future__ import annotations

import hashlib
import json
import os

#: Bump when the feedback page's making changes (template, sanitizer, styles): every page
#: is rendered again once.
RENDERER = "nngrader-feedback-2"


def _gradebook_facts(course: str, assignment: str, db_url: str | None) -> dict[str, list]:
    """Student -> what the gradebook says that the feedback page shows."""
    from nbgrader.api import Gradebook, MissingEntry

    from nngrader.host.nbgrader_steps import coursedir

    cd = coursedir(course, db_url)
    facts: dict[str, list] = {}
    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            return facts
        for sub in subs:
            rows: list = [sub.late_submission_penalty, str(sub.timestamp)]
            for nb in sorted(sub.notebooks, key=lambda n: n.name):
                for grade in sorted(nb.grades, key=lambda g: g.name):
                    rows.append(
                        (
                            nb.name,
                            grade.name,
                            grade.auto_score,
                            grade.manual_score,
                            grade.extra_credit,
                        )
                    )
                for comment in sorted(nb.comments, key=lambda c: c.name):
                    rows.append(
                        (nb.name, comment.name, comment.auto_comment, comment.manual_comment)
                    )
            facts[sub.student.id] = rows
    return facts


def _files_digest(folder: str) -> str:
    digest = hashlib.sha256()
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                digest.update(name.encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def keys(
    course: str,
    assignment: str,
    students: list[str],
    show_hidden: bool,
    db_url: str | None = None,
) -> dict[str, str]:
    """Student -> the key of the feedback page they would get now."""
    from nngrader.host.nbgrader_steps import coursedir

    cd = coursedir(course, db_url)
    facts = _gradebook_facts(course, assignment, db_url)
    out = {}
    for sid in students:
        autograded = cd.format_path(cd.autograded_directory, sid, assignment)
        blob = json.dumps(
            [RENDERER, show_hidden, _files_digest(autograded), facts.get(sid)],
            default=str,
        )
        out[sid] = hashlib.sha256(blob.encode()).hexdigest()
    return out


def _stored(course: str, assignment: str, sid: str) -> str:
    return os.path.join(course, ".nnlib-grader", assignment, f"{sid}.feedback")


def _pages_exist(cd, assignment: str, sid: str) -> bool:
    autograded = cd.format_path(cd.autograded_directory, sid, assignment)
    feedback = cd.format_path(cd.feedback_directory, sid, assignment)
    if not os.path.isdir(autograded):
        return True  # (nothing to render)
    names = [n[:-6] for n in os.listdir(autograded) if n.endswith(".ipynb")]
    return all(os.path.isfile(os.path.join(feedback, f"{n}.html")) for n in names)


def stale(
    course: str, assignment: str, wanted: dict[str, str], db_url: str | None = None
) -> list[str]:
    """The students of ``wanted`` (student -> key) whose page must be rendered again."""
    from nngrader.host.nbgrader_steps import coursedir

    cd = coursedir(course, db_url)
    todo = []
    for sid, key in wanted.items():
        try:
            with open(_stored(course, assignment, sid)) as f:
                same = f.read() == key
        except OSError:
            same = False
        if not same or not _pages_exist(cd, assignment, sid):
            todo.append(sid)
    return todo


def remember(course: str, assignment: str, sid: str, key: str) -> None:
    """Store the key of ``sid``'s page, just rendered."""
    from nngrader.host.pipeline import atomic_write

    atomic_write(_stored(course, assignment, sid), key)


def _compiled_templates():
    """A jinja2 bytecode cache in memory, for every template environment of a process.

    nbgrader makes a new exporter for each student, and nbconvert a new jinja2 environment
    for each exporter, which parses and compiles the page's nine templates again: half of a
    feedback page's CPU time. jinja2 keys the compiled code by the template's name and checks
    it against a checksum of the template's source, so a template that changes is compiled
    again.
    """
    import jinja2

    class CompiledTemplates(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.code: dict[str, bytes] = {}

        def load_bytecode(self, bucket) -> None:
            if bucket.key in self.code:
                bucket.bytecode_from_string(self.code[bucket.key])

        def dump_bytecode(self, bucket) -> None:
            self.code[bucket.key] = bucket.bytecode_to_string()

    return CompiledTemplates()


def share_compiled_templates() -> None:
    """Let every nbconvert template environment of this process share compiled templates."""
    from nbconvert.exporters.templateexporter import TemplateExporter

    if getattr(TemplateExporter._create_environment, "shares_code", False):
        return
    create, cache = TemplateExporter._create_environment, _compiled_templates()

    def create_environment(self):
        environment = create(self)
        environment.bytecode_cache = cache
        return environment

    create_environment.shares_code = True
    TemplateExporter._create_environment = create_environment


def _start_renderer(*setup) -> None:
    """A feedback process's start: shared compiled templates, then nbgrader's converter."""
    from nngrader.host import nbgrader_steps as steps

    share_compiled_templates()
    steps.start_feedback(*setup)


def render(
    course: str,
    assignment: str,
    students: list[str],
    show_hidden: bool,
    jobs: int,
    progress: bool,
    db_url: str | None = None,
) -> list[str]:
    """Render the feedback of the ``students`` whose page is stale; return those rendered.

    ``jobs`` forked processes (nbgrader is imported already, so they start at once), each
    making one converter and then taking one student at a time: the progress bar moves per
    student, and a slow page never holds the others back.
    """
    import concurrent.futures
    import multiprocessing
    import sys

    from tqdm import tqdm

    from nngrader.host import nbgrader_steps as steps

    wanted = keys(course, assignment, students, show_hidden, db_url)
    todo = stale(course, assignment, wanted, db_url)
    if progress and len(todo) < len(students):
        print(
            f"feedback: {len(students) - len(todo)} of {len(students)} pages unchanged",
            file=sys.stderr,
        )
    bar = tqdm(
        total=len(todo), desc="feedback", unit="student", disable=not progress, file=sys.stderr
    )
    setup = (course, assignment, show_hidden, db_url)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    try:
        if jobs == 1:
            _start_renderer(*setup)
            for sid in todo:
                steps.feedback_one(sid)
                remember(course, assignment, sid, wanted[sid])
                bar.update()
        elif todo:
            context = multiprocessing.get_context("fork")
            with concurrent.futures.ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_start_renderer, initargs=setup
            ) as pool:
                futures = [pool.submit(steps.feedback_one, sid) for sid in todo]
                for future in concurrent.futures.as_completed(futures):
                    sid = future.result()
                    remember(course, assignment, sid, wanted[sid])
                    bar.update()
    finally:
        bar.close()
    return todo
