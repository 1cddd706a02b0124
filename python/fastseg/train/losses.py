"""Training objectives. Every loss takes logits (N, 1, H, W) and float targets in [0, 1] of the
same shape, plus a `valid` weight map (0 where a source marks the label as unknown, such as
VOC's object-boundary band), so ignored pixels never pull the model anywhere."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

EPS = 1e-6
SOFT_EPS = 0.5 / 255  # soft targets are stored as uint8: 0 and 255 stay finite logits


@dataclass(frozen=True)
class LossWeights:
    bce: float = 1.0
    dice: float = 1.0
    boundary: float = 1.0
    consistency: float = 1.0
    distill: float = 0.5
    alpha: float = 0.0
    lovasz: float = 0.0
    boundary_width: int = 5  # pixels of the ground-truth edge band, at the training resolution
    # The teachers' logits are divided by this: below 1 the soft targets turn more decisive.
    # Where two teachers disagree their mean is near 0.5, and a student taught 0.5 there
    # hovers about its threshold on video, which shows as flicker.
    distill_temperature: float = 1.0
    # Distil only where the teacher takes the label's side of 0.5 (or the label is unknown):
    # the teacher then refines confidence and fills ignored bands but never argues with the
    # ground truth. On VOC, where every person is labelled, the teachers mark only the main
    # one (and more besides: their IoU with VOC's train labels is 0.47), so ungated they
    # teach the opposite of the label on the same pixels and the student settles near 0.5.
    distill_agreeing: bool = False


def masked_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (values * weight).sum() / weight.sum().clamp_min(EPS)


def bce(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return masked_mean(F.binary_cross_entropy_with_logits(logits, target, reduction="none"), valid)


def dice(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice per image, averaged: every image counts the same whatever its person's size."""
    prob = torch.sigmoid(logits) * valid
    target = target * valid
    inter = (prob * target).sum(dim=(1, 2, 3))
    total = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    return (1 - (2 * inter + 1) / (total + 1)).mean()


def lovasz_hinge(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The Lovasz hinge (Berman et al. 2018) per image, averaged: a convex surrogate of 1 - IoU
    of the mask thresholded at logit 0 (labels at 0.5), which is what the evaluation scores
    image by image. Dice weighs every pixel's probability; this weighs each pixel's margin by
    how much it would move that image's IoU, so a small person's few pixels count as much as a
    large one's many. Pixels with valid = 0 are left out."""
    losses = []
    for image_logits, image_target, image_valid in zip(logits, target, valid):
        keep = image_valid.flatten() > 0
        labels = (image_target.flatten()[keep] > 0.5).to(logits.dtype)
        errors = 1 - image_logits.flatten()[keep] * (2 * labels - 1)
        errors, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(torch.relu(errors), jaccard_steps(labels[order])))
    return torch.stack(losses).mean()


def jaccard_steps(labels_sorted: torch.Tensor) -> torch.Tensor:
    """How much 1 - IoU grows as each pixel, in the given order, is added to the mistakes: the
    gradient of the Lovasz extension."""
    positives = labels_sorted.sum()
    intersection = positives - labels_sorted.cumsum(0)
    union = positives + (1 - labels_sorted).cumsum(0)
    jaccard = 1 - intersection / union.clamp_min(EPS)
    return torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])


def edge_map(target: torch.Tensor, width: int) -> torch.Tensor:
    """1 on a band about `width` pixels wide around the ground-truth outline (morphological
    gradient: dilation minus erosion of the mask)."""
    pad = width // 2
    dilated = F.max_pool2d(target, width, stride=1, padding=pad)
    eroded = -F.max_pool2d(-target, width, stride=1, padding=pad)
    return (dilated - eroded > 0.5).to(target.dtype)


def boundary(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, width: int) -> torch.Tensor:
    """BCE on the edge band only: the outline is a few percent of the pixels, so the plain BCE
    barely sees it, yet it is what a viewer sees first in a composite."""
    return bce(logits, target, valid * edge_map(target, width))


def alpha_error(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean absolute error of the probability as an alpha matte (matting's MAD). The mask is
    composited as alpha, so 0.9 inside a person lets a tenth of the background through and
    shows every frame-to-frame wobble; BCE alone is content with 0.9 wherever the model is
    right nine times in ten. L1 pulls each pixel towards the side it is on: with BCE plus w x L1,
    a pixel that is a person with probability q settles at the p where
    q/p - (1-q)/(1-p) = w(1 - 2q): q = 0.9 gives p = 0.943 at w = 1, 0.961 at w = 2."""
    return masked_mean((torch.sigmoid(logits) - target).abs(), valid)


def consistency(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """The same scene with another texture (light, noise, blur) must give the same mask; this
    also damps frame-to-frame flicker, where the change between frames is mostly texture."""
    return F.mse_loss(torch.sigmoid(logits_a), torch.sigmoid(logits_b))


def distill(logits: torch.Tensor, soft: torch.Tensor, valid: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """BCE against a teacher's soft probability (valid = 0 for images without one), its logit
    divided by `temperature` first."""
    if temperature != 1.0:
        soft = torch.sigmoid(torch.logit(soft, eps=SOFT_EPS) / temperature)
    return bce(logits, soft, valid)


def agreement(target: torch.Tensor, soft: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """1 where the teacher's soft target and the label are on the same side of 0.5, or where
    the label is unknown (valid = 0)."""
    return torch.maximum(((soft > 0.5) == (target > 0.5)).to(soft.dtype), 1 - valid)


def total_loss(weights: LossWeights, logits: torch.Tensor, logits_aug: torch.Tensor, target: torch.Tensor,
               valid: torch.Tensor, soft: torch.Tensor, soft_valid: torch.Tensor) -> dict:
    """Every term (for the log) and their weighted sum under "loss"."""
    if weights.distill_agreeing:
        soft_valid = soft_valid * agreement(target, soft, valid)
    terms = {
        "bce": bce(logits, target, valid),
        "dice": dice(logits, target, valid),
        "boundary": boundary(logits, target, valid, weights.boundary_width),
        "consistency": consistency(logits[: len(logits_aug)], logits_aug),
        "distill": distill(logits, soft, soft_valid, weights.distill_temperature),
        "alpha": alpha_error(logits, target, valid),
    }
    if weights.lovasz:  # a sort per image: only when it is trained on
        terms["lovasz"] = lovasz_hinge(logits, target, valid)
    terms["loss"] = sum(getattr(weights, name) * value for name, value in terms.items())
    return terms


def texture_augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A photometric copy of a normalised batch ((x - 127.5) / 127.5): per-image gain, offset,
    colour cast and gamma, sensor noise, and sometimes a 3x3 blur. Geometry is unchanged, so
    the two predictions must agree pixel for pixel."""
    n = images.shape[0]
    rgb = images[:, :3] * 0.5 + 0.5

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand((n, *shape), generator=generator)

    rgb = rgb * uniform(0.7, 1.3, 1, 1, 1) * uniform(0.9, 1.1, 3, 1, 1) + uniform(-0.1, 0.1, 1, 1, 1)
    rgb = rgb.clamp(0, 1) ** uniform(0.7, 1.4, 1, 1, 1)
    rgb = rgb + torch.randn(rgb.shape, generator=generator) * uniform(0.0, 0.04, 1, 1, 1)
    blurred = F.avg_pool2d(rgb, 3, stride=1, padding=1, count_include_pad=False)
    rgb = torch.where(uniform(0, 1, 1, 1, 1) < 0.3, blurred, rgb)
    out = (rgb.clamp(0, 1) - 0.5) / 0.5
    return torch.cat([out, images[:, 3:]], dim=1)
