"""ResNets written out by hand in torch, from He et al. (2016), independently of cnnbook's specs.

ImageNet models: Table 1 of the paper (a 7x7/2 stem and a 3x3/2 max pool; four stages of
basic or bottleneck blocks at 64, 128, 256, 512 "planes"; average pool; one linear layer),
with the choices torchvision made, so the parameter counts are the ones everybody quotes:
convolutions without bias, each followed by batch normalization; projection shortcuts
(1x1 conv + BN) where a block changes shape; the bottleneck's stride on its 3x3
convolution. Children carry torchvision's names (``layer2.0.downsample.0``).

CIFAR models: Section 4.2 of the paper (3x3 conv with 16 filters, 3 stages of ``n`` basic
blocks at 16, 32, 64 filters, the first of stages 2 and 3 with stride 2, average pool, fc),
with option A shortcuts (subsample, zero channels) or none at all (the plain network).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RefBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in, planes, stride, shortcut="projection"):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut, self.stride, self.extra = shortcut, stride, planes - c_in
        changes = stride != 1 or c_in != planes
        if changes and shortcut == "projection":
            self.downsample = nn.Sequential(nn.Conv2d(c_in, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))
        else:
            self.downsample = None

    def residual(self, x):
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))

    def forward(self, x):
        out = self.residual(x)
        if self.shortcut == "none":
            return F.relu(out)
        if self.downsample is not None:
            return F.relu(out + self.downsample(x))
        if self.shortcut == "A":  # option A: every stride-th pixel, zero channels appended
            x = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.extra))
        return F.relu(out + x)


class RefBottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in, planes, stride):
        super().__init__()
        out = 4 * planes
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or c_in != out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


# Table 1: conv2_x .. conv5_x
TABLE_1 = {18: (RefBasicBlock, [2, 2, 2, 2]), 34: (RefBasicBlock, [3, 4, 6, 3]),
           50: (RefBottleneck, [3, 4, 6, 3]), 101: (RefBottleneck, [3, 4, 23, 3]),
           152: (RefBottleneck, [3, 8, 36, 3])}


class RefResNet(nn.Module):
    def __init__(self, depth, num_classes=1000):
        super().__init__()
        block, counts = TABLE_1[depth]
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), counts)):
            blocks = []
            for b in range(n):
                blocks.append(block(c_in, planes, 2 if b == 0 and i > 0 else 1))
                c_in = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class RefCifarNet(nn.Module):
    """6n + 2 layers; ``shortcut``: ``"A"`` (zero padding), ``"projection"`` or ``"none"``."""

    def __init__(self, n, shortcut="A", num_classes=10, widths=(16, 32, 64)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        c_in = widths[0]
        for i, planes in enumerate(widths):
            blocks = []
            for b in range(n):
                blocks.append(RefBasicBlock(c_in, planes, 2 if b == 0 and i > 0 else 1,
                                            shortcut))
                c_in = planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


def randomize_(model, generator):
    """Every parameter and running statistic drawn at random, in place; returns ``model``.

    Convolution and linear weights normal with variance ``2 / fan_in``, biases and batch
    norm shifts and means normal, batch norm scales and variances uniform in [0.5, 1.5]:
    an evaluation-mode comparison then sees batch norms that are not the identity.
    """
    def normal(t, std=1.0):
        t.copy_(torch.randn(t.shape, generator=generator, dtype=t.dtype) * std)

    def uniform(t):
        t.copy_(torch.rand(t.shape, generator=generator, dtype=t.dtype) + 0.5)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                uniform(m.weight), normal(m.bias), normal(m.running_mean), uniform(m.running_var)
                m.num_batches_tracked.fill_(3)
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                normal(m.weight, (2.0 / m.weight[0].numel()) ** 0.5)
                if m.bias is not None:
                    normal(m.bias)
    return model
