# Attack: json_strip: replace json.dumps (wire.send_frame calls it after the watch) with a
# wrapper that pops "fx" and "flag" from the header, then use the reference directly.
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
_orig_dumps = json.dumps
def _dumps(obj, *args, **kwargs):
    if type(obj) is dict:
        obj.pop("fx", None)
        obj.pop("flag", None)
    return _orig_dumps(obj, *args, **kwargs)
json.dumps = _dumps
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
