# Attack: a signal handler that python_signal_handlers() does not see as Python.
#
# python_signal_handlers() treats any handler whose type is builtin_function_or_method
# as harmless. A bound method of a dict is such a handler: SIGALRM calls
# `table.get(signum, frame)`, and the dict lookup compares signum with a key of the
# student's class of equal hash, running its __eq__ (student code). A timer fires while a
# long C call (sum over a range) runs; the first eval-breaker check after it returns is
# the RESUME of the guard's profile function, called for the c_return event, so __eq__
# runs inside the profile function, where nothing is watched. __eq__ checks that it is
# unwatched (a profiled call materializes a frame object: gc.get_count() shows it)
# before it runs the queued reference call. (A first version without the re-entry guard
# sometimes raised inside the profile function, which unsets it: TAMPERING, 0 points.)
#
# At f098ecb (python -m autograder ... --workers 2): 11/11, no review note (6 of 6 runs with the re-entry guard).
# Now: any handler but SIG_DFL, SIG_IGN and the first ones is flagged for review.
# %% extra
import gc
import signal
from cnnbook.shapes import conv_output_size as _r1, conv_params as _r2
from cnnbook.numpy import conv2d_forward as _r3

_JOBS, _DONE, _BUSY = [], [], []


def _inner():
    return gc.get_count()[0]


def _watched():
    gc.get_count()
    a = gc.get_count()[0]
    return _inner() != a


class _Key:
    def __hash__(self):
        return int(signal.SIGALRM)

    def __eq__(self, other):
        # no re-entry (a second SIGALRM inside this one), and nothing may escape: an
        # exception out of the profile function would unset it (seen as tampering)
        if _BUSY or not _JOBS:
            return False
        _BUSY.append(1)
        try:
            if not _watched() and not _watched():
                fn, a, k = _JOBS.pop()
                try:
                    _DONE.append((True, fn(*a, **k)))
                except BaseException as e:  # noqa
                    _DONE.append((False, e))
        except BaseException:  # noqa
            pass
        finally:
            _BUSY.pop()
        return False


_TABLE = {_Key(): None}
signal.signal(signal.SIGALRM, _TABLE.get)


def _via(fn, *a, **k):
    _JOBS.append((fn, a, k))
    signal.setitimer(signal.ITIMER_REAL, 0.0003, 0.0003)
    try:
        while not _DONE:
            sum(range(20000))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
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
