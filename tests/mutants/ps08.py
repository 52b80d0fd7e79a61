"""Realistic bugs in problem set 8 (batch normalization and residual networks)."""

from .corpus import Mutant, blanks, wrapper

ASSIGNMENT = "ps08_batchnorm_resnet"

SIZE = "size, kernel, stride=1, padding=0, dilation=1"
TSIZE = "size, kernel, stride=1, padding=0, output_padding=0, dilation=1"
TCALL = "_student_conv_transpose_output_size(size, kernel, {}, {}, {}, {})"
BN = "x, gamma, beta, *, train, running_mean, running_var, momentum=0.1, eps=1e-5"
BNCALL = ("_student_batchnorm2d_forward(x, gamma, beta, train=train, running_mean=running_mean, "
          "running_var=running_var, momentum=momentum, eps=eps)")
BWD = "dout, cache"
BWDCALL = "_student_batchnorm2d_backward(dout, cache)"

MUTANTS = [
    # conv_output_size
    Mutant("dilated size: rounds up instead of down", "conv_output_size",
           [("return (size + 2 * padding - span) // stride + 1",
             "return -(-(size + 2 * padding - span) // stride) + 1")]),
    Mutant("dilated size: the +1 forgotten", "conv_output_size",
           [("// stride + 1", "// stride")]),
    Mutant("dilated size: dilation ignored", "conv_output_size",
           [("span = dilation * (kernel - 1) + 1", "span = kernel")]),
    Mutant("dilated size: the window spans dilation * kernel pixels", "conv_output_size",
           [("span = dilation * (kernel - 1) + 1", "span = dilation * kernel")]),
    Mutant("dilated size: padding counted once", "conv_output_size",
           [("size + 2 * padding - span", "size + padding - span")]),
    Mutant("dilated size: true division (returns a float)", "conv_output_size",
           [("// stride + 1", "/ stride + 1")]),
    Mutant("dilated size: default dilation 0 (no holes)", "conv_output_size",
           [("padding=0, dilation=1):", "padding=0, dilation=0):")]),
    wrapper("dilated size: ignores stride", "conv_output_size", "conv_output_size", SIZE,
            "return _student_conv_output_size(size, kernel, 1, padding, dilation)"),
    wrapper("dilated size: pads by padding * dilation", "conv_output_size", "conv_output_size",
            SIZE, "return _student_conv_output_size(size, kernel, stride, padding * dilation, "
                  "dilation)"),
    wrapper("dilated size: calls the library's reference", "conv_output_size",
            "conv_output_size", SIZE,
            "from cnnbook.shapes import conv_output_size as reference\n"
            "return reference(size, kernel, stride, padding, dilation)"),
    Mutant("dilated size: read off a torch convolution", "conv_output_size", source='''
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    out = F.conv2d(torch.zeros(1, 1, size, 1), torch.zeros(1, 1, kernel, 1), stride=stride,
                   padding=(padding, 0), dilation=dilation)
    return out.shape[2]
'''),
    # conv_transpose_output_size
    Mutant("transposed size: size * stride (the +1 and -stride dropped)",
           "conv_transpose_output_size",
           [("(size - 1) * stride - 2 * padding", "size * stride - 2 * padding")]),
    Mutant("transposed size: padding added instead of removed", "conv_transpose_output_size",
           [("- 2 * padding", "+ 2 * padding")]),
    Mutant("transposed size: padding removed once", "conv_transpose_output_size",
           [("- 2 * padding", "- padding")]),
    Mutant("transposed size: output_padding ignored", "conv_transpose_output_size",
           [(" + output_padding + 1", " + 1")]),
    Mutant("transposed size: output_padding on both sides", "conv_transpose_output_size",
           [(" + output_padding + 1", " + 2 * output_padding + 1")]),
    Mutant("transposed size: dilation ignored", "conv_transpose_output_size",
           [("dilation * (kernel - 1)", "(kernel - 1)")]),
    Mutant("transposed size: the dilated kernel spans dilation * kernel pixels",
           "conv_transpose_output_size",
           [("dilation * (kernel - 1) + output_padding + 1",
             "dilation * kernel + output_padding")]),
    wrapper("transposed size: ignores stride", "conv_transpose_output_size",
            "conv_transpose_output_size", TSIZE,
            "return " + TCALL.format(1, "padding", "output_padding", "dilation")),
    wrapper("transposed size: default output_padding 1", "conv_transpose_output_size",
            "conv_transpose_output_size", TSIZE.replace("output_padding=0", "output_padding=1"),
            "return " + TCALL.format("stride", "padding", "output_padding", "dilation")),
    wrapper("transposed size: pads by padding * dilation", "conv_transpose_output_size",
            "conv_transpose_output_size", TSIZE,
            "return " + TCALL.format("stride", "padding * dilation", "output_padding",
                                     "dilation")),
    wrapper("transposed size: returns a float", "conv_transpose_output_size",
            "conv_transpose_output_size", TSIZE,
            "return float(" + TCALL.format("stride", "padding", "output_padding", "dilation")
            + ")"),
    Mutant("transposed size: read off torch's transposed convolution",
           "conv_transpose_output_size", source='''
def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    out = F.conv_transpose2d(torch.zeros(1, 1, size, 1), torch.zeros(1, 1, kernel, 1),
                             stride=(stride, 1), padding=(padding, 0),
                             output_padding=(output_padding, 0), dilation=(dilation, 1))
    return out.shape[2]
'''),
    # batchnorm2d_forward
    Mutant("batch norm: running variance biased", "batchnorm2d_forward",
           [("running_var += momentum * var * (M / (M - 1))", "running_var += momentum * var")]),
    Mutant("batch norm: running statistics rebound instead of updated in place",
           "batchnorm2d_forward",
           [("        running_mean *= 1 - momentum  # in place: the caller's arrays change\n"
             "        running_mean += momentum * mean\n"
             "        running_var *= 1 - momentum\n"
             "        running_var += momentum * var * (M / (M - 1))",
             "        running_mean = (1 - momentum) * running_mean + momentum * mean\n"
             "        running_var = (1 - momentum) * running_var + momentum * var * M / (M - 1)")]),
    Mutant("batch norm: eval mode normalizes with the batch's statistics", "batchnorm2d_forward",
           [("mean, var = running_mean.copy(), running_var.copy()",
             "mean, var = x.mean(axis=axes), x.var(axis=axes)")]),
    Mutant("batch norm: momentum read as the weight of the old estimate (Keras)",
           "batchnorm2d_forward",
           [("running_mean *= 1 - momentum ", "running_mean *= momentum "),
            ("running_mean += momentum * mean", "running_mean += (1 - momentum) * mean"),
            ("running_var *= 1 - momentum", "running_var *= momentum"),
            ("running_var += momentum * var", "running_var += (1 - momentum) * var")]),
    Mutant("batch norm: eps outside the square root", "batchnorm2d_forward",
           [("per_channel(np.sqrt(var + eps))", "per_channel(np.sqrt(var) + eps)")], subtle=True),
    Mutant("batch norm: eps fixed at 1e-5", "batchnorm2d_forward",
           [("per_channel(np.sqrt(var + eps))", "per_channel(np.sqrt(var + 1e-5))")]),
    Mutant("batch norm: default momentum 0.9 (the Keras habit)", "batchnorm2d_forward",
           [("momentum=0.1,", "momentum=0.9,")]),
    Mutant("batch norm: statistics in float64 for float32 input", "batchnorm2d_forward",
           [("mean = x.mean(axis=axes)\n", "mean = x.mean(axis=axes, dtype=np.float64)\n")]),
    Mutant("batch norm: normalizes x in place", "batchnorm2d_forward",
           [("    xhat = (x - per_channel(mean)) / per_channel(np.sqrt(var + eps))\n"
             "    out = per_channel(gamma) * xhat + per_channel(beta)\n",
             "    x -= per_channel(mean)\n    x /= per_channel(np.sqrt(var + eps))\n"
             "    out = per_channel(gamma) * x + per_channel(beta)\n")]),
    Mutant("batch norm: beta forgotten", "batchnorm2d_forward",
           [("out = per_channel(gamma) * xhat + per_channel(beta)",
             "out = per_channel(gamma) * xhat")]),
    Mutant("batch norm: normalizes with the unbiased variance", "batchnorm2d_forward",
           [("var = x.var(axis=axes)  # biased", "var = x.var(axis=axes, ddof=1)  # biased")]),
    Mutant("batch norm: normalizes each image on its own (instance norm)", "batchnorm2d_forward",
           [("mean = x.mean(axis=axes)\n",
             "mean = x.mean(axis=(2, 3), keepdims=True).mean(axis=(0, 2, 3))\n"),
            ("var = x.var(axis=axes)  # biased",
             "var = x.var(axis=(2, 3)).mean(axis=0)  # biased")]),
    Mutant("batch norm: computed with torch", "batchnorm2d_forward", source='''
def batchnorm2d_forward(x, gamma, beta, *, train, running_mean, running_var, momentum=0.1,
                        eps=1e-5):
    rm, rv = torch.from_numpy(running_mean), torch.from_numpy(running_var)
    out = F.batch_norm(torch.from_numpy(x), rm, rv, torch.from_numpy(gamma),
                       torch.from_numpy(beta), training=train, momentum=momentum, eps=eps)
    return out.numpy(), (x, gamma, train)
'''),
    wrapper("batch norm: calls the library's reference", "batchnorm2d_forward",
            "batchnorm2d_forward", BN,
            "from cnnbook.numpy import batchnorm2d_forward as reference\n"
            "return reference(x, gamma, beta, train=train, running_mean=running_mean, "
            "running_var=running_var, momentum=momentum, eps=eps)"),
    wrapper("batch norm: returns out only", "batchnorm2d_forward", "batchnorm2d_forward", BN,
            f"return {BNCALL}[0]"),
    wrapper("batch norm: float32 whatever the input", "batchnorm2d_forward",
            "batchnorm2d_forward", BN,
            f"out, cache = {BNCALL}\nreturn out.astype(np.float32), cache"),
    wrapper("batch norm: drops the batch axis of one image", "batchnorm2d_forward",
            "batchnorm2d_forward", BN,
            f"out, cache = {BNCALL}\nreturn (out[0] if len(x) == 1 else out), cache"),
    wrapper("batch norm: in eval mode, adds eps to running_var in place", "batchnorm2d_forward",
            "batchnorm2d_forward", BN,
            f"result = {BNCALL}\nif not train:\n    running_var += eps\nreturn result"),
    wrapper("batch norm: scales gamma in place after use", "batchnorm2d_forward",
            "batchnorm2d_forward", BN, f"result = {BNCALL}\ngamma *= 2\nreturn result"),
    wrapper("batch norm: clears beta in place after use", "batchnorm2d_forward",
            "batchnorm2d_forward", BN, f"result = {BNCALL}\nbeta[:] = 0\nreturn result"),
    # batchnorm2d_backward
    Mutant("batch norm backward: dgamma without xhat", "batchnorm2d_backward",
           [("dgamma = (dout * xhat).sum(axis=axes)", "dgamma = dout.sum(axis=axes)")]),
    Mutant("batch norm backward: the mean's gradient term dropped", "batchnorm2d_backward",
           [("(g - g.mean(axis=axes, keepdims=True)\n", "(g\n")]),
    Mutant("batch norm backward: the variance's gradient term dropped", "batchnorm2d_backward",
           [("\n                                     - xhat * (g * xhat).mean(axis=axes, "
             "keepdims=True))", ")")]),
    Mutant("batch norm backward: dbeta of the first image only", "batchnorm2d_backward",
           [("dbeta = dout.sum(axis=axes)", "dbeta = dout.sum(axis=(2, 3))[0]")]),
    Mutant("batch norm backward: eval mode differentiated as train mode", "batchnorm2d_backward",
           [("    if train:\n", "    if True:\n")]),
    Mutant("batch norm backward: eps fixed at 1e-5", "batchnorm2d_backward",
           [("inv_std = 1 / np.sqrt(var + eps)", "inv_std = 1 / np.sqrt(var + 1e-5)")],
           subtle=True),
    Mutant("batch norm backward: scales dout in place", "batchnorm2d_backward",
           [("    g = dout * per_channel(gamma)\n",
             "    g = dout\n    g *= per_channel(gamma)\n")]),
    Mutant("batch norm backward: sums divided by N only", "batchnorm2d_backward",
           [("g.mean(axis=axes, keepdims=True)", "g.sum(axis=axes, keepdims=True) / len(g)"),
            ("(g * xhat).mean(axis=axes, keepdims=True)",
             "(g * xhat).sum(axis=axes, keepdims=True) / len(g)")]),
    wrapper("batch norm backward: calls the library's reference", "batchnorm2d_backward",
            "batchnorm2d_backward", BWD,
            "from cnnbook.numpy import batchnorm2d_backward as reference\n"
            "from cnnbook.numpy import batchnorm2d_forward as ref_forward\n"
            "x, gamma, mean, var, eps, train = cache\n"
            "_, ref_cache = ref_forward(x, gamma, gamma * 0, train=False, running_mean=mean, "
            "running_var=var, eps=eps)\n"
            f"reference(dout, ref_cache)\nreturn {BWDCALL}"),
    wrapper("batch norm backward: returns dx only", "batchnorm2d_backward",
            "batchnorm2d_backward", BWD, f"return {BWDCALL}[0]"),
    wrapper("batch norm backward: float32 whatever the input", "batchnorm2d_backward",
            "batchnorm2d_backward", BWD,
            f"return tuple(g.astype(np.float32) for g in {BWDCALL})"),
    wrapper("batch norm backward: float64 for float32 input", "batchnorm2d_backward",
            "batchnorm2d_backward", BWD,
            f"return tuple(g.astype(np.float64) for g in {BWDCALL})"),
    wrapper("batch norm backward: drops the batch axis of one image", "batchnorm2d_backward",
            "batchnorm2d_backward", BWD,
            f"dx, dgamma, dbeta = {BWDCALL}\n"
            "return (dx[0] if len(dx) == 1 else dx), dgamma, dbeta"),
    # BasicBlock
    Mutant("block: projection only when the channels change", "basic_block",
           [("if stride != 1 or in_channels != out_channels:", "if in_channels != out_channels:")]),
    Mutant("block: projection without batch norm", "basic_block",
           [("nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),\n"
             "                nn.BatchNorm2d(out_channels))",
             "nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False))")]),
    Mutant("block: projection on every block", "basic_block",
           [("        self.shortcut = nn.Identity()\n"
             "        if stride != 1 or in_channels != out_channels:\n",
             "        if True:\n")]),
    Mutant("block: stride on the second convolution", "basic_block",
           [("3, stride=stride, padding=1, bias=False)", "3, padding=1, bias=False)"),
            ("nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)",
             "nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)")],
           subtle=True),
    Mutant("block: ReLU before the addition", "basic_block",
           [("return F.relu(out + self.shortcut(x))", "return F.relu(out) + self.shortcut(x)")]),
    Mutant("block: convolutions with biases", "basic_block",
           [("3, stride=stride, padding=1, bias=False)", "3, stride=stride, padding=1)"),
            ("nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)",
             "nn.Conv2d(out_channels, out_channels, 3, padding=1)")]),
    Mutant("block: no ReLU between the convolutions", "basic_block",
           [("out = F.relu(self.bn1(self.conv1(x)))", "out = self.bn1(self.conv1(x))")],
           subtle=True),
    Mutant("block: first convolution without padding", "basic_block",
           [("3, stride=stride, padding=1, bias=False)", "3, stride=stride, bias=False)")]),
    Mutant("block: batch norm with momentum 0.01", "basic_block",
           [("self.bn1 = nn.BatchNorm2d(out_channels)",
             "self.bn1 = nn.BatchNorm2d(out_channels, momentum=0.01)")], subtle=True),
    Mutant("block: batch norm without running estimates", "basic_block",
           [("self.bn2 = nn.BatchNorm2d(out_channels)",
             "self.bn2 = nn.BatchNorm2d(out_channels, track_running_stats=False)")]),
    Mutant("block: ReLU after the second batch norm too", "basic_block",
           [("out = self.bn2(self.conv2(out))", "out = F.relu(self.bn2(self.conv2(out)))")],
           subtle=True),
    wrapper("block: batch norms kept in eval mode while training", "basic_block", "BasicBlock",
            "class", "def train(self, mode=True):\n    super().train(mode)\n"
                     "    for m in self.modules():\n"
                     "        if isinstance(m, nn.BatchNorm2d):\n            m.eval()\n"
                     "    return self"),
    wrapper("block: default stride 2", "basic_block", "BasicBlock", "class",
            "def __init__(self, in_channels, out_channels, stride=2):\n"
            "    super().__init__(in_channels, out_channels, stride)"),
    wrapper("block: a single image's output squeezed", "basic_block", "BasicBlock", "class",
            "def forward(self, x):\n    out = super().forward(x)\n"
            "    return out[0] if len(x) == 1 else out"),
    wrapper("block: every image like the first", "basic_block", "BasicBlock", "class",
            "def forward(self, x):\n    return super().forward(x[:1]).repeat(len(x), 1, 1, 1)"),
    wrapper("block: a non-square input read transposed", "basic_block", "BasicBlock", "class",
            "def forward(self, x):\n    if x.shape[2] == x.shape[3]:\n"
            "        return super().forward(x)\n"
            "    return super().forward(x.transpose(2, 3)).transpose(2, 3)"),
    wrapper("block: the library's residual block inside", "basic_block", "BasicBlock", "class",
            "def forward(self, x):\n"
            "    from collections import OrderedDict\n"
            "    from cnnbook.torch.modules import ResidualBlock\n"
            "    body = OrderedDict(conv1=self.conv1, bn1=self.bn1, relu1=nn.ReLU(), "
            "conv2=self.conv2, bn2=self.bn2)\n"
            "    if isinstance(self.shortcut, nn.Identity):\n"
            "        block = ResidualBlock(body)\n"
            "    else:\n"
            "        block = ResidualBlock(body, 'projection', self.shortcut)\n"
            "    return block(x)"),
]

MUTANTS += blanks(ASSIGNMENT, ["conv_output_size", "conv_transpose_output_size",
                               "batchnorm2d_forward", "batchnorm2d_backward", "BasicBlock"])
