"""Training augmentation (albumentations, from the `data` extra) and previous-mask synthesis.

`train_transform(size)` makes the photometric and geometric augmentation for one training
sample; it keeps the mask (soft, bilinear) and the ignore map aligned with the image.
`synthesize_prior(mask, rng)` fakes the previous frame's mask for temporal models, as
PortraitNet trains its video model: the true mask moved a little (affine), bent (elastic),
grown or shrunk, and sometimes absent, as on the first frame of a call.
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from . import require


def train_transform(size: tuple[int, int], strength: float = 1.0, zoom: bool = True):
    """An albumentations Compose for (height, width) = size. Call it as
    t(image=bgr, masks=[mask, ignore_u8]) and read result["image"], result["masks"]. With
    `zoom` it first crops 50-100% of the image (and resizes back); without, the image stays
    whole, as a camera frame reaches the model."""
    A = require("albumentations", "albumentations>=2.0")
    s = strength
    crop = [A.RandomResizedCrop(size=size, scale=(0.5, 1.0), ratio=(size[1] / size[0] * 0.8, size[1] / size[0] * 1.25),
                                interpolation=cv2.INTER_AREA, mask_interpolation=cv2.INTER_LINEAR, p=1.0)] if zoom else []
    return A.Compose([
        A.HorizontalFlip(p=0.5),
        *crop,
        A.RandomBrightnessContrast(brightness_limit=0.25 * s, contrast_limit=0.25 * s, p=0.7),
        A.RandomToneCurve(scale=0.15 * s, p=0.3),  # curves: a camera's tone mapping
        A.ColorJitter(brightness=0, contrast=0, saturation=(1 - 0.3 * s, 1 + 0.3 * s), hue=(-0.04 * s, 0.04 * s), p=0.5),
        A.MotionBlur(blur_limit=(3, 7), p=0.2 * s),
        A.GaussNoise(std_range=(0.01, 0.05 * s), p=0.3),  # sensor noise in dim rooms
        A.ImageCompression(quality_range=(40, 95), p=0.3),  # the artefacts of a video call
    ])


def augment(transform, image: np.ndarray, mask: np.ndarray, ignore: Optional[np.ndarray] = None):
    """(image, mask uint8, ignore bool or None) through the transform, kept aligned."""
    masks = [mask] if ignore is None else [mask, ignore.astype(np.uint8) * 255]
    out = transform(image=image, masks=masks)
    ignore_out = out["masks"][1] > 127 if ignore is not None else None
    return out["image"], np.asarray(out["masks"][0], np.uint8), ignore_out


def synthesize_prior(mask: np.ndarray, rng: np.random.Generator, empty_p: float = 0.1, strength: float = 1.0) -> np.ndarray:
    """A plausible previous-frame mask (uint8, same size) for a temporal model's extra input."""
    if rng.random() < empty_p:
        return np.zeros_like(mask)
    prior = affine_jitter(mask, rng, strength)
    prior = elastic_warp(prior, rng, strength)
    prior = dilate_or_erode(prior, rng, strength)
    return prior


def affine_jitter(mask: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """The motion of a person between two frames: a small turn, zoom and shift."""
    h, w = mask.shape
    angle = rng.uniform(-8, 8) * strength
    scale = 1 + rng.uniform(-0.08, 0.08) * strength
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-0.05, 0.05, 2) * (w, h) * strength
    return cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def elastic_warp(mask: np.ndarray, rng: np.random.Generator, strength: float = 1.0, grid: int = 5) -> np.ndarray:
    """Non-rigid change (arms and hair move on their own): a smooth random displacement field
    from a coarse grid of offsets, each up to about 3% of the mask's size."""
    h, w = mask.shape
    amplitude = 0.03 * max(h, w) * strength
    dx = cv2.resize(rng.uniform(-amplitude, amplitude, (grid, grid)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(rng.uniform(-amplitude, amplitude, (grid, grid)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def dilate_or_erode(mask: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """A previous prediction that was too generous or too tight around the edge."""
    radius = int(round(rng.uniform(0, 0.02) * max(mask.shape) * strength))
    if radius == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask, kernel) if rng.random() < 0.5 else cv2.erode(mask, kernel)
