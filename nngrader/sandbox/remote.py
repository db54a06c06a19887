"""The link between a test (the judge, J) and the student's objects (the student side, S').

A test cell runs in the judge, a process that never runs student code. The names it takes
from the student's notebook are *proxies*: every operation on one (call, attribute, item,
length, iteration, truth, arithmetic and comparison, ``repr``) is sent over a socket to the
forked child of the student's worker that holds the real object, and its answer comes back.

What crosses, and how (both directions use the same rules; nothing is ever pickled):

- plain data by value, as JSON with base64 for raw bytes: ``None``, ``bool``, ``int``,
  ``float``, ``complex``, ``str``, ``bytes``, numpy arrays of *exactly* type ``ndarray`` with a
  bool, integer, unsigned, float or complex dtype, numpy scalars of those dtypes, and tuples,
  lists and dicts with ``str`` keys of these (depth and size limited);
- nnlib :class:`~nnlib.modules.Parameter` objects (exact type) as *mirrors*: each side keeps
  its own Parameter, and the contents of every mirrored Parameter that changed are sent along
  with each request and each reply, so an optimizer written by the student updates the
  Parameters a check created, and a check reads the gradients a student's layer accumulated;
- anything else the student side holds (the student's functions, classes and objects, an
  ndarray subclass, an object with lying dunders, a module) as a *handle*: a number that names
  the object on the student side; in the judge it becomes a :class:`Proxy`;
- a proxy sent back names its student-side object again; a judge-side object that is not
  data (a function, an nnlib loss) is refused with a :class:`TypeError`.

Arrays sent by value in a request come back after it: the student side reports their
contents once the operation ran, and the judge copies them into its own arrays, so a check
still sees an input that the student's code changed in place.

The judge treats every reply as hostile: a line longer than :data:`MESSAGE_LIMIT`, JSON it
cannot parse, a value that does not follow the rules above (an unknown dtype, a shape that
does not match the bytes, a nesting too deep, a result of the wrong type) raise
:class:`RemoteError`, and the link is then broken for the rest of the test, whose verdict is
an error whatever the test's code does with the exception.
"""

from __future__ import annotations

import base64
import builtins
import json
import operator
import re
import socket

import numpy as np

from nngrader import protocol

MESSAGE_LIMIT = 64 * 1024 * 1024  # bytes of one message
TEXT_LIMIT = 20_000  # characters of a repr/str/format answer
DEPTH_LIMIT = 32
ITEMS_LIMIT = 1_000_000  # values in one message (array elements count once per array)
_DTYPE = re.compile(r"^[<>|=]?[biufc][0-9]{1,2}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")
_SCALARS = {
    np.dtype(t).type
    for t in "? b h i l q B H I L Q e f d g F D G".split()
    if np.dtype(t).kind in "biufc"
}
#: The operators a proxy forwards (binary, reflected through ``swap``, and unary).
BINARY = (
    "add sub mul truediv floordiv mod pow matmul and_ or_ xor lshift rshift "
    "eq ne lt le gt ge iadd isub imul itruediv ifloordiv imod ipow imatmul"
).split()
UNARY = "neg pos abs invert".split()


#: Trusted functions a check may have run on the student's side, where the objects they drive
#: live, instead of driving them from the judge one round trip at a time. Only functions whose
#: result is the student's objects' own doing belong here: ``fit`` trains the student's model
#: with the student's optimizer, and the check then measures the model from the judge (what
#: the model answers is the student's code either way). Never a function whose result a
#: check takes as the truth.
STUDENT_SIDE = ("nnlib.train.fit",)
#: nnlib's losses (stateless but for ``reduction``): a check's loss crosses as its class name.
LOSSES = tuple(
    f"nnlib.losses.{n}"
    for n in ("CrossEntropyLoss", "MSELoss", "MAELoss", "BCELoss", "BCEWithLogitsLoss")
)


