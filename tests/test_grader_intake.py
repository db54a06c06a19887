"""What the grading host takes from a class folder or zip: regular files only, never a link.

These run no student code: they check :mod:`nngrader.host.intake` directly, on the files a
hostile (or careless) class folder holds. ``test_grader_batch.py`` grades such a class.
"""

from __future__ import annotations

import os
import socket
import threading
import zipfile

import pytest

from nngrader.host import intake

pytestmark = pytest.mark.grading
MB = 1_000_000


def write(path, text: str = "{}") -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def in_time(call, seconds: float = 10.0):
    """``call()``'s result; fails (instead of hanging the suite) if it blocks."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture
def secret(tmp_path):
    return write(tmp_path / "host" / "solutions.ipynb", '{"SECRET_FIRST_LINE": 1}')


def test_a_linked_student_folder_is_refused_not_followed(tmp_path, secret):
    subs = tmp_path / "subs"
    write(subs / "alice" / "ps1.ipynb")
    os.symlink(os.path.dirname(secret), subs / "mallory")
    room = intake.classroom(str(subs), "ps1", 10 * MB)
    assert sorted(room.folders) == ["alice"]
    assert room.refused["mallory"] == "mallory is a symbolic link, not a folder: not followed"


def test_a_linked_notebook_is_refused_not_followed(tmp_path, secret):
    folder = tmp_path / "mallory"
    os.makedirs(folder)
    os.symlink(secret, folder / "ps1.ipynb")
    path, _, refusal = intake.find_notebook(str(folder), "ps1", only=True)
    assert path is None
    assert refusal == "ps1.ipynb is a symbolic link, not a regular file: not followed"
    with pytest.raises(intake.Refused, match="symbolic link"):
        intake.read_regular(str(folder), "ps1.ipynb", 10 * MB)


def test_a_notebook_under_a_linked_folder_is_not_read(tmp_path, secret):
    folder = tmp_path / "mallory"
    os.makedirs(folder)
    os.symlink(os.path.dirname(secret), folder / "ps1")
    path, _, refusal = intake.find_notebook(str(folder), "solutions", only=True)
    assert path is None and refusal is None  # os.walk does not enter the link
    with pytest.raises(intake.Refused, match="symbolic link") as exc:
        intake.read_regular(str(folder), os.path.join("ps1", "solutions.ipynb"), 10 * MB)
    assert "SECRET" not in str(exc.value)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    folder = tmp_path / "mallory"
    os.makedirs(folder)
    os.mkfifo(folder / "ps1.ipynb")
    path, _, refusal = in_time(lambda: intake.find_notebook(str(folder), "ps1", only=True))
    assert path is None and refusal == "ps1.ipynb is a FIFO, not a regular file: not followed"
    with pytest.raises(intake.Refused, match="a FIFO"):
        in_time(lambda: intake.read_regular(str(folder), "ps1.ipynb", 10 * MB))


def test_a_socket_and_a_device_are_refused(tmp_path):
    folder = tmp_path / "mallory"
    os.makedirs(folder)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "ps1.ipynb"))
    try:
        path, _, refusal = intake.find_notebook(str(folder), "ps1", only=True)
        assert path is None and "a socket" in refusal
    finally:
        sock.close()
    os.remove(folder / "ps1.ipynb")
    try:
        os.mknod(folder / "ps1.ipynb", 0o600 | 0o020000, os.makedev(1, 3))  # /dev/null's kind
    except PermissionError:
        pytest.skip("creating a device needs root")
    path, _, refusal = intake.find_notebook(str(folder), "ps1", only=True)
    assert path is None and "a device" in refusal
    with pytest.raises(intake.Refused, match="a device"):
        intake.read_regular(str(folder), "ps1.ipynb", 10 * MB)


def test_a_notebook_over_max_file_size_is_not_read(tmp_path):
    folder = tmp_path / "alice"
    os.makedirs(folder)
    with open(folder / "ps1.ipynb", "wb") as f:
        f.truncate(22 * MB)  # sparse: 22 MB that cost no disk
    with pytest.raises(intake.Refused, match="22,000 kB, over the course's max_file_size"):
        intake.read_regular(str(folder), "ps1.ipynb", 10 * MB)
    assert intake.read_regular(str(folder), "ps1.ipynb", 30 * MB)[:4] == b"\0\0\0\0"


def make_zip(path, members: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in members.items():
            z.writestr(zipfile.ZipInfo(name), text)
    return str(path)


def test_a_zip_member_that_leaves_the_folder_is_skipped_alone(tmp_path):
    archive = make_zip(
        tmp_path / "class.zip",
        {
            "class/alice/ps1.ipynb": "{}",
            "class/bob/ps1.ipynb": "{}",
            "class/bob/../../../escaped.ipynb": "{}",
            "/etc/absolute.ipynb": "{}",
        },
    )
    room = intake.classroom(archive, "ps1", 10 * MB)
    try:
        assert sorted(room.folders) == ["alice", "bob"]
        assert room.notes["bob"] == [
            "zip member 'class/bob/../../../escaped.ipynb' skipped: its path leaves the class "
            "folder"
        ]
        assert "alice" not in room.notes
        scratch = os.path.dirname(room.folders["alice"])
        found = [f for _, _, files in os.walk(os.path.dirname(scratch)) for f in files]
        assert "escaped.ipynb" not in found and "absolute.ipynb" not in found
    finally:
        room.close()
    assert not os.path.exists(tmp_path / "escaped.ipynb")


def test_an_oversized_zip_member_is_skipped_with_a_reason(tmp_path):
    archive = make_zip(
        tmp_path / "class.zip",
        {"class/alice/ps1.ipynb": "{}", "class/bob/ps1.ipynb": "x" * 2000},
    )
    room = intake.classroom(archive, "ps1", 1000)
    try:
        assert sorted(room.folders) == ["alice", "bob"]
        assert "skipped: 2 kB, over the course's 1 kB" in room.notes["bob"][0]
    finally:
        room.close()


@pytest.mark.parametrize(
    "members, expected",
    [
        ({"alice/ps1.ipynb": "{}"}, ["alice"]),
        ({"alice/ps1/ps1.ipynb": "{}"}, ["alice"]),  # nbgrader's layout, one student
        ({"class/alice/ps1.ipynb": "{}"}, ["alice"]),  # a wrapper around one student
        ({"class/alice/ps1.ipynb": "{}", "class/bob/ps1/ps1.ipynb": "{}"}, ["alice", "bob"]),
        ({"alice/ps1.ipynb": "{}", "bob/ps1.ipynb": "{}"}, ["alice", "bob"]),
    ],
    ids=["flat", "nbgrader-layout", "wrapped", "wrapped-class", "class"],
)
def test_a_zip_of_one_student_grades_that_student(tmp_path, members, expected):
    room = intake.classroom(make_zip(tmp_path / "z.zip", members), "ps1", 10 * MB)
    try:
        assert sorted(room.folders) == expected
    finally:
        room.close()
