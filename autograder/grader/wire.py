"""The grader's wire format: frames of a JSON header plus raw buffers, and the value codec.

A frame is ``u32 header length | JSON header | u32 buffer count | (u64 length | bytes)*``.
Values travel as tagged JSON nodes; array data travels as raw buffers and is rebuilt
with ``np.frombuffer``. Nothing is ever unpickled, and a decoded value is always a
fresh builtin (``int``, ``float``, ``str``, ``list``...) or an exact ``numpy.ndarray``
/ NumPy scalar / ``torch.Tensor``: an object whose ``__eq__`` lies cannot cross.

This file is also the sandbox's copy of the protocol (it is sent into the sandbox as
source), so it imports only the standard library and NumPy (torch when already loaded).

Node tags: ``none bool int float complex str bytes bytearray list tuple set frozenset
dict nd npscalar dtype tensor tdtype slice range ellipsis`` (plain data), ``h`` (an
object that stays in the sandbox: a handle), ``ref`` (a handle sent back), ``cb`` (a
grader callable the sandbox may call back), ``npgen``/``tgen`` (random generator states
sent into the sandbox).

Identity, when asked for (``memo``): every mutable container (list, dict, set,
bytearray, array, tensor) is numbered in the order it is met; a second occurrence of the
same object travels as ``alias`` (so ``f(x, x)`` and a list holding itself arrive as
they left), and ``argref`` names an object of the request a reply refers to (a result
that IS an argument comes back as the caller's own object).
"""

from __future__ import annotations

import _socket
import json
import json.decoder
import json.encoder
import json.scanner
import re
import struct
import sys
import time

import numpy as np

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")

MAX_HEADER = 16 << 20
MAX_BUFFERS = 100_000
MAX_DEPTH = 64
MAX_NODES = 1_000_000
MAX_STR = 4 << 20
MAX_NDIM = 32

