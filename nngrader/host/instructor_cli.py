"""The instructor's commands of ``python -m nngrader`` beyond grade and feedback.

``report`` (the class report), ``export`` (the LMS import file), ``similarity`` (pairs of
alike submissions) and ``release-variants`` (one notebook per student), each with its own
``--help``; :func:`add_grade_options` adds ``--export``/``--roster`` to ``grade``. Kept apart
from ``__main__`` so that the grading commands stay as they are.
"""

from __future__ import annotations

import argparse
import sys

COMMANDS = ("report", "export", "similarity", "release-variants", "gradebook")


def add_commands(sub) -> None:
    """Add the instructor's sub-commands to the ``python -m nngrader`` parser."""
    r = sub.add_parser(
        "report",
        help="write the class report (scores, points per part, diagnoses over the class)",
        description="Write <course>/reports/<assignment>/index.html and one PNG per figure: "
        "the score distribution, the points per part and the diagnoses the checks produced, "
        "counted over the class, with links to each student's feedback. `grade` writes it too.",
    )
    r.add_argument("assignment", help="assignment name (graded already)")
    r.add_argument("--course", default=".", help="course folder with nbgrader_config.py [.]")
    r.add_argument("--out", default=None, help="folder for the report [<course>/reports/<a>]")
    r.add_argument(
        "--db-url", default=None, help="nbgrader's gradebook URL [the course's gradebook.db]"
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bars")

    e = sub.add_parser(
        "export",
        help="write the CSV that Canvas or Moodle imports, from a grades CSV and a roster",
        description="Write the gradebook import file of Canvas (Student, ID, SIS User ID, SIS "
        "Login ID, Section, <assignment>; a Points Possible row) or Moodle (First name, Last "
        "name, ID number, Email address, <grade item>) from GRADES, mapping student ids to "
        "LMS ids with ROSTER (a CSV with student_id and canvas_id/sis_user_id/sis_login_id/"
        "name/section or first_name/last_name/id_number/email).",
    )
    e.add_argument("format", choices=["canvas", "moodle"], help="the LMS to import into")
    e.add_argument("grades", help="grades CSV written by `grade`")
    e.add_argument("roster", help="roster CSV: student_id -> LMS ids")
    e.add_argument("out", help="the CSV file to write")
    e.add_argument(
        "--column", default=None, help='LMS grade column, e.g. "a1 (12345)" [the assignment]'
    )
    m = sub.add_parser(
        "similarity",
        help="flag pairs of submissions whose solution cells are suspiciously alike",
        description="Compare every pair of the graded submissions (nbgrader's submitted/ "
        "folder) on their solution cells only, with copydetect's winnowing fingerprints, "
        "the released skeleton and the code many students write alike as boilerplate and "
        "the rest weighed by its rarity in the class; write <course>/similarity/<assignment>/"
        "index.html with the flagged pairs side by side. It flags for a human to read and "
        "never changes a grade.",
    )
    m.add_argument("assignment", help="assignment name (graded already)")
    m.add_argument("--course", default=".", help="course folder with nbgrader_config.py [.]")
    m.add_argument("--out", default=None, help="folder for the page [<course>/similarity/<a>]")
    m.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="the least share of either answer found in the other for a pair to be flagged, "
        "each piece of code weighed by how rare it is in the class (what many students write "
        "alike counts little); a flagged pair also stands far above the class's own pair "
        "scores and shares a few lines of such code [%(default)s]",
    )
    m.add_argument("--no-progress", action="store_true", help="no progress bars")
    v = sub.add_parser(
        "release-variants",
        help="write one notebook per roster student with that student's parameters",
        description="For an assignment that declares per-student parameters (see "
        "nngrader.host.variants), write <out>/<student>/<notebook>.ipynb for every student_id "
        "of ROSTER, with the values drawn from HMAC(course secret, assignment, student id), "
        "and <out>/parameters.csv. The secret is <course>/.nnlib-secret (created here if "
        "missing; never commit it) or $NNLIB_COURSE_SECRET. Grade with `grade --roster`.",
    )
    v.add_argument("assignment", help="assignment name (released already: make assignments)")
    v.add_argument("roster", help="roster CSV with a student_id column")
    v.add_argument("--course", default=".", help="course folder with nbgrader_config.py [.]")
    v.add_argument("--out", default=None, help="output folder [<course>/variants/<a>]")
    v.add_argument("--no-progress", action="store_true", help="no progress bars")
    b = sub.add_parser(
        "gradebook",
        help="write the course's gradebook: every assignment's score per student, and the total",
        description="Write one CSV with a row per student of nbgrader's gradebook: names and "
        "email, each assignment's score after the late penalty (empty without a submission), "
        "the total, the most points possible and what is incomplete (no submission, "
        "hand-graded points not graded yet). With --roster and --export, the Canvas or "
        "Moodle import file of all of it (one column per assignment and the total).",
    )
    b.add_argument("--course", default=".", help="course folder with nbgrader_config.py [.]")
    b.add_argument("--out", default="gradebook.csv", help="CSV file to write [%(default)s]")
    b.add_argument(
        "--db-url", default=None, help="nbgrader's gradebook URL [the course's gradebook.db]"
    )
    b.add_argument("--roster", default=None, help="roster CSV (student_id -> LMS ids)")
    b.add_argument(
        "--export",
        choices=["canvas", "moodle"],
        action="append",
        default=[],
        help="also write <out>-<lms>.csv for the LMS (needs --roster)",
    )
    for q in (r, e, m, v, b):
        q.add_argument("--verbose", "-v", action="store_true", help="log nbgrader's messages too")


