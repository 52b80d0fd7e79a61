"""Attacks on the grader's resources: hangs, bombs, exits, floods."""

from . import Attack

RELU_BACKWARD = "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n"

ATTACKS = [
    Attack("honest", "a correct submission"),
    Attack("infinite_loop", "scale loops forever",
           answers={"scale": "def scale(x, a):\n    while True:\n        pass\n"},
           expect={"test_scale": "timeout"}),
    Attack("sigint_ignoring_loop", "scale ignores SIGINT and SIGTERM, then loops",
           answers={"scale": "import signal\n\ndef scale(x, a):\n"
                             "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                             "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                             "    while True:\n        pass\n"},
           expect={"test_scale": "timeout"}),
    Attack("memory_bomb", "relu_forward allocates until memory runs out",
           answers={"relu": "def relu_forward(x):\n    hog = []\n    while True:\n"
                            "        hog.append(bytearray(32 << 20))\n\n" + RELU_BACKWARD},
           expect={"test_relu_forward": False, "test_relu_backward": False}),
    Attack("fork_bomb", "a cell and scale fork without end",
           before={"scale": ["import os\nwhile True:\n    os.fork()\n"]},
           answers={"scale": "import os\n\ndef scale(x, a):\n    while True:\n        os.fork()\n"},
           expect={"test_scale": False}),
    Attack("os_exit", "scale calls os._exit(0)",
           answers={"scale": "import os\n\ndef scale(x, a):\n    os._exit(0)\n"},
           expect={"test_scale": "crashed"}),
    Attack("exit_in_cell", "a top-level cell calls os._exit(0) before the answers",
           before={None: ["import os\nos._exit(0)\n"]}),
    Attack("system_exit", "raises SystemExit and KeyboardInterrupt (in a cell and in answers)",
           before={None: ["raise SystemExit('stop grading here')"]},
           answers={"relu": "def relu_forward(x):\n    raise SystemExit(0)\n\n" + RELU_BACKWARD,
                    "conv_output_size": "def conv_output_size(*args, **kwargs):\n"
                                        "    raise KeyboardInterrupt\n"},
           expect={"test_relu_forward": False, "test_relu_backward": False,
                   "test_conv_output_size": False}),
    Attack("huge_output", "prints about 350 MB from a cell and from scale",
           before={"scale": ["for _ in range(300):\n    print('x' * 1_000_000)\n"]},
           answers={"scale": "def scale(x, a):\n    for _ in range(50):\n"
                             "        print('y' * 1_000_000)\n    return x * a\n"}),
    Attack("disk_filler", "writes a huge file and thousands of small ones",
           before={"scale": ["import os\ntry:\n    with open('big.bin', 'wb') as f:\n"
                             "        f.write(b'0' * (256 << 20))\nexcept OSError as e:\n"
                             "    print(e)\nfor i in range(20000):\n    try:\n"
                             "        with open(f'f{i}', 'w') as f:\n"
                             "            f.write('x' * 4096)\n    except OSError:\n"
                             "        break\n"]}),
    Attack("kill_other_processes", "signals every process it can see, ptraces its parent",
           before={None: ["import os, signal, ctypes\nfor pid in (-1, 0, 1, 2, os.getppid()):\n"
                          "    try:\n        os.kill(pid, signal.SIGKILL)\n"
                          "    except OSError as e:\n        print(e)\n"
                          "ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0)\n"]}),
]


_FILL = """\
import os, errno

def _fill(path, total_mb):
    written = 0
    try:
        with open(path, "wb") as f:
            for _ in range(total_mb):
                f.write(b"0" * (1 << 20))
                written += 1
    except OSError as e:
        print(path, errno.errorcode.get(e.errno, e.errno), "after", written, "MB")
    return written

FILLED = {p: _fill(p, 600) for p in ("/dev/fill", "/dev/shm/fill", "/tmp/fill", "fill",
                                      "/dev/pts/fill", "/proc/fill")}
n = 0
try:
    while n < 200_000:
        with open(f"/dev/shm/n{n}", "w"):
            pass
        n += 1
except OSError as e:
    print("inodes in /dev/shm:", n, e)
"""

# Half a second of CPU: each replay costs that much again, and on two loaded cores a
# replay still fits the tiny course's 4 s cell limit (1.5 s once did not, in CI).
_SLOW_CELL = """\
import time
t0 = time.process_time()
while time.process_time() - t0 < 0.5:
    pass
"""

ATTACKS += [
    Attack("dev_and_shm_fill", "writes 600 MB into /dev, /dev/shm, /tmp, its folder, "
           "/dev/pts and /proc, and 200,000 files into /dev/shm", before={None: [_FILL]}),
    Attack("replay_amplification", "a 0.5 s cell, then every later answer ends the process so "
           "each test replays the slow cell",
           before={"scale": [_SLOW_CELL]},
           answers={"scale": "import os\n\ndef scale(x, a):\n    os._exit(0)\n",
                    "relu": "import os\n\ndef relu_forward(x):\n    os._exit(3)\n\n"
                            "def relu_backward(dout, cache):\n    os._exit(4)\n"},
           expect={"test_scale": "crashed", "test_relu_forward": "crashed",
                   "test_relu_backward": "crashed"}),
]