_DTYPE_RE = re.compile(r"^[<>|=][biufc][0-9]{1,2}$")
_TORCH_DTYPES = {
    "float16": "<f2", "float32": "<f4", "float64": "<f8", "bfloat16": "<u2",
    "int8": "|i1", "int16": "<i2", "int32": "<i4", "int64": "<i8", "uint8": "|u1",
    "bool": "|b1", "complex64": "<c8", "complex128": "<c16",
}


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame or value."""


class PeerClosed(ProtocolError):
    """The peer closed its end (for the sandbox: it exited or was killed)."""


class Timeout(Exception):
    """No complete frame arrived before the deadline."""


# ---------------------------------------------------------------------------
# frames
# ---------------------------------------------------------------------------

# A header carries what the sandbox's guard saw (a reply's hits and flags) and whether a
# call is guarded (a request's guard). In the sandbox, code of the submission's shares
# this process and could replace what writes or reads one (``json.dumps``,
# ``JSONEncoder.encode``, ``socket.socket.sendall``) to drop those fields. So frames are
# encoded and decoded with json's C functions and moved with the C socket's methods,
# all captured here, before any submission runs; none can be replaced from Python.
_SENDALL, _RECV_INTO = _socket.socket.sendall, _socket.socket.recv_into
_SETTIMEOUT = _socket.socket.settimeout


def _unencodable(obj):
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_ENCODE = json.encoder.c_make_encoder(
    None, _unencodable, json.encoder.c_encode_basestring_ascii, None, ":", ",", False,
    False, False) if json.encoder.c_make_encoder is not None else None
_SCAN = json.scanner.c_make_scanner(json.decoder.JSONDecoder()) \
    if json.scanner.c_make_scanner is not None else None


def _dumps(header) -> bytes:
    if _ENCODE is None:  # no C accelerator: json's Python, as good as it gets
        return json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return "".join(_ENCODE(header, 0)).encode()


def _loads(raw):
    text = bytes(raw).decode("utf-8").strip(" \t\n\r")
    if _SCAN is None:
        return json.loads(text)
    try:
        value, end = _SCAN(text, 0)
    except StopIteration as exc:
        raise ValueError(f"no JSON value at character {exc.value}") from None
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return value


def send_frame(sock, header: dict, buffers=()) -> None:
    """Write one frame; ``buffers`` are bytes-like objects (C-contiguous arrays too)."""
    head = _dumps(header)
    views = [memoryview(b).cast("B") for b in buffers]
    small = [_U32.pack(len(head)), head, _U32.pack(len(views))]
    chunks = []
    for view in views:
        small.append(_U64.pack(view.nbytes))
        if view.nbytes > 65536:
            chunks.append((b"".join(small), view))
            small = []
        else:
            small.append(view.tobytes())
    for prefix, view in chunks:
        _SENDALL(sock, prefix)
        _SENDALL(sock, view)
    if small:
        _SENDALL(sock, b"".join(small))


def _recv_into(sock, view, deadline) -> None:
    got = 0
    while got < len(view):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            _SETTIMEOUT(sock, left)
        else:
            _SETTIMEOUT(sock, None)
        try:
            n = _RECV_INTO(sock, view[got:])
        except TimeoutError:  # socket.timeout is TimeoutError since 3.10
            raise Timeout() from None
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise PeerClosed(str(exc)) from None
        if n == 0:
            raise PeerClosed("connection closed")
        got += n


def recv_exact(sock, n: int, deadline=None) -> bytearray:
    buf = bytearray(n)
    if n:
        _recv_into(sock, memoryview(buf), deadline)
    return buf


def recv_frame(sock, deadline=None, max_bytes: int = 1 << 40):
    """Read one frame: ``(header dict, [bytearray, ...])``. ``deadline`` is a
    ``time.monotonic()`` value or None; ``max_bytes`` bounds the buffers' total size."""
    (hlen,) = _U32.unpack(recv_exact(sock, 4, deadline))
    if hlen > MAX_HEADER:
        raise ProtocolError(f"header of {hlen} bytes is over the {MAX_HEADER}-byte limit")
    raw = recv_exact(sock, hlen, deadline)
    try:
        header = _loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"header is not JSON: {str(exc)[:200]}") from None
    except RecursionError:
        raise ProtocolError("header is nested too deeply") from None
    except MemoryError:
        raise ProtocolError("header is too large to read") from None
    if type(header) is not dict:
        raise ProtocolError("header is not a JSON object")
    (count,) = _U32.unpack(recv_exact(sock, 4, deadline))
    if count > MAX_BUFFERS:
        raise ProtocolError(f"{count} buffers is over the {MAX_BUFFERS} limit")
    buffers, total = [], 0
    for _ in range(count):
        (size,) = _U64.unpack(recv_exact(sock, 8, deadline))
        total += size
        if total > max_bytes:
            raise ProtocolError(f"more than {max_bytes} bytes of data in one message")
        buffers.append(recv_exact(sock, size, deadline))
    return header, buffers


# ---------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------

def _torch():
    return sys.modules.get("torch")


def _is_tensor(obj) -> bool:
    torch = _torch()
    return torch is not None and isinstance(obj, torch.Tensor)


class Unencodable(TypeError):
    """A value has no by-value form and the caller gave no fallback."""


def _mutable(x) -> bool:
    """Whether ``x`` is a container a call could change in place (numbered in a memo)."""
    return isinstance(x, (list, dict, set, bytearray, np.ndarray)) or _is_tensor(x)


