"""The transfer rules between the judge and the student's side (nngrader.sandbox.remote).

The student's side runs in a thread here (the grader runs it in the forked child of the
student's worker); what matters is what crosses the socket and how the judge treats it.
"""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest

from nngrader.sandbox import remote
from nnlib.modules import Parameter


class _Streams:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def text(self):
        return "", ""


STUDENT = """
import numpy as np

class Sneaky(np.ndarray):
    pass

def sneaky(x):
    return np.asarray(x).view(Sneaky)

def plain(x):
    return 2 * x

def mutate(x):
    x[0] = 99.0
    return None

class Value:
    def __init__(self, data):
        self.data = data
        self.grad = 0.0
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data)
    __radd__ = __add__
    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data)

def step(params, lr):
    for p in params:
        p.value -= lr * p.grad

def grads(params):
    return [p.grad.copy() for p in params]
"""


@pytest.fixture
def link():
    namespace: dict = {}
    exec(STUDENT, namespace)
    judge_end, student_end = socket.socketpair()
    server = remote.StudentServer(student_end, namespace, _Streams, lambda: {"done": True})
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield remote.JudgeLink(judge_end), namespace
    judge_end.close()
    thread.join(5)


def test_data_crosses_by_value_with_exact_types(link):
    judge, _ = link
    plain = judge.names(["plain"])["plain"]
    x = np.arange(4.0)
    out = plain(x)
    assert type(out) is np.ndarray and out.dtype == np.float64 and list(out) == [0, 2, 4, 6]
    assert type(plain(3)) is int and type(plain(1.5)) is float
    assert plain((1, 2)) == (1, 2, 1, 2) and type(plain((1, 2))) is tuple
    assert type(plain(np.float32(1.5))) is np.float32
    assert plain(1 + 2j) == 2 + 4j and plain(b"ab") == b"abab"


def test_an_ndarray_subclass_arrives_as_a_proxy(link):
    judge, _ = link
    sneaky = judge.names(["sneaky"])["sneaky"]
    out = sneaky(np.arange(3.0))
    assert not isinstance(out, np.ndarray)
    assert isinstance(out, remote.Proxy) and type(out).__name__ == "Sneaky"


def test_operator_overloading_and_attributes_are_forwarded(link):
    judge, _ = link
    Value = judge.names(["Value"])["Value"]
    x, y, z = Value(2.0), Value(-3.0), Value(4.0)
    out = (x + y) * z
    assert out.data == -4.0 and type(out.data) is float
    assert (1.0 + x).data == 3.0  # reflected
    out.grad = 5.0
    assert out.grad == 5.0
    assert out is not x and judge.names(["Value"])["Value"] is Value  # stable identity


def test_array_arguments_mutated_in_place_are_written_back(link):
    judge, _ = link
    mutate = judge.names(["mutate"])["mutate"]
    x = np.zeros(3)
    mutate(x)
    assert x[0] == 99.0


def test_parameters_are_mirrored_both_ways(link):
    judge, _ = link
    step, grads = (judge.names(["step", "grads"])[k] for k in ("step", "grads"))
    params = [Parameter(np.ones(2)), Parameter(np.zeros(3))]
    params[0].grad = np.array([1.0, 2.0])
    step(params, 0.5)
    assert np.allclose(params[0].value, [0.5, 0.0])
    params[1].grad = np.full(3, 7.0)  # changed on the judge's side: seen by the student's
    assert np.allclose(grads(params)[1], 7.0)


def test_judge_objects_that_are_not_data_are_refused(link):
    judge, _ = link
    plain = judge.names(["plain"])["plain"]
    with pytest.raises(TypeError, match="cannot be passed"):
        plain(lambda: 1)


def test_dunder_attributes_are_not_forwarded(link):
    judge, _ = link
    Value = judge.names(["Value"])["Value"]
    v = Value(1.0)
    with pytest.raises(AttributeError):
        v.__array_interface__  # noqa: B018
    assert np.asarray([1.0]).dtype == np.float64


def _judge_with_raw_reply(reply: bytes):
    """A judge whose student side answers the first request with ``reply``."""
    judge_end, student_end = socket.socketpair()

    def answer():
        student_end.recv(1 << 20)
        try:
            student_end.sendall(reply)
        except OSError:
            pass

    threading.Thread(target=answer, daemon=True).start()
    return remote.JudgeLink(judge_end), student_end


@pytest.mark.parametrize(
    "reply",
    [
        b"this is not json\n",
        b"[1, 2]\n",
        b'{"out": "", "err": "", "back": [], "ok": 1.5}\n',  # a bare float: not in the rules
        b'{"out": "", "err": "", "back": [], "ok": {"$": "a", "dtype": "|O8", "shape": [1],'
        b' "data": "AAAAAAAAAAA="}}\n',
        b'{"out": "", "err": "", "back": [], "ok": {"$": "a", "dtype": "<f8", "shape": [5],'
        b' "data": "AAAAAAAAAAA="}}\n',
        b'{"out": "", "err": "", "back": [], "ok": {"$": "h", "id": "x", "type": 3}}\n',
        b'{"out": "", "err": "", "back": []}\n',
        b'{"out": "", "err": "", "back": [], "ok": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
        b'{"status": "ok", "nonce": "forged"}\n',
    ],
    ids=[
        "not-json",
        "not-object",
        "bare-float",
        "object-dtype",
        "shape-mismatch",
        "bad-handle",
        "no-result",
        "too-deep",
        "forged-verdict",
    ],
)
def test_a_malformed_reply_is_an_error_and_breaks_the_link(reply):
    judge, peer = _judge_with_raw_reply(reply)
    with pytest.raises(remote.RemoteError):
        judge.names(["anything"])
    assert judge.broken
    with pytest.raises(remote.RemoteError):  # and every later request fails too
        judge.names(["anything"])
    peer.close()


def test_a_huge_reply_is_an_error(monkeypatch):
    monkeypatch.setattr(remote, "MESSAGE_LIMIT", 1 << 16)
    judge, peer = _judge_with_raw_reply(b'{"ok": "' + b"x" * (1 << 18) + b'"}\n')
    with pytest.raises(remote.RemoteError, match="limit"):
        judge.names(["anything"])
    peer.close()


def test_a_reply_sending_back_a_resized_array_is_an_error():
    back = remote.encode_array(np.zeros(7))
    reply = {"out": "", "err": "", "back": [back], "ok": None}
    judge_end, student_end = socket.socketpair()
    judge = remote.JudgeLink(judge_end)
    proxy = judge.imported({"$": "h", "id": 1, "type": "f"})

    def answer():
        student_end.recv(1 << 20)
        student_end.sendall((json.dumps(reply) + "\n").encode())

    threading.Thread(target=answer, daemon=True).start()
    x = np.zeros(3)
    with pytest.raises(remote.RemoteError, match="shape"):
        proxy(x)
    assert (x == 0).all()
