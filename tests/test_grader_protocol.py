"""The grader's protocol (nngrader.protocol): every message is checked by its receiver.

A sandboxed process speaks for student code, so the host reads each of its lines as hostile:
too long, too deep, not JSON, fields of the wrong type or size. Each must give a clear
:class:`ProtocolError` (a fault of that cell), never a ``RecursionError``, an unbounded
allocation or a crash of the host. The run result is one record, checked when read back.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nngrader import protocol
from nngrader.host import execute
from nngrader.host.containment import Limits
from nngrader.protocol import CellReply, ProtocolError, RunResult, StoredCell
from tests.strategies import FAST, json_values, protocol_messages


def nested(depth: int) -> bytes:
    return b'{"status": "ok", "outputs": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [protocol.DEPTH_LIMIT + 1, 10_000, 1_000_000])
def test_a_deeply_nested_line_is_a_protocol_error_not_a_recursion_error(depth):
    with pytest.raises(ProtocolError, match="nested"):
        protocol.decode_line(nested(depth))


def test_a_line_over_the_limit_is_refused_before_it_is_parsed():
    start = time.perf_counter()
    with pytest.raises(ProtocolError, match="bytes"):
        protocol.decode_line(b'"' + b"x" * 2_000 + b'"', limit=1_000)
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize(
    "line", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"a": NaN', b"", b"null"]
)
def test_lines_that_are_not_objects_are_protocol_errors(line):
    with pytest.raises(ProtocolError):
        protocol.decode_line(line)


def test_replies_with_fields_of_the_wrong_type_are_refused():
    for message in [
        {"status": "ok", "outputs": "not a list"},
        {"status": "ok", "outputs": [{"output_type": "stream", "name": "stdout", "text": 7}]},
        {"status": "ok", "outputs": [{"output_type": "bogus"}]},
        {"status": "ok", "tamper": "not a list"},
        {"status": "error", "error": {"ename": ["x"], "evalue": "y"}},
        {"status": "spawned", "pid": "12"},
        {"status": "ok", "lost": "yes"},
        {"status": "who knows"},
    ]:
        with pytest.raises(ProtocolError):
            protocol.reply(message)


def test_streams_are_cut_on_the_host_whatever_the_sandbox_sent():
    flood = "x" * (5 * protocol.STREAM_LIMIT)
    reply = protocol.reply(
        {"status": "ok", "outputs": [{"output_type": "stream", "name": "stderr", "text": flood}]}
    )
    text = reply.outputs[0]["text"]
    assert len(text) < protocol.STREAM_LIMIT + 100 and "truncated" in text


def test_notes_and_messages_are_bounded():
    reply = protocol.reply(
        {
            "status": "error",
            "error": {"ename": "E" * 1_000, "evalue": "v" * 100_000},
            "tamper": ["t" * 10_000] * 10_000,
            "reference": ["r"] * 10_000,
        }
    )
    assert len(reply.error.ename) < 200 and len(reply.error.evalue) < 3_000
    assert len(reply.tamper) == protocol.NOTES_LIMIT and all(len(t) < 400 for t in reply.tamper)
    assert len(reply.reference) == protocol.NOTES_LIMIT


def test_commands_round_trip_through_the_wire():
    for record in [
        protocol.Hello(("numpy", "nnlib")),
        protocol.RunCell(3, "test", "assert True", "t", True, True, False, ("import numpy",)),
        protocol.Reset(),
        protocol.Spawn(),
        protocol.Status(12, 1.5),
        protocol.Kill(12),
        protocol.Quit(),
    ]:
        line = protocol.encode_line(protocol.to_wire(record, "n" * 32))
        message = protocol.decode_line(line.rstrip(b"\n"))
        assert protocol.command(message) == record
        assert message["nonce"] == "n" * 32


def test_the_run_result_is_one_record_checked_when_read_back(tmp_path):
    result = RunResult("k", {"nb": {0: StoredCell("h", ({"output_type": "error"},))}}, ["why"])
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result.to_json()))
    assert RunResult.load(str(path)) == result
    for broken in [
        {"key": "k", "notebooks": {"nb": {"cells": {"0": {"hash": "h", "outputs": {}}}}}},
        {"key": "k", "notebooks": {"nb": {"cells": {"x": {"hash": "h", "outputs": []}}}}},
        {"key": "k", "notebooks": [], "reasons": []},
        {"key": 5, "notebooks": {}},
        [1, 2],
    ]:
        path.write_text(json.dumps(broken))
        with pytest.raises(ProtocolError):
            RunResult.load(str(path))
    path.write_bytes(b"[" * 1_000_000 + b"]" * 1_000_000)
    with pytest.raises(ProtocolError):
        RunResult.load(str(path))


class _Pipe(execute.Channel):
    """The host's end of a sandboxed process whose replies the test writes itself."""

    def returncode(self, timeout: float) -> int | None:
        return None

    def _end(self) -> None:
        pass


@pytest.mark.parametrize(
    "line, reason",
    [
        (nested(1_000_000) + b"\n", "nested"),
        (b"{" * 100 + b"\n", "not JSON"),
    ],
)
def test_the_hosts_reader_turns_a_hostile_reply_into_a_fault_of_the_cell(line, reason):
    channel = _Pipe(Limits())
    writer = threading.Thread(target=_write_all, args=(channel.res_w, line), daemon=True)
    writer.start()
    try:
        start = time.monotonic()
        with pytest.raises(execute.Fault, match=reason):
            channel._read_line(time.monotonic() + 30)
        assert time.monotonic() - start < 10
    finally:
        os.close(channel.res_w)
        channel.close()
        writer.join(5)


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:  # the reader gave up and closed its end
        pass


@FAST
@given(message=protocol_messages())
def test_fuzz_the_reply_reader_only_ever_raises_protocol_errors(message):
    line = json.dumps(message).encode()
    try:
        decoded = protocol.decode_line(line)
        record = protocol.reply(decoded)
    except ProtocolError:
        return
    if isinstance(record, CellReply):
        assert all(type(o) is dict for o in record.outputs)
        assert all(type(t) is str for t in record.tamper + record.reference)


@FAST
@given(value=json_values, junk=st.binary(max_size=200))
def test_fuzz_any_bytes_decode_to_an_object_or_a_protocol_error(value, junk):
    for line in (json.dumps(value).encode(), junk, json.dumps(value).encode() + junk):
        try:
            message = protocol.decode_line(line)
        except ProtocolError:
            continue
        assert type(message) is dict
        for parse in (protocol.reply, protocol.command):
            try:
                parse(message)
            except ProtocolError:
                pass


@FAST
@given(
    message=protocol_messages(),
    extra=st.dictionaries(
        st.sampled_from(["ok", "exc", "out", "err", "back", "sync", "op", "h", "name", "args"]),
        json_values,
    ),
)
def test_fuzz_the_link_readers_only_ever_raise_protocol_errors(message, extra):
    for parse in (protocol.link_reply, protocol.link_request):
        try:
            record = parse({**message, **extra})
        except ProtocolError:
            continue
        assert record is not None


def test_a_link_reply_too_deep_breaks_the_link_not_the_judge():
    from nngrader.sandbox import remote

    left, right = socket.socketpair()
    try:
        left.sendall(b'{"ok": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n")
        with pytest.raises(remote.RemoteError, match="nested"):
            remote.Channel(right).receive()
    finally:
        left.close()
        right.close()