def add_grade_options(g) -> None:
    """``grade``'s options for the roster and the LMS export."""
    g.add_argument(
        "--roster",
        default=None,
        help="roster CSV (student_id, LMS ids, names, emails): grades each student's own "
        "variant of an assignment that declares them (needs the course secret), fills the "
        "grades CSV's names and emails, and maps ids for --export",
    )
    g.add_argument(
        "--export",
        choices=["canvas", "moodle"],
        action="append",
        default=[],
        help="also write GRADES' LMS import file <grades>-<lms>.csv, warning about every "
        "student it leaves out or scores incompletely (needs --roster)",
    )
    g.add_argument(
        "--lms-column",
        default=None,
        help='the LMS grade column, e.g. "a1 (12345)" to fill an existing Canvas assignment '
        "[the assignment's name]",
    )
    g.add_argument(
        "--due-date",
        default=None,
        metavar="'YYYY-MM-DD HH:MM:SS TZ'",
        help="the assignment's due date, recorded in nbgrader's gradebook; a submission after "
        "it (timestamp.txt, else the notebook's file time) gets nbgrader's late penalty "
        "(LateSubmissionPlugin.penalty_method in nbgrader_config.py) [the gradebook's]",
    )
    g.add_argument(
        "--extensions",
        default=None,
        metavar="CSV",
        help="per-student extensions: a CSV with student_id and hours or days, recorded in "
        "nbgrader's gradebook (a new due date or extension changes the penalties on this run, "
        "without running any submission again)",
    )


def check_db_url(args: argparse.Namespace, students: list[str] = ()) -> None:
    """Refuse a ``--db-url`` that cannot be opened, before any work (one clear line); set a
    PostgreSQL gradebook up, with ``students``, one process at a time (see
    :func:`nngrader.host.gradebook.prepare`)."""
    if getattr(args, "db_url", None):
        from nngrader.host import gradebook

        try:
            gradebook.check_url(args.db_url)
        except gradebook.GradebookError as exc:
            raise SystemExit(f"ERROR: {exc}") from None
        from nngrader.host.nbgrader_steps import coursedir

        gradebook.prepare(args.db_url, coursedir(args.course, args.db_url).course_id, students)


