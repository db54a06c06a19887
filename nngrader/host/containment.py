"""How a student's code is contained: bubblewrap, resource limits and a clean environment.

Each notebook runs in its own bubblewrap sandbox:

- no network (``--unshare-net``), its own process, IPC and host-name namespaces;
- a file system that holds only read-only copies of ``/usr``, the Python installation, the
  virtual environment and the ``nnlib`` and ``nngrader`` packages, plus an empty private
  ``/tmp`` (the working directory) and ``/dev/shm``, both sized within the memory limit:
  the course folder, the gradebook, the source notebooks and the other students' files do
  not exist in it; the student's side gets the assignment's nnlib, its forbidden names
  stubbed (:mod:`nngrader.host.stubs`), bound over the real one;
- a cleared environment (no instructor secrets): only ``PATH``, ``HOME=/tmp``, ``LANG`` and the
  grader's own settings;
- an unprivileged user: when the grader runs as root, the worker drops to a user id of its own
  (one per parallel slot, so one student's fork bomb cannot use another's process quota);
- resource limits (:class:`Limits`): address space, CPU time, processes, file size and
  open files.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import resource
import shutil
import socket
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

#: The packages a sandbox sees (read-only): the library the student's code uses, and the
#: grader's sandbox half that runs it.
PACKAGES = ("nnlib", "nngrader")

#: User ids the worker switches to when the grader runs as root: ``UID_BASE + slot``.
UID_BASE = 61000


@dataclass(frozen=True)
class Limits:
    """Resource limits for one student's notebook (defaults in brackets).

    Attributes:
        memory_mb: address space of each sandboxed process [2048 MiB].
        cpu_seconds: CPU time of each process [120 s]: all the student's cells together, and
            each test on its own.
        nproc: processes the sandbox's user may have [64].
        fsize_mb: largest file the student's code may write [16 MiB].
        cell_timeout: wall-clock seconds for one student cell [60 s].
        test_timeout: wall-clock seconds for one test cell [20 s]: correct code passes a test
            in well under a second, so this only ends code that hangs.
        start_timeout: seconds for the sandbox to start and import numpy and nnlib [120 s].
        nofile: open files (descriptors) of each process [256].
        budget: wall-clock seconds for the whole submission, every notebook, every restart
            after a fault [600 s]; what is left when it runs out is not run, and the CSV's
            reason names those tests. Faults are not counted: each costs only its own cell.
    """

    memory_mb: int = 2048
    cpu_seconds: int = 120
    nproc: int = 64
    fsize_mb: int = 16
    cell_timeout: float = 60.0
    test_timeout: float = 20.0
    start_timeout: float = 120.0
    budget: float = 600.0
    nofile: int = 256

    def tmpfs_bytes(self) -> tuple[int, int]:
        """Sizes of the sandbox's ``/tmp`` and ``/dev/shm``: a quarter and a sixteenth of the
        memory limit. A tmpfs is memory that no process's address-space limit counts, so
        both are kept well inside that limit (unsized, each could take half the machine's RAM).
        """
        mib = 1024 * 1024
        return self.memory_mb * mib // 4, self.memory_mb * mib // 16


class SandboxUnavailable(RuntimeError):
    """Raised when bubblewrap is missing or cannot create a sandbox on this machine."""


def _binds() -> list[str]:
    """Read-only binds: the system, the Python installation, the venv and nnlib itself."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    seen = set()
    # The two package folders alone, never the checkout around them (it may be the course).
    packages = [os.path.dirname(importlib.util.find_spec(name).origin) for name in PACKAGES]
    for path in (sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"], *packages):
        path = os.path.realpath(path)
        if path.startswith("/usr/") or any(path.startswith(s + "/") or path == s for s in seen):
            continue
        seen.add(path)
        args += [*_parents(path), "--ro-bind", path, path]
    # The venv's python is a symlink into the base installation; keep its own path working.
    exe = os.path.abspath(sys.executable)
    if os.path.dirname(exe) not in seen and not exe.startswith("/usr/"):
        args += ["--ro-bind", os.path.dirname(exe), os.path.dirname(exe)]
    return args


def _parents(path: str) -> list[str]:
    """Create ``path``'s ancestors traversable (bwrap makes them 0700 otherwise)."""
    args = []
    parts = path.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        args += ["--perms", "0755", "--dir", "/" + "/".join(parts[:i])]
    return args


def environment(
    rfd: int,
    wfd: int,
    uid: int | None,
    fds: int | None = None,
    limits: Limits | None = None,
    nnlib_path: str | None = None,
) -> dict[str, str]:
    """The whole environment the worker sees (nothing is inherited from the grader).

    ``NNLIB_GRADER_TMPFS`` gives the zygote the sizes of the tmpfs mounts it makes for each
    child; ``NNLIB_GRADER_NNLIB`` (without a sandbox only) a folder to put first on the path.
    """
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "IPYTHONDIR": "/tmp/.ipython",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "NNLIB_GRADER_RFD": str(rfd),
        "NNLIB_GRADER_WFD": str(wfd),
    }
    if fds is not None:
        env["NNLIB_GRADER_FDS"] = str(fds)
    if uid is not None:
        env["NNLIB_GRADER_UID"] = str(uid)
    tmp, shm = (limits or Limits()).tmpfs_bytes()
    env["NNLIB_GRADER_TMPFS"] = f"{tmp},{shm}"
    if nnlib_path is not None:
        env["NNLIB_GRADER_NNLIB"] = nnlib_path
    return env


def command(
    rfd: int,
    wfd: int,
    uid: int | None,
    unsafe: bool = False,
    fds: int | None = None,
    module: str = "nngrader.sandbox.worker",
    limits: Limits | None = None,
    student_nnlib: str | None = None,
) -> tuple[list, dict]:
    """The argv and environment that start one worker or judge (sandboxed unless ``unsafe``).

    ``fds`` is a Unix socket over which the grader passes each test's link (see
    :mod:`nngrader.sandbox.judge`). ``student_nnlib`` is the folder of an nnlib package with
    the assignment's forbidden names stubbed (:mod:`nngrader.host.stubs`): bound read-only
    over nnlib's own folder, so the real one does not exist in the sandbox (without a
    sandbox it only comes first on the path).
    """
    limits = limits or Limits()
    python = [os.path.abspath(sys.executable), "-I", "-m", module]
    if unsafe:
        parent = os.path.dirname(student_nnlib) if student_nnlib else None
        return python, environment(rfd, wfd, uid, fds, limits, parent)
    env = environment(rfd, wfd, uid, fds, limits)
    tmp, shm = limits.tmpfs_bytes()
    overlay = []
    if student_nnlib is not None:
        from nngrader.host.stubs import nnlib_dir

        overlay = ["--ro-bind", student_nnlib, nnlib_dir()]
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        check_available()  # raises SandboxUnavailable: bubblewrap is not installed
    argv = [
        bwrap,
        "--die-with-parent",
        "--new-session",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--clearenv",
        # The private /tmp first: a venv or checkout under /tmp is bound on top of it, not hidden.
        "--perms",
        "1777",
        "--size",
        str(tmp),
        "--tmpfs",
        "/tmp",
        *_binds(),
        *overlay,
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(shm),
        "--tmpfs",
        "/dev/shm",
        "--proc",
        "/proc",
        "--perms",
        "0777",
        "--dir",
        "/tmp/work",
        "--chdir",
        "/tmp/work",
    ]
    for key, value in {**env, "NNLIB_GRADER_SANDBOXED": "1"}.items():
        argv += ["--setenv", key, value]
    return [*argv, *python], {}


def set_limits(limits: Limits, nproc: int | None = None) -> None:
    """Apply the limits to the current process (called between fork and exec)."""
    mib = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mib,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.fsize_mb * mib,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = limits.nofile if hard == resource.RLIM_INFINITY else min(limits.nofile, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def user_nproc(limits: Limits, jobs: int) -> int:
    """RLIMIT_NPROC for a non-root grader: the user's own processes count against it too."""
    try:
        mine = sum(
            1
            for pid in os.listdir("/proc")
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == os.getuid()
        )
    except OSError:
        mine = 512
    return mine + 16 + limits.nproc * jobs


@functools.cache
def check_available() -> None:
    """Start one empty sandbox; raise :class:`SandboxUnavailable` saying why if it fails.

    The message names this machine: a dask worker elsewhere may be the one without it.
    """
    where = f"on {socket.gethostname()}: "
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            where + "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap` "
            "(Debian/Ubuntu)"
        )
    argv, _ = command(0, 1, None)
    probe = argv[: argv.index(os.path.abspath(sys.executable))]
    probe += [os.path.abspath(sys.executable), "-I", "-c", "import nnlib, numpy"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"{where}bubblewrap could not start: {exc}") from exc
    if done.returncode != 0:
        raise SandboxUnavailable(
            f"{where}bubblewrap could not create a sandbox (user namespaces disabled?): "
            + (done.stderr.strip().splitlines() or ["no message"])[-1]
        )
