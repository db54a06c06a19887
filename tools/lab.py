"""Open JupyterLab on the student's working copy of the assignments: ``make lab``.

The released notebooks in ``assignments/`` are tracked build outputs; a student who saved into
them would dirty the course (and an instructor grading in the same checkout would grade against
the edited release). So the lab opens ``work/<name>/``, a git-ignored copy made from
``assignments/<name>/`` the first time and never overwritten afterwards (delete the folder to
start an assignment afresh).

The lab runs with ``tools/lab/`` as its Jupyter configuration directory: nbgrader's
instructor panels (Formgrader, Create Assignment), the exchange-based ones (Assignment List,
Courses), which only show errors without an exchange, and nbgrader's menu, which only opens
those, are disabled, front end and server alike; the Validate button stays. The server's
working directory is the repository, so Validate reads the course's ``nbgrader_config.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from make_assignments import configured_assignments  # noqa: E402

CONFIG_DIR = ROOT / "tools" / "lab"
WORK = ROOT / "work"


def working_copy(names: list[str], *, root: Path = ROOT, work: Path = WORK) -> list[Path]:
    """Copy each ``assignments/<name>/`` to ``work/<name>/`` unless that folder exists.

    Returns:
        The folders copied now (those already there are left exactly as they are).
    """
    copied = []
    for name in names:
        target = work / name
        if target.exists():
            continue
        source = root / "assignments" / name
        if not source.is_dir():
            raise SystemExit(f"no release assignments/{name}: run `make assignments` first")
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        copied.append(target)
    return copied


def lab_environment(env: dict[str, str] | None = None, work: Path = WORK) -> dict[str, str]:
    """The environment of the lab: its own Jupyter config directory (read only), the lab's
    settings and workspaces kept beside the working copy (so nothing tracked is written), the
    venv on PATH."""
    env = dict(os.environ if env is None else env)
    env["JUPYTER_CONFIG_DIR"] = str(CONFIG_DIR)
    env["JUPYTERLAB_SETTINGS_DIR"] = str(work / ".jupyterlab" / "user-settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(work / ".jupyterlab" / "workspaces")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def lab_command(work: Path = WORK, *extra: str) -> list[str]:
    """The command that starts JupyterLab on ``work`` (as root too: containers often are)."""
    root = ["--ServerApp.allow_root=True"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={work}", *root, *extra]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments (default: every one)")
    args, extra = parser.parse_known_args(argv)
    names = args.names or configured_assignments()
    for folder in working_copy(names):
        print(f"created your working copy {folder.relative_to(ROOT)}/")
    os.chdir(ROOT)
    command = lab_command(WORK, *extra)
    os.execve(command[0], command, lab_environment(work=WORK))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