def encode(obj, fallback=None, memo=None, known=None, buffers=None, top_by_value=False):
    """``(node, buffers)`` for ``obj``. ``fallback(obj) -> node`` handles objects with
    no by-value form (a handle on the sandbox side, a ref or callback on the grader
    side); without one they raise :class:`Unencodable`.

    ``memo``: a list that receives every mutable container in the order it is numbered;
    repeats then travel as aliases. ``known``: ``{id(obj): index}`` of another message's
    objects, sent as ``argref`` (``top_by_value``: not ``obj`` itself). ``buffers``: a
    list to append the raw buffers to (several values in one frame)."""
    buffers = [] if buffers is None else buffers
    count = [0]
    seen: dict = {}

    def enc(x, depth):
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise Unencodable("value is nested too deeply or has too many parts")
        if known is not None and (depth or not top_by_value):
            i = known.get(id(x))
            if i is not None and _mutable(x):
                return {"t": "argref", "i": i}
        if memo is not None and id(x) in seen and seen[id(x)][0] is x:
            return {"t": "alias", "i": seen[id(x)][1]}

        def number():
            if memo is not None and _mutable(x):
                seen[id(x)] = (x, len(memo))
                memo.append(x)
        t = type(x)
        if x is None:
            return {"t": "none"}
        if t is bool:
            return {"t": "bool", "v": x}
        if isinstance(x, bool):  # a bool subclass is impossible, kept for clarity
            return {"t": "bool", "v": bool(x)}
        if isinstance(x, np.ndarray):
            node = _enc_array(x, buffers)
            if node is not None:
                number()
                return node
        elif isinstance(x, np.generic):
            node = _enc_npscalar(x, buffers)
            if node is not None:
                return node
        elif _is_tensor(x):
            node = _enc_tensor(x, buffers)
            if node is not None:
                number()
                return node
        elif isinstance(x, int):
            return {"t": "int", "v": str(int.__index__(x))}
        elif isinstance(x, float):
            return {"t": "float", "v": float.hex(float(x))}
        elif isinstance(x, complex):
            c = complex(x)
            return {"t": "complex", "re": float.hex(c.real), "im": float.hex(c.imag)}
        elif isinstance(x, str):
            return {"t": "str", "v": str.__str__(x)}
        elif isinstance(x, bytearray):
            number()
            buffers.append(bytes(x))
            return {"t": "bytearray", "b": len(buffers) - 1}
        elif isinstance(x, bytes):
            buffers.append(bytes(x))
            return {"t": "bytes", "b": len(buffers) - 1}
        elif isinstance(x, np.dtype) and _DTYPE_RE.match(x.str):
            return {"t": "dtype", "d": x.str}
        elif isinstance(x, type) and issubclass(x, np.generic) and _DTYPE_RE.match(np.dtype(x).str):
            return {"t": "dtype", "d": np.dtype(x).str}
        elif t is slice:
            return {"t": "slice", "v": [enc(x.start, depth + 1), enc(x.stop, depth + 1),
                                        enc(x.step, depth + 1)]}
        elif t is range:
            return {"t": "range", "v": [str(x.start), str(x.stop), str(x.step)]}
        elif x is Ellipsis:
            return {"t": "ellipsis"}
        elif isinstance(x, np.random.Generator):
            return _enc_npgen(x)
        elif _torch() is not None and isinstance(x, _torch().dtype):
            return {"t": "tdtype", "v": str(x).replace("torch.", "")}
        elif _torch() is not None and isinstance(x, _torch().Size):
            return {"t": "tuple", "v": [enc(int(v), depth + 1) for v in x]}
        elif _torch() is not None and isinstance(x, _torch().Generator):
            state = x.get_state().numpy()
            buffers.append(np.ascontiguousarray(state, dtype=np.uint8))
            return {"t": "tgen", "b": len(buffers) - 1}
        elif isinstance(x, tuple):
            return {"t": "tuple", "v": [enc(v, depth + 1) for v in tuple.__iter__(x)]}
        elif isinstance(x, list):
            number()
            return {"t": "list", "v": [enc(v, depth + 1) for v in list.__iter__(x)]}
        elif isinstance(x, (set, frozenset)):
            if isinstance(x, set):
                number()
            items = list(set.__iter__(x) if isinstance(x, set) else frozenset.__iter__(x))
            return {"t": "frozenset" if isinstance(x, frozenset) else "set",
                    "v": [enc(v, depth + 1) for v in items]}
        elif isinstance(x, dict):
            number()
            keys, values = [], []
            for k, v in dict.items(x):
                keys.append(enc(k, depth + 1))
                values.append(enc(v, depth + 1))
            return {"t": "dict", "k": keys, "v": values}
        if fallback is None:
            raise Unencodable(f"a {type(x).__name__} cannot be sent by value")
        return fallback(x)

    node = enc(obj, 0)
    return node, buffers


def _enc_array(x, buffers):
    dt = x.dtype
    if dt.hasobject or dt.fields is not None or not _DTYPE_RE.match(dt.str):
        return None
    # not np.ascontiguousarray: it turns a 0-d array into a 1-d one
    a = x if x.flags.c_contiguous else np.array(x, order="C", copy=True)
    if a.ndim > MAX_NDIM:
        return None
    buffers.append(a.reshape(-1).view(np.uint8) if a.size else b"")
    return {"t": "nd", "d": dt.str, "s": list(a.shape), "b": len(buffers) - 1}


