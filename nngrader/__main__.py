"""``python -m nngrader``: grade a class (see ``--help``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings

from nngrader.host.containment import Limits, SandboxUnavailable

EPILOG = """\
SUBMISSIONS holds one folder per student id with that student's files (the notebook may sit
in a sub-folder, e.g. nbgrader's <student>/<assignment>/<notebook>.ipynb), or is a zip of
such folders. Only the assignment's notebooks are graded: other files are ignored. For an LMS
export with another layout, run `nbgrader zip_collect` first and pass its submitted/ folder.

Every folder gets a row in GRADES (nbgrader's CSV export columns plus `reason`); a student
who cannot be graded (a link or a FIFO instead of a notebook, a notebook over the course's
max_file_size, one nbgrader fails on) gets "not graded: <why>", and the others are graded.
Results go to nbgrader's gradebook.db, autograded/ and feedback/ in the course folder, and
the runs to .nnlib-grader/<assignment>/ so that an interrupted batch resumes and a re-run is
identical; --regrade [STUDENT ...] runs students again from scratch.

Student code runs in bubblewrap: no network, a read-only system, no course folder, no
gradebook, no other students, a cleared environment, and the limits below. Without a working
bubblewrap the grader refuses to run unless given --unsafe. A fault (timeout, crash, memory
limit) costs only the cell or test where it happened; a submission's total time is bounded by
--budget, and the tests it left unrun are named in its reason.

The runs are tasks on a Dask cluster: by default one started for the batch on this machine
(--jobs worker processes); with --scheduler tcp://HOST:PORT, a running `dask scheduler` whose
`dask worker`s (on any machine with this .venv and bubblewrap) run them. nbgrader and the
gradebook stay on this machine (--db-url for a gradebook elsewhere, e.g. PostgreSQL).
"""


def build_parser() -> argparse.ArgumentParser:
    d = Limits()
    p = argparse.ArgumentParser(
        prog="python -m nngrader",
        description="Autograde a class's submissions with nbgrader, sandboxed and in parallel.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser(
        "grade",
        help="autograde every submission and write the grades CSV",
        description="Autograde every submission and write the grades CSV.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("assignment", help="assignment name (a folder of the source directory)")
    g.add_argument("submissions", help="folder (or zip) with one folder per student id")
    g.add_argument("grades", help="CSV file to write")
    f = sub.add_parser(
        "feedback",
        help="write nbgrader's feedback HTML for every graded student",
        description="Write feedback/<student>/<assignment>/<notebook>.html for every student "
        "`grade` autograded. A failed hidden test shows its error category and message, "
        "never the hidden test's source (unless --show-hidden-tests).",
    )
    f.add_argument("assignment", help="assignment name")
    for q in (g, f):
        q.add_argument("--course", default=".", help="course folder with nbgrader_config.py [.]")
        q.add_argument(
            "--jobs", "-j", type=int, default=0, help="local worker processes [CPU count]"
        )
        q.add_argument(
            "--db-url",
            default=None,
            help="nbgrader's gradebook URL [the course's: sqlite:///gradebook.db]",
        )
        q.add_argument(
            "--show-hidden-tests", action="store_true", help="print hidden tests in feedback"
        )
        q.add_argument("--no-progress", action="store_true", help="no progress bars")
        q.add_argument("--verbose", "-v", action="store_true", help="log nbgrader's messages too")
        q.add_argument("--no-report", action="store_true", help="do not write the class report")
    g.add_argument("--feedback", action="store_true", help="also write the feedback HTML")
    g.add_argument(
        "--regrade",
        nargs="*",
        default=None,
        metavar="STUDENT",
        help="run these students again from scratch (none named: everyone), ignoring their "
        "stored runs; manual grades in the gradebook are kept",
    )
    from nngrader.host import instructor_cli

    instructor_cli.add_grade_options(g)
    instructor_cli.add_commands(sub)
    g.add_argument("--unsafe", action="store_true", help="run student code WITHOUT a sandbox")
    g.add_argument(
        "--timeout", type=float, default=d.cell_timeout, help="seconds per cell [%(default)s]"
    )
    g.add_argument(
        "--test-timeout",
        type=float,
        default=d.test_timeout,
        help="seconds per test cell [%(default)s]",
    )
    g.add_argument("--memory", type=int, default=d.memory_mb, help="MiB per process [%(default)s]")
    g.add_argument(
        "--cpu", type=int, default=d.cpu_seconds, help="CPU seconds per process [%(default)s]"
    )
    g.add_argument("--nproc", type=int, default=d.nproc, help="processes per sandbox [%(default)s]")
    g.add_argument(
        "--fsize", type=int, default=d.fsize_mb, help="MiB per written file [%(default)s]"
    )
    g.add_argument(
        "--budget",
        type=float,
        default=d.budget,
        help="wall-clock seconds per submission; the rest is not run [%(default)s]",
    )
    g.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="a running dask scheduler to send the runs to [an embedded cluster of --jobs]",
    )
    return p


def skip_iri_checks() -> None:
    """Keep jsonschema (which nbformat imports) from loading ``rfc3987_syntax`` in this process.

    jupyter-events installs it for jsonschema's "iri" string format, and it compiles 38
    grammars when imported: 0.9 s of every command's start. No schema that nbformat or nbgrader
    validates has that format, so nothing here checks one; jsonschema leaves out the formats
    whose module it cannot import.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # (None: importing it fails at once)


def main(argv: list[str] | None = None) -> int:
    skip_iri_checks()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # nbgrader's and nbformat's chatter about notebooks it repairs
        warnings.filterwarnings("ignore", module=r"nbgrader\..*|nbformat\..*|sqlalchemy\..*")
        warnings.filterwarnings("ignore", message=r".*(cell id|id field|not in session).*")
    from nngrader.host import instructor_cli

    if args.command in instructor_cli.COMMANDS:
        return instructor_cli.run(args)
    from nngrader.host.pipeline import Options, feedback, grade

    start = time.monotonic()
    if args.command == "feedback":
        options = Options(
            assignment=args.assignment,
            submissions="",
            grades="",
            course=args.course,
            jobs=args.jobs,
            show_hidden_tests=args.show_hidden_tests,
            progress=not args.no_progress,
            db_url=args.db_url,
        )
        done = feedback(options)
        where = os.path.join(os.path.abspath(args.course), "feedback")
        print(f"feedback for {len(done)} students in {where}", file=sys.stderr)
        if done and not args.no_report:  # the class report links to the feedback: write it again
            instructor_cli.report_after(
                args.course, args.assignment, not args.no_progress, args.db_url
            )
        return 0
    limits = Limits(
        memory_mb=args.memory,
        cpu_seconds=args.cpu,
        nproc=args.nproc,
        fsize_mb=args.fsize,
        cell_timeout=args.timeout,
        test_timeout=args.test_timeout,
        budget=args.budget,
    )
    options = Options(
        assignment=args.assignment,
        submissions=os.path.abspath(args.submissions),
        grades=os.path.abspath(args.grades),
        course=args.course,
        jobs=args.jobs,
        unsafe=args.unsafe,
        feedback=args.feedback,
        show_hidden_tests=args.show_hidden_tests,
        progress=not args.no_progress,
        limits=limits,
        scheduler=args.scheduler,
        db_url=args.db_url,
        report=not args.no_report,
        roster=os.path.abspath(args.roster) if args.roster else "",
        regrade=args.regrade,
    )
    if args.unsafe:
        print(
            "WARNING: --unsafe: student code runs WITHOUT a sandbox, with your rights, your "
            "files and your network.",
            file=sys.stderr,
        )
    instructor_cli.check_grade_options(args)
    from nngrader.host.engine import NoWorkers

    try:
        path = grade(options)
    except NoWorkers as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except SandboxUnavailable as exc:
        print(
            f"ERROR: the sandbox for student code cannot be set up:\n  {exc}\n"
            "Refusing to run untrusted notebooks without it. Install bubblewrap, or pass "
            "--unsafe to run them with your own rights (not recommended).",
            file=sys.stderr,
        )
        return 2
    print(f"grades written to {path} in {time.monotonic() - start:.1f} s", file=sys.stderr)
    instructor_cli.export_after(args, path)
    return 0


def _end_now() -> None:
    """The last exit handler: leave without the interpreter's own teardown.

    With nbgrader, SQLAlchemy, distributed and matplotlib loaded, freeing every module and
    object one by one takes 0.7 s and leaves nothing behind that the system's end of the process
    does not. Everything written is closed by then (the grades CSV, the gradebook's sessions;
    the cluster is closed) and the handlers that ran before this one (the ones registered
    later) did their work; this flushes the streams and logging, and ends with the exit code.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(_EXIT_CODE[0])


_EXIT_CODE = [1]  # main's return value, or 1 if it raised (SystemExit sets its own below)

if __name__ == "__main__":
    import atexit

    atexit.register(_end_now)  # first registered: runs after every other exit handler
    try:
        _EXIT_CODE[0] = main()
    except SystemExit as exc:  # argparse's --help and usage errors
        code = exc.code
        _EXIT_CODE[0] = code if isinstance(code, int) else (0 if code is None else 1)
        if not isinstance(code, int) and code is not None:
            print(code, file=sys.stderr)
    except KeyboardInterrupt:
        _EXIT_CODE[0] = 130
        raise
    sys.exit(_EXIT_CODE[0])
