"""Realistic bugs in problem set 6 (AlexNet and VGG)."""

from .corpus import Mutant, blanks, wrapper

ASSIGNMENT = "ps06_alexnet_vgg"

ONE_RELU_AT_THE_END = '''
def vgg_block(in_channels, out_channels, num_convs):
    layers = []
    for i in range(num_convs):
        layers.append(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1))
    layers += [nn.ReLU(), nn.MaxPool2d(2, 2)]
    return nn.Sequential(*layers)
'''

MUTANTS = [
    # lrn_forward
    Mutant("LRN: alpha not divided by the window size (the paper's convention)", "lrn",
           [("denom = k + alpha / size * window_sum", "denom = k + alpha * window_sum")],
           tests=("test_lrn_forward",)),
    Mutant("LRN: even window reaches further forward than back", "lrn",
           [("    before, after = size // 2, (size - 1) // 2\n    padded = np.pad(x * x",
             "    before, after = (size - 1) // 2, size // 2\n    padded = np.pad(x * x")],
           tests=("test_lrn_forward",)),
    Mutant("LRN: sums |x| instead of x squared", "lrn",
           [("np.pad(x * x,", "np.pad(np.abs(x),")], tests=("test_lrn_forward",)),
    Mutant("LRN: default k = 1 instead of 2", "lrn",
           [("def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):",
             "def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=1.0):")],
           tests=("test_lrn_forward",)),
    # lrn_backward
    Mutant("LRN backward: cross-channel term forgotten", "lrn",
           [("dx = dout * scale - 2 * alpha * beta / size * x * back", "dx = dout * scale")],
           tests=("test_lrn_backward",)),
    Mutant("LRN backward: window not mirrored", "lrn",
           [("np.pad(t, ((0, 0), (after, before),", "np.pad(t, ((0, 0), (before, after),")],
           tests=("test_lrn_backward",)),
    Mutant("LRN backward: only the channel's own denominator", "lrn",
           [("back = sum(padded[:, i:i + C] for i in range(size))", "back = t")],
           tests=("test_lrn_backward",)),
    Mutant("LRN backward: factor 2 of the square forgotten", "lrn",
           [("2 * alpha * beta / size", "alpha * beta / size")], tests=("test_lrn_backward",)),
    Mutant("LRN backward: exponent -beta instead of -beta-1", "lrn",
           [("t = dout * x * scale / denom", "t = dout * x * scale")], tests=("test_lrn_backward",)),
    # vgg_block
    Mutant("VGG block: no padding", "vgg_block", [("3, padding=1)", "3)")]),
    Mutant("VGG block: ReLU forgotten", "vgg_block", [(",\n                   nn.ReLU()]", "]")]),
    Mutant("VGG block: every conv reads in_channels", "vgg_block",
           [("in_channels if i == 0 else out_channels", "in_channels")]),
    Mutant("VGG block: pooling with stride 1", "vgg_block",
           [("nn.MaxPool2d(2, 2)", "nn.MaxPool2d(2, 1)")]),
    Mutant("VGG block: average pooling", "vgg_block", [("nn.MaxPool2d(2, 2)", "nn.AvgPool2d(2, 2)")],
           subtle=True),
    Mutant("VGG block: one ReLU after the last conv only", "vgg_block", source=ONE_RELU_AT_THE_END,
           subtle=True),
    # vgg_memory
    Mutant("VGG memory: conv biases forgotten", "vgg_memory",
           [("params += item * channels * 9 + item", "params += item * channels * 9")]),
    Mutant("VGG memory: input image not counted", "vgg_memory",
           [("activations = channels * height * width", "activations = 0")]),
    Mutant("VGG memory: pooling rounds up", "vgg_memory",
           [("height, width = height // 2, width // 2", "height, width = (height + 1) // 2, (width + 1) // 2")],
           subtle=True),
    Mutant("VGG memory: FC biases forgotten", "vgg_memory",
           [("params += features * units + units", "params += features * units")]),
    Mutant("VGG memory: pooling outputs not counted", "vgg_memory",
           [("height, width = height // 2, width // 2\n", "height, width = height // 2, width // 2\n            continue\n")]),
    Mutant("VGG memory: 4 bytes hard-coded", "vgg_memory",
           [("params * bytes_per_value", "params * 4"), ("activations * bytes_per_value", "activations * 4")],
           subtle=True),
]

MUTANTS += blanks(ASSIGNMENT, ["lrn_forward", "lrn_backward", "vgg_block", "vgg_memory"])

