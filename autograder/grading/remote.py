"""Tests in a trusted kernel, answers in the learner's: the channel between the two.

This file is sent as source into both sandboxed kernels of a graded notebook (see
``split.py``); it needs only the standard library, NumPy and pandas, and cloudpickle in the
learner's kernel. The learner's kernel (L) serves; the trusted kernel (T) runs the test cells
and reaches L's variables through it:

- plain data (None, bool, int, float, complex, str, bytes, list, tuple, dict, set, NumPy
  arrays and scalars, pandas frames, series and indexes, dates) comes back as a copy that T
  rebuilds from JSON and raw bytes, without pickle and without running any code of L's;
- anything else stays in L and T holds a :class:`Remote` handle: calling it, its
  attributes, items, length, iteration and ``np.asarray`` run in L and answer with plain
  data or another handle; comparing it or asking its truth value is refused, so a learner's
  ``__eq__`` or ``__bool__`` never answers for a test;
- arguments T passes to L are pickled by value (L may trust T), except functions defined in
  the test itself, which stay in T and are called back (a fake clock counts its calls).
"""

from __future__ import annotations

import builtins
import datetime
import json
import pathlib
import socket
import struct
import sys
import threading
import types

FRAME = struct.Struct("!cIQ")  # kind, header length, payload length
MAX_HEADER = 256 * 2**20
PLAIN_DTYPE_KINDS = "biufcmMSU"  # no objects, no raw records
EXTENSION_DTYPES = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
                    "Float32", "Float64", "boolean", "string", "str"}


class LearnerKernelGone(ConnectionError):
    """The learner's kernel closed the channel (it crashed, exited or was stopped)."""


