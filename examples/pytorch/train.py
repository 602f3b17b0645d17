#!/usr/bin/env python3
"""Train and test one image classifier, instrumented for joulecast.

The architectures are those of joulecast-zoo (workloads/models), in their CIFAR form: same layers, channels
and strides, global average pooling before the classifier so that 28x28 inputs work too. Run it alone or
under joulecast, which then splits the measured energy into the phases this script marks:

    joulecast run -- python3 examples/pytorch/train.py --model resnet18 --batch-size 128
    joulecast study examples/grids/gpu.toml

Per epoch: "begin train epoch=N", "epoch n=N samples=S", "end train samples=S", metric loss; then one pass
over the test set as phase "infer" (samples = test samples) and metrics accuracy and test_loss. Meta: model,
params (sum of p.numel()), macs (forward multiply-accumulates per sample of the conv, linear and attention
layers), macs_per_param, activations (elements of those layer calls' outputs per sample), mac_layers (the
number of those calls), batch_size, learning_rate, epochs, dataset, input, classes, device, precision, ...

With --windows N (the GPU calibration schedule, tools/gpu/calibration.toml) the epochs are replaced by a
phase "warmup" of --warmup-seconds, then N windows of equal steps (about --window-seconds each), each a "train"
phase holding one epoch. Models named tv_* are torchvision's (ResNet-50, MobileNetV3-Large, ShuffleNetV2,
EfficientNet-B0, DenseNet-121 in their ImageNet form, and a small ViT for 32x32), untrained.

Data: seeded synthetic 3x32x32 images by default, or Fashion-MNIST / CIFAR-10 when they are on this machine
(torchvision's folders with download=False, or the IDX .gz files of Debian's dataset-fashion-mnist); nothing
is downloaded. CUDA is used when available (--device to choose).
"""

import argparse
import gzip
import math
import os
import struct
import sys
import time

try:
    import joulecast
except ImportError:  # running from a checkout: the client lives in <repo>/python
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import joulecast

import torch
import torch.nn as nn
import torch.nn.functional as F


# ------------------------------------------------------------------------------------------------ layers


