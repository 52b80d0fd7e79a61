"""The grader's wire format: values round-trip, and nothing untrusted gets decoded into
anything but plain builtins and exact arrays."""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest

from autograder.grader import wire
from autograder.grader.errors import HIDDEN_MESSAGE, SubmissionError, remote_exception


def roundtrip(value, fallback=None, resolve=None):
    node, bufs = wire.encode(value, fallback)
    node = json.loads(json.dumps(node))  # what really travels
    return wire.decode(node, [bytes(memoryview(b).cast("B")) for b in bufs], resolve)


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2 ** 100, 1.5, float("inf"), -0.0, complex(1, -2), "héllo",
    b"\x00\xff", [1, [2, (3, 4)]], (1,), {"a": 1, 2: [3.0], (1, 2): None}, {1, 2},
    frozenset({"x"}), slice(1, None, 2), range(2, 10, 3), Ellipsis,
])
def test_plain_values_roundtrip(value):
    got = roundtrip(value)
    assert got == value and type(got) is type(value)


def test_nan_roundtrips():
    assert np.isnan(roundtrip(float("nan")))


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int8", "int64", "uint8",
                                   "bool", "complex128", ">f8"])
def test_arrays_roundtrip_exactly(dtype):
    a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    got = roundtrip(a)
    assert type(got) is np.ndarray and got.dtype == a.dtype and got.shape == a.shape
    assert np.array_equal(got, a) and got.flags.writeable


def test_zero_dimensional_arrays_keep_their_shape():
    for a in (np.array(2.5), np.full((), 1.5, np.float32), np.ones((1,)).squeeze(),
              np.arange(6.0).reshape(2, 3)[1, 2, None].squeeze()):
        got = roundtrip(a)
        assert type(got) is np.ndarray and got.shape == () and got.dtype == a.dtype
        assert got == a


def test_views_empty_and_scalars():
    a = np.arange(20.0).reshape(4, 5)[:, ::2].T  # not contiguous
    assert np.array_equal(roundtrip(a), a)
    e = np.zeros((0, 3), np.float32)
    got = roundtrip(e)
    assert got.shape == (0, 3) and got.dtype == np.float32
    s = roundtrip(np.float32(2.5))
    assert type(s) is np.float32 and s == 2.5
    assert roundtrip(np.dtype("int16")) == np.dtype("int16")
    assert roundtrip(np.float64) == np.dtype("float64")


def test_subclasses_arrive_as_plain_builtins():
    class Liar(float):
        def __eq__(self, other):
            return True

    class LiarArray(np.ndarray):
        def __eq__(self, other):
            return True

    class Tup(tuple):
        pass

    got = roundtrip([Liar(0.0), np.zeros(3).view(LiarArray), Tup((1, 2)),
                     np.ma.masked_array([[1, 2]])])
    assert type(got[0]) is float and got[0] != 5.0
    assert type(got[1]) is np.ndarray and not (got[1] == 1).all()
    assert type(got[2]) is tuple
    assert type(got[3]) is np.ndarray and got[3].shape == (1, 2)


def test_objects_without_a_value_need_a_fallback():
    with pytest.raises(wire.Unencodable):
        wire.encode(object())
    with pytest.raises(wire.Unencodable):
        wire.encode(np.array([object()], dtype=object))
    node, _ = wire.encode([object(), np.array([None])], fallback=lambda o: {"t": "h", "id": 7})
    assert node["v"][0] == {"t": "h", "id": 7} and node["v"][1] == {"t": "h", "id": 7}
    with pytest.raises(wire.ProtocolError):  # a handle without a resolver is refused
        wire.decode(node, [])


def test_torch_tensors_roundtrip_as_tensors():
    torch = pytest.importorskip("torch")
    for t in (torch.arange(6.0).reshape(2, 3), torch.ones(2, dtype=torch.bfloat16),
              torch.tensor([1, 2], dtype=torch.int32), torch.zeros(2, 2).t()):
        got = roundtrip(t)
        assert isinstance(got, torch.Tensor) and got.dtype == t.dtype and got.shape == t.shape
        assert torch.equal(got, t)
    p = torch.nn.Parameter(torch.ones(3))
    assert roundtrip(p).requires_grad and type(roundtrip(p)) is torch.Tensor
    assert roundtrip(torch.float32) is torch.float32
    assert roundtrip(torch.Size([2, 3])) == (2, 3)


