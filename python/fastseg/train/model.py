"""fastseg's segmentation network: a small encoder-decoder for real-time CPU inference.

The design follows what the seeds learned (PortraitNet, SINet, Slim-Net, MobileNetV3
decoders): a strided stem downsamples early, because the first full-resolution layers cost
the most; inverted-residual blocks (expand 1x1, depthwise 3x3, project 1x1) carry the
encoder; a squeeze-excitation context block on the deepest features gives the whole-image
view that a person/background decision needs (with ``block_se``, every block of the
deepest stages gates itself by that view too, as in MobileNetV3); the decoder adds (not
concatenates) each skip and upsamples with 2x2 stride-2 transposed convolutions or, with ``decoder_up="bilinear"``,
1x1 convolutions and exact 2x bilinear resizes. Neither shifts the mask the way a bilinear
resize with half-pixel misalignment does at even sizes: a stride-2 2x2 transposed convolution
maps every input pixel to exactly one 2x2 output block, and an exact 2x resize with half-pixel
centres is aligned; the bilinear one also leaves no 2x2 grid texture and runs faster in ONNX
Runtime. Every channel count is a multiple of 8 (SIMD-friendly in ONNX Runtime).

The network returns logits (N, 1, H, W); the sigmoid runs in fastseg's C++ post-processing.
Input: (N, 3 or 4, H, W) with H and W multiples of 16; the optional 4th channel is the
previous frame's mask in [0, 1]. With ``prior_stride=2`` that mask skips the full-resolution
stem convolution: it is pooled to stride 2 and added to the stem's normalised output by a 1x1
convolution, so an exported model can take its own stride-2 output back as a recurrent input
and emit stride-2 logits (`forward_stride2`), leaving the last 2x resize to fastseg's C++
upsampling instead of a one-channel Resize in ONNX Runtime.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

STRIDE = 16  # input sides must be multiples of this
# A block's squeeze-excitation narrows to hidden / 16 channels (16 for the stride-16 blocks'
# 256): at MobileNetV3's hidden / 4 five such gates would cost 165k weights, more than the
# rest of the network, and the ONNX file must stay under 1 MB.
BLOCK_SE_REDUCTION = 16


@dataclass(frozen=True)
class ModelConfig:
    """Channel plan of one network. ``stages``: (channels, blocks, expansion[, kernel]) for the
    encoder stages at strides 4, 8 and 16 (the stem gives stride 2); kernel is the depthwise
    size, 3 unless given (5 at stride 16 widens each block's view by 16 input pixels a side
    for a few more weights)."""

    stem: int = 16
    stages: Tuple[Tuple[int, ...], ...] = ((16, 1, 2), (32, 2, 3), (64, 3, 4))
    decoder: Tuple[int, ...] = (24, 16, 16)  # channels after upsampling to strides 8, 4, 2
    prev_mask: bool = False
    # The last 2x step: "transposed" (a 2x2 stride-2 transposed convolution) or "bilinear" (1x1
    # convolution to logits at stride 2, then exact 2x bilinear). Nothing smooths after the
    # last step, so the transposed head's four kernel positions show as a 2x2 checkerboard in
    # the mask; bilinear at exactly 2x with half-pixel centres is smooth and does not shift.
    head: str = "transposed"
    decoder_up: str = "transposed"  # the decoder's 2x steps, the same two kinds (see `UpBlock`)
    # Where the previous mask enters: 1 = the stem's 4th input channel, 2 = added after the
    # stem at stride 2 (needs the bilinear head, whose stride-2 logits are then exportable).
    prior_stride: int = 1
    # How many of the last encoder stages gate every block by squeeze-excitation (0: only the
    # context block after the encoder has one).
    block_se: int = 0
    # How many of the coarsest decoder steps gate their channels by a squeeze-excitation of the
    # frame after the skip joins (MediaPipe's selfie decoder gates all three): the whole frame
    # decides which of the encoder's edges (a coat's or a railing's) carry on to the mask. The
    # stride-2 step's gate costs the most (its multiply runs on 72x128 pixels).
    decoder_se: int = 0
    # How many of the coarsest decoder steps weigh their encoder skip, pixel by pixel, by a
    # one-channel gate computed from the coarser decoder features coming up (an attention-gated
    # skip, Oktay et al. 2018). The skips carry every edge of the frame, a railing's or a
    # striped wall's as well as a person's, and an added skip writes them all into the mask;
    # the coarse features know where the person is and can turn the skip down elsewhere. A
    # channel gate (`decoder_se`) cannot: it weighs the whole frame alike. Counted from the
    # coarsest because of the cost: the stride-2 step's gate alone took 0.23 ms (a 16 -> 1
    # convolution and a multiply on 72x128 pixels, and ONNX Runtime can no longer fuse that
    # step's add), a gate per channel there 0.4 ms.
    skip_gate: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        data = dict(data)
        if "stages" in data:
            data["stages"] = tuple(tuple(s) for s in data["stages"])
        if "decoder" in data:
            data["decoder"] = tuple(data["decoder"])
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def prior_after_stem(self) -> bool:
        """The prior is pooled to stride 2 and joins after the stem (exported as a recurrent input)."""
        return self.prev_mask and self.prior_stride == 2

    @property
    def in_channels(self) -> int:
        return 4 if self.prev_mask else 3


def conv_bn_act(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: List[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block; the residual add only when the shape is kept. With ``se`` the
    depthwise output is gated by a squeeze-excitation before the projection (MobileNetV3):
    each block sees the whole frame's mean, which tells a wall's texture from a coat's."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int, kernel: int = 3, se: bool = False) -> None:
        super().__init__()
        hidden = cin * expansion
        layers: List[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_act(cin, hidden, 1))
        layers += [conv_bn_act(hidden, hidden, kernel, stride, groups=hidden), conv_bn_act(hidden, cout, 1, act=False)]
        self.body = nn.Sequential(*layers)
        # Outside `body`, so the body's layer names match a checkpoint without it (warm starts).
        self.se = SqueezeExcite(hidden, BLOCK_SE_REDUCTION) if se else None
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.se is None:
            y = self.body(x)
        else:  # the gate sits before the projection, the body's last layer
            *layers, project = self.body  # (slicing a Sequential would build a new module every call)
            y = x
            for layer in layers:
                y = layer(y)
            y = project(self.se(y))
        return x + y if self.residual else y


class SqueezeExcite(nn.Module):
    """Global context: the mean of every channel gates the channels (MobileNetV3)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(8, channels // reduction // 8 * 8)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1), nn.Hardsigmoid(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class UpBlock(nn.Module):
    """Learned 2x upsampling, the skip added, then a depthwise-separable refinement. The
    upsampling is a 2x2 stride-2 transposed convolution, or with ``mode="bilinear"`` a 1x1
    convolution then an exact 2x bilinear resize: the transposed convolution's four kernel
    positions leave a grid texture in the mask that the bilinear step does not."""

    def __init__(self, cin: int, cskip: int, cout: int, mode: str = "transposed", se: bool = False,
                 skip_gate: bool = False) -> None:
        super().__init__()
        if mode == "transposed":
            self.up = nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False), nn.BatchNorm2d(cout))
        elif mode == "bilinear":
            self.up = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), exact_2x())
        else:
            raise ValueError(f"decoder_up must be 'transposed' or 'bilinear', got {mode!r}")
        # A 1x1 projection only where the skip's width differs from the decoder's.
        self.skip = nn.Identity() if cskip == cout else conv_bn_act(cskip, cout, 1, act=False)
        self.refine = nn.Sequential(conv_bn_act(cout, cout, 3, groups=cout), conv_bn_act(cout, cout, 1))
        self.se = SqueezeExcite(cout) if se else None
        self.skip_gate = nn.Conv2d(cout, 1, 1) if skip_gate else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up, skip = self.up(x), self.skip(skip)
        if self.skip_gate is not None:
            # 2 sigmoid: 1 (the plain add) where the gate's convolution gives 0, so a warm start
            # with zero weights changes nothing, and the gate can damp a skip or sharpen it.
            skip = skip * (2 * torch.sigmoid(self.skip_gate(up)))
        joined = torch.relu(up + skip)
        return self.refine(joined if self.se is None else self.se(joined))


