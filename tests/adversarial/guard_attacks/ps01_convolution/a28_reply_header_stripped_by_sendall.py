# Attack: sendall_strip: replace socket.socket.sendall (a Python subclass of _socket.socket);
# it parses each outgoing frame, drops "fx"/"flag" from the header, fixes the length and
# sends the rest unchanged with _socket.socket.sendall. Survives a fix that only pins json.
#
# At 041db65, measured (ps01_convolution, python -m autograder --workers 1, commit 041db65):
# Now: frames are written and read with json's C functions and the C socket's own
# methods, captured before any submission runs (autograder/grader/wire.py): 0/11.
# 11/11, every test "passed", results.json "flags": [] and "notes": [],
# review.notes() of the notebook: [] (no review note). Baseline (same solution cells,
# no extra cell): 0/11, every test "forbidden", two review flags.
#
# Root cause: the guarded call's hits ("fx") and the unguarded code's hits ("flag") go back
# to the grader inside the reply's JSON header, which the sandbox builds and sends with
# library Python the submission shares and can replace (json.dumps, json.JSONEncoder,
# socket.socket.sendall). The watch records every hit correctly; the submission deletes
# the record on its way out. The replacement never calls a reference itself, so the
# CELL_GUARD profile around the serve loop sees nothing to flag.
# %% extra
import json
import socket
import struct
import _socket
def _sendall(self, data, *rest):
    raw = bytes(data)
    if len(raw) >= 4:
        n = struct.unpack(">I", raw[:4])[0]
        if 4 + n <= len(raw):
            try:
                head = json.loads(raw[4:4 + n])
            except Exception:  # noqa: BLE001
                head = None
            if type(head) is dict and ("fx" in head or "flag" in head):
                head.pop("fx", None)
                head.pop("flag", None)
                new = json.dumps(head, separators=(",", ":")).encode()
                raw = struct.pack(">I", len(new)) + new + raw[4 + n:]
    return _socket.socket.sendall(self, raw, *rest)
socket.socket.sendall = _sendall
# %% conv_output_size
from cnnbook.shapes import conv_output_size as _ref_cos
def conv_output_size(size, kernel, stride=1, padding=0):
    return _ref_cos(size, kernel, stride, padding)
# %% conv_params
from cnnbook.shapes import conv_params as _ref_cp
def conv_params(in_channels, out_channels, kernel, bias=True):
    return _ref_cp(in_channels, out_channels, kernel, bias=bias)
# %% conv2d_forward_loops
from cnnbook.numpy import conv2d_forward as _ref_cf
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    return _ref_cf(x, w, b, stride, padding)[0]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return _ref_cf(x, w, b, stride, padding)
