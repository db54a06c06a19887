"""The grader on a real Dask cluster: a `dask scheduler` and two `dask worker` processes.

A class of 12 (correct, wrong and hostile submissions, two of them identical) is graded three
times on copies of one course: on the embedded cluster `make grade` starts (with the gradebook
moved by ``--db-url``), on the running cluster (``--scheduler``), and on it again while one of
its workers is killed mid-batch. The grades CSV must be the same every time.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import time

import nbformat
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hostile.cases import CASES, build
from hostile.course import ASSIGNMENT, NOTEBOOK, make_course, release_notebook, venv_env

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
    ),
]
CLASS = [
    "correct",
    "blank",
    "wrong_sigmoid",
    "syntax_error",
    "patch_allclose",
    "reference_use",
    "infinite_loop_in_test",
    "os_exit",
    "crash_in_test",
    "memory_bomb",
    "exit_in_test",
]
FAST = ["--timeout", "6", "--test-timeout", "6", "--no-progress"]  # loaded CI: no false timeouts
BIN = os.path.dirname(os.path.abspath(sys.executable))


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """A course (its release generated, no gradebook yet) and the 12 submissions."""
    root = tmp_path_factory.mktemp("dask-class")
    course = make_course(str(root / "course"))
    release = release_notebook(course)
    submissions = root / "submissions"
    cases = {c.name: c for c in CASES}
    for sid in [*CLASS, "correct_twin"]:  # the twin is byte for byte the same as "correct"
        case = cases[sid.removesuffix("_twin")]
        (submissions / sid).mkdir(parents=True)
        nbformat.write(build(case, release, course), str(submissions / sid / f"{NOTEBOOK}.ipynb"))
    return {"root": root, "course": course, "submissions": str(submissions)}


def run_grade(classroom, name: str, *extra: str, wait: bool = True):
    course = str(classroom["root"] / name)
    shutil.copytree(classroom["course"], course)
    os.remove(os.path.join(course, "gradebook.db"))  # generate_assignment's: start with none
    argv = [sys.executable, "-m", "nngrader", "grade", ASSIGNMENT]
    argv += [classroom["submissions"], os.path.join(course, "grades.csv"), *FAST, *extra]
    proc = subprocess.Popen(
        argv, cwd=course, env=venv_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if not wait:
        return course, proc
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-4000:]
    return course


def grades(course: str) -> str:
    with open(os.path.join(course, "grades.csv")) as f:
        return f.read()


@pytest.fixture(scope="module")
def embedded(classroom):
    """The class graded on the embedded cluster, its gradebook at another URL."""
    db = str(classroom["root"] / "elsewhere.db")
    course = run_grade(classroom, "embedded", "--jobs", "2", "--db-url", f"sqlite:///{db}")
    return {"course": course, "csv": grades(course), "db": db}


def _start(argv: list[str], log: str) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            argv, env=venv_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, on free ports."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask-cluster")
    scheduler_file = str(folder / "scheduler.json")
    dask = os.path.join(BIN, "dask")
    procs = {}
    try:
        argv = [dask, "scheduler", "--host", "127.0.0.1", "--port", "0"]
        argv += ["--dashboard-address", "127.0.0.1:0", "--scheduler-file", scheduler_file]
        procs["scheduler"] = _start(argv, str(folder / "scheduler.log"))
        deadline = time.monotonic() + 60
        while not os.path.exists(scheduler_file) and time.monotonic() < deadline:
            time.sleep(0.2)
        for name in ("w0", "w1"):
            argv = [dask, "worker", "--scheduler-file", scheduler_file, "--nthreads", "1"]
            argv += ["--host", "127.0.0.1", "--no-nanny", "--no-dashboard", "--name", name]
            procs[name] = _start(argv, str(folder / f"{name}.log"))
        with Client(scheduler_file=scheduler_file, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        yield {"address": address, "procs": procs, "scheduler_file": scheduler_file}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_embedded_run_keeps_its_gradebook_at_db_url(embedded):
    from nbgrader.api import Gradebook

    assert not os.path.exists(os.path.join(embedded["course"], "gradebook.db"))
    rows = [line.split(",") for line in embedded["csv"].splitlines()[1:]]
    assert len(rows) == len(CLASS) + 1
    with Gradebook(f"sqlite:///{embedded['db']}") as gb:
        for row in rows:
            sid, score = row[3], float(row[9])
            found = gb.find_submission(ASSIGNMENT, sid).score if score else score
            assert found == score, sid
    scores = {row[3]: float(row[9]) for row in rows}
    assert scores["correct"] == scores["correct_twin"] == 6.0
    assert scores["wrong_sigmoid"] == scores["infinite_loop_in_test"] == 4.0


def test_feedback_reads_the_gradebook_at_db_url(embedded):
    argv = [sys.executable, "-m", "nngrader", "feedback", ASSIGNMENT, "--no-progress"]
    argv += ["--db-url", f"sqlite:///{embedded['db']}"]
    done = subprocess.run(
        argv, cwd=embedded["course"], env=venv_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    page = os.path.join(embedded["course"], "feedback", "wrong_sigmoid", ASSIGNMENT)
    with open(os.path.join(page, f"{NOTEBOOK}.html")) as f:
        assert "sigmoid differs from the reference" in f.read()


def test_running_cluster_gives_the_embedded_grades(classroom, embedded, cluster):
    course = run_grade(classroom, "remote", "--scheduler", cluster["address"])
    assert grades(course) == embedded["csv"]


def test_a_worker_killed_mid_batch_loses_no_row(classroom, embedded, cluster):
    from distributed import Client

    course, proc = run_grade(classroom, "killed", "--scheduler", cluster["address"], wait=False)
    state = os.path.join(course, ".nnlib-grader", ASSIGNMENT)
    victim = None
    with Client(scheduler_file=cluster["scheduler_file"], timeout="30s") as client:
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            # once a first result is back, kill a worker that holds a task
            if glob.glob(os.path.join(state, "*.json")):
                info = client.scheduler_info()["workers"]
                busy = [info[a]["name"] for a, keys in client.processing().items() if keys]
                victim = next((n for n in busy if n in cluster["procs"]), None)
            time.sleep(0.05)
        assert victim is not None, "no worker was busy mid-batch"
        done_before = len(glob.glob(os.path.join(state, "*.json")))
        cluster["procs"][victim].kill()
        cluster["procs"][victim].wait()
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-4000:]
    assert done_before < len(CLASS) + 1  # the kill came before the end of the batch
    assert grades(course) == embedded["csv"]
