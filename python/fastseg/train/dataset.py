"""Training and validation samples from datasets built by `fastseg data` (one layout).

Images are decoded once, shrunk to a working size and kept in memory: decoding JPEGs every
epoch would cost more CPU than this small network's training step. Every random choice of
sample i in epoch e comes from a generator seeded with (seed, epoch, i), so a run resumed
from a checkpoint sees exactly the samples the uninterrupted run would have seen.

The geometry matches how `Segmenter` feeds a fixed-size model: the whole frame squeezed to
the model's size (area averaging). Training crops either keep the photo's own aspect (then
squeezed, as at inference) or the model's aspect (a webcam frame cut from the photo); with
`whole`, that share of samples is the whole photo, unzoomed, as `Segmenter` shows a frame;
with `zoom_out`, that share is the whole photo shrunk inside a mirrored border (people
further from the camera than the photographer stood).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

from ..data import layout
from ..data.augment import synthesize_prior, train_transform
from .metrics import iou
from .teacher import soft_target_path

MEAN = 127.5  # input normalisation, in pixel units: (x - 127.5) / 127.5, recorded in the spec
STD = 127.5


@dataclass
class Item:
    id: str
    source: str
    image: np.ndarray  # BGR uint8, working size
    mask: np.ndarray  # uint8 0..255
    ignore: Optional[np.ndarray]  # bool, or None
    soft: Optional[np.ndarray]  # teacher's uint8 probability, or None


def shrink(image: np.ndarray, max_side: int, interpolation: int) -> np.ndarray:
    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=interpolation)


def load_items(root: Path, split: str, max_side: int, teacher_caches: Sequence[Path] = (),
               sources: Optional[Sequence[str]] = None, teacher_margin: Optional[float] = None) -> list[Item]:
    """Every `split` item of a built dataset, shrunk to max_side, with its soft target: the mean
    of the teachers' cached masks (those that have the item; with `teacher_margin`, only those
    whose IoU with the item's label is within that margin of the best teacher's)."""
    items = []
    for record in layout.read_manifest(root):
        if record["split"] != split or (sources and record["source"] not in sources):
            continue
        image, mask, ignore = layout.load_item(root, record)
        soft = mean_soft_target(teacher_caches, record["id"], teacher_margin, mask, ignore)
        items.append(Item(
            record["id"], record["source"], shrink(image, max_side, cv2.INTER_AREA), shrink(mask, max_side, cv2.INTER_LINEAR),
            None if ignore is None else shrink(ignore.astype(np.uint8), max_side, cv2.INTER_NEAREST) > 0,
            None if soft is None else shrink(soft, max_side, cv2.INTER_LINEAR),
        ))
    return items


def mean_soft_target(caches: Sequence[Path], item_id: str, margin: Optional[float] = None,
                     label: Optional[np.ndarray] = None, ignore: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """uint8 mean of the cached teacher masks of one item, or None when no cache has it. With a
    `margin`, only the teachers whose IoU with the item's uint8 `label` is within it of the best
    one's: where one teacher misses the labelled person (MODNet, a portrait model, on distant
    people in a street), the mean of the two would teach 0.5 there."""
    paths = [path for path in (soft_target_path(c, item_id) for c in caches) if path.is_file()]
    if not paths:
        return None
    planes = [cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) for path in paths]
    if margin is not None and len(planes) > 1:
        valid = None if ignore is None else ~ignore
        scores = [iou(plane >= 128, label >= 128, valid) for plane in planes]
        planes = [plane for plane, score in zip(planes, scores) if score >= max(scores) - margin]
    return np.round(np.mean(planes, axis=0)).astype(np.uint8)


def nearest_shape(frame_height: int, frame_width: int, shapes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Of several (height, width) input shapes, the one whose aspect is nearest the frame's (in
    log ratio, so 2:1 and 1:2 are as far from square): a sample then reaches the model about
    as undistorted as it can."""
    aspect = math.log(frame_width / frame_height)
    return min(shapes, key=lambda hw: abs(math.log(hw[1] / hw[0]) - aspect))


def normalise(image_bgr: np.ndarray) -> np.ndarray:
    """uint8 BGR H x W x 3 -> float32 RGB 3 x H x W, as the exported spec says."""
    rgb = image_bgr[:, :, ::-1].astype(np.float32)
    return ((rgb - MEAN) / STD).transpose(2, 0, 1)


def framed(a: np.ndarray, border: Optional[tuple]) -> np.ndarray:
    """`a` inside a mirrored border of (top, bottom, left, right) pixels: image, label, ignore
    and soft target mirror alike, so the mirrored people stay labelled."""
    if not border or not any(border):
        return a
    # Mirroring repeats at most the array itself per side: the drawn border is below its size.
    return cv2.copyMakeBorder(a.view(np.uint8), *border, cv2.BORDER_REFLECT_101).view(a.dtype)


def random_crop(item: Item, rng: np.random.Generator, aspect: float) -> tuple[int, int, int, int]:
    """(x, y, w, h) covering 60-100% of the photo, with its own aspect or the model's."""
    height, width = item.mask.shape
    target = aspect if rng.random() < 0.5 else width / height
    area = rng.uniform(0.6, 1.0) * width * height
    w = int(min(width, round(np.sqrt(area * target))))
    h = int(min(height, round(w / target)))
    return int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1)), w, h


