# Attack: the reference runs in the watch's teardown, inside TorchDispatchMode.__exit__.
#
# At 9f2e61e (bwrap sandbox, --workers 1): 7/11 (conv2d_forward_loops 3/3,
# conv2d_forward 3/3, conv2d_forward_speed 1/1; conv_output_size/conv_params raise on
# purpose), no flags, no review notes. Control (same file, hook computes nothing): 0/11.
# Baseline (graded cells call cnnbook.numpy.conv2d_forward directly): 0/11, "forbidden",
# plus a reach review note.
#
# How: ps01 forbids every torch operator and warms torch.nn.functional, so every
# guards.watch() pushes a TorchDispatchMode (_push_torch_mode) and its teardown calls
# w.stop_torch_mode() -> mode.__exit__(None, None, None) AFTER _setprofile(None) and
# before _setprofile(previous): nothing profiles that code. __exit__ is inherited from
# torch.utils._python_dispatch.TorchDispatchMode, which the submission patches through an
# unflagged re-export (torch._ops.TorchDispatchMode; also torch.autograd.graph,
# torch._subclasses.fake_tensor ...). The graded function returns a zero array of the
# right shape and queues (array, args); Server._run encodes the reply inside the watch,
# but wire._enc_array keeps a *view* of the array's memory as the buffer, and the reply is
# sent only after the watch exits. The patched __exit__ runs the reference in that window
# and writes the result into the queued array in place, so the grader receives the
# reference's output. Visible (unarmed) calls are answered from the notebook's worked
# examples (the random "loops vs vectorized" visible check compares two zero arrays).
# The review scan sees only `import torch._ops`, `.TorchDispatchMode`, `.__exit__ =`.
# Now: the guard's dispatch mode is a class of its own, pushed and popped with torch's C
# functions (no torch Python runs in the teardown), and the reply's buffers are copied
# inside the watch: 0/11.
#
# %% extra
import numpy as np
import torch
import torch._ops as _tops
from cnnbook.numpy import conv2d_forward as _ref

_Mode = _tops.TorchDispatchMode      # same class as torch.utils._python_dispatch's
_orig_exit = _Mode.__exit__
_pending = []


def _late_exit(self, *a):
    # Runs from guards.watch()'s `finally`, after _setprofile(None): nothing profiles it.
    while _pending:
        out, args = _pending.pop()
        try:
            out[...] = _ref(*args)[0]
        except Exception:  # noqa: BLE001
            pass
    return _orig_exit(self, *a)


_Mode.__exit__ = _late_exit

_x1 = np.arange(16.0).reshape(1, 1, 4, 4)
_w1 = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
_e1 = np.array([[[[35.0, 45.0, 55.0], [75.0, 85.0, 95.0], [115.0, 125.0, 135.0]]]])
_x2 = (np.arange(50) % 7 - 3).reshape(1, 2, 5, 5).astype(np.float32)
_w2 = (np.arange(36) % 5 - 2).reshape(2, 2, 3, 3).astype(np.float32)
_e2 = np.array([[[[8, -12, -4], [-11, -9, 6], [10, 20, -9]],
                 [[-13, 6, 13], [3, 10, -12], [2, -13, 1]]]], dtype=np.float32)


def _late(x, w, b, stride, padding):
    """An array the reference fills once the graded call's watch is being taken down
    (the reply's buffer is a view of it, encoded already, sent after)."""
    for xv, wv, ev in ((_x1, _w1, _e1), (_x2, _w2, _e2)):  # the notebook's worked examples
        if x.shape == xv.shape and w.shape == wv.shape and np.array_equal(x, xv) \
                and np.array_equal(w, wv):
            return ev.astype(x.dtype)
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    out = np.zeros((n, f, (h + 2 * padding - kh) // stride + 1,
                    (wd + 2 * padding - kw) // stride + 1), dtype=np.result_type(x, w))
    _pending.append((out, (x, w, b, stride, padding)))
    return out

# %% conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    raise NotImplementedError

# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    raise NotImplementedError

# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    return _late(x, w, b, stride, padding)

# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return _late(x, w, b, stride, padding), (x, w, b, stride, padding)