class Peer:
    """One end of the channel: sends requests, and serves the other end's while waiting."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.objects: dict[int, object] = {}   # what the other side holds handles to
        self.lock = threading.RLock()
        self.broken: str | None = None  # once a request timed out, answers are out of step

    def keep(self, obj) -> int:
        self.objects[id(obj)] = obj
        return id(obj)

    def send(self, kind: bytes, header, payload: bytes = b"") -> None:
        head = json.dumps(header).encode()
        self.sock.sendall(FRAME.pack(kind, len(head), len(payload)) + head + payload)

    def _read(self, size: int) -> bytes:
        chunks, left = [], size
        while left:
            try:
                chunk = self.sock.recv(min(left, 2**20))
            except TimeoutError:
                self.broken = (f"the learner's code did not answer within "
                               f"{self.sock.gettimeout():g} s")
                raise LearnerKernelGone(self.broken) from None
            if not chunk:
                raise LearnerKernelGone("the learner's kernel closed the channel: it crashed, "
                                        "exited or was stopped")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def recv(self):
        kind, head_size, payload_size = FRAME.unpack(self._read(FRAME.size))
        if head_size > MAX_HEADER:
            raise ValueError("message too large")
        header = json.loads(self._read(head_size))
        return kind, header, self._read(payload_size) if payload_size else b""

    def request(self, kind: bytes, header, payload: bytes = b""):
        """Send a request and wait for its answer, serving nested requests meanwhile."""
        if self.broken:
            raise LearnerKernelGone(self.broken)
        with self.lock:
            self.send(kind, header, payload)
            while True:
                got, header, payload = self.recv()
                if got == b"R":
                    return self.decode_answer(header, payload)
                if got == b"E":
                    raise rebuild_error(header)
                self.serve_one(got, header, payload)

    def serve_one(self, kind, header, payload) -> None:
        try:
            value = self.handle(kind, header, payload)
        except BaseException as exc:  # noqa: BLE001 - every failure travels as data
            self.send(b"E", describe_error(exc))
            return
        self.send(b"R", *self.encode_answer(value))


# --- plain data, L -> T: JSON tree plus raw buffers, rebuilt without running L's code ---

def _tag(tag: str, **fields) -> dict:
    return {"$": tag, **fields}


def encode_plain(obj, buffers: list[bytes], peer: Peer):
    """A JSON tree for ``obj``; bytes go to ``buffers``; other objects become handles."""
    kind = type(obj)
    if obj is None or kind in (bool, int, str):
        return obj
    if kind is float:
        return obj if obj == obj and abs(obj) != float("inf") else _tag("float", v=repr(obj))
    if kind is complex:
        return _tag("complex", re=repr(obj.real), im=repr(obj.imag))
    if kind in (list, tuple, set, frozenset):
        return _tag(kind.__name__, v=[encode_plain(x, buffers, peer) for x in obj])
    if kind is dict:
        return _tag("dict", v=[[encode_plain(k, buffers, peer), encode_plain(v, buffers, peer)]
                               for k, v in obj.items()])
    if kind is bytes:
        buffers.append(obj)
        return _tag("bytes", i=len(buffers) - 1)
    if kind in (datetime.datetime, datetime.date, datetime.time):
        return _tag(kind.__name__, v=obj.isoformat())
    if kind is datetime.timedelta:
        return _tag("timedelta", d=obj.days, s=obj.seconds, us=obj.microseconds)
    if kind in (pathlib.PosixPath, pathlib.PurePosixPath):
        return _tag("path", v=str(obj), pure=kind is pathlib.PurePosixPath)
    np = sys.modules.get("numpy")
    if np is not None:
        if kind is np.ndarray:
            return _encode_array(obj, buffers, peer)
        if isinstance(obj, np.generic) and obj.dtype.kind in PLAIN_DTYPE_KINDS:
            buffers.append(np.asarray(obj).tobytes())
            return _tag("scalar", dtype=obj.dtype.str, i=len(buffers) - 1)
    pd = sys.modules.get("pandas")
    if pd is not None:
        encoded = _encode_pandas(obj, buffers, peer, pd)
        if encoded is not None:
            return encoded
    if isinstance(obj, CallBack):
        return _tag("mine", id=obj.ref)
    if isinstance(obj, types.ModuleType) and isinstance(getattr(obj, "__name__", None), str):
        return _tag("module", name=obj.__name__, id=peer.keep(obj))
    module = getattr(kind, "__module__", "?")
    return _tag("ref", id=peer.keep(obj), type=f"{module}.{kind.__qualname__}")


def _encode_array(array, buffers, peer):
    if array.dtype.kind in PLAIN_DTYPE_KINDS:
        import numpy as np

        buffers.append(np.ascontiguousarray(array).tobytes())
        return _tag("ndarray", dtype=array.dtype.str, shape=list(array.shape),
                    i=len(buffers) - 1)
    if array.dtype.kind == "O":
        return _tag("objects", shape=list(array.shape),
                    v=[encode_plain(x, buffers, peer) for x in array.ravel().tolist()])
    return _tag("ref", id=peer.keep(array), type="numpy.ndarray")


def _encode_column(values, buffers, peer, pd):
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _tag("categorical", codes=_encode_array(values.cat.codes.to_numpy(), buffers, peer),
                    categories=encode_plain(values.cat.categories, buffers, peer),
                    ordered=bool(dtype.ordered))
    if str(dtype) in EXTENSION_DTYPES:
        objects = values.astype(object).where(values.notna(), None).to_numpy()
        return _tag("extension", dtype=str(dtype), v=_encode_array(objects, buffers, peer))
    return _encode_array(values.to_numpy(), buffers, peer)


def _encode_pandas(obj, buffers, peer, pd):
    kind = type(obj)
    if kind is pd.DataFrame:
        return _tag("frame", columns=encode_plain(obj.columns, buffers, peer),
                    index=encode_plain(obj.index, buffers, peer),
                    data=[_encode_column(obj.iloc[:, j], buffers, peer, pd)
                          for j in range(obj.shape[1])])
    if kind is pd.Series:
        return _tag("series", name=encode_plain(obj.name, buffers, peer),
                    index=encode_plain(obj.index, buffers, peer),
                    data=_encode_column(obj, buffers, peer, pd))
    if kind is pd.RangeIndex:
        return _tag("range", start=obj.start, stop=obj.stop, step=obj.step,
                    name=encode_plain(obj.name, buffers, peer))
    if kind is pd.MultiIndex:
        return _tag("multi", names=encode_plain(list(obj.names), buffers, peer),
                    levels=[_encode_column(obj.get_level_values(i).to_series(), buffers, peer,
                                           pd) for i in range(obj.nlevels)])
    if isinstance(obj, pd.Index) and kind.__module__.split(".")[0] == "pandas":
        return _tag("index", name=encode_plain(obj.name, buffers, peer),
                    data=_encode_column(obj.to_series(), buffers, peer, pd))
    if kind is pd.Timestamp:
        return _tag("timestamp", ns=int(obj.value), tz=None if obj.tz is None else str(obj.tz))
    if kind is pd.Timedelta:
        return _tag("pdtimedelta", ns=int(obj.value))
    return None


class Rebuild:
    """Rebuilds plain data from a tree and its buffers: the only way L's answers enter T."""

    def __init__(self, buffers: list[bytes], peer: Peer):
        self.buffers, self.peer = buffers, peer

    def __call__(self, node):
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:  # never produced by encode_plain: refuse
            raise ValueError("malformed answer")
        tag = node["$"]
        if tag in ("list", "tuple", "set", "frozenset"):
            return {"list": list, "tuple": tuple, "set": set,
                    "frozenset": frozenset}[tag](self(x) for x in node["v"])
        if tag == "dict":
            return {self(k): self(v) for k, v in node["v"]}
        if tag == "float":
            return float(str(node["v"]))
        if tag == "complex":
            return complex(float(str(node["re"])), float(str(node["im"])))
        if tag == "bytes":
            return bytes(self.buffers[node["i"]])
        if tag in ("datetime", "date", "time"):
            return getattr(datetime, tag).fromisoformat(str(node["v"]))
        if tag == "path":
            return (pathlib.PurePosixPath if node["pure"] else pathlib.Path)(str(node["v"]))
        if tag == "timedelta":
            return datetime.timedelta(days=node["d"], seconds=node["s"],
                                      microseconds=node["us"])
        if tag in ("ndarray", "objects", "scalar"):
            return self.array(node)
        if tag in ("frame", "series", "range", "multi", "index", "timestamp", "pdtimedelta",
                   "categorical", "extension"):
            return self.pandas(node)
        if tag == "mine":
            return self.peer.objects[int(node["id"])]
        if tag == "ref":
            return Remote(self.peer, int(node["id"]), str(node["type"]))
        if tag == "module":
            return self.module(str(node["name"]), int(node["id"]))
        raise ValueError(f"unknown answer tag {tag!r}")

    def module(self, name: str, ref: int):
        """A module: T's own import of it (installed code only), else a handle."""
        import importlib
        import importlib.util

        try:
            found = name in sys.modules or importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return importlib.import_module(name)
        return Remote(self.peer, ref, "builtins.module")

    def array(self, node):
        import numpy as np

        if node["$"] == "objects":
            out = np.empty(len(node["v"]), dtype=object)
            for i, item in enumerate(node["v"]):
                out[i] = self(item)
            return out.reshape([int(n) for n in node["shape"]])
        dtype = np.dtype(str(node["dtype"]))
        if dtype.kind not in PLAIN_DTYPE_KINDS or dtype.hasobject:
            raise ValueError(f"refused dtype {dtype}")
        data = np.frombuffer(self.buffers[node["i"]], dtype=dtype)
        if node["$"] == "scalar":
            return data[0]
        return data.reshape([int(n) for n in node["shape"]]).copy()

    def column(self, node):
        import pandas as pd

        if node["$"] == "categorical":
            return pd.Categorical.from_codes(self(node["codes"]), categories=self(
                node["categories"]), ordered=bool(node["ordered"]))
        if node["$"] == "extension":
            dtype = str(node["dtype"])
            if dtype not in EXTENSION_DTYPES:
                raise ValueError(f"refused dtype {dtype}")
            return pd.array(self(node["v"]), dtype=dtype)
        return self(node)

    def pandas(self, node):
        import pandas as pd

        tag = node["$"]
        if tag == "frame":
            columns = self(node["columns"])
            data = {j: self.column(c) for j, c in enumerate(node["data"])}
            frame = pd.DataFrame(data, index=self(node["index"]))
            frame.columns = columns
            return frame
        if tag == "series":
            return pd.Series(self.column(node["data"]), index=self(node["index"]),
                             name=self(node["name"]))
        if tag == "range":
            return pd.RangeIndex(int(node["start"]), int(node["stop"]), int(node["step"]),
                                 name=self(node["name"]))
        if tag == "multi":
            return pd.MultiIndex.from_arrays([self.column(x) for x in node["levels"]],
                                             names=self(node["names"]))
        if tag == "index":
            return pd.Index(self.column(node["data"]), name=self(node["name"]))
        if tag == "timestamp":
            return pd.Timestamp(int(node["ns"]), tz=node["tz"] and str(node["tz"]))
        if tag == "pdtimedelta":
            return pd.Timedelta(int(node["ns"]))
        return self.column(node)


