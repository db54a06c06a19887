"""A throw-away PostgreSQL server on 127.0.0.1 for a test (Debian's ``postgresql`` package).

:func:`server` runs ``initdb`` in a temporary folder and starts ``postgres`` on a free port of
127.0.0.1 as an unprivileged user (``nobody`` when the test runs as root, who may not run
PostgreSQL; else the test's own user), with trust authentication for the superuser
``nngrader``, and stops it and deletes the folder afterwards. Without the package the test is
skipped with the reason (``.ci/run`` installs it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

USER = "nngrader"


def _bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip(
            "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)"
        )
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server() -> Iterator[str]:
    """Start a server; yield the URL prefix ``postgresql://nngrader@127.0.0.1:<port>``."""
    bin_dir = _bin()
    folder = tempfile.mkdtemp(prefix="nngrader-pg-")
    os.chmod(folder, 0o755)
    run_as: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        run_as = ["runuser", "-u", "nobody", "--"]
    data, port = os.path.join(folder, "data"), _free_port()
    log = os.path.join(folder, "server.log")
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    subprocess.run(
        [*run_as, f"{bin_dir}/initdb", "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        env=env,
        cwd=folder,
    )
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=60"
    subprocess.run(
        [*run_as, f"{bin_dir}/pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
        env=env,
        cwd=folder,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [f"{bin_dir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        ).returncode:
            if time.monotonic() > deadline:
                with open(log) as f:
                    raise RuntimeError(f"PostgreSQL did not start: {f.read()[-2000:]}")
            time.sleep(0.2)
        yield f"postgresql://{USER}@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*run_as, f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
            capture_output=True,
            env=env,
            cwd=folder,
        )
        shutil.rmtree(folder, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; return its URL."""
    import psycopg

    with psycopg.connect(f"{url}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{url}/{name}"