@pytest.mark.parametrize("node,bufs", [
    ({"t": "nd", "d": "|O8", "s": [1], "b": 0}, [b"\0" * 8]),          # object dtype
    ({"t": "nd", "d": "<f8", "s": [3], "b": 0}, [b"\0" * 8]),          # size mismatch
    ({"t": "nd", "d": "<f8", "s": [-1], "b": 0}, [b""]),               # negative shape
    ({"t": "nd", "d": "<f8", "s": [1], "b": 5}, [b"\0" * 8]),          # bad buffer
    ({"t": "nd", "d": "V8", "s": [1], "b": 0}, [b"\0" * 8]),           # void dtype
    ({"t": "int", "v": "1" * 6000}, []),                               # giant int
    ({"t": "float", "v": "nan?"}, []),
    ({"t": "pickle", "v": "cos\nsystem\n"}, []),                       # unknown tag
    ({"t": "set", "v": [{"t": "list", "v": []}]}, []),                 # unhashable
    ({"t": "dict", "k": [{"t": "list", "v": []}], "v": [{"t": "none"}]}, []),
    ({"t": "str", "v": 5}, []),
    ("not a node", []),
])
def test_malformed_values_are_refused(node, bufs):
    with pytest.raises(wire.ProtocolError):
        wire.decode(node, bufs)


def test_deep_nesting_is_refused():
    node = {"t": "none"}
    for _ in range(wire.MAX_DEPTH + 5):
        node = {"t": "list", "v": [node]}
    with pytest.raises(wire.ProtocolError):
        wire.decode(node, [])


def test_frames_over_a_socket_and_their_limits():
    a, b = socket.socketpair()
    big = np.arange(300_000, dtype=np.float64)
    t = threading.Thread(target=wire.send_frame, args=(a, {"op": "x"}, [big, b"tail"]))
    t.start()
    header, bufs = wire.recv_frame(b)
    t.join()
    assert header == {"op": "x"}
    assert np.array_equal(np.frombuffer(bufs[0]), big) and bufs[1] == b"tail"
    wire.send_frame(a, {"op": "y"}, [b"x" * 100])
    with pytest.raises(wire.ProtocolError):
        wire.recv_frame(b, max_bytes=10)
    a.sendall(b"\xff\xff\xff\xff")  # a 4 GB header
    with pytest.raises(wire.ProtocolError):
        wire.recv_frame(b)
    c, d = socket.socketpair()
    c.sendall(b"\x00\x00\x00\x05[1,2")  # not an object, and truncated
    with pytest.raises(wire.Timeout):
        wire.recv_frame(d, deadline=__import__("time").monotonic() + 0.2)
    c.close()
    with pytest.raises(wire.PeerClosed):
        wire.recv_frame(d)


def test_remote_exceptions_keep_their_builtin_types():
    err = remote_exception({"type": "AxisError", "msg": "bad axis",
                            "where": [["cell 3", 4, "f"]],
                            "bases": ["AxisError", "ValueError", "IndexError", "Exception",
                                      "BaseException", "object"]})
    assert isinstance(err, SubmissionError) and isinstance(err, ValueError)
    assert isinstance(err, IndexError) and type(err).__name__ == "AxisError"
    assert err.location() == "cell 3, line 4, in f"
    exit_ = remote_exception({"type": "SystemExit", "msg": "0", "bases": ["SystemExit"]})
    assert isinstance(exit_, Exception) and not isinstance(exit_, SystemExit)
    junk = remote_exception({"type": 5, "where": "x", "bases": [1, "NotAType"]})
    assert isinstance(junk, SubmissionError)


# ---------------------------------------------------------------------------
# hostile replies: every one is a ProtocolError (the submission's fault), never a crash
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"[" * 200_000 + b"]" * 200_000,                 # nested 200,000 deep
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b"[" * 200_000,                                  # deep and truncated
    b"\xff\xfe{}",                                   # not UTF-8
    b"[1, 2]",                                       # JSON, but not an object
    b'{"a": NaN}' + b" " * 10,                       # fine JSON for Python: an object
])
def test_hostile_headers_are_protocol_errors(raw):
    a, b = socket.socketpair()
    t = threading.Thread(target=lambda: (a.sendall(len(raw).to_bytes(4, "big") + raw
                                                   + (0).to_bytes(4, "big")), a.close()))
    t.start()
    try:
        header, _ = wire.recv_frame(b, deadline=__import__("time").monotonic() + 10)
    except wire.ProtocolError:
        header = None
    t.join()
    b.close()
    if raw.startswith(b'{"a": NaN}'):
        assert type(header) is dict
    else:
        assert header is None


def test_memo_keeps_identity_within_a_message():
    x = np.arange(3.0)
    inner = [x]
    loop = []
    loop.append(loop)
    value = ([x, x, inner], {"k": inner}, loop, bytearray(b"ab"))
    memo_out, memo_in = [], []
    node, bufs = wire.encode(value, memo=memo_out)
    node = json.loads(json.dumps(node))
    got = wire.decode(node, [bytes(memoryview(b).cast("B")) for b in bufs], memo=memo_in)
    (a, b, lst), d, lp, ba = got
    assert a is b and lst[0] is a and d["k"] is lst and lp[0] is lp
    assert type(ba) is bytearray and ba == bytearray(b"ab")
    assert len(memo_out) == len(memo_in)
    assert [type(o) for o in memo_out] == [type(o) for o in memo_in]


