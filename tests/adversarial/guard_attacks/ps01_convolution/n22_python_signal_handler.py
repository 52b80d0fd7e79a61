# Regression (expected to be STOPPED): the same timer attack as
# signal_builtin_method_handler, but with a plain Python function as the SIGALRM handler.
# python_signal_handlers() sees it, and the reply after it is set carries
# A_SIGNAL_HANDLER: a review flag.
#
# Measured at f098ecb (python -m autograder ... --workers 2): STOPPED: 0-2/11 and a review note "uses a signal handler of its own" (python_signal_handlers()).
# %% extra
import gc
import signal
from cnnbook.shapes import conv_output_size as _r1, conv_params as _r2
from cnnbook.numpy import conv2d_forward as _r3

_JOBS, _DONE = [], []


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
        if _JOBS and not _watched():
            fn, a, k = _JOBS.pop()
            try:
                _DONE.append((True, fn(*a, **k)))
            except BaseException as e:  # noqa
                _DONE.append((False, e))
        return False


def _handler(signum, frame):
    _Key() == signum  # noqa: B015 - its __eq__ runs the queued call


signal.signal(signal.SIGALRM, _handler)


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