def check_grade_options(args: argparse.Namespace) -> None:
    """Refuse, before grading, what ``grade``'s instructor options cannot do."""
    import os

    folder = args.submissions
    students = (  # (made in a shared gradebook now: two runs at once would race to add them)
        sorted(e for e in os.listdir(folder) if os.path.isdir(os.path.join(folder, e)))
        if os.path.isdir(folder)
        else []
    )
    from nngrader.host.pipeline import STUDENT_ID

    check_db_url(args, [s for s in students if STUDENT_ID.match(s)])
    if args.export and not args.roster:
        raise SystemExit("ERROR: --export needs --roster (a CSV: student ids -> LMS ids)")
    if args.roster:
        from nngrader.host import lms

        try:
            lms.read_roster(args.roster)
        except lms.RosterError as exc:
            raise SystemExit(f"ERROR: {exc}") from None
        # the grades CSV's name and email columns (and formgrader's) come from the gradebook
        lms.names_to_gradebook(args.roster, args.course, args.db_url)
    if args.due_date or args.extensions:
        from nngrader.host import late

        try:
            extensions = late.read_extensions(args.extensions) if args.extensions else {}
            late.apply(args.course, args.assignment, args.due_date, extensions, args.db_url)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"ERROR: {exc}") from None


def export_after(args: argparse.Namespace, grades: str) -> None:
    """The LMS files ``grade --export`` asked for."""
    for fmt in args.export:
        out = f"{grades.removesuffix('.csv')}-{fmt}.csv"
        _export(fmt, grades, args.roster, out, args.lms_column)


def _export(fmt: str, grades: str, roster: str, out: str, column: str | None) -> None:
    import os

    from nngrader.host import lms

    if not os.path.isfile(grades):
        raise SystemExit(
            f"ERROR: no grades CSV {grades}: grade first (make grade ASSIGNMENT=...), or name "
            "the file `grade` wrote with GRADES=<csv> (the default is grades-<assignment>.csv)"
        )
    try:
        missing = lms.export(fmt, grades, roster, out, column)
        found = lms.gaps(grades, lms.read_roster(roster))
    except lms.RosterError as exc:
        raise SystemExit(f"ERROR: {exc}") from None
    except ValueError as exc:
        raise SystemExit(f"ERROR: {exc}") from None
    if missing:
        print(f"not in the roster, left out of {out}: {', '.join(missing)}", file=sys.stderr)
    for line in lms.warnings(found, out):
        print(line, file=sys.stderr)
    print(f"{fmt} import file written to {out}", file=sys.stderr)


def report_after(course: str, assignment: str, progress: bool, db_url: str | None = None) -> None:
    """Write the class report, saying where (used after ``feedback``)."""
    from nngrader.host import report

    path = report.write(course, assignment, progress=progress, db_url=db_url)
    print(f"class report in {path}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run one of :data:`COMMANDS`; return the exit status."""
    if args.command == "report":
        from nngrader.host import report

        check_db_url(args)

        path = report.write(
            args.course, args.assignment, args.out, not args.no_progress, args.db_url
        )
        print(f"class report in {path}", file=sys.stderr)
        return 0
    if args.command == "similarity":
        from nngrader.host import similarity

        path, pairs = similarity.write(
            args.course, args.assignment, args.out, args.threshold, not args.no_progress
        )
        print(f"{len(pairs)} flagged pairs in {path}", file=sys.stderr)
        return 0
    if args.command == "release-variants":
        from nngrader.host import variants

        try:
            out, drawn = variants.release(
                args.course, args.assignment, args.roster, args.out, not args.no_progress
            )
        except ValueError as exc:
            raise SystemExit(f"ERROR: {exc}") from None
        print(f"{len(drawn)} notebooks in {out} (parameters.csv lists the values)", file=sys.stderr)
        return 0
    if args.command == "gradebook":
        from nngrader.host import gradebook, lms

        check_db_url(args)
        if args.export and not args.roster:
            raise SystemExit("ERROR: --export needs --roster (a CSV: student ids -> LMS ids)")
        try:
            paths = gradebook.write_course_table(
                args.course, args.out, args.db_url, args.roster, tuple(args.export)
            )
        except lms.RosterError as exc:
            raise SystemExit(f"ERROR: {exc}") from None
        print(f"course gradebook written to {', '.join(paths)}", file=sys.stderr)
        return 0
    if args.command == "export":
        _export(args.format, args.grades, args.roster, args.out, args.column)
        return 0
    raise SystemExit(f"unknown command {args.command!r}")