def delegate_to_student_side() -> None:
    """In the judge: calls of :data:`STUDENT_SIDE` functions on the student's objects run there.

    Every module attribute bound to such a function (``nnlib.grading.mlp.fit`` too) is
    replaced by a wrapper that sends the call across when its first argument is a proxy and
    everything else can cross; otherwise it runs the function here, as before.
    """
    import functools
    import importlib
    import sys

    for dotted in STUDENT_SIDE:
        module, _, attr = dotted.rpartition(".")
        original = getattr(importlib.import_module(module), attr)

        def wrapper(*args, _original=original, _dotted=dotted, **kwargs):
            link = _LINK[0]
            if link is not None and args and _isproxy(args[0]):
                try:
                    return link.run_there(_dotted, list(args), kwargs)
                except TypeError as exc:  # (an argument that cannot cross: run it here)
                    if "cannot be passed to the student's code" not in str(exc):
                        raise
            return _original(*args, **kwargs)

        functools.update_wrapper(wrapper, original)
        for name, mod in list(sys.modules.items()):
            if name.split(".")[0] == "nnlib" and mod is not None:
                for key, value in list(vars(mod).items()):
                    if value is original:
                        setattr(mod, key, wrapper)


class RemoteError(Exception):
    """The other side broke the protocol (or died); the test that was running fails."""


