# Attack: student code run inside the guard's profile function through update().
#
# The guard's profile function calls update() (forbidden.refresh() -> _resolve() ->
# _lookup() -> _ready()) whenever len(sys.modules) changed, and on EVERY event while
# Forbidden._modules == -1 (a forbidden module "still importing"). _ready() reads
# module.__spec__._initializing with getattr: student code (a property) if the module
# is the student's. "scipy.signal" is a pending forbidden name in the sandbox (scipy is
# warmed, its lazy submodule is not imported), so a meta-path finder of the student's
# answers `import scipy.signal` with a ModuleSpec subclass whose `_initializing` is a
# property that always says True. From then on every profiled event runs the property
# inside the profile function (tracing on: nothing is watched), and the property runs
# whatever reference call the graded function queued. No introspection names are used.
#
# At f098ecb (python -m autograder ... --workers 2): 11/11, no review note (4 of 4 runs).
# Now: the guard reads modules, specs and namespaces only through their exact types and plain keys, so the property never runs: 0/11.
# %% extra
import sys
import importlib.machinery
from cnnbook.shapes import conv_output_size as _r1, conv_params as _r2
from cnnbook.numpy import conv2d_forward as _r3

_JOBS, _DONE = [], []


class _Spec(importlib.machinery.ModuleSpec):
    @property
    def _initializing(self):
        while _JOBS:
            fn, a, k = _JOBS.pop()
            try:
                _DONE.append((True, fn(*a, **k)))
            except BaseException as e:  # noqa
                _DONE.append((False, e))
        return True

    @_initializing.setter
    def _initializing(self, value):
        pass


class _Finder:
    def find_spec(self, name, path=None, target=None):
        return _Spec(name, self) if name == "scipy.signal" else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())
import scipy.signal
del sys.meta_path[0]


def _via(fn, *a, **k):
    _JOBS.append((fn, a, k))
    len(_JOBS)  # one more profiled event: the guard's update() reads _initializing
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