class FastSegNet(nn.Module):
    def __init__(self, config: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        self.config = config
        check_config(config)
        self.stem = conv_bn_act(3 if config.prior_after_stem else config.in_channels, config.stem, 3, 2)
        self.prior_in = nn.Conv2d(1, config.stem, 1, bias=False) if config.prior_after_stem else None
        stages, cin = [], config.stem
        for index, (channels, blocks, expansion, *kernel) in enumerate(config.stages):
            se = index >= len(config.stages) - config.block_se
            blocks_ = [InvertedResidual(cin, channels, 2, expansion, *kernel, se=se)]
            blocks_ += [InvertedResidual(channels, channels, 1, expansion, *kernel, se=se) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*blocks_))
            cin = channels
        self.stages = nn.ModuleList(stages)
        self.context = SqueezeExcite(cin)
        skips = [config.stages[1][0], config.stages[0][0], config.stem]  # strides 8, 4, 2
        ups, cin = [], cin
        for index, (cskip, cout) in enumerate(zip(skips, config.decoder)):
            ups.append(UpBlock(cin, cskip, cout, config.decoder_up, se=index < config.decoder_se,
                               skip_gate=index < config.skip_gate))
            cin = cout
        self.ups = nn.ModuleList(ups)
        self.head = make_head(config.head, cin)  # stride 2 -> full resolution logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Full-resolution logits of a (N, in_channels, H, W) batch."""
        if self.prior_in is None:
            return self.head(self.decode(self.stem(x)))
        return self.head(self.decode(self.stem_with_prior(x[:, :3], F.avg_pool2d(x[:, 3:], 2))))

    def forward_stride2(self, rgb: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """Stride-2 logits of (N, 3, H, W) images and their (N, 1, H/2, W/2) previous masks
        (``prior_stride=2`` models): the bilinear head without its final 2x resize."""
        return self.head[0](self.decode(self.stem_with_prior(rgb, prior)))

    def stem_with_prior(self, rgb: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        conv, bn, act = self.stem
        return act(bn(conv(rgb)) + self.prior_in(prior))  # after BN, which folds into `conv`

    def decode(self, stem: torch.Tensor) -> torch.Tensor:
        """Encoder and decoder from the stem's output to the stride-2 features."""
        features = [stem]
        for stage in self.stages:
            features.append(stage(features[-1]))
        y = self.context(features[-1])
        for up, skip in zip(self.ups, reversed(features[:-1])):
            y = up(y, skip)
        return y


def exact_2x() -> nn.Module:
    """2x bilinear with half-pixel centres: every output aligned with its input, no mask shift."""
    return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)


def make_head(kind: str, cin: int) -> nn.Module:
    if kind == "transposed":
        return nn.ConvTranspose2d(cin, 1, 2, stride=2)
    if kind == "bilinear":
        return nn.Sequential(nn.Conv2d(cin, 1, 1), exact_2x())
    raise ValueError(f"head must be 'transposed' or 'bilinear', got {kind!r}")


def check_config(config: ModelConfig) -> None:
    widths = [config.stem, *(s[0] for s in config.stages), *config.decoder]
    if any(w % 8 for w in widths):
        raise ValueError(f"every channel count must be a multiple of 8, got {widths}")
    if len(config.stages) != 3 or len(config.decoder) != 3:
        raise ValueError("the network has exactly 3 encoder stages and 3 decoder steps")
    if any(len(stage) not in (3, 4) or stage[3:] not in ((), (3,), (5,)) for stage in config.stages):
        raise ValueError(f"a stage is (channels, blocks, expansion[, kernel 3 or 5]), got {config.stages}")
    if not 0 <= config.block_se <= len(config.stages):
        raise ValueError(f"block_se counts encoder stages: 0 to {len(config.stages)}, got {config.block_se}")
    for field in ("decoder_se", "skip_gate"):
        if not 0 <= getattr(config, field) <= len(config.decoder):
            raise ValueError(f"{field} counts decoder steps: 0 to {len(config.decoder)}, got {getattr(config, field)}")
    if config.prior_stride not in (1, 2):
        raise ValueError(f"prior_stride must be 1 or 2, got {config.prior_stride}")
    if config.prior_stride == 2 and not (config.prev_mask and config.head == "bilinear"):
        raise ValueError("prior_stride 2 needs prev_mask and the bilinear head")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