def describe_error(exc: BaseException) -> dict:
    """An exception as data: its class names (most derived first) and its message."""
    names = [cls.__name__ for cls in type(exc).__mro__ if cls.__module__ == "builtins"]
    return {"type": type(exc).__name__, "builtin": names, "message": str(exc)[:10_000]}


def rebuild_error(header: dict) -> BaseException:
    """The nearest built-in exception, with the learner's message (no learner class is built)."""
    for name in header.get("builtin", []):
        cls = getattr(builtins, str(name), None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                exc = cls(str(header.get("message", "")))
            except Exception:  # noqa: BLE001 - constructors with other signatures
                continue
            if header.get("type") != name:
                exc.add_note(f"(raised in the learner's code as {header.get('type')})")
            return exc
    return RuntimeError(f"{header.get('type')}: {header.get('message')}")


# --- the trusted side ---

REFUSED = ("a learner's {type} object cannot answer a trusted test directly: convert it to "
           "plain data first (float(x), list(x), np.asarray(x), or call one of its methods)")


NAMES = ("__name__", "__qualname__", "__enter__")  # special attributes that L may answer


class Remote:
    """A handle, in the trusted kernel, to an object that stays in the learner's kernel."""

    __slots__ = ("_peer", "_id", "_type")

    def __init__(self, peer: Peer, ref: int, type_name: str):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_id", ref)
        object.__setattr__(self, "_type", type_name)

    def _ask(self, op: str, *args, **fields):
        return self._peer.ask(op, self._id, args, fields)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__") and name not in NAMES:
            raise AttributeError(name)
        return self._ask("getattr", name)

    def __call__(self, *args, **kwargs):
        return self._ask("call", args, kwargs)

    def __getitem__(self, key):
        return self._ask("getitem", key)

    def __len__(self):
        return _exact(self._ask("len"), int)

    def __iter__(self):
        return self._ask("iter")

    def __next__(self):
        return self._ask("next")

    def __float__(self):
        return _exact(self._ask("float"), float)

    def __int__(self):
        return _exact(self._ask("int"), int)

    def __index__(self):
        return _exact(self._ask("index"), int)

    def __str__(self):
        return _exact(self._ask("str"), str)

    def __repr__(self):
        return f"<learner's {self._type} object>"

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        array = self._ask("array")
        if type(array) is not np.ndarray:
            raise TypeError(REFUSED.format(type=self._type))
        return array if dtype is None else array.astype(dtype)

    def __enter__(self):
        return self._ask("getattr", "__enter__")()

    def __exit__(self, *exc_info):
        return self._ask("exit", None if exc_info[0] is None else exc_info[0].__name__)

    def __contains__(self, item):
        return any(item == value for value in iter(self))

    def __bool__(self):
        raise TypeError(REFUSED.format(type=self._type))

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    __hash__ = object.__hash__

    @property
    def __class__(self):
        """The learner's class if T already has it imported (for isinstance), else Remote."""
        module, _, qualname = self._type.rpartition(".")
        found = sys.modules.get(module)
        for part in qualname.split("."):
            found = getattr(found, part, None) if found is not None else None
        return found if isinstance(found, type) and found.__module__ == module else Remote

    def __setattr__(self, name, value):
        raise TypeError(f"cannot set attributes of a learner's {self._type} object")


def _exact(value, kind):
    if type(value) is not kind:
        raise TypeError(f"the learner's object answered {type(value).__name__}, not "
                        f"{kind.__name__}")
    return value


class Trusted(Peer):
    """The trusted kernel's end: asks L, rebuilds answers as plain data, runs call-backs."""

    def ask(self, op: str, ref, args=(), fields=None):
        payload = self.pickle_arguments(args)
        return self.request(b"Q", {"op": op, "ref": ref, **(fields or {})}, payload)

    def fetch(self, name: str):
        return self.request(b"Q", {"op": "get", "name": name})

    def pickle_arguments(self, args) -> bytes:
        """Arguments by value; functions the test defined itself stay here, called back."""
        import io

        import cloudpickle

        peer = self

        class Pickler(cloudpickle.Pickler):
            def persistent_id(self, obj):
                if type(obj) is Remote:
                    return ("L", object.__getattribute__(obj, "_id"))
                if type(obj) is _StayHere:
                    return ("T", peer.keep(obj.function), _name_and_source(obj.function))
                if id(obj) in LOCKED_DEFINITIONS:  # L ran the same locked cell: its own copy
                    return ("G", LOCKED_DEFINITIONS[id(obj)])
                return None

        buffer = io.BytesIO()
        Pickler(buffer, protocol=5).dump(_mark_callbacks(args))
        return buffer.getvalue()

    def decode_answer(self, header, payload):
        return Rebuild(_split(header.get("buffers", []), payload), self)(header["value"])

    def handle(self, kind, header, payload):
        if kind != b"C":
            raise ValueError("the learner's kernel sent an unexpected request")
        function = self.objects[int(header["ref"])]
        args, kwargs = self.decode_answer(header, payload)
        return function(*args, **kwargs)

    def encode_answer(self, value):
        return {}, self.pickle_arguments(value)


class _StayHere:
    """A test's own function among the arguments: the learner's code calls it back."""

    def __init__(self, function):
        self.function = function


def _defined_by_test(obj) -> bool:
    return callable(obj) and not isinstance(obj, type) and id(obj) not in LOCKED_DEFINITIONS \
        and getattr(obj, "__module__", None) == "__main__"


def _mark_callbacks(value, depth: int = 0):
    """Mark the test's functions in the arguments (and in lists, tuples and dicts of them).

    Only there: a function inside another object (a method of a test's spy class) travels
    by value with its object.
    """
    if _defined_by_test(value):
        return _StayHere(value)
    if depth < 3 and type(value) in (list, tuple):
        return type(value)(_mark_callbacks(v, depth + 1) for v in value)
    if depth < 3 and type(value) is dict:
        return {k: _mark_callbacks(v, depth + 1) for k, v in value.items()}
    return value


def _name_and_source(function) -> tuple[str, str | None]:
    import inspect

    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        source = None
    return getattr(function, "__name__", "callback"), source


def _as_function(callback: CallBack, name: str, source: str | None):
    """A real function that calls back, whose source (for inspect) is the test's own."""
    import linecache

    filename = f"<poc2prod-callback-{callback.ref}>"
    namespace = {"_callback": callback}
    exec(compile("def _call(*args, **kwargs):\n    return _callback(*args, **kwargs)\n",  # noqa: S102
                 filename, "exec"), namespace)
    function = namespace["_call"]
    function.__name__ = function.__qualname__ = name
    if source is not None:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return function


def _split(sizes: list[int], payload: bytes) -> list[bytes]:
    out, start = [], 0
    for size in sizes:
        out.append(payload[start:start + int(size)])
        start += int(size)
    return out


def _join(value, peer) -> tuple[dict, bytes]:
    buffers: list[bytes] = []
    tree = encode_plain(value, buffers, peer)
    return {"value": tree, "buffers": [len(b) for b in buffers]}, b"".join(buffers)


# --- the learner's side ---

class CallBack:
    """A function of the trusted test, called back from the learner's code."""

    def __init__(self, peer: Learner, ref: int):
        self.peer, self.ref = peer, ref

    def __call__(self, *args, **kwargs):
        header, payload = _join((args, kwargs), self.peer)
        return self.peer.request(b"C", {"ref": self.ref, **header}, payload)


class Learner(Peer):
    """The learner's kernel's end: answers the trusted kernel's questions about its names."""

    def __init__(self, sock, namespace: dict):
        super().__init__(sock)
        self.namespace = namespace

    def unpickle(self, payload: bytes):
        import io
        import pickle

        peer = self

        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid):
                side, ref = pid[:2]
                if side == "G":
                    return peer.namespace[ref]
                if side == "L":
                    return peer.objects[ref]
                return _as_function(CallBack(peer, ref), *pid[2])

        return Unpickler(io.BytesIO(payload)).load()

    def decode_answer(self, header, payload):
        return self.unpickle(payload)

    def encode_answer(self, value):
        return _join(value, self)

    def handle(self, kind, header, payload):
        if kind != b"Q":
            raise ValueError("unexpected request")
        op = header["op"]
        if op == "get":
            try:
                return self.namespace[header["name"]]
            except KeyError:
                raise NameError(f"name {header['name']!r} is not defined") from None
        target = self.objects[header["ref"]]
        args = self.unpickle(payload) if payload else ()
        if op == "getattr":
            return getattr(target, args[0])
        if op == "call":
            positional, keywords = args
            return target(*positional, **keywords)
        if op == "getitem":
            return target[args[0]]
        if op == "array":
            import numpy as np

            return np.asarray(target)
        if op == "exit":
            return bool(target.__exit__(None, None, None) if args[0] is None else
                        target.__exit__(RuntimeError, RuntimeError(args[0]), None))
        simple = {"len": len, "iter": iter, "next": next, "float": float, "int": int,
                  "index": lambda x: x.__index__(), "str": str}
        return simple[op](target)

    def serve_forever(self) -> None:
        with self.sock:
            while True:
                try:
                    kind, header, payload = self.recv()
                except (LearnerKernelGone, OSError):
                    return
                self.serve_one(kind, header, payload)