class Channel:
    """JSON lines over a connected socket, with a size limit on what is read."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def send(self, message: dict) -> None:
        data = (json.dumps(message, allow_nan=True) + "\n").encode()
        if len(data) > MESSAGE_LIMIT:
            raise RemoteError(f"a message of {len(data)} bytes is more than the link carries")
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise RemoteError(f"the other side is gone ({exc.__class__.__name__})") from None

    def receive(self) -> dict:
        while True:
            end = self.buffer.find(b"\n")
            if end > MESSAGE_LIMIT:
                raise RemoteError("a reply longer than the message limit")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 1]
                break
            if len(self.buffer) > MESSAGE_LIMIT:
                raise RemoteError("a reply longer than the message limit")
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError as exc:
                raise RemoteError(f"the other side is gone ({exc.__class__.__name__})") from None
            if not chunk:
                raise RemoteError("the other side closed the link")
            self.buffer += chunk
        try:
            message = protocol.decode_line(line, MESSAGE_LIMIT)
            protocol.check_depth(message, protocol.LINK_DEPTH)
        except protocol.ProtocolError as exc:
            raise RemoteError(f"a malformed reply ({exc})") from None
        return message


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if type(text) is not str:
        raise RemoteError("malformed bytes")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeError):
        raise RemoteError("malformed base64") from None


def encode_array(a: np.ndarray) -> dict:
    return {
        "$": "a",
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "data": _b64(np.ascontiguousarray(a).tobytes()),
        "ro": not a.flags.writeable,
    }


def decode_array(v: dict) -> np.ndarray:
    dtype, shape = v.get("dtype"), v.get("shape")
    if type(dtype) is not str or not _DTYPE.match(dtype):
        raise RemoteError("an array with a dtype that is not plain numbers")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise RemoteError("an array with an unknown dtype") from None
    if dt.kind not in "biufc" or dt.hasobject:
        raise RemoteError("an array with a dtype that is not plain numbers")
    if type(shape) is not list or len(shape) > 32:
        raise RemoteError("an array with a malformed shape")
    size = 1
    for n in shape:
        if type(n) is not int or n < 0:
            raise RemoteError("an array with a malformed shape")
        size *= n
    data = _unb64(v.get("data"))
    if size * dt.itemsize != len(data):
        raise RemoteError("an array whose data does not match its shape")
    a = np.frombuffer(data, dtype=dt).reshape(shape).copy()
    if v.get("ro") is True:
        a.flags.writeable = False
    return a


class Codec:
    """Encoding and decoding on one side; ``handles`` and ``mirrors`` are that side's tables.

    ``export`` turns a non-data object into a handle dict (or raises ``TypeError``);
    ``imported`` turns a handle dict received into the local object.
    """

    def __init__(self, side: str) -> None:
        self.side = side
        self.mirrors: dict[str, object] = {}  # mirror id -> local Parameter
        self.mirror_ids: dict[int, str] = {}  # id(local Parameter) -> mirror id
        self.synced: dict[str, tuple] = {}  # mirror id -> contents last sent or received
        self.counter = 0
        self.received_arrays: list[tuple[object, np.ndarray]] = []  # (path, array) this request
        from nnlib.modules import Parameter

        self.Parameter = Parameter

    # --- encoding ----------------------------------------------------------------------
    def encode(self, value, depth: int = 0, budget: list | None = None):
        budget = budget if budget is not None else [ITEMS_LIMIT]
        budget[0] -= 1
        if budget[0] < 0 or depth > DEPTH_LIMIT:
            return self.export(value)
        kind = type(value)
        if value is None or kind in (bool, int, str):
            if kind is str and len(value) > MESSAGE_LIMIT // 8:
                return self.export(value)
            return value
        if kind is float:
            return {"$": "f", "v": repr(value)}
        if kind is complex:
            return {"$": "c", "re": repr(value.real), "im": repr(value.imag)}
        if kind is bytes:
            return {"$": "b", "v": _b64(value)}
        if kind is np.ndarray and value.dtype.kind in "biufc" and not value.dtype.hasobject:
            if value.nbytes > MESSAGE_LIMIT // 2:
                return self.export(value)
            return encode_array(value)
        if kind in _SCALARS:
            return {"$": "s", "v": encode_array(np.asarray(value))}
        if kind is tuple or kind is list:
            items = [self.encode(v, depth + 1, budget) for v in value]
            return {"$": "t", "v": items} if kind is tuple else items
        if kind is dict and all(type(k) is str for k in value):
            return {"$": "d", "v": {k: self.encode(v, depth + 1, budget) for k, v in value.items()}}
        if kind is self.Parameter:
            return {"$": "p", "id": self.mirror_id(value)}
        return self.export(value)

    def export(self, value) -> dict:
        raise TypeError(
            f"a {type(value).__name__} cannot be passed to the student's code: only numbers, "
            "strings, numpy arrays, lists, tuples, dicts and nnlib Parameters cross"
        )

    def mirror_id(self, p) -> str:
        key = id(p)
        if key not in self.mirror_ids:
            self.counter += 1
            mid = f"{self.side}{self.counter}"
            self.mirror_ids[key] = mid
            self.mirrors[mid] = p
        return self.mirror_ids[key]

    def outgoing_sync(self) -> dict:
        """The contents of every mirrored Parameter that changed since it last crossed."""
        out = {}
        for mid, p in self.mirrors.items():
            state = _parameter_state(p)
            last = self.synced.get(mid)
            if last is None or not _same_state(state, last):
                try:
                    out[mid] = {
                        "value": self.encode_data(state[0]),
                        "grad": self.encode_data(state[1]),
                        "name": state[2] if type(state[2]) is str else "",
                    }
                except TypeError:
                    continue
                self.synced[mid] = _copy_state(state)
        return out

    def encode_data(self, value):
        """Data only: anything else raises ``TypeError``."""
        saved, self.export = self.export, Codec.export.__get__(self)
        try:
            return self.encode(value)
        finally:
            self.export = saved

    # --- decoding ----------------------------------------------------------------------
    def apply_sync(self, sync) -> None:
        if sync is None:
            return
        if type(sync) is not dict or len(sync) > 100_000:
            raise RemoteError("malformed parameter contents")
        for mid, state in sync.items():
            if type(state) is not dict or len(mid) > 40:
                raise RemoteError("malformed parameter contents")
            value = self.decode(state.get("value"), record=False)
            grad = self.decode(state.get("grad"), record=False)
            name = state.get("name")
            if type(name) is not str:
                raise RemoteError("malformed parameter contents")
            p = self.mirrors.get(mid)
            if p is None:
                p = self.Parameter.__new__(self.Parameter)
                self.mirrors[mid] = p
                self.mirror_ids[id(p)] = mid
                p.value, p.grad = value, grad
            else:
                p.value = _into(getattr(p, "value", None), value)
                p.grad = _into(getattr(p, "grad", None), grad)
            p.name = name
            self.synced[mid] = _copy_state(_parameter_state(p))

    def decode(self, v, depth: int = 0, record: bool = True, path=()):
        if depth > DEPTH_LIMIT + 1:
            raise RemoteError("a value nested too deeply")
        if v is None or type(v) in (bool, int, str):
            return v
        if type(v) is list:
            return [self.decode(x, depth + 1, record, (*path, i)) for i, x in enumerate(v)]
        if type(v) is not dict:
            raise RemoteError("a malformed value")
        tag = v.get("$")
        if tag == "f":
            return _float(v.get("v"))
        if tag == "c":
            return complex(_float(v.get("re")), _float(v.get("im")))
        if tag == "b":
            return _unb64(v.get("v"))
        if tag == "a":
            a = decode_array(v)
            if record:
                self.received_arrays.append((path, a))
            return a
        if tag == "s":
            inner = v.get("v")
            if type(inner) is not dict:
                raise RemoteError("a malformed scalar")
            a = decode_array(inner)
            if a.shape != ():
                raise RemoteError("a malformed scalar")
            return a[()]
        if tag == "t":
            items = v.get("v")
            if type(items) is not list:
                raise RemoteError("a malformed tuple")
            return tuple(self.decode(x, depth + 1, record, (*path, i)) for i, x in enumerate(items))
        if tag == "d":
            items = v.get("v")
            if type(items) is not dict:
                raise RemoteError("a malformed dict")
            return {k: self.decode(x, depth + 1, record, (*path, k)) for k, x in items.items()}
        if tag == "p":
            p = self.mirrors.get(v.get("id"))
            if p is None:
                raise RemoteError("a Parameter whose contents never arrived")
            return p
        return self.imported(v)

    def imported(self, v: dict):
        raise RemoteError("a malformed value (unknown kind)")


def _float(text) -> float:
    if type(text) is not str or len(text) > 40:
        raise RemoteError("a malformed number")
    try:
        return float(text)
    except ValueError:
        raise RemoteError("a malformed number") from None


def _parameter_state(p) -> tuple:
    return (getattr(p, "value", None), getattr(p, "grad", None), getattr(p, "name", ""))


def _copy_state(state: tuple) -> tuple:
    return tuple(np.array(x, copy=True) if type(x) is np.ndarray else x for x in state)


def _same_state(a: tuple, b: tuple) -> bool:
    for x, y in zip(a, b, strict=True):
        if type(x) is np.ndarray and type(y) is np.ndarray:
            if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def _into(old, new):
    """Copy ``new`` into the array ``old`` in place when it fits (keeps aliases working)."""
    if (
        type(old) is np.ndarray
        and type(new) is np.ndarray
        and old.shape == new.shape
        and old.dtype == new.dtype
        and old.flags.writeable
    ):
        old[...] = new
        return old
    return new


# ============================================================================================
# The judge's side
# ============================================================================================


class Proxy:
    """A student-side object, seen from the judge: every operation is forwarded."""

    __slots__ = ("__weakref__", "_nnlib_remote_h")

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            if name in ("__name__", "__qualname__"):
                return _link(self).request("getattr", self, name=name, want=str)
            if name == "__dict__":  # vars(): a copy of the object's attributes
                return _link(self).request("getattr", self, name=name, want=dict)
            raise AttributeError(name)
        return _link(self).request("getattr", self, name=name)

    def __setattr__(self, name: str, value) -> None:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"cannot set {name} on the student's object")
        _link(self).request("setattr", self, name=name, value=value)

    def __delattr__(self, name: str) -> None:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"cannot delete {name} of the student's object")
        _link(self).request("delattr", self, name=name)

    def __call__(self, *args, **kwargs):
        return _link(self).request("call", self, args=list(args), kwargs=kwargs)

    def __getitem__(self, key):
        return _link(self).request("getitem", self, key=key)

    def __setitem__(self, key, value) -> None:
        _link(self).request("setitem", self, key=key, value=value)

    def __delitem__(self, key) -> None:
        _link(self).request("delitem", self, key=key)

    def __len__(self) -> int:
        n = _link(self).request("len", self, want=int)
        if n < 0:
            raise RemoteError("a negative length")
        return n

    def __iter__(self):
        return _link(self).request("iter", self)

    def __next__(self):
        return _link(self).request("next", self)

    def __contains__(self, item) -> bool:
        return _link(self).request("contains", self, value=item, want=bool)

    def __bool__(self) -> bool:
        return _link(self).request("bool", self, want=bool)

    def __repr__(self) -> str:
        return _link(self).request("repr", self, want=str)

    def __str__(self) -> str:
        return _link(self).request("str", self, want=str)

    def __format__(self, spec: str) -> str:
        return _link(self).request("format", self, value=spec, want=str)

    def __float__(self) -> float:
        return _link(self).request("float", self, want=float)

    def __int__(self) -> int:
        return _link(self).request("int", self, want=int)

    def __index__(self) -> int:
        return _link(self).request("index", self, want=int)

    def __complex__(self) -> complex:
        return _link(self).request("complex", self, want=complex)

    def __hash__(self) -> int:
        return hash(("nnlib-remote", object.__getattribute__(self, "_nnlib_remote_h")))

    def __copy__(self):  # a reference to the student's object: a copy is the same reference
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce_ex__(self, protocol):
        raise TypeError("a proxy of the student's object cannot be pickled")

    @property
    def __class__(self):  # isinstance(proxy, nnlib.modules.Module) for a student's layer
        cls = _BASES.get(object.__getattribute__(self, "_nnlib_remote_h"))
        return cls if cls is not None else type(self)


def _binary(name: str, swap: bool):
    def method(self, other):
        a, b = (other, self) if swap else (self, other)
        return _link(self).request("op", None, name=name, args=[a, b])

    return method


def _unary(name: str):
    def method(self):
        return _link(self).request("op", None, name=name, args=[self])

    return method


for _op in BINARY:
    _dunder = _op.rstrip("_")
    setattr(Proxy, f"__{_dunder}__", _binary(_op, False))
    if not _op.startswith("i") and _op not in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(Proxy, f"__r{_dunder}__", _binary(_op, True))
for _op in UNARY:
    setattr(Proxy, f"__{_op}__", _unary(_op))

_LINK: list = [None]
_BASES: dict[int, type] = {}


def _link(proxy) -> JudgeLink:
    link = _LINK[0]
    if link is None:
        raise RemoteError("the link to the student's code is closed")
    return link


class JudgeLink(Codec):
    """The judge's end: turns operations on proxies into requests and checks the replies."""

    def __init__(self, sock: socket.socket, out_hook=None) -> None:
        super().__init__("j")
        self.channel = Channel(sock)
        self.proxies: dict[int, Proxy] = {}
        self.classes: dict[str, type] = {}
        self.broken: str | None = None
        self.out_hook = out_hook  # called with (stdout text, stderr text) of the student's code
        # ReferenceUsedErrors raised on the student's side (its nnlib stubs the forbidden
        # names): seen here, however the test's code handles the exception
        self.reference_used: list[str] = []
        _LINK[0] = self

    def export(self, value) -> dict:
        if type(value) is Proxy or (_isproxy(value)):
            return {"$": "r", "id": object.__getattribute__(value, "_nnlib_remote_h")}
        dotted = f"{type(value).__module__}.{type(value).__qualname__}"
        if dotted in LOSSES:  # a check's own loss: made again on the student's side
            state = {k: v for k, v in vars(value).items() if k in ("reduction",)}
            return {"$": "n", "cls": dotted, "state": self.encode_data(state)}
        return Codec.export(self, value)

    def imported(self, v: dict):
        if v.get("$") != "h":
            raise RemoteError("a malformed value (unknown kind)")
        hid, tname, module = v.get("id"), v.get("type"), v.get("module")
        if type(hid) is not int or type(tname) is not str:
            raise RemoteError("a malformed handle")
        if type(module) is str and _trusted_module(module):
            import importlib

            try:
                return importlib.import_module(module)
            except Exception:
                pass
        proxy = self.proxies.get(hid)
        if proxy is None:
            name = tname if _NAME.match(tname) else "StudentObject"
            cls = self.classes.get(name)
            if cls is None:
                cls = self.classes[name] = type(name, (Proxy,), {"__slots__": ()})
            proxy = object.__new__(cls)
            object.__setattr__(proxy, "_nnlib_remote_h", hid)
            base = _nnlib_class(v.get("base"))
            if base is not None:
                _BASES[hid] = base
            self.proxies[hid] = proxy
        return proxy

    def request(self, op: str, target, want: type | None = None, **fields):
        if self.broken:
            raise RemoteError(self.broken)
        message = {"op": op, **{k: self.encode(x) for k, x in fields.items() if k != "name"}}
        if "name" in fields:
            message["name"] = fields["name"]
        if target is not None:
            message["h"] = object.__getattribute__(target, "_nnlib_remote_h")
        # arrays sent by value, to copy back what the student's code did to them
        sent = _arrays_in([fields.get(k) for k in ("args", "kwargs", "key", "value")])
        message["sync"] = self.outgoing_sync()
        try:
            self.channel.send(message)
            reply = self.channel.receive()
            result = self._check(reply, sent, want)
        except RemoteError as exc:
            self.broken = self.broken or str(exc)
            raise
        return result

    def _check(self, message: dict, sent: list, want):
        try:
            reply = protocol.link_reply(message)
        except protocol.ProtocolError as exc:
            raise RemoteError(str(exc)) from None
        if self.out_hook and (reply.out or reply.err):
            self.out_hook(reply.out, reply.err)
        self.apply_sync(reply.sync)
        back = reply.back
        if len(back) != len(sent):
            raise RemoteError("a reply that does not account for the arrays sent")
        for original, new in zip(sent, back, strict=True):
            if new is None:
                continue
            if type(new) is not dict:
                raise RemoteError("a malformed array in a reply")
            arr = decode_array(new)
            if arr.shape != original.shape or arr.dtype != original.dtype:
                raise RemoteError("an array sent back with another shape or dtype")
            if original.flags.writeable and not np.array_equal(arr, original, equal_nan=True):
                original[...] = arr
        if reply.exc is not None:
            error = _exception({"type": reply.exc.ename, "msg": reply.exc.evalue})
            if type(error).__name__ == "ReferenceUsedError" and len(self.reference_used) < 20:
                self.reference_used.append(str(error)[:300])
            raise error
        self.received_arrays = []
        value = self.decode(reply.ok, record=False)
        if want is not None:
            if want is float and type(value) is int:
                value = float(value)
            if type(value) is not want:
                raise RemoteError(
                    f"the student's object answered with a {type(value).__name__} where a "
                    f"{want.__name__} is required"
                )
            if want is str:
                value = value[:TEXT_LIMIT]
        return value

    def run_there(self, dotted: str, args: list, kwargs: dict):
        """Call the trusted function ``dotted`` (one of :data:`STUDENT_SIDE`) on the student's
        side, with these arguments: one round trip instead of one per step inside it."""
        return self.request("trusted", None, name=dotted, args=args, kwargs=kwargs)

    def names(self, names: list[str]) -> dict:
        """The student's values of ``names`` (those it does not define are left out)."""
        found = self.request("names", None, value=list(names))
        if type(found) is not dict:
            raise RemoteError("a malformed answer to the names request")
        return {k: v for k, v in found.items() if k in names}

    def finish(self) -> dict:
        """End the session; the student side's report: tampering, reference uses, displays."""
        report = self.request("finish", None)
        if type(report) is not dict:
            raise RemoteError("a malformed final report")
        return report