def _enc_npscalar(x, buffers):
    dt = x.dtype
    if not _DTYPE_RE.match(dt.str):
        return None
    buffers.append(np.asarray(x).tobytes())
    return {"t": "npscalar", "d": dt.str, "b": len(buffers) - 1}


def _enc_tensor(x, buffers):
    torch = _torch()
    name = str(x.dtype).replace("torch.", "")
    if name not in _TORCH_DTYPES or x.layout != torch.strided:
        return None
    rg = bool(x.requires_grad)
    t = x.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous()
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    a = (t.view(torch.int16).numpy().view(np.uint16) if name == "bfloat16" else t.numpy())
    buffers.append(a.reshape(-1).view(np.uint8) if a.size else b"")
    return {"t": "tensor", "d": _TORCH_DTYPES[name], "tdt": name, "s": list(t.shape),
            "b": len(buffers) - 1, "rg": rg}


def _plain(state):
    if isinstance(state, dict):
        return {str(k): _plain(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"__array__": state.tolist(), "dtype": state.dtype.str}
    if isinstance(state, (np.integer,)):
        return int(state)
    return state


def _unplain(state):
    if isinstance(state, dict):
        if set(state) == {"__array__", "dtype"}:
            return np.asarray(state["__array__"], dtype=state["dtype"])
        return {k: _unplain(v) for k, v in state.items()}
    return state


def _enc_npgen(x):
    bg = x.bit_generator
    return {"t": "npgen", "bg": type(bg).__name__, "state": _plain(bg.state)}


# ---------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


def decode(node, buffers, resolve=None, memo=None, refs=None):
    """The value of ``node``. Everything is checked: unknown tags, bad dtypes, sizes
    that disagree with the data, too much nesting all raise :class:`ProtocolError`.
    ``resolve(node)`` turns ``h``/``ref``/``cb``/``npgen``/``tgen`` nodes into objects;
    without it those tags are refused. ``memo``: a list receiving the mutable containers
    in the order :func:`encode` numbered them (``alias`` nodes need it); ``refs``: the
    objects ``argref`` nodes may name."""
    count = [0]
    numbered = [] if memo is None else memo

    def number(obj):
        numbered.append(obj)
        return obj

    def buf(node):
        i = node.get("b")
        if type(i) is not int or not 0 <= i < len(buffers):
            raise ProtocolError("bad buffer index")
        return buffers[i]

    def dtype_of(s):
        if type(s) is not str or not _DTYPE_RE.match(s):
            raise ProtocolError(f"dtype {s!r} is not allowed")
        return np.dtype(s)

    def shape_of(s):
        if type(s) is not list or len(s) > MAX_NDIM or any(
                type(v) is not int or v < 0 for v in s):
            raise ProtocolError("bad shape")
        return tuple(s)

    def array(node):
        dt, shape, data = dtype_of(node.get("d")), shape_of(node.get("s")), buf(node)
        size = 1
        for v in shape:
            size *= v
        if size * dt.itemsize != len(data):
            raise ProtocolError(f"{len(data)} bytes of data for shape {shape} and dtype {dt}")
        if size == 0:
            return np.zeros(shape, dtype=dt)
        if type(data) is not bytearray:
            data = bytearray(data)
        return np.frombuffer(data, dtype=dt).reshape(shape)

    def num(s, kind):
        if type(s) is not str or len(s) > 5000:
            raise ProtocolError(f"bad {kind}")
        try:
            return int(s) if kind == "int" else float.fromhex(s)
        except ValueError:
            raise ProtocolError(f"bad {kind} {s[:40]!r}") from None

    def seq(node, depth, into=None):
        v = node.get("v")
        if type(v) is not list:
            raise ProtocolError("bad sequence")
        out = [] if into is None else into
        for x in v:
            out.append(dec(x, depth + 1))
        return out

    def index(node, pool, what):
        i = node.get("i")
        if pool is None or type(i) is not int or not 0 <= i < len(pool):
            raise ProtocolError(f"bad {what}")
        return pool[i]

    def dec(node, depth):
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise ProtocolError("value nested too deeply or too large")
        if type(node) is not dict:
            raise ProtocolError("bad node")
        t = node.get("t")
        if t == "none":
            return None
        if t == "bool":
            v = node.get("v")
            if type(v) is not bool:
                raise ProtocolError("bad bool")
            return v
        if t == "int":
            return num(node.get("v"), "int")
        if t == "float":
            return num(node.get("v"), "float")
        if t == "complex":
            return complex(num(node.get("re"), "float"), num(node.get("im"), "float"))
        if t == "str":
            v = node.get("v")
            if type(v) is not str or len(v) > MAX_STR:
                raise ProtocolError("bad str")
            return v
        if t == "bytes":
            return bytes(buf(node))
        if t == "bytearray":
            return number(bytearray(buf(node)))
        if t == "list":
            return seq(node, depth, number([]))
        if t == "tuple":
            return tuple(seq(node, depth))
        if t == "alias":
            return index(node, None if memo is None else numbered, "alias")
        if t == "argref":
            return index(node, refs, "reference to an argument")
        if t in ("set", "frozenset"):
            out = number(set()) if t == "set" else None
            items = seq(node, depth)
            try:
                if out is None:
                    return frozenset(items)
                out.update(items)
                return out
            except TypeError:
                raise ProtocolError("unhashable set item") from None
        if t == "dict":
            keys, values = node.get("k"), node.get("v")
            if type(keys) is not list or type(values) is not list or len(keys) != len(values):
                raise ProtocolError("bad dict")
            out = number({})
            for k, v in zip(keys, values):
                key = dec(k, depth + 1)
                try:
                    out[key] = dec(v, depth + 1)
                except TypeError:
                    raise ProtocolError("unhashable dict key") from None
            return out
        if t == "nd":
            return number(array(node))
        if t == "npscalar":
            dt, data = dtype_of(node.get("d")), buf(node)
            if len(data) != dt.itemsize:
                raise ProtocolError("bad scalar")
            return np.frombuffer(bytes(data), dtype=dt)[0]
        if t == "dtype":
            return dtype_of(node.get("d"))
        if t == "tensor":
            return number(_dec_tensor(node, array(node)))
        if t == "tdtype":
            torch = _import_torch()
            name = node.get("v")
            if name not in _TORCH_DTYPES:
                raise ProtocolError(f"torch dtype {name!r} is not allowed")
            return getattr(torch, name)
        if t == "slice":
            parts = seq(node, depth)
            if len(parts) != 3:
                raise ProtocolError("bad slice")
            return slice(*parts)
        if t == "range":
            v = node.get("v")
            if type(v) is not list or len(v) != 3:
                raise ProtocolError("bad range")
            return range(*(num(s, "int") for s in v))
        if t == "ellipsis":
            return Ellipsis
        if t in ("h", "ref", "cb", "npgen", "tgen") and resolve is not None:
            return resolve(node, buffers)
        raise ProtocolError(f"unknown or unexpected value tag {str(t)[:40]!r}")

    return dec(node, 0)


def _import_torch():
    torch = _torch()
    if torch is None:
        try:
            import torch  # imported on demand, a NumPy-only grade never needs it
        except ImportError:
            raise ProtocolError("a torch.Tensor arrived but torch is not installed") from None
    return torch


def _dec_tensor(node, arr):
    torch = _import_torch()
    name = node.get("tdt")
    if _TORCH_DTYPES.get(name) != node.get("d"):
        raise ProtocolError("tensor dtype disagrees with its data")
    if not arr.flags.writeable:
        arr = arr.copy()
    if name == "bfloat16":
        t = torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(arr)
    if node.get("rg") is True and t.is_floating_point():
        t.requires_grad_(True)
    return t


def decode_generator(node, buffers):
    """A numpy ``Generator`` or ``torch.Generator`` from an ``npgen``/``tgen`` node (the
    sandbox side of :func:`encode`'s generator support)."""
    if node.get("t") == "npgen":
        name = node.get("bg")
        if name not in _BIT_GENERATORS:
            raise ProtocolError(f"bit generator {name!r} is not allowed")
        bg = getattr(np.random, name)()
        bg.state = _unplain(node.get("state"))
        return np.random.Generator(bg)
    torch = _import_torch()
    i = node.get("b")
    state = np.frombuffer(bytes(buffers[i]), dtype=np.uint8).copy()
    g = torch.Generator()
    g.set_state(torch.from_numpy(state))
    return g
