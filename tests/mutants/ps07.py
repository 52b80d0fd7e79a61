"""Realistic bugs in problem set 7 (GoogLeNet)."""

from .corpus import Mutant

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