def _isproxy(value) -> bool:
    return isinstance(type(value), type) and issubclass(type(value), Proxy)


def _arrays_in(values, depth: int = 0) -> list:
    """The arrays ``encode`` sends by value in ``values``, in the order it sends them."""
    found = []
    for v in values:
        kind = type(v)
        if kind is np.ndarray and v.dtype.kind in "biufc" and v.nbytes <= MESSAGE_LIMIT // 2:
            found.append(v)
        elif kind in (tuple, list) and depth < DEPTH_LIMIT:
            found += _arrays_in(v, depth + 1)
        elif kind is dict and depth < DEPTH_LIMIT:
            found += _arrays_in(list(v.values()), depth + 1)
    return found


def _trusted_module(name: str) -> bool:
    from nngrader.protocol import TRUSTED_PREFIXES

    return name.split(".")[0] in TRUSTED_PREFIXES and all(_NAME.match(p) for p in name.split("."))


def _nnlib_class(dotted) -> type | None:
    """The judge's own nnlib class named ``dotted`` (e.g. ``nnlib.modules.Module``), if any."""
    if type(dotted) is not str or not dotted.startswith("nnlib.") or len(dotted) > 200:
        return None
    import importlib

    module, _, name = dotted.rpartition(".")
    if not all(_NAME.match(p) for p in dotted.split(".")) or module.startswith("nngrader"):
        return None
    try:
        cls = getattr(importlib.import_module(module), name)
    except Exception:
        return None
    return cls if isinstance(cls, type) else None