def conv_bn(cin, cout, kernel, stride=1, groups=1, bias=False):
    """A conv with 'same' padding followed by batch norm."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=bias),
                         nn.BatchNorm2d(cout))


def global_pool(x):
    return F.adaptive_avg_pool2d(x, 1).flatten(1)


class LeNet(nn.Module):
    def __init__(self, shape, classes):
        super().__init__()
        c, h, w = shape
        self.conv1 = nn.Conv2d(c, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        fh, fw = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2
        if fh < 1 or fw < 1:
            raise ValueError("lenet needs an input of at least 16x16")
        self.fc1 = nn.Linear(16 * fh * fw, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


class Mlp(nn.Module):
    def __init__(self, shape, classes):
        super().__init__()
        c, h, w = shape
        self.fc1 = nn.Linear(c * h * w, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


class Vgg19(nn.Module):
    CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"]

    def __init__(self, shape, classes):
        super().__init__()
        layers, cin = [], shape[0]
        for item in self.CONFIG:
            if item == "M":  # ceil mode keeps a 28x28 input from pooling down to 0x0
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                layers += [nn.Conv2d(cin, item, 3, padding=1), nn.BatchNorm2d(item), nn.ReLU(inplace=True)]
                cin = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        return self.classifier(global_pool(self.features(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = conv_bn(cin, planes, 3, stride)
        self.conv2 = conv_bn(planes, planes, 3)
        self.shortcut = conv_bn(cin, planes, 1, stride) if stride != 1 or cin != planes else nn.Identity()

    def forward(self, x):
        out = self.conv2(F.relu(self.conv1(x)))
        return F.relu(out + self.shortcut(x))


class PreActBlock(nn.Module):
    """bn-relu-conv-bn-relu-conv; the shortcut takes the pre-activated input. With squeeze: an SE gate."""

    def __init__(self, cin, planes, stride, squeeze=False):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        changes = stride != 1 or cin != planes
        self.shortcut = nn.Conv2d(cin, planes, 1, stride, bias=False) if changes else None
        self.se = nn.Sequential(nn.Conv2d(planes, planes // 16, 1), nn.ReLU(),
                                nn.Conv2d(planes // 16, planes, 1), nn.Sigmoid()) if squeeze else None

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv2(F.relu(self.bn2(self.conv1(out))))
        if self.se is not None:
            out = out * self.se(F.adaptive_avg_pool2d(out, 1))
        return out + shortcut


class ResNet18(nn.Module):
    """kind: "basic" (ResNet-18), "preact" (pre-activation ResNet-18) or "squeeze" (SENet-18)."""

    def __init__(self, shape, classes, kind="basic"):
        super().__init__()
        self.conv1 = nn.Conv2d(shape[0], 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64) if kind != "preact" else None
        blocks, cin = [], 64
        for stage, planes in enumerate([64, 128, 256, 512]):
            for b in range(2):
                stride = 2 if stage > 0 and b == 0 else 1
                blocks.append(BasicBlock(cin, planes, stride) if kind == "basic"
                              else PreActBlock(cin, planes, stride, squeeze=kind == "squeeze"))
                cin = planes
        self.layers = nn.Sequential(*blocks)
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        x = self.conv1(x)
        if self.bn1 is not None:
            x = F.relu(self.bn1(x))
        return self.linear(global_pool(self.layers(x)))


class ResNeXtBlock(nn.Module):
    def __init__(self, cin, cardinality, width, stride):
        super().__init__()
        group_width = cardinality * width
        self.conv1 = conv_bn(cin, group_width, 1)
        self.conv2 = conv_bn(group_width, group_width, 3, stride, groups=cardinality)
        self.conv3 = conv_bn(group_width, 2 * group_width, 1)
        out = 2 * group_width
        self.shortcut = conv_bn(cin, out, 1, stride) if stride != 1 or cin != out else nn.Identity()

    def forward(self, x):
        out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


class ResNeXt29(nn.Module):
    def __init__(self, shape, classes, cardinality=2, width=64):
        super().__init__()
        self.stem = conv_bn(shape[0], 64, 1)
        blocks, cin = [], 64
        for stage in range(3):
            for b in range(3):
                blocks.append(ResNeXtBlock(cin, cardinality, width, 2 if stage > 0 and b == 0 else 1))
                cin = 2 * cardinality * width
            width *= 2
        self.layers = nn.Sequential(*blocks)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        return self.linear(global_pool(self.layers(F.relu(self.stem(x)))))


class Tree(nn.Module):
    """Level 1: two basic blocks in a row; above: two subtrees in a row; a 1x1 root merges both outputs."""

    def __init__(self, cin, cout, level, stride):
        super().__init__()
        self.root = conv_bn(2 * cout, cout, 1)
        if level == 1:
            self.left, self.right = BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)
        else:
            self.left, self.right = Tree(cin, cout, level - 1, stride), Tree(cout, cout, level - 1, 1)

    def forward(self, x):
        left = self.left(x)
        right = self.right(left)
        return F.relu(self.root(torch.cat([left, right], 1)))


class SimpleDla(nn.Module):
    def __init__(self, shape, classes):
        super().__init__()
        self.base = nn.Sequential(conv_bn(shape[0], 16, 3), nn.ReLU(),
                                  conv_bn(16, 16, 3), nn.ReLU(), conv_bn(16, 32, 3), nn.ReLU())
        self.trees = nn.Sequential(Tree(32, 64, 1, 1), Tree(64, 128, 2, 2), Tree(128, 256, 2, 2),
                                   Tree(256, 512, 1, 2))
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        return self.linear(global_pool(self.trees(self.base(x))))


class DualPathBlock(nn.Module):
    def __init__(self, last, cin, cout, dense, stride, first):
        super().__init__()
        self.cout = cout
        self.conv1 = conv_bn(last, cin, 1)
        self.conv2 = conv_bn(cin, cin, 3, stride, groups=32)
        self.conv3 = conv_bn(cin, cout + dense, 1)
        self.shortcut = conv_bn(last, cout + dense, 1, stride) if first else None

    def forward(self, x):
        out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
        if self.shortcut is not None:
            x = self.shortcut(x)
        d = self.cout
        return F.relu(torch.cat([x[:, :d] + out[:, :d], x[:, d:], out[:, d:]], 1))


class Dpn26(nn.Module):
    def __init__(self, shape, classes):
        super().__init__()
        self.stem = conv_bn(shape[0], 64, 3)
        blocks, last = [], 64
        for stage, (cin, cout, dense) in enumerate(zip([96, 192, 384, 768], [256, 512, 1024, 2048],
                                                       [16, 32, 24, 128])):
            for b in range(2):
                blocks.append(DualPathBlock(last, cin, cout, dense, 2 if stage > 0 and b == 0 else 1, b == 0))
                last = cout + (b + 2) * dense
        self.layers = nn.Sequential(*blocks)
        self.linear = nn.Linear(last, classes)

    def forward(self, x):
        return self.linear(global_pool(self.layers(F.relu(self.stem(x)))))


class MobileNet(nn.Module):
    CONFIG = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
              (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, shape, classes):
        super().__init__()
        layers, cin = [conv_bn(shape[0], 32, 3), nn.ReLU()], 32
        for cout, stride in self.CONFIG:
            layers += [conv_bn(cin, cin, 3, stride, groups=cin), nn.ReLU(), conv_bn(cin, cout, 1), nn.ReLU()]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(1024, classes)

    def forward(self, x):
        return self.linear(global_pool(self.layers(x)))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, expansion, stride):
        super().__init__()
        planes = expansion * cin
        self.stride = stride
        self.body = nn.Sequential(conv_bn(cin, planes, 1), nn.ReLU(),
                                  conv_bn(planes, planes, 3, stride, groups=planes), nn.ReLU(),
                                  conv_bn(planes, cout, 1))
        self.shortcut = conv_bn(cin, cout, 1) if stride == 1 and cin != cout else nn.Identity()

    def forward(self, x):
        out = self.body(x)
        return out if self.stride != 1 else out + self.shortcut(x)


class MobileNetV2(nn.Module):
    CONFIG = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1)]  # (expansion, out, blocks, stride); CIFAR form: stem and stage 2 at stride 1

    def __init__(self, shape, classes):
        super().__init__()
        layers, cin = [conv_bn(shape[0], 32, 3), nn.ReLU()], 32
        for expansion, cout, blocks, stride in self.CONFIG:
            for b in range(blocks):
                layers.append(InvertedResidual(cin, cout, expansion, stride if b == 0 else 1))
                cin = cout
        layers += [conv_bn(320, 1280, 1), nn.ReLU()]
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(1280, classes)

    def forward(self, x):
        return self.linear(global_pool(self.layers(x)))


class MbConv(nn.Module):
    """MBConv with squeeze-excitation (width: a quarter of the input channels) and swish."""

    def __init__(self, cin, cout, kernel, stride, expansion):
        super().__init__()
        channels = expansion * cin
        self.expand = conv_bn(cin, channels, 1)  # kept at expansion 1 too (unused there), as in the zoo
        self.use_expand = expansion != 1
        self.depthwise = conv_bn(channels, channels, kernel, stride, groups=channels)
        self.se1 = nn.Conv2d(channels, cin // 4, 1)
        self.se2 = nn.Conv2d(cin // 4, channels, 1)
        self.project = conv_bn(channels, cout, 1)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        out = F.silu(self.expand(x)) if self.use_expand else x
        out = F.silu(self.depthwise(out))
        gate = torch.sigmoid(self.se2(F.silu(self.se1(F.adaptive_avg_pool2d(out, 1)))))
        out = self.project(out * gate)
        return out + x if self.skip else out


class EfficientNetB0(nn.Module):
    CONFIG = [(1, 1, 16, 3, 1), (2, 6, 24, 3, 2), (2, 6, 40, 5, 2), (3, 6, 80, 3, 2), (3, 6, 112, 5, 1),
              (4, 6, 192, 5, 2), (1, 6, 320, 3, 1)]  # (blocks, expansion, out, kernel, stride)

    def __init__(self, shape, classes):
        super().__init__()
        self.stem = conv_bn(shape[0], 32, 3)
        layers, cin = [], 32
        for blocks, expansion, cout, kernel, stride in self.CONFIG:
            for b in range(blocks):
                layers.append(MbConv(cin, cout, kernel, stride if b == 0 else 1, expansion))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(320, classes)

    def forward(self, x):
        x = global_pool(self.layers(F.silu(self.stem(x))))
        return self.linear(F.dropout(x, 0.2, self.training))


class RegNetBlock(nn.Module):
    def __init__(self, cin, cout, stride, group_width=8):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, 1), nn.ReLU(),
                                  conv_bn(cout, cout, 3, stride, groups=cout // group_width), nn.ReLU(),
                                  conv_bn(cout, cout, 1))
        self.shortcut = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class RegNetX200(nn.Module):
    def __init__(self, shape, classes):
        super().__init__()
        layers, cin = [conv_bn(shape[0], 64, 3), nn.ReLU()], 64
        for depth, width, stride in zip([1, 1, 4, 7], [24, 56, 152, 368], [1, 1, 2, 2]):
            for b in range(depth):
                layers.append(RegNetBlock(cin, width, stride if b == 0 else 1))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        return self.linear(global_pool(self.layers(x)))


class Inception(nn.Module):
    def __init__(self, cin, n1, n3_reduce, n3, n5_reduce, n5, pool_planes):
        super().__init__()

        def cbr(a, b, k):
            return nn.Sequential(conv_bn(a, b, k, bias=True), nn.ReLU())

        self.b1 = cbr(cin, n1, 1)
        self.b2 = nn.Sequential(cbr(cin, n3_reduce, 1), cbr(n3_reduce, n3, 3))
        self.b3 = nn.Sequential(cbr(cin, n5_reduce, 1), cbr(n5_reduce, n5, 3), cbr(n5, n5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), cbr(cin, pool_planes, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, shape, classes):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(shape[0], 192, 3, bias=True), nn.ReLU())
        self.stage3 = nn.Sequential(Inception(192, 64, 96, 128, 16, 32, 32),
                                    Inception(256, 128, 128, 192, 32, 96, 64))
        self.stage4 = nn.Sequential(Inception(480, 192, 96, 208, 16, 48, 64),
                                    Inception(512, 160, 112, 224, 24, 64, 64),
                                    Inception(512, 128, 128, 256, 24, 64, 64),
                                    Inception(512, 112, 144, 288, 32, 64, 64),
                                    Inception(528, 256, 160, 320, 32, 128, 128))
        self.stage5 = nn.Sequential(Inception(832, 256, 160, 320, 32, 128, 128),
                                    Inception(832, 384, 192, 384, 48, 128, 128))
        self.linear = nn.Linear(1024, classes)

    def forward(self, x):
        x = F.max_pool2d(self.stage3(self.stem(x)), 3, 2, 1)
        x = F.max_pool2d(self.stage4(x), 3, 2, 1)
        return self.linear(global_pool(self.stage5(x)))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
                                  nn.BatchNorm2d(4 * growth), nn.ReLU(),
                                  nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False))

    def forward(self, x):
        return torch.cat([self.body(x), x], 1)


class DenseNet121(nn.Module):
    def __init__(self, shape, classes, growth=32):
        super().__init__()
        planes = 2 * growth
        layers = [nn.Conv2d(shape[0], planes, 3, 1, 1, bias=False)]
        block_sizes = [6, 12, 24, 16]
        for i, count in enumerate(block_sizes):
            for _ in range(count):
                layers.append(DenseLayer(planes, growth))
                planes += growth
            if i + 1 < len(block_sizes):
                out = planes // 2
                layers += [nn.BatchNorm2d(planes), nn.ReLU(), nn.Conv2d(planes, out, 1, bias=False),
                           nn.AvgPool2d(2)]
                planes = out
        layers += [nn.BatchNorm2d(planes), nn.ReLU()]
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(planes, classes)

    def forward(self, x):
        return self.linear(global_pool(self.layers(x)))


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attention = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        return self.proj((attention @ v).transpose(1, 2).reshape(n, t, d))


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, shape, classes, patch=4, dim=128, depth=4, heads=4, mlp_dim=256):
        super().__init__()
        c, h, w = shape
        patches = (h // patch) * (w // patch)
        self.patch_embed = nn.Conv2d(c, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, patches + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[EncoderBlock(dim, heads, mlp_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


MODELS = {
    "lenet": LeNet,
    "vgg19": Vgg19,
    "resnet18": lambda s, c: ResNet18(s, c, "basic"),
    "preactresnet18": lambda s, c: ResNet18(s, c, "preact"),
    "mobilenet": MobileNet,
    "mobilenetv2": MobileNetV2,
    "efficientnetb0": EfficientNetB0,
    "simpledla": SimpleDla,
    "googlenet": GoogLeNet,
    "densenet121": DenseNet121,
    "resnext29_2x64d": ResNeXt29,
    "senet18": lambda s, c: ResNet18(s, c, "squeeze"),
    "regnetx_200mf": RegNetX200,
    "dpn26": Dpn26,
    "mlp": Mlp,
    "vit": VisionTransformer,
}


def torchvision_model(name):
    """A torchvision architecture in its ImageNet form (strides and stem unchanged), untrained, with `classes`
    outputs. On 3x32x32 inputs the CNNs end on a 1x1 feature map (their adaptive pooling allows it); the ViT
    is a small one built for 32x32 (patch 4: 64 patches + the class token)."""

    def build(shape, classes):
        import torchvision.models as tvm  # imported only for these models
        if name == "tv_vit_small":
            if shape[1] != shape[2] or shape[1] % 4:
                raise ValueError("tv_vit_small needs a square input whose side is a multiple of 4")
            return tvm.VisionTransformer(image_size=shape[1], patch_size=4, num_layers=6, num_heads=6,
                                         hidden_dim=384, mlp_dim=1536, num_classes=classes)
        builders = {"tv_resnet50": tvm.resnet50, "tv_mobilenet_v3_large": tvm.mobilenet_v3_large,
                    "tv_shufflenet_v2": tvm.shufflenet_v2_x1_0, "tv_efficientnet_b0": tvm.efficientnet_b0,
                    "tv_densenet121": tvm.densenet121}
        return builders[name](num_classes=classes)

    return build


TORCHVISION_MODELS = ["tv_resnet50", "tv_mobilenet_v3_large", "tv_shufflenet_v2", "tv_efficientnet_b0",
                      "tv_densenet121", "tv_vit_small"]
for _name in TORCHVISION_MODELS:
    MODELS[_name] = torchvision_model(_name)


def count_macs(model, shape, device):
    """(macs, activations, mac_layers) over one forward pass of one sample: the multiply-accumulates of the
    conv, linear and attention calls, the elements of those calls' outputs per sample, and the number of those
    calls (a layer called twice counts twice). Norm layers are not counted, as in joulecast-zoo."""
    total = [0, 0, 0]

    def count(output, macs):
        total[0] += macs
        total[1] += output.numel() // output.shape[0]
        total[2] += 1

    def conv_hook(module, inputs, output):
        kh, kw = module.kernel_size
        count(output, output.numel() * (module.in_channels // module.groups) * kh * kw)

    def linear_hook(module, inputs, output):
        count(output, output.numel() * module.in_features)

    def attention_hook(module, inputs, output):
        # Two calls, as an ONNX export has two MatMuls and joulecast-zoo records two: Q K^T, whose output is
        # heads x T x T per sample, and the weights times V, whose output is T x dim (the module's output shape).
        n, t, d = inputs[0].shape
        total[0] += 2 * t * t * d
        total[1] += module.heads * t * t + t * d
        total[2] += 2

    def encoder_block_hook(block, inputs, output):
        # torchvision's encoder block calls nn.MultiheadAttention (with keyword arguments, which a hook on it
        # does not see), whose projections are not nn.Linear calls: hooked on the block, whose input is
        # [N, T, d]: the input projection (T x 3d outputs), the two attention products as above, the output
        # projection.
        attention = block.self_attention
        t, d = inputs[0].shape[1], inputs[0].shape[2]
        total[0] += 3 * t * d * d + 2 * t * t * d + t * d * d
        total[1] += 3 * t * d + attention.num_heads * t * t + t * d + t * d
        total[2] += 4

    hooks = []
    for m in model.modules():
        if isinstance(getattr(m, "self_attention", None), nn.MultiheadAttention):
            hooks.append(m.register_forward_hook(encoder_block_hook))
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, SelfAttention):
            hooks.append(m.register_forward_hook(attention_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape, device=device))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return tuple(total)


# ------------------------------------------------------------------------------------------------------ data

STATS = {"fashion-mnist": ([0.2860], [0.3530]),
         "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])}


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load_dataset(name, data_dir, train):
    """(images float32 [N, C, H, W] normalised, labels int64 [N], classes); nothing is downloaded."""
    if name == "synthetic":
        raise ValueError("synthetic data is made by make_synthetic")
    if name == "fashion-mnist":
        prefix = "train" if train else "t10k"
        for suffix in (".gz", ""):
            images = os.path.join(data_dir, prefix + "-images-idx3-ubyte" + suffix)
            labels = os.path.join(data_dir, prefix + "-labels-idx1-ubyte" + suffix)
            if os.path.exists(images) and os.path.exists(labels):  # e.g. Debian's dataset-fashion-mnist
                x = read_idx(images).unsqueeze(1).float() / 255
                y = read_idx(labels).long()
                break
        else:
            import torchvision  # torchvision's own folder layout, never downloaded
            ds = torchvision.datasets.FashionMNIST(data_dir, train=train, download=False)
            x, y = ds.data.unsqueeze(1).float() / 255, ds.targets.long()
    elif name == "cifar10":
        import torchvision
        ds = torchvision.datasets.CIFAR10(data_dir, train=train, download=False)
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float() / 255
        y = torch.tensor(ds.targets, dtype=torch.long)
    else:
        raise ValueError("unknown dataset " + name)
    mean, std = STATS[name]
    x = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    return x, y, 10


def make_synthetic(count, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 3, 32, 32, generator=generator)
    y = torch.randint(0, 10, (count,), generator=generator)
    return x, y, 10


def synchronize(device):
    # Phase boundaries must follow the GPU's work, not the launches.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------------------------- main


def run_windows(args, model, optimizer, forward, train_x, train_y, generator, device):
    """The calibration schedule: phase "warmup" (args.warmup_seconds of wall time, at least 2 steps, synchronised
    after every step to time it), then args.windows windows of the same number of full-batch steps, each a
    "train" phase holding one epoch (n = 1, 2, ...). The step count is args.window_seconds divided by the median
    step time of the warm-up's second half, so every window has the same samples and roughly that wall time;
    joulecast keeps each window's energy and duration, and the warm-up's apart from the steady state."""
    model.train()
    batch = args.batch_size
    state = {"order": None, "at": 0}

    def step():
        if state["order"] is None or state["at"] + batch > len(state["order"]):
            state["order"], state["at"] = torch.randperm(len(train_y), generator=generator).to(device), 0
        index = state["order"][state["at"]:state["at"] + batch]
        state["at"] += batch
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(train_x[index]).float(), train_y[index])
        loss.backward()
        optimizer.step()
        return loss.detach()

    synchronize(device)
    joulecast.begin("warmup")
    start, times = time.monotonic(), []
    while len(times) < 2 or time.monotonic() - start < args.warmup_seconds:
        t0 = time.monotonic()
        step()
        synchronize(device)
        times.append(time.monotonic() - t0)
    joulecast.end("warmup", samples=len(times) * batch)
    steady = sorted(times[len(times) // 2:])
    step_s = steady[len(steady) // 2]
    steps = max(1, int(round(args.window_seconds / step_s)))
    joulecast.meta(warmup_seconds=args.warmup_seconds, window_seconds=args.window_seconds, windows=args.windows,
                   window_steps=steps, warmup_steps=len(times))
    print("warm-up: %d steps in %.2f s, %.4f s per step: %d steps (%d samples) per window"
          % (len(times), time.monotonic() - start, step_s, steps, steps * batch), file=sys.stderr)
    for window in range(1, args.windows + 1):
        synchronize(device)
        joulecast.begin("train", window=window)
        t0, total_loss = time.monotonic(), torch.zeros((), device=device)
        for _ in range(steps):
            total_loss += step()
        synchronize(device)
        joulecast.epoch(n=window, samples=steps * batch)
        joulecast.end("train", samples=steps * batch)
        mean_loss = total_loss.item() / steps
        joulecast.metric(loss=mean_loss)
        print("window %d: loss %.4f, %.2f s" % (window, mean_loss, time.monotonic() - t0), file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--dataset", default="synthetic", choices=["synthetic", "fashion-mnist", "cifar10"])
    parser.add_argument("--data-dir", default=None,
                        help="where the dataset lies (default: /usr/share/datasets/fashion-mnist or ./data)")
    parser.add_argument("--train-samples", type=int, default=10000, help="0: the whole training set")
    parser.add_argument("--test-samples", type=int, default=2000, help="0: the whole test set")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="bf16: autocast")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--windows", type=int, default=0,
                        help="calibration schedule instead of epochs: a 'warmup' phase, then this many "
                             "measured windows of equal steps (each a 'train' phase and an epoch)")
    parser.add_argument("--warmup-seconds", type=float, default=1.0,
                        help="with --windows: the warm-up's wall time (at least 2 steps)")
    parser.add_argument("--window-seconds", type=float, default=0.5,
                        help="with --windows: each window's target wall time; its step count comes from the "
                             "warm-up's step time (at least 1 step)")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.epochs < 0 or not args.lr > 0 or min(args.train_samples,
                                                                         args.test_samples) < 0:
        parser.error("batch size must be >= 1; epochs, samples >= 0; learning rate > 0")
    if args.windows < 0 or not args.warmup_seconds >= 0 or not args.window_seconds > 0:
        parser.error("windows must be >= 0, warm-up seconds >= 0, window seconds > 0")

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else "cpu" if args.device == "auto" else args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    if args.dataset == "synthetic":
        train_x, train_y, classes = make_synthetic(args.train_samples or 10000, args.seed)
        test_x, test_y, _ = make_synthetic(args.test_samples or 2000, args.seed + 1)
    else:
        default_dir = "/usr/share/datasets/fashion-mnist" if args.dataset == "fashion-mnist" else "data"
        data_dir = args.data_dir or default_dir
        train_x, train_y, classes = load_dataset(args.dataset, data_dir, True)
        test_x, test_y, _ = load_dataset(args.dataset, data_dir, False)
        if args.train_samples:
            train_x, train_y = train_x[:args.train_samples], train_y[:args.train_samples]
        if args.test_samples:
            test_x, test_y = test_x[:args.test_samples], test_y[:args.test_samples]
    # The whole (small) dataset sits on the device: no loader in the measured loop.
    train_x, train_y, test_x, test_y = (t.to(device) for t in (train_x, train_y, test_x, test_y))
    shape = tuple(train_x.shape[1:])

    model = MODELS[args.model](shape, classes).to(device)
    params = sum(p.numel() for p in model.parameters())
    macs, activations, mac_layers = count_macs(model, shape, device)
    joulecast.meta(model=args.model, params=params, macs=macs, macs_per_param=round(macs / params, 3),
                   activations=activations, mac_layers=mac_layers,
                   batch_size=args.batch_size, learning_rate=args.lr,
                   epochs=args.windows if args.windows else args.epochs,
                   dataset=args.dataset,
                   input="x".join(str(s) for s in shape), classes=classes, train_samples=len(train_y),
                   test_samples=len(test_y), device=str(device), precision=args.precision,
                   framework="pytorch", torch=torch.__version__)
    print("%s: %d parameters, %d MACs per sample, %s, %d train / %d test samples on %s"
          % (args.model, params, macs, args.dataset, len(train_y), len(test_y), device), file=sys.stderr)

    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    autocast_dtype = torch.bfloat16 if args.precision == "bf16" else None

    def forward(x):
        if autocast_dtype is None:
            return model(x)
        with torch.autocast(device.type, dtype=autocast_dtype):
            return model(x)

    generator = torch.Generator(device="cpu").manual_seed(args.seed)
    if args.windows:
        if len(train_y) < args.batch_size:
            print("--windows needs at least one full batch: --train-samples %d < --batch-size %d"
                  % (len(train_y), args.batch_size), file=sys.stderr)
            return 2
        run_windows(args, model, optimizer, forward, train_x, train_y, generator, device)
    for epoch in range(1, (0 if args.windows else args.epochs) + 1):
        model.train()
        synchronize(device)
        joulecast.begin("train", epoch=epoch)
        start, total_loss, seen = time.monotonic(), torch.zeros((), device=device), 0
        order = torch.randperm(len(train_y), generator=generator).to(device)
        for i in range(0, len(order), args.batch_size):
            index = order[i:i + args.batch_size]
            if len(index) < 2:  # batch norm cannot train on one sample
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(forward(train_x[index]).float(), train_y[index])
            loss.backward()
            optimizer.step()
            total_loss += loss.detach() * len(index)
            seen += len(index)
        synchronize(device)
        joulecast.epoch(n=epoch, samples=seen)
        joulecast.end("train", samples=seen)
        mean_loss = total_loss.item() / max(seen, 1)
        joulecast.metric(loss=mean_loss)
        print("epoch %d: loss %.4f, %.1f s" % (epoch, mean_loss, time.monotonic() - start), file=sys.stderr)

    model.eval()
    synchronize(device)
    joulecast.begin("infer")
    correct, total_loss = torch.zeros((), device=device), torch.zeros((), device=device)
    with torch.no_grad():
        for i in range(0, len(test_y), args.batch_size):
            logits = forward(test_x[i:i + args.batch_size]).float()
            labels = test_y[i:i + args.batch_size]
            total_loss += F.cross_entropy(logits, labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
    synchronize(device)
    joulecast.end("infer", samples=len(test_y))
    accuracy = correct.item() / max(len(test_y), 1)
    joulecast.metric(accuracy=accuracy, test_loss=total_loss.item() / max(len(test_y), 1))
    print("test: accuracy %.4f" % accuracy, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