def test_argrefs_name_the_callers_objects_and_are_checked():
    x, lst = np.zeros(2), [1]
    memo = []
    wire.encode(([x, lst], {}), memo=memo)
    known = {id(o): i for i, o in enumerate(memo)}
    node, _ = wire.encode((x, [lst], 5), known=known)
    got = wire.decode(json.loads(json.dumps(node)), [], refs=memo)
    assert got[0] is x and got[1][0] is lst and got[2] == 5
    top, _ = wire.encode(x, known=known, top_by_value=True)  # the object itself, by value
    assert top["t"] == "nd"
    for bad in ({"t": "argref", "i": 99}, {"t": "argref", "i": "0"}, {"t": "alias", "i": 0}):
        with pytest.raises(wire.ProtocolError):
            wire.decode(bad, [], refs=memo)
    with pytest.raises(wire.ProtocolError):  # no argument list to refer to
        wire.decode({"t": "argref", "i": 0}, [])


@pytest.mark.parametrize("info", [
    {"type": "ExceptionGroup", "msg": "two", "bases": ["ExceptionGroup", "BaseExceptionGroup",
                                                       "Exception", "BaseException"]},
    {"type": "UnicodeDecodeError", "msg": "x", "bases": ["UnicodeDecodeError",
                                                         "UnicodeError", "ValueError"]},
    {"type": "BaseExceptionGroup", "msg": "x", "bases": ["BaseExceptionGroup"]},
    {"type": "OSError", "msg": "x", "bases": ["OSError"] * 50},
    {"type": "x" * 5000, "msg": 7, "where": [["cell 1", "x", None]] * 100,
     "bases": ["StopIteration", "StopAsyncIteration", "GeneratorExit"]},
])
def test_any_exception_description_is_recreated(info):
    err = remote_exception(info)
    assert isinstance(err, SubmissionError)
    with pytest.raises(SubmissionError):
        raise err
    assert not isinstance(err, BaseExceptionGroup)
    if info["type"] == "UnicodeDecodeError":
        assert isinstance(err, ValueError)


def test_exceptions_from_hidden_tests_keep_type_and_place_only():
    info = {"type": "ValueError", "msg": "hidden input [0.125, -3.5]",
            "where": [["cell 4", 7, "conv2d_forward"]], "bases": ["ValueError"]}
    shown = remote_exception(info)
    assert "0.125" in str(shown) and shown.location() == "cell 4, line 7, in conv2d_forward"
    hidden = remote_exception(info, hidden=True)
    assert str(hidden) == HIDDEN_MESSAGE and hidden.args == (HIDDEN_MESSAGE,)
    assert isinstance(hidden, ValueError) and hidden.shown_type() == "ValueError"
    assert hidden.location() == "cell 4, line 7, in conv2d_forward"
    made_up = remote_exception({"type": "E_0p125_m3p5", "msg": "", "bases": ["KeyError"],
                                "where": [["cell 4 0.125", 99999, "f_0p125"]]}, hidden=True)
    assert made_up.shown_type() == "an exception derived from KeyError"
    assert made_up.location() == ""
    odd_name = remote_exception({"type": "E", "bases": [], "where": [["cell 2", 3, "a" * 60]]},
                                hidden=True)
    assert odd_name.location() == "cell 2, line 3"


def test_frames_are_written_and_read_with_what_was_there_at_import(monkeypatch):
    """In the sandbox a submission shares the process: replacing json's or the socket
    class's Python must not change what a frame carries (the guard's hits)."""
    a, b = socket.socketpair()
    monkeypatch.setattr(json, "dumps", lambda *a, **k: '{"tampered": 1}')
    monkeypatch.setattr(json, "loads", lambda *a, **k: {"tampered": 1})
    monkeypatch.setattr(json.JSONEncoder, "encode", lambda self, o: '{"tampered": 1}')
    monkeypatch.setattr(socket.socket, "sendall", lambda self, data: None)
    monkeypatch.setattr(socket.socket, "recv_into", lambda self, view, n=0: 0)
    try:
        wire.send_frame(a, {"ok": True, "fx": ["a reference"]}, [np.arange(3.0)])
        header, bufs = wire.recv_frame(b)
    finally:
        a.close()
        b.close()
    assert header == {"ok": True, "fx": ["a reference"]}
    assert np.frombuffer(bufs[0]).tolist() == [0.0, 1.0, 2.0]