LRN = "x, size=5, alpha=1e-4, beta=0.75, k=2.0"
LCALL = "_student_lrn_forward(x, size, alpha, beta, k)"
BWD = "dout, cache"
MEM = "config, input_shape=(3, 224, 224), num_classes=1000, bytes_per_value=4"
MCALL = "_student_vgg_memory(config, input_shape, num_classes, bytes_per_value)"

ROLLED_WINDOW = '''
def lrn_forward(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    before, after = size // 2, (size - 1) // 2
    squares = x * x
    window_sum = sum(np.roll(squares, shift, axis=1) for shift in range(-after, before + 1))
    denom = k + alpha / size * window_sum
    out = x * denom ** -beta
    return out.astype(x.dtype), (x, denom, size, alpha, beta)
'''

ROLLED_BACKWARD = ("    padded = np.pad(t, ((0, 0), (after, before), (0, 0), (0, 0)))\n"
                   "    back = sum(padded[:, i:i + C] for i in range(size))\n",
                   "    back = sum(np.roll(t, shift, axis=1) for shift in range(-before, after + 1))\n")

K_RECOMPUTED = ("    scale = denom ** -beta\n",
                "    squares = np.pad(x * x, ((0, 0), (before, after), (0, 0), (0, 0)))\n"
                "    denom = 2.0 + alpha / size * sum(squares[:, i:i + C] for i in range(size))\n"
                "    scale = denom ** -beta\n")