_EXCEPTIONS = {
    name: obj
    for name, obj in vars(builtins).items()
    if isinstance(obj, type)
    and issubclass(obj, Exception)
    and not issubclass(obj, Warning)
    and name not in ("OSError",)
}


class StudentError(Exception):
    """An exception of a class the student (or a library) defined, raised by student code."""


def _exception(info) -> Exception:
    if type(info) is not dict:
        return RemoteError("a malformed error report")
    ename, evalue = info.get("type"), info.get("msg")
    if type(ename) is not str or type(evalue) is not str:
        return RemoteError("a malformed error report")
    ename, evalue = ename[:100], evalue[:2000]
    if ename == "ReferenceUsedError":  # a stub of the student's nnlib (see host.stubs)
        from nnlib.grading import ReferenceUsedError

        return ReferenceUsedError(evalue)
    cls = _EXCEPTIONS.get(ename)
    if cls is not None:
        try:
            return cls(evalue)
        except Exception:
            pass
    return StudentError(f"{ename}: {evalue}")


# ============================================================================================
# The student's side
# ============================================================================================


class StudentServer(Codec):
    """Serves the judge's requests on the student's namespace (runs in the forked child S')."""

    def __init__(self, sock: socket.socket, namespace: dict, capture, finish) -> None:
        super().__init__("s")
        self.channel = Channel(sock)
        self.namespace = namespace
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}
        self.capture = capture  # () -> context manager collecting (out, err) of a request
        self.finish = finish  # () -> dict: the final report

    def export(self, value) -> dict:
        key = id(value)
        hid = self.ids.get(key)
        if hid is None:
            hid = self.ids[key] = len(self.objects) + 1
            self.objects[hid] = value
        kind = type(value)
        handle = {"$": "h", "id": hid, "type": getattr(kind, "__name__", "object")[:80]}
        import types

        if isinstance(value, types.ModuleType):
            handle["module"] = getattr(value, "__name__", "")
        for cls in getattr(kind, "__mro__", ())[:-1]:
            if getattr(cls, "__module__", "").startswith("nnlib."):
                handle["base"] = f"{cls.__module__}.{cls.__qualname__}"
                break
        return handle

    def imported(self, v: dict):
        if v.get("$") == "r" and v.get("id") in self.objects:
            return self.objects[v["id"]]
        if v.get("$") == "n" and v.get("cls") in LOSSES:
            import importlib

            module, _, name = v["cls"].rpartition(".")
            loss = getattr(importlib.import_module(module), name)()
            state = self.decode(v.get("state"), record=False)
            if type(state) is dict:
                for key, value in state.items():
                    setattr(loss, key, value)
            return loss
        raise RemoteError("a reference to an unknown object")

    def serve(self) -> None:
        while True:
            try:
                message = self.channel.receive()
            except RemoteError:
                return
            reply = self.handle(message)
            try:
                self.channel.send(reply)
            except RemoteError:
                return
            if message.get("op") == "finish":
                return

    def handle(self, message: dict) -> dict:
        self.received_arrays = []
        reply: dict = {}
        sent: list = []
        with self.capture() as streams:
            try:
                request = protocol.link_request(message)
                self.apply_sync(request.sync)
                fields = {k: self.decode(v, path=(k,)) for k, v in request.fields.items()}
                sent = [a for _, a in self.received_arrays]
                target = self.objects.get(request.h)
                result = self.run(request.op, target, request.name, fields)
                reply["ok"] = self.encode(result)
            except BaseException as exc:
                try:
                    text = str(exc)
                except BaseException:
                    text = "<an exception whose message could not be shown>"
                reply = {"exc": {"type": type(exc).__name__[:100], "msg": text[:2000]}}
        reply["out"], reply["err"] = streams.text()
        reply["back"] = [encode_array(a) for a in sent]
        try:
            reply["sync"] = self.outgoing_sync()
        except BaseException:
            reply["sync"] = {}
        return reply

    def run(self, op, target, name, f: dict):
        if op == "trusted" and name in STUDENT_SIDE:
            import importlib

            module, _, attr = name.rpartition(".")
            function = getattr(importlib.import_module(module), attr)
            return function(*f.get("args", []), **f.get("kwargs", {}))
        if op == "names":
            names = f.get("value")
            ns = self.namespace
            return {n: ns[n] for n in names if type(n) is str and n in ns}
        if op == "finish":
            return self.finish()
        if op == "op":
            name = str(name)
            args = f.get("args", [])
            if name in BINARY and len(args) == 2:
                return getattr(operator, name)(*args)
            if name in UNARY and len(args) == 1:
                return getattr(operator, name)(*args)
            raise TypeError(f"unsupported operator {name}")
        if target is None:
            raise RemoteError("a request for an unknown object")
        if op == "call":
            args, kwargs = f.get("args", []), f.get("kwargs", {})
            return target(*args, **kwargs)
        if op == "getattr":
            if name == "__dict__":
                return dict(vars(target))
            return getattr(target, str(name))
        if op == "setattr":
            return setattr(target, str(name), f.get("value"))
        if op == "delattr":
            return delattr(target, str(name))
        if op == "getitem":
            return target[f.get("key")]
        if op == "setitem":
            target[f.get("key")] = f.get("value")
            return None
        if op == "delitem":
            del target[f.get("key")]
            return None
        if op == "len":
            return len(target)
        if op == "iter":
            return iter(target)
        if op == "next":
            return next(target)
        if op == "contains":
            return f.get("value") in target
        if op == "bool":
            return bool(target)
        if op == "repr":
            return repr(target)[:TEXT_LIMIT]
        if op == "str":
            return str(target)[:TEXT_LIMIT]
        if op == "format":
            return format(target, str(f.get("value")))[:TEXT_LIMIT]
        if op in ("float", "int", "index", "complex"):
            value = {"float": float, "int": int, "index": operator.index, "complex": complex}[op](
                target
            )
            return value
        raise TypeError(f"unsupported request {op!r}")