class SegmentationSet(torch.utils.data.Dataset):
    """Samples for one split: dicts of float32 tensors image (C,H,W), target, valid, soft, soft_valid (1,H,W)."""

    def __init__(self, items: list[Item], size: tuple[int, int], train: bool, prev_mask: bool = False, seed: int = 0,
                 prior_empty: float = 0.1, shapes: Optional[Sequence[Sequence[int]]] = None, whole: float = 0.0,
                 zoom_out: float = 0.0) -> None:
        self.items, self.size, self.train, self.prev_mask, self.seed = items, tuple(size), train, prev_mask, seed
        self.prior_empty = prior_empty
        self.epoch = 0
        # Input shapes of a model fed at its frame's aspect: each sample takes the one nearest
        # its crop's aspect (`Segmenter` itself squeezes every frame into a fixed-size model's
        # `size`); `size` alone means every sample is squeezed to it.
        self.shapes = [tuple(int(v) for v in shape) for shape in shapes] if shapes else [self.size]
        self.transforms = {(shape, zoom): train_transform(shape, zoom=zoom) for shape in self.shapes
                           for zoom in ((True, False) if whole or zoom_out else (True,))} if train else {}
        # Share of training samples shown whole (no crop, no zoom), as `Segmenter` shows the
        # model a frame, and share shown zoomed out (people smaller than whole); the rest are
        # crops of 30-100% of the photo, people larger than whole.
        self.whole, self.zoom_out = whole, zoom_out

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict:
        item = self.items[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.train:
            box, border = self.train_box(item, rng)
            image, mask, ignore, soft = self.augmented(item, rng, box, self.shape_for(box[3], box[2]), border)
        else:
            shape = self.shape_for(*item.mask.shape)
            image, mask, ignore, soft = self.resized(item.image, item.mask, item.ignore, item.soft, shape)
        return self.tensors(image, mask, ignore, soft, rng)

    def shape_for(self, height: int, width: int) -> tuple[int, int]:
        return self.shapes[0] if len(self.shapes) == 1 else nearest_shape(height, width, self.shapes)

    def shape_of(self, index: int, epoch: int) -> tuple[int, int]:
        """The input shape sample `index` takes in `epoch` (the same draw `__getitem__` makes),
        so a sampler can batch samples of one shape together."""
        if not self.train:
            return self.shape_for(*self.items[index].mask.shape)
        box, _ = self.train_box(self.items[index], np.random.default_rng([self.seed, epoch, index]))
        return self.shape_for(box[3], box[2])

    def train_box(self, item: Item, rng: np.random.Generator) -> tuple[tuple[int, int, int, int], Optional[tuple]]:
        """((x, y, w, h), border) of a training sample. Border None: a crop that the transform
        zooms into further; else the whole photo, unzoomed, inside a mirrored border of
        (top, bottom, left, right) pixels: none for the `whole` share of samples, one that
        makes the frame 1.15-1.8x the photo's sides for the `zoom_out` share."""
        height, width = item.mask.shape
        draw = rng.random() if self.whole or self.zoom_out else 1.0  # no draw without them: older runs replay
        if draw < self.whole:
            return (0, 0, width, height), (0, 0, 0, 0)
        if draw < self.whole + self.zoom_out:
            scale = rng.uniform(1.15, 1.8)  # MediaPipe loses 0.023 ccp IoU at 1.3x, stage 23 0.068
            pad_y, pad_x = round((scale - 1) * height), round((scale - 1) * width)
            top, left = int(rng.integers(0, pad_y + 1)), int(rng.integers(0, pad_x + 1))
            return (0, 0, width, height), (top, pad_y - top, left, pad_x - left)
        return random_crop(item, rng, self.size[1] / self.size[0]), None

    def resized(self, image, mask, ignore, soft, shape: tuple[int, int]):
        h, w = shape
        resize = lambda a, interp: None if a is None else cv2.resize(a, (w, h), interpolation=interp)  # noqa: E731
        ignore_u8 = None if ignore is None else ignore.astype(np.uint8)
        ignore_out = resize(ignore_u8, cv2.INTER_NEAREST)
        return (resize(image, cv2.INTER_AREA), resize(mask, cv2.INTER_LINEAR),
                None if ignore_out is None else ignore_out > 0, resize(soft, cv2.INTER_LINEAR))

    def augmented(self, item: Item, rng: np.random.Generator, box: tuple[int, int, int, int], shape: tuple[int, int],
                  border: Optional[tuple] = None):
        x, y, w, h = box
        crop = lambda a: None if a is None else framed(a[y:y + h, x:x + w], border)  # noqa: E731
        image, mask, ignore, soft = self.resized(crop(item.image), crop(item.mask), crop(item.ignore), crop(item.soft), shape)
        masks = [mask, np.zeros_like(mask) if ignore is None else ignore.astype(np.uint8) * 255,
                 np.zeros_like(mask) if soft is None else soft]
        transform = self.transforms[shape, border is None]
        transform.set_random_seed(int(rng.integers(2**31)))
        out = transform(image=image, masks=masks)
        mask, ignore_u8, soft_out = (np.asarray(m, np.uint8) for m in out["masks"])
        return out["image"], mask, ignore_u8 > 127, None if soft is None else soft_out

    def tensors(self, image, mask, ignore, soft, rng) -> dict:
        channels = [normalise(image)]
        if self.prev_mask:
            prior = synthesize_prior(mask, rng, self.prior_empty) if self.train else np.zeros_like(mask)
            channels.append(prior[None].astype(np.float32) / 255.0)
        target = mask[None].astype(np.float32) / 255.0
        valid = np.ones_like(target) if ignore is None else (~ignore)[None].astype(np.float32)
        soft_valid = np.full_like(target, 0.0 if soft is None else 1.0)
        soft_t = target if soft is None else soft[None].astype(np.float32) / 255.0
        return {
            "image": torch.from_numpy(np.ascontiguousarray(np.concatenate(channels))),
            "target": torch.from_numpy(target), "valid": torch.from_numpy(valid),
            "soft": torch.from_numpy(np.ascontiguousarray(soft_t)), "soft_valid": torch.from_numpy(soft_valid),
        }