MUTANTS += [
    # lrn_forward
    wrapper("LRN: calls the library's reference", "lrn", "lrn_forward", LRN,
            "import cnnbook.numpy\nout, _ = cnnbook.numpy.lrn_forward(x, size, alpha, beta, k)\n"
            f"return out, {LCALL}[1]", tests=("test_lrn_forward",)),
    wrapper("LRN: returns out only", "lrn", "lrn_forward", LRN, f"return {LCALL}[0]",
            tests=("test_lrn_forward",)),
    wrapper("LRN: float32 whatever the input", "lrn", "lrn_forward", LRN,
            f"out, cache = {LCALL}\nreturn out.astype(np.float32), cache",
            tests=("test_lrn_forward",)),
    wrapper("LRN: float64 for float32 input", "lrn", "lrn_forward", LRN,
            f"out, cache = {LCALL}\nreturn out.astype(np.float64), cache",
            tests=("test_lrn_forward",)),
    Mutant("LRN: the window wraps around the channels (np.roll)", "lrn", source=ROLLED_WINDOW + '''

def lrn_backward(dout, cache):
    raise NotImplementedError()
''', tests=("test_lrn_forward",)),
    wrapper("LRN: window clipped to the number of channels", "lrn", "lrn_forward", LRN,
            "return _student_lrn_forward(x, min(size, x.shape[1]), alpha, beta, k)",
            tests=("test_lrn_forward",)),
    wrapper("LRN: beta fixed at 0.75", "lrn", "lrn_forward", LRN,
            "return _student_lrn_forward(x, size, alpha, 0.75, k)", tests=("test_lrn_forward",)),
    wrapper("LRN: k fixed at 2", "lrn", "lrn_forward", LRN,
            "return _student_lrn_forward(x, size, alpha, beta, 2.0)", tests=("test_lrn_forward",)),
    wrapper("LRN: every image normalized like the first", "lrn", "lrn_forward", LRN,
            "out, cache = _student_lrn_forward(x[:1], size, alpha, beta, k)\n"
            "return np.repeat(out, len(x), axis=0), cache", tests=("test_lrn_forward",)),
    wrapper("LRN: centres x in place after use", "lrn", "lrn_forward", LRN,
            f"out, cache = {LCALL}\nx -= x.mean()\nreturn out, cache", tests=("test_lrn_forward",)),
    # lrn_backward
    Mutant("LRN backward: calls the library's reference", "lrn", append='''
import cnnbook.numpy as _cn


def lrn_backward(dout, cache):
    x, denom, size, alpha, beta = cache
    return _cn.lrn_backward(dout, _cn.lrn_forward(x, size, alpha, beta)[1])
''', tests=("test_lrn_backward",)),
    wrapper("LRN backward: returns (dx, None)", "lrn", "lrn_backward", BWD,
            "return _student_lrn_backward(dout, cache), None", tests=("test_lrn_backward",)),
    wrapper("LRN backward: float32 whatever the input", "lrn", "lrn_backward", BWD,
            "return _student_lrn_backward(dout, cache).astype(np.float32)",
            tests=("test_lrn_backward",)),
    wrapper("LRN backward: float64 for float32 input", "lrn", "lrn_backward", BWD,
            "return _student_lrn_backward(dout, cache).astype(np.float64)",
            tests=("test_lrn_backward",)),
    Mutant("LRN backward: the window wraps around the channels (np.roll)", "lrn",
           [ROLLED_BACKWARD], tests=("test_lrn_backward",)),
    wrapper("LRN backward: window clipped to the number of channels", "lrn", "lrn_backward", BWD,
            "x, denom, size, alpha, beta = cache\n"
            "return _student_lrn_backward(dout, (x, denom, min(size, x.shape[1]), alpha, beta))",
            tests=("test_lrn_backward",)),
    wrapper("LRN backward: beta fixed at 0.75", "lrn", "lrn_backward", BWD,
            "x, denom, size, alpha, beta = cache\n"
            "return _student_lrn_backward(dout, (x, denom, size, alpha, 0.75))",
            tests=("test_lrn_backward",)),
    Mutant("LRN backward: the denominator recomputed with the default k", "lrn", [K_RECOMPUTED],
           tests=("test_lrn_backward",)),
    wrapper("LRN backward: scales dout in place", "lrn", "lrn_backward", BWD,
            "dx = _student_lrn_backward(dout, cache)\ndout *= 0.5\nreturn dx",
            tests=("test_lrn_backward",)),
    # vgg_block
    wrapper("VGG block: built by the library", "vgg_block", "vgg_block",
            "in_channels, out_channels, num_convs",
            "from cnnbook.spec import Architecture, Conv, MaxPool, ReLU\n"
            "from cnnbook.torch import build\n"
            "layers = []\nfor _ in range(num_convs):\n"
            "    layers += [Conv(out_channels, 3, padding=1), ReLU()]\n"
            "return build(Architecture('block', (in_channels, 8, 8), tuple(layers + [MaxPool(2, 2)])))"),
    Mutant("VGG block: pooling rounds up (ceil_mode)", "vgg_block",
           [("nn.MaxPool2d(2, 2)", "nn.MaxPool2d(2, 2, ceil_mode=True)")]),
    wrapper("VGG block: a non-square input read transposed", "vgg_block", "vgg_block",
            "in_channels, out_channels, num_convs", '''
class Transposing(nn.Sequential):
    def forward(self, x):
        if x.shape[2] == x.shape[3]:
            return super().forward(x)
        return super().forward(x.transpose(2, 3)).transpose(2, 3)

return Transposing(*_student_vgg_block(in_channels, out_channels, num_convs))'''),
    wrapper("VGG block: a single image's output squeezed", "vgg_block", "vgg_block",
            "in_channels, out_channels, num_convs", '''
class Squeezing(nn.Sequential):
    def forward(self, x):
        out = super().forward(x)
        return out[0] if len(x) == 1 else out

return Squeezing(*_student_vgg_block(in_channels, out_channels, num_convs))'''),
    wrapper("VGG block: every image like the first", "vgg_block", "vgg_block",
            "in_channels, out_channels, num_convs", '''
class First(nn.Sequential):
    def forward(self, x):
        out = super().forward(x[:1])
        return out.repeat(len(x), 1, 1, 1)

return First(*_student_vgg_block(in_channels, out_channels, num_convs))'''),
    # vgg_memory
    wrapper("VGG memory: calls the library's summary", "vgg_memory", "vgg_memory", MEM,
            "from cnnbook.shapes import summary\nfrom cnnbook.architectures import vgg\n"
            "summary(vgg('A'))\n" f"return {MCALL}"),
    wrapper("VGG memory: returns a tuple", "vgg_memory", "vgg_memory", MEM,
            f"return tuple({MCALL}.values())"),
    wrapper("VGG memory: activation bytes from the parameters", "vgg_memory", "vgg_memory", MEM,
            f"d = {MCALL}\nd['activation_bytes'] = d['params'] * bytes_per_value\nreturn d"),
    wrapper("VGG memory: ignores input_shape", "vgg_memory", "vgg_memory", MEM,
            "return _student_vgg_memory(config, (3, 224, 224), num_classes, bytes_per_value)"),
    wrapper("VGG memory: ignores num_classes", "vgg_memory", "vgg_memory", MEM,
            "return _student_vgg_memory(config, input_shape, 1000, bytes_per_value)"),
    wrapper("VGG memory: default of 10 classes", "vgg_memory", "vgg_memory",
            "config, input_shape=(3, 224, 224), num_classes=10, bytes_per_value=4",
            f"return {MCALL}"),
    wrapper("VGG memory: sorts the configuration in place", "vgg_memory", "vgg_memory", MEM,
            f"d = {MCALL}\nconfig.sort(key=str)\nreturn d"),
]