def start_learner_side(path: str, namespace: dict) -> threading.Thread:
    """In the learner's kernel: listen on ``path`` and serve one trusted kernel, in a thread."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def run():
        connection, _ = server.accept()
        server.close()
        Learner(connection, namespace).serve_forever()

    thread = threading.Thread(target=run, name="poc2prod-answers", daemon=True)
    thread.start()
    return thread


PEER: Trusted | None = None
LOCKED_DEFINITIONS: dict[int, str] = {}  # functions and classes of locked cells, by id


def start_trusted_side(path: str, work: str, timeout: float) -> None:
    """In the trusted kernel: harden it against the shared folder, then connect to L.

    The kernel started in a private folder; before it moves into the folder it shares with
    the learner, matplotlib has read its settings and the folder leaves ``sys.path``, so no
    file the learner left there (``matplotlibrc``, ``numpy.py``) is ever run here.
    """
    global PEER
    import os

    import matplotlib  # noqa: F401 - reads matplotlibrc now, from the private folder
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    sys.path[:] = [p for p in sys.path if p not in ("", ".", work, os.getcwd())]
    os.chdir(work)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    PEER = Trusted(sock)


def bind(namespace: dict, names: list[str]) -> None:
    """Copy (plain data) or reference (anything else) the learner's current ``names``."""
    for name in names:
        try:
            namespace[name] = PEER.fetch(name)
        except Exception:  # noqa: BLE001 - unbound here: the test fails with NameError
            namespace.pop(name, None)


def run_each(namespace: dict, sources: list[str]) -> None:
    """Run trusted statements (imports, definitions) one by one; one failing spares the rest."""
    import ast
    import contextlib

    for source in sources:
        with contextlib.suppress(Exception):  # the test that needs it fails in words
            exec(compile(source, "<given cell>", "exec"), namespace)  # noqa: S102
            for node in ast.parse(source).body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    LOCKED_DEFINITIONS[id(namespace[node.name])] = node.name
