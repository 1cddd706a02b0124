"""The training run behind `fastseg train --config CONFIG`.

AdamW with a linear warm-up and a cosine decay, one checkpoint per epoch (`last.pt`, and
`best.pt` when the validation score improved), a CSV log with every loss term and the
validation IoU and boundary F-score per source. `resume=True` continues from `last.pt`
exactly as the uninterrupted run would have (every random choice is seeded by step or by
(epoch, sample)). Creating the file `STOP` in the run folder ends the run cleanly after the
current epoch's checkpoint.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import cv2
import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from . import checkpoint
from . import teacher as teachers
from .dataset import SegmentationSet, load_items
from .losses import LossWeights, texture_augment, total_loss
from .metrics import mask_scores
from .model import FastSegNet, InvertedResidual, ModelConfig

LOG_TERMS = ("loss", "bce", "dice", "boundary", "consistency", "distill", "alpha")


@dataclass
class TrainConfig:
    name: str
    out: str
    # [{"root": DIR, "teacher_cache": DIR, or one DIR per teacher, or absent,
    #   "repeat": {SOURCE: N} (optional: that source's items come N times an epoch)}, ...]
    datasets: list
    val: str  # the dataset whose val split is scored, per source
    size: tuple = (144, 256)
    model: dict = field(default_factory=dict)
    loss: dict = field(default_factory=dict)
    # {"name": "modnet", "path": FILE}, or a list of them: soft targets cached before training;
    # with several, a dataset names one cache per teacher and learns from their mean
    teacher: Optional[dict | list] = None
    # With several teachers: distil each item from the teachers whose IoU with its label is
    # within this margin of the best teacher's (None: always the mean of all of them)
    teacher_margin: Optional[float] = None
    # {"videos": [CLIP, ...], "out": DIR, "every": N}: frames labelled once by the (first) teacher
    pseudo: Optional[dict] = None
    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    max_side: int = 384  # images are kept in memory at this long side
    # [[h, w], ...]: input shapes for a model fed at each frame's aspect (every sample takes the
    # one nearest its own); None: every sample squeezed to `size` (a fixed-size model)
    shapes: Optional[list] = None
    workers: int = 1
    threads: int = 2
    seed: int = 0
    consistency_share: float = 0.25  # share of each batch that also runs as a texture-augmented copy
    # a checkpoint whose weights start the run (see `warm_start`), or a list of checkpoints of
    # one model whose averaged weights do
    init: Optional[str | list[str]] = None
    prior_empty: float = 0.1  # previous-mask models: share of samples whose prior is empty (a first frame)
    # previous-mask models: share of each batch whose prior is the model's own prediction for
    # the sample (as on video, where the prior is the last output, with the model's own errors)
    self_prior: float = 0.0
    # previous-mask models: validation looks at each photo this many times, each look's mask the
    # next one's prior, as `Segmenter` does on a first frame (export it with `--first-looks`)
    first_looks: int = 1
    # previous-mask models: own priors (`self_prior`, validation's looks) are sigmoid(this x the
    # logits), the prior that a file exported with `--logit-scale` this feeds back
    prior_scale: float = 1.0
    # The weights averaged over the steps (an exponential moving average with this decay per
    # step, BatchNorm statistics included) are what is validated, saved as a checkpoint's
    # "model" and exported: a step's weights jump with its batch; None: the last step's weights
    ema: Optional[float] = None
    # Share of training samples shown whole, uncropped and unzoomed: how `Segmenter` shows the
    # model a frame (the rest are crops of 30-100% of the photo, so people larger than whole)
    whole: float = 0.0
    # Share of training samples shown zoomed out: the whole photo inside a mirrored border,
    # 1.15-1.8x its sides, so people smaller than whole (further from the camera)
    zoom_out: float = 0.0

    @classmethod
    def load(cls, path: Path, **overrides) -> "TrainConfig":
        data = json.loads(Path(path).read_text())
        data.update({k: v for k, v in overrides.items() if v is not None})
        data["size"] = tuple(data.get("size", cls.size))
        return cls(**data)


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warm-up to `peak`, then cosine decay to 1% of it."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


class EpochSampler(torch.utils.data.Sampler):
    """Yields (epoch, index): the order and each sample's augmentation depend only on the seed
    and the epoch, even in persistent worker processes that never see `set_epoch`."""

    def __init__(self, length: int, seed: int) -> None:
        self.length, self.seed, self.epoch = length, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.length)
        return iter((self.epoch, int(i)) for i in order)


class ShapeBatchSampler(torch.utils.data.Sampler):
    """Batches of (epoch, index) whose samples share one input shape (`SegmentationSet.shapes`):
    each shape's samples in a seeded order, cut into full batches, the batches shuffled."""

    def __init__(self, data: SegmentationSet, batch_size: int, seed: int) -> None:
        self.data, self.batch_size, self.seed, self.epoch = data, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[tuple[int, int]]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        by_shape: dict[tuple, list[int]] = {}
        for index in rng.permutation(len(self.data)):
            by_shape.setdefault(self.data.shape_of(int(index), self.epoch), []).append(int(index))
        batches = [[(self.epoch, i) for i in indices[start:start + self.batch_size]]
                   for indices in by_shape.values() for start in range(0, len(indices) - self.batch_size + 1, self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __len__(self) -> int:
        return len(self.batches())

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return iter(self.batches())


class EpochDataset(torch.utils.data.Dataset):
    def __init__(self, data: SegmentationSet) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        epoch, index = key
        self.data.set_epoch(epoch)
        return self.data[index]


def worker_init(_: int) -> None:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def make_model(config: TrainConfig) -> FastSegNet:
    torch.manual_seed(config.seed)
    # channels_last: PyTorch's CPU depthwise convolutions run about twice as fast in NHWC.
    return FastSegNet(ModelConfig.from_dict(config.model)).to(memory_format=torch.channels_last)


def warm_start(model: FastSegNet, *checkpoints: Path) -> None:
    """Load a checkpoint's weights (several: their mean, `checkpoint.averaged`) into `model`,
    adapting changes of design so a run can start from a trained model instead of from scratch:
    - a stem that takes more input channels gets zeros for the extra ones: a 3-channel model
      becomes a previous-mask model that starts out exactly as it was, ignoring the prior;
    - a stem whose prior moved to stride 2 (``prior_stride=2``) gets, as its 1x1 prior
      convolution, the sum of the old 3x3 prior weights times the BatchNorm scale: the same
      response to a smooth mask;
    - a transposed-convolution head or decoder step becomes the bilinear one's 1x1 convolution
      giving the mean of the four outputs it made (the same mask, without the 2x2 checkerboard);
    - a larger depthwise kernel gets the old one in its centre and zeros around it;
    - encoder blocks the checkpoint lacks (a deeper stage) start as identities: their last
      BatchNorm is zero, so only the residual passes;
    - a new squeeze-excitation (an encoder block's or a decoder step's) starts (nearly) open,
      passing everything, and a new skip gate starts at exactly 1 (zero weights)."""
    weights = dict(checkpoint.averaged(checkpoints)[0])
    own = model.state_dict()
    for name, value in list(weights.items()):
        if name.startswith("head.") and name not in own:  # transposed (head.weight) -> bilinear (head.0.weight)
            target = name.replace("head.", "head.0.", 1)
            weights[target] = mean_of_transposed(value, own[target].shape) if value.ndim == 4 else value
            del weights[name]
        elif name.endswith(".up.0.weight") and name in own and own[name].shape[2:] == (1, 1) and value.shape[2:] == (2, 2):
            weights[name] = mean_of_transposed(value, own[name].shape)  # a decoder step turned bilinear
        elif name in own and value.ndim == 4 and own[name].shape[:2] == value.shape[:2] and own[name].shape[2] > value.shape[2]:
            weights[name] = centred_kernel(value, own[name].shape)
        elif name in own and value.ndim == 4 and own[name].shape[1] > value.shape[1] and own[name].shape[0] == value.shape[0]:
            widened = torch.zeros_like(own[name])
            widened[:, :value.shape[1]] = value
            weights[name] = widened
        elif name == "stem.0.weight" and "prior_in.weight" in own and value.shape[1] == 4:
            weights[name] = value[:, :3].clone()
            bn_scale = weights["stem.1.weight"] / torch.sqrt(weights["stem.1.running_var"] + model.stem[1].eps)
            weights["prior_in.weight"] = value[:, 3:].sum((2, 3), keepdim=True) * bn_scale.view(-1, 1, 1, 1)
    if "prior_in.weight" in own and "prior_in.weight" not in weights:  # a model without a prior
        weights["prior_in.weight"] = torch.zeros_like(own["prior_in.weight"])
    missing = [name for name in own if name not in weights]
    for name in [name for name in missing if ".skip_gate." in name]:
        nn.init.zeros_(model.get_parameter(name))
    for block in {name.split(".se.")[0] for name in missing if ".se." in name}:
        open_gate(model.get_submodule(block).se)
    for block in {name.split(".body.")[0] for name in missing if ".se." not in name and ".skip_gate." not in name}:
        module = model.get_submodule(block) if block.startswith("stages.") else None
        if not (isinstance(module, InvertedResidual) and module.residual):
            raise ValueError(f"{checkpoints[0]}: nothing to start {block!r} from")
        nn.init.zeros_(module.body[-1][1].weight)
    own = model.state_dict()
    weights.update({name: own[name] for name in missing})
    model.load_state_dict(weights)


def open_gate(se: torch.nn.Module) -> None:
    """A squeeze-excitation whose gate is 0.999 whatever its input: zero weights into the
    hard sigmoid and a bias just below 3 (at 3 the gate is 1 but the hard sigmoid's gradient
    is 0, and the gate would never learn)."""
    last = se.gate[3]
    nn.init.zeros_(last.weight)
    nn.init.constant_(last.bias, 3.0 - 0.006)


def centred_kernel(weight: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A k x k kernel inside a larger zero one (same padding, so the same output)."""
    pad = (shape[2] - weight.shape[2]) // 2
    return nn.functional.pad(weight, (pad, pad, pad, pad))


def mean_of_transposed(weight: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The 1x1 convolution (out, in, 1, 1) giving the mean of a 2x2 stride-2 transposed
    convolution's (in, out, 2, 2) four outputs for each input pixel."""
    return weight.mean((2, 3)).T.reshape(shape)


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    # No weight decay on biases and BatchNorm scales: shrinking them only hurts.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr)


def one_or_many(value) -> list:
    """A config value that may be one item, a list of them, or absent, as a list."""
    if not value:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def teacher_caches(spec: dict) -> list[Path]:
    """A dataset entry's cache folders, one per teacher (in the config's teacher order)."""
    return [Path(c) for c in one_or_many(spec.get("teacher_cache"))]


def prepare_teachers(config: TrainConfig, progress: bool) -> None:
    """Teacher soft targets and pseudo-labelled video frames, each made once and then reused."""
    found = one_or_many(config.teacher)
    if not found:
        return
    first = found[0]
    if config.pseudo and not (Path(config.pseudo["out"]) / "manifest.jsonl").is_file():
        teachers.pseudo_label_videos([Path(v) for v in config.pseudo["videos"]], Path(config.pseudo["out"]),
                                     first["name"], Path(first["path"]), config.pseudo.get("every", 8), progress=progress)
    for spec in config.datasets:
        caches = teacher_caches(spec)
        if caches and len(caches) != len(found):
            raise ValueError(f"dataset {spec['root']}: {len(caches)} teacher caches for {len(found)} teachers")
        for teacher, cache in zip(found, caches):
            teachers.cache_soft_targets(Path(spec["root"]), cache, teacher["name"], Path(teacher["path"]), progress=progress)


def load_train_items(config: TrainConfig) -> list:
    """Every dataset's train items, a source listed in its ``"repeat"`` that many times (each
    copy is its own sample index, so its crops and augmentations differ)."""
    items = []
    for spec in config.datasets:
        repeat = spec.get("repeat", {})
        for source, count in repeat.items():
            if not (isinstance(count, int) and count >= 0):
                raise ValueError(f"dataset {spec['root']}: repeat of {source!r} must be a whole number >= 0, not {count!r}")
        for item in load_items(Path(spec["root"]), "train", config.max_side, teacher_caches(spec),
                               teacher_margin=config.teacher_margin):
            items += [item] * repeat.get(item.source, 1)
    return items


@torch.no_grad()
def with_own_prior(model: torch.nn.Module, images: torch.Tensor, count: int, scale: float = 1.0) -> torch.Tensor:
    """`images` with the prior channel of the first `count` replaced by the model's own
    prediction for them (inference mode, as the previous frame's mask would be): the sigmoid of
    its logits times `scale`, as an export with that logit scale feeds its prior back."""
    if count <= 0:
        return images
    was_training = model.training
    model.eval()
    prior = torch.sigmoid(scale * model(images[:count].contiguous(memory_format=torch.channels_last)))
    model.train(was_training)
    images = images.clone()
    images[:count, 3:4] = prior
    return images


class Trainer:
    def __init__(self, config: TrainConfig, progress: bool = True) -> None:
        self.config, self.progress = config, progress
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(config.threads)
        prepare_teachers(config, progress)
        self.model = make_model(config)
        if config.init:
            warm_start(self.model, *map(Path, one_or_many(config.init)))
        self.optimizer = make_optimizer(self.model, config)
        self.ema = (AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
                    if config.ema else None)
        self.weights = LossWeights(**config.loss)
        prev_mask = self.model.config.prev_mask
        self.train_set = SegmentationSet(load_train_items(config), config.size, True, prev_mask, config.seed,
                                         prior_empty=config.prior_empty, shapes=config.shapes, whole=config.whole,
                                         zoom_out=config.zoom_out)
        self.val_set = SegmentationSet(load_items(Path(config.val), "val", config.max_side), config.size, False, prev_mask,
                                       shapes=config.shapes)
        if config.shapes:
            self.sampler = ShapeBatchSampler(self.train_set, config.batch_size, config.seed)
            self.steps_per_epoch = len(self.sampler)  # a few less than one epoch's items / batch: part-batches are dropped
        else:
            self.sampler = EpochSampler(len(self.train_set), config.seed)
            self.steps_per_epoch = len(self.train_set) // config.batch_size
        self.total_steps = self.steps_per_epoch * config.epochs
        self.epoch, self.step, self.best = 0, 0, -1.0
        self._loader: Optional[torch.utils.data.DataLoader] = None

    # --- checkpoints ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        state = {"model": self.result.state_dict(), "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
                 "step": self.step, "best": self.best, "model_config": self.model.config.to_dict(),
                 "size": list(self.config.size), "name": self.config.name}
        if self.ema is not None:  # the weights being trained, and how many steps the average holds
            state.update(trained=self.model.state_dict(), ema_steps=int(self.ema.n_averaged))
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(path)  # a run killed while saving keeps the previous checkpoint

    def resume(self) -> None:
        state = checkpoint.read(self.out / "last.pt")
        self.model.load_state_dict(state.get("trained", state["model"]))
        if self.ema is not None:
            self.ema.module.load_state_dict(state["model"])
            self.ema.n_averaged.fill_(state.get("ema_steps", 1))
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.step, self.best = state["epoch"], state["step"], state["best"]

    @property
    def result(self) -> torch.nn.Module:
        """The network a checkpoint saves and validation scores: the averaged one, if any."""
        return self.model if self.ema is None else self.ema.module

    # --- one epoch --------------------------------------------------------------------------

    def loader(self) -> torch.utils.data.DataLoader:
        """The epoch's batches. Worker processes are spawned once and kept: starting one
        means pickling every in-memory image to it."""
        self.sampler.set_epoch(self.epoch)
        if self._loader is None:
            workers = self.config.workers
            batching = ({"batch_sampler": self.sampler} if isinstance(self.sampler, ShapeBatchSampler)
                        else {"batch_size": self.config.batch_size, "sampler": self.sampler, "drop_last": True})
            self._loader = torch.utils.data.DataLoader(
                EpochDataset(self.train_set), **batching,
                num_workers=workers, worker_init_fn=worker_init if workers else None,
                multiprocessing_context="spawn" if workers else None, persistent_workers=workers > 0,
                prefetch_factor=4 if workers else None,
            )
        return self._loader

    def train_epoch(self) -> dict:
        self.model.train()
        sums = {name: 0.0 for name in LOG_TERMS}
        generator = torch.Generator()
        warmup = int(self.config.warmup_epochs * self.steps_per_epoch)
        batches = 0
        for batch in self.loader():
            lr = lr_at(self.step, self.total_steps, warmup, self.config.lr)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            generator.manual_seed(self.config.seed * 1_000_003 + self.step)
            images = batch["image"]
            if self.model.config.prev_mask:
                images = with_own_prior(self.model, images, round(len(images) * self.config.self_prior), self.config.prior_scale)
            # The texture-augmented copy of the first few images rides in the same forward pass
            # (BatchNorm sees both); a quarter of the batch is enough for the consistency term.
            n_aug = max(1, round(len(images) * self.config.consistency_share))
            both = torch.cat([images, texture_augment(images[:n_aug], generator)]).contiguous(memory_format=torch.channels_last)
            logits, logits_aug = self.model(both).split([len(images), n_aug])
            terms = total_loss(self.weights, logits, logits_aug, batch["target"], batch["valid"], batch["soft"], batch["soft_valid"])
            self.optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            terms = {name: value.detach() for name, value in terms.items()}
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            self.step += 1
            batches += 1
            for name in LOG_TERMS:
                sums[name] += terms[name].item()
        return {name: value / max(1, batches) for name, value in sums.items()} | {"lr": lr_at(self.step - 1, self.total_steps, warmup, self.config.lr)}

    @torch.no_grad()
    def validate(self) -> dict:
        """Mean IoU and boundary F per source of the val split, each prediction scored at the
        label's stored size (the prediction upsampled bilinearly, as Segmenter does)."""
        model = self.result
        model.eval()
        scores: dict[str, list] = {}
        by_shape: dict[tuple, list[int]] = {}
        for i in range(len(self.val_set)):
            by_shape.setdefault(self.val_set.shape_of(i, 0), []).append(i)
        chunks = [same[start:start + 64] for same in by_shape.values() for start in range(0, len(same), 64)]
        for indices in chunks:
            images = torch.stack([self.val_set[i]["image"] for i in indices]).contiguous(memory_format=torch.channels_last)
            for _ in range(self.config.first_looks - 1):
                images = with_own_prior(model, images, len(images), self.config.prior_scale)
            probs = torch.sigmoid(model(images))[:, 0].numpy()
            for i, prob in zip(indices, probs):
                item = self.val_set.items[i]
                h, w = item.mask.shape
                full = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
                scores.setdefault(item.source, []).append(mask_scores(full, item.mask, item.ignore))
        result = {}
        for source, values in sorted(scores.items()):
            result[f"iou_{source}"] = float(np.mean([v[0] for v in values]))
            result[f"bf_{source}"] = float(np.mean([v[1] for v in values]))
        result["iou_mean"] = float(np.mean([result[k] for k in result if k.startswith("iou_")]))
        return result

    # --- the run ----------------------------------------------------------------------------

    def run(self, resume: bool = False, stop_after: Optional[int] = None) -> list[dict]:
        """Train until config.epochs (or `stop_after` more epochs); returns the epochs' log rows."""
        if resume:
            self.resume()
        rows = []
        end = self.config.epochs if stop_after is None else min(self.config.epochs, self.epoch + stop_after)
        while self.epoch < end:
            start = time.time()
            row = {"epoch": self.epoch + 1, **self.train_epoch()}
            row.update(self.validate())
            self.epoch += 1
            row.update({"step": self.step, "seconds": round(time.time() - start, 1)})
            score = row["iou_mean"]
            if score > self.best:
                self.best = score
                self.save(self.out / "best.pt")
            self.save(self.out / "last.pt")
            self.log(row)
            rows.append(row)
            if (self.out / "STOP").exists():
                break
        return rows

    def log(self, row: dict) -> None:
        path = self.out / "log.csv"
        new = not path.exists()
        # A run resumed by a newer fastseg keeps its log's columns (a new loss term is left out).
        fields = list(row) if new else next(csv.reader(path.read_text().splitlines()))
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore", restval="")
            if new:
                writer.writeheader()
            writer.writerow({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()})
        if self.progress:
            print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
