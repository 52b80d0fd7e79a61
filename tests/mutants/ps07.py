"""Realistic bugs in problem set 7 (GoogLeNet)."""

from .corpus import Mutant, blanks, wrapper

ASSIGNMENT = "ps07_googlenet"

MUTANTS = [
    # Inception
    Mutant("inception: branches concatenated in the wrong order", "inception",
           [("self.branch1(x), self.branch3(x), self.branch5(x),",
             "self.branch1(x), self.branch5(x), self.branch3(x),")], subtle=True),
    Mutant("inception: no ReLU after the 1x1 reductions", "inception",
           [("nn.Conv2d(in_channels, c3_reduce, 1), nn.ReLU(),", "nn.Conv2d(in_channels, c3_reduce, 1),"),
            ("nn.Conv2d(in_channels, c5_reduce, 1), nn.ReLU(),", "nn.Conv2d(in_channels, c5_reduce, 1),")],
           subtle=True),
    Mutant("inception: pooling without padding", "inception",
           [("nn.MaxPool2d(3, stride=1, padding=1)", "nn.MaxPool2d(3, stride=1)")]),
    Mutant("inception: 5x5 convolution padded by 1", "inception",
           [("nn.Conv2d(c5_reduce, c5, 5, padding=2)", "nn.Conv2d(c5_reduce, c5, 5, padding=1)")]),
    Mutant("inception: average pooling in the pool branch", "inception",
           [("nn.MaxPool2d(3, stride=1, padding=1)", "nn.AvgPool2d(3, stride=1, padding=1)")],
           subtle=True),
    Mutant("inception: 1x1 branch without bias", "inception",
           [("nn.Conv2d(in_channels, c1, 1)", "nn.Conv2d(in_channels, c1, 1, bias=False)")]),
    Mutant("inception: pool projection reads the input, not the pooled map", "inception",
           [("nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),\n                                         nn.Conv2d(in_channels, pool_proj, 1), nn.ReLU())",
             "nn.Sequential(nn.Conv2d(in_channels, pool_proj, 1), nn.ReLU())")], subtle=True),
    # bottleneck_savings
    Mutant("bottleneck: biases forgotten", "bottleneck_savings",
           [("direct_params = out_channels * in_channels * kernel * kernel + out_channels",
             "direct_params = out_channels * in_channels * kernel * kernel"),
            ("reduce_params = reduce_channels * in_channels + reduce_channels",
             "reduce_params = reduce_channels * in_channels"),
            ("conv_params = out_channels * reduce_channels * kernel * kernel + out_channels",
             "conv_params = out_channels * reduce_channels * kernel * kernel")]),
    Mutant("bottleneck: MACs of the 1x1 reduction forgotten", "bottleneck_savings",
           [("positions * (reduce_channels * in_channels\n                                        + out_channels",
             "positions * (out_channels")]),
    Mutant("bottleneck: kernel not squared in the direct MACs", "bottleneck_savings",
           [("positions * out_channels * in_channels * kernel * kernel",
             "positions * out_channels * in_channels * kernel")]),
    Mutant("bottleneck: reduction's bias forgotten", "bottleneck_savings",
           [("reduce_params = reduce_channels * in_channels + reduce_channels",
             "reduce_params = reduce_channels * in_channels")]),
    # GAPHead
    Mutant("GAP head: max instead of average", "gap_head",
           [("x.mean(dim=(2, 3))", "x.amax(dim=(2, 3))")], subtle=False),
    Mutant("GAP head: flattens instead of pooling", "gap_head",
           [("x.mean(dim=(2, 3))", "x.flatten(1)")]),
    Mutant("GAP head: dropout applied in eval mode too", "gap_head",
           [("self.fc(self.dropout(x.mean(dim=(2, 3))))",
             "self.fc(nn.functional.dropout(x.mean(dim=(2, 3)), 0.4, training=True))")]),
    Mutant("GAP head: linear layer without bias", "gap_head",
           [("nn.Linear(in_channels, num_classes)", "nn.Linear(in_channels, num_classes, bias=False)")]),
    Mutant("GAP head: sums instead of averaging", "gap_head",
           [("x.mean(dim=(2, 3))", "x.sum(dim=(2, 3))")]),
]

