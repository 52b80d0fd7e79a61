"""Realistic bugs in problem set 6 (AlexNet and VGG)."""

from .corpus import Mutant

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
