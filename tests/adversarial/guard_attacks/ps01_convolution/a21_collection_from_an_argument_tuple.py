# Attack: a garbage collection (and the student's gc callback) run inside the guard's
# profile function.
#
# _profiler() leaves the collector ON on its "common path", claiming that path allocates
# nothing the collector tracks. It does: `collector_off(fingerprinted, code)` packs its
# *args into a fresh 1-tuple BEFORE collector_off switches the collector off, and that
# path is taken for the first call, in each watch, of every code whose _shape() matches a
# reference's -- and ps01's shapes include every plain function of 0..8 positional
# arguments. With the 1-tuple free list drained (2100 live 1-tuples) and gc's threshold
# set to 1, that tuple's allocation starts a collection inside the profile function
# (Python 3.11 collects synchronously on allocation), where tracing is on and nothing is
# profiled. A gc callback (gc.callbacks: student code run by every collection) tells
# whether it is watched (a profiled call materializes a frame object, which shows in
# gc.get_count()), and only when it is not, runs the queued reference call.
# namedtuple() supplies a never-seen code object (its eval'd __new__) on each try, so
# it also works under the cell guard, whose cache of clean codes persists.
#
# At f098ecb (python -m autograder ... --workers 2): 11/11, no review note (7 of 7 runs).
# Now: the profile function builds no object before the collector is off (no argument tuple): 0/11.
# %% extra
import gc
import collections
from cnnbook.shapes import conv_output_size as _r1, conv_params as _r2
from cnnbook.numpy import conv2d_forward as _r3

_JOBS, _DONE = [], []


def _inner():
    return gc.get_count()[0]


def _watched():
    # a profiled call materializes its frame object: one more tracked allocation
    gc.get_count()
    a = gc.get_count()[0]
    return _inner() != a


def _cb(phase, info):
    if _JOBS and phase == "start" and not _watched():
        fn, a, k = _JOBS.pop()
        try:
            _DONE.append((True, fn(*a, **k)))
        except BaseException as e:  # noqa
            _DONE.append((False, e))


gc.callbacks.append(_cb)


def _via(fn, *a, **k):
    _JOBS.append((fn, a, k))
    old = gc.get_threshold()
    on = gc.isenabled()
    gc.enable()
    gc.set_threshold(1)
    hold = [(i,) for i in range(2100)]  # empty the 1-tuple free list
    try:
        while not _DONE:
            hold.append([(i,) for i in range(30)])
            T = collections.namedtuple("T", "a b c d")  # a fresh code of a reference's shape
            T(1, 2, 3, 4)
    finally:
        gc.set_threshold(*old)
        if not on:
            gc.disable()
    ok, v = _DONE.pop()
    if not ok:
        raise v
    return v
# %% conv_output_size
def conv_output_size(size, kernel, stride=1, padding=0):
    return _via(_r1, size, kernel, stride, padding)
# %% conv_params
def conv_params(in_channels, out_channels, kernel, bias=True):
    return _via(_r2, in_channels, out_channels, kernel, bias=bias)
# %% conv2d_forward_loops
def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    return _via(_r3, x, w, b, stride, padding)[0]
# %% conv2d_forward
def conv2d_forward(x, w, b, stride=1, padding=0):
    return _via(_r3, x, w, b, stride, padding)
