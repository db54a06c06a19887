"""What the grader takes from a class folder: regular files only, never through a link.

A class folder (or an LMS zip of one) is untrusted input read by the grading host as root. So
nothing in it is followed or opened unless it is what it claims to be: a student folder is a
real directory, a notebook a regular file no larger than the course's ``max_file_size``,
opened without following links at any step of its path (``O_NOFOLLOW``) and without blocking
(``O_NONBLOCK``: a FIFO never holds the grader). Anything else (a symbolic link, a FIFO, a
socket, a device) gets its student a reason and is never read. A zip member whose path leaves
the folder (``..``, an absolute path) is skipped, with a reason for that member only.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field

log = logging.getLogger("nngrader")
#: Folders and files an editor or an archiver leaves behind; never a student's.
IGNORED_PREFIXES = (".", "__MACOSX")
#: Folder levels below a student's folder searched for the notebook.
MAX_DEPTH = 3


class Refused(ValueError):
    """A file the grader will not read; the message says why (for the CSV)."""


@dataclass
class Classroom:
    """The class found in a submissions folder or zip.

    ``folders`` maps each student id to a real directory; ``refused`` maps a student id whose
    entry is not one (a link, a FIFO, ...) to the reason; ``notes`` holds per-student notes
    found while unpacking (a zip member skipped). ``close()`` removes an unpacked zip.
    """

    folders: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    scratch: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.cleanup()
            self.scratch = None


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a regular file" if stat.S_ISREG(mode) else "a special file"


def _ignored(name: str) -> bool:
    return name.startswith(IGNORED_PREFIXES)


def classroom(submissions: str, assignment: str, max_bytes: int) -> Classroom:
    """The student folders of ``submissions`` (a folder, or a zip that is unpacked first).

    A zip is unwrapped when it holds one folder that wraps the class (``class/<id>/...``),
    but not when that one folder is a student's own (it holds a notebook, or nbgrader's
    ``<id>/<assignment>/`` folder).
    """
    room = Classroom()
    skipped: list[tuple[list[str], str]] = []
    if zipfile.is_zipfile(submissions):
        room.scratch = tempfile.TemporaryDirectory(prefix="nnlib-grader-zip-")
        try:
            skipped = unpack(submissions, room.scratch.name, max_bytes)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            room.close()
            raise SystemExit(f"cannot unpack the submissions zip {submissions}: {exc}") from None
        submissions = room.scratch.name
        entries = [e for e in os.listdir(submissions) if not _ignored(e)]
        only = os.path.join(submissions, entries[0]) if len(entries) == 1 else ""
        if only and not os.path.islink(only) and os.path.isdir(only):
            if _wraps_class(only, assignment):
                skipped = [(parts[1:], note) for parts, note in skipped if parts[:1] == entries]
                submissions = only
    try:
        top = os.lstat(submissions)
    except OSError:
        raise SystemExit(f"submissions folder not found: {submissions}") from None
    if not stat.S_ISDIR(top.st_mode):
        raise SystemExit(f"submissions is {kind(top.st_mode)}, not a folder or zip: {submissions}")
    with os.scandir(submissions) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if _ignored(entry.name):
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            room.folders[entry.name] = entry.path
        elif not stat.S_ISREG(mode):  # a link or a special file where a folder belongs
            room.refused[entry.name] = f"{entry.name} is {kind(mode)}, not a folder: not followed"
    for parts, note in skipped:  # each skipped member: a note for its student, if any
        owner = parts[0] if parts else ""
        if owner in room.folders:
            room.notes.setdefault(owner, []).append(note)
        else:
            log.warning("%s", note)
    return room


def _wraps_class(folder: str, assignment: str) -> bool:
    """Whether the zip's one top folder wraps the class rather than being one student's."""
    with os.scandir(folder) as it:
        entries = [e for e in it if not _ignored(e.name)]
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and entry.name.endswith(".ipynb"):
            return False  # <id>/<notebook>.ipynb: a student's folder
        if entry.is_dir(follow_symlinks=False) and entry.name == assignment:
            return False  # nbgrader's <id>/<assignment>/<notebook>.ipynb
    return any(e.is_dir(follow_symlinks=False) for e in entries)


def unpack(archive: str, dest: str, max_bytes: int) -> list[tuple[list[str], str]]:
    """Extract the notebooks of a zip into ``dest``; every other member only makes its folder.

    Only ``.ipynb`` members are written (nothing else is graded), each at most ``max_bytes``
    (the declared size is checked first, the bytes written are counted too). A member whose
    path is absolute or climbs out with ``..`` is skipped, and so is one that cannot be
    written; returns each skipped member's path components and the reason.
    """
    skipped = []
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            name = info.filename
            parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
            if name.startswith(("/", "\\")) or ".." in parts or name[1:2] == ":":
                note = f"zip member {_short(name)} skipped: its path leaves the class folder"
                skipped.append((parts, note))
                continue
            if not parts or any(_ignored(p) for p in parts):
                continue
            folder = os.path.join(dest, *(parts if info.is_dir() else parts[:-1]))
            try:
                os.makedirs(folder, exist_ok=True)
                if info.is_dir() or not parts[-1].endswith(".ipynb"):
                    continue
                if info.file_size > max_bytes:
                    raise Refused(f"{_kb(info.file_size)}, over the course's {_kb(max_bytes)}")
                _copy_member(z, info, os.path.join(folder, parts[-1]), max_bytes)
            except (OSError, Refused, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
                skipped.append((parts, f"zip member {_short(name)} skipped: {exc}"))
    return skipped


def _copy_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, max_bytes: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    written = 0
    with os.fdopen(fd, "wb") as out, z.open(info) as member:
        while chunk := member.read(1 << 16):
            written += len(chunk)
            if written > max_bytes:
                raise Refused(f"more than the course's {_kb(max_bytes)}")
            out.write(chunk)


def find_notebook(folder: str, name: str, only: bool) -> tuple[str | None, list[str], str | None]:
    """The student's copy of notebook ``name`` under ``folder``, never through a link.

    Returns ``(path or None, notes, refusal)``: with ``only``, a lone notebook of another name
    is taken (and noted). ``refusal`` is set when the one candidate is not a regular file (a
    link, a FIFO, ...): it is never opened, and the student is not graded, with that reason.
    """
    found: list[tuple[str, int]] = []
    for root, dirs, files in os.walk(folder):  # (os.walk never descends into a linked folder)
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        if root[len(folder) :].count(os.sep) >= MAX_DEPTH:
            dirs[:] = []
        for f in sorted(files):
            if f.endswith(".ipynb") and not _ignored(f):
                path = os.path.join(root, f)
                found.append((path, os.lstat(path).st_mode))
        for d in list(dirs):  # a linked folder named like a notebook is reported, not walked
            mode = os.lstat(os.path.join(root, d)).st_mode
            if d.endswith(".ipynb") and not stat.S_ISDIR(mode):
                found.append((os.path.join(root, d), mode))
    exact = [(p, m) for p, m in found if os.path.basename(p) == f"{name}.ipynb"]
    pick, notes = (exact[0] if exact else None), []
    if pick is None and only and len(found) == 1:
        pick = found[0]
        notes.append(f"notebook {os.path.basename(pick[0])} graded as {name}.ipynb")
    if pick is None:
        return None, notes, None
    path, mode = pick
    if not stat.S_ISREG(mode):
        shown = os.path.relpath(path, folder)
        return None, notes, f"{shown} is {kind(mode)}, not a regular file: not followed"
    return path, notes, None


def read_regular(folder: str, relpath: str, max_bytes: int) -> bytes:
    """The bytes of ``folder/relpath``, opened without following a link at any step.

    Every path component is opened relative to the one before with ``O_NOFOLLOW``; the file
    must be a regular file of at most ``max_bytes`` (checked on the open descriptor, and the
    read stops there too). Raises :class:`Refused` with the reason otherwise.
    """
    parts = [p for p in relpath.split(os.sep) if p]
    if not parts or ".." in parts:
        raise Refused(f"{relpath}: not a path inside the student's folder")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    fd = os.open(folder, flags | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
            except OSError as exc:
                raise _refusal(relpath, exc) from None
            os.close(fd)
            fd = nxt
        try:
            nxt = os.open(parts[-1], flags, dir_fd=fd)
        except OSError as exc:
            raise _refusal(relpath, exc) from None
        os.close(fd)
        fd = nxt
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{relpath} is {kind(info.st_mode)}, not a regular file: not followed")
        if info.st_size > max_bytes:
            raise Refused(
                f"{relpath} is {_kb(info.st_size)}, over the course's max_file_size "
                f"of {_kb(max_bytes)}: not read"
            )
        chunks, total = [], 0
        while total <= max_bytes and (chunk := os.read(fd, min(1 << 20, max_bytes + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise Refused(f"{relpath} grew past the course's max_file_size of {_kb(max_bytes)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _refusal(relpath: str, exc: OSError) -> Refused:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # O_NOFOLLOW met a link
        return Refused(f"{relpath} is reached through a symbolic link: not followed")
    return Refused(f"{relpath} cannot be opened ({exc.strerror})")


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f} kB"


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