MUTANTS += blanks(ASSIGNMENT, ["Inception", "bottleneck_savings", "GAPHead"])

INC = "in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj"
BOT = "in_channels, reduce_channels, out_channels, kernel, height, width"
BCALL = "_student_bottleneck_savings(in_channels, reduce_channels, out_channels, kernel, height, width)"

MUTANTS += [
    # Inception
    wrapper("inception: built by the library", "inception", "Inception", "class",
            "def __init__(self, *args):\n    super().__init__(*args)\n"
            "    from cnnbook.torch import build\n    from cnnbook.architectures import googlenet\n"
            "    self.reference = build(googlenet())"),
    Mutant("inception: no ReLU after the 1x1 branch", "inception",
           [("self.branch1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1), nn.ReLU())",
             "self.branch1 = nn.Sequential(nn.Conv2d(in_channels, c1, 1))")]),
    Mutant("inception: no ReLU after the 5x5 branch's reduction", "inception",
           [("self.branch5 = nn.Sequential(nn.Conv2d(in_channels, c5_reduce, 1), nn.ReLU(),",
             "self.branch5 = nn.Sequential(nn.Conv2d(in_channels, c5_reduce, 1),")]),
    wrapper("inception: a non-square input read transposed", "inception", "Inception", "class",
            "def forward(self, x):\n    if x.shape[2] == x.shape[3]:\n"
            "        return super().forward(x)\n"
            "    return super().forward(x.transpose(2, 3)).transpose(2, 3)"),
    wrapper("inception: a single image's output squeezed", "inception", "Inception", "class",
            "def forward(self, x):\n    out = super().forward(x)\n"
            "    return out[0] if len(x) == 1 else out"),
    wrapper("inception: every image like the first", "inception", "Inception", "class",
            "def forward(self, x):\n    return super().forward(x[:1]).repeat(len(x), 1, 1, 1)"),
    # bottleneck_savings
    wrapper("bottleneck: calls the library's conv_params", "bottleneck_savings",
            "bottleneck_savings", BOT,
            "from cnnbook.shapes import conv_params\nconv_params(in_channels, out_channels, kernel)\n"
            f"return {BCALL}"),
    wrapper("bottleneck: returns a tuple", "bottleneck_savings", "bottleneck_savings", BOT,
            f"return tuple({BCALL}.values())"),
    wrapper("bottleneck: the height used for the width", "bottleneck_savings",
            "bottleneck_savings", BOT,
            "return _student_bottleneck_savings(in_channels, reduce_channels, out_channels, "
            "kernel, height, height)"),
    wrapper("bottleneck: a 1x1 kernel taken as needing no reduction", "bottleneck_savings",
            "bottleneck_savings", BOT,
            "if kernel == 1:\n    reduce_channels = in_channels\n" f"return {BCALL}"),
    # GAPHead
    wrapper("GAP head: built by the library", "gap_head", "GAPHead", "class",
            "def __init__(self, in_channels, num_classes, dropout=0.4):\n"
            "    super().__init__(in_channels, num_classes, dropout)\n"
            "    from cnnbook.torch import build\n    from cnnbook.architectures import googlenet\n"
            "    build(googlenet())"),
    wrapper("GAP head: pools over the first H columns", "gap_head", "GAPHead", "class",
            "def forward(self, x):\n    return super().forward(x[:, :, :, :x.shape[2]])"),
    wrapper("GAP head: dropout fixed at 0.4", "gap_head", "GAPHead", "class",
            "def __init__(self, in_channels, num_classes, dropout=0.4):\n"
            "    super().__init__(in_channels, num_classes)"),
    wrapper("GAP head: default dropout 0.5", "gap_head", "GAPHead", "class",
            "def __init__(self, in_channels, num_classes, dropout=0.5):\n"
            "    super().__init__(in_channels, num_classes, dropout)"),
]
MUTANTS.append(wrapper("GAP head: every image scored like the first", "gap_head", "GAPHead",
                       "class", "def forward(self, x):\n"
                                "    return super().forward(x[:1]).repeat(len(x), 1)"))
