"""`fastseg eval`: models side by side through `Segmenter`, on a built dataset and on video.

Accuracy: every item of a split at its stored size through `Segmenter.mask` (the whole
pipeline a user gets), scored per source by mean IoU and boundary F-score. Latency: the
models take turns on the same 640x480 frame in several rounds, one ONNX Runtime thread
unless told otherwise, and the median inference time of each is reported (turns, because
the machine is shared and its speed drifts). Stability: the mean absolute change of the mask
between consecutive frames of real clips (flicker), each clip from a fresh state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..data import layout
from .metrics import decisive_share, frame_change, mask_scores
from .teacher import video_frames

VIDEO_SUFFIXES = (".mkv", ".mp4", ".avi", ".mov", ".webm")


@dataclass
class ModelReport:
    name: str
    path: Optional[Path]
    iou: dict = field(default_factory=dict)  # source -> mean IoU
    boundary_f: dict = field(default_factory=dict)
    inference_ms: float = float("nan")
    mask_ms: float = float("nan")  # preprocess + inference + post-processing, 640x480 frame
    flicker: float = float("nan")
    decisive: float = float("nan")  # mean share of mask pixels at or below 0.1 or at or above 0.9, over the split
    size_bytes: Optional[int] = None

    @property
    def mean_iou(self) -> float:
        return float(np.mean(list(self.iou.values()))) if self.iou else float("nan")


def score_dataset(segmenter, dataset: Path, split: str = "val", limit: Optional[int] = None) -> tuple[dict, dict, float]:
    """(mean IoU per source, mean boundary F per source, mean decisive share) over `split` (at
    most `limit` items a source)."""
    per_source: dict[str, list] = {}
    for record in layout.read_manifest(dataset):
        if record["split"] != split or (limit and len(per_source.get(record["source"], [])) >= limit):
            continue
        image, mask, ignore = layout.load_item(dataset, record)
        segmenter.reset()
        prob = segmenter.mask(np.ascontiguousarray(image))
        per_source.setdefault(record["source"], []).append((*mask_scores(prob, mask, ignore), decisive_share(prob)))
    iou = {s: float(np.mean([v[0] for v in values])) for s, values in sorted(per_source.items())}
    bf = {s: float(np.mean([v[1] for v in values])) for s, values in sorted(per_source.items())}
    decisive = float(np.mean([v[2] for values in per_source.values() for v in values])) if per_source else float("nan")
    return iou, bf, decisive


def flicker(segmenter, videos: Sequence[Path], every: int = 1, max_side: int = 10_000) -> float:
    """Mean absolute frame-to-frame change of the mask over all consecutive frame pairs."""
    changes = []
    for video in videos:
        segmenter.reset()
        previous = None
        for _, frame in video_frames(video, every, max_side):
            current = segmenter.mask(frame)
            if previous is not None:
                changes.append(frame_change(previous, current))
            previous = current
    return float(np.mean(changes)) if changes else float("nan")


def latencies(segmenters: list, rounds: int = 5, calls: int = 40, size: tuple[int, int] = (480, 640)) -> list[tuple[float, float]]:
    """(median inference ms, median whole-mask ms) of each profiled segmenter, taking turns."""
    frame = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    inference: list[list[float]] = [[] for _ in segmenters]
    whole: list[list[float]] = [[] for _ in segmenters]
    for seg in segmenters:
        for _ in range(10):  # warm-up: buffers sized, ONNX Runtime's first-run costs paid
            seg.mask(frame)
    for _ in range(rounds):
        for i, seg in enumerate(segmenters):
            for _ in range(calls):
                seg.mask(frame)
                t = seg.timings
                inference[i].append(t.inference)
                whole[i].append(t.preprocess + t.inference + t.postprocess)
    return [(1000 * float(np.median(a)), 1000 * float(np.median(b))) for a, b in zip(inference, whole)]


def list_videos(folder: Optional[Path]) -> list[Path]:
    if folder is None:
        return []
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)


def evaluate(models: Sequence[tuple[str, Optional[Path]]], open_segmenter: Callable, dataset: Optional[Path],
             videos: Sequence[Path], split: str = "val", limit: Optional[int] = None, rounds: int = 5) -> list[ModelReport]:
    """A report per (label, file) model; open_segmenter(label_or_path) gives a profiled Segmenter."""
    reports, segmenters = [], []
    for label, path in models:
        seg = open_segmenter(label)
        report = ModelReport(label if path is None else path.stem, path,
                             size_bytes=os.path.getsize(path) if path is not None else None)
        if dataset is not None:
            report.iou, report.boundary_f, report.decisive = score_dataset(seg, dataset, split, limit)
        if videos:
            report.flicker = flicker(seg, videos)
        reports.append(report)
        segmenters.append(seg)
    for report, (inference_ms, mask_ms) in zip(reports, latencies(segmenters, rounds)):
        report.inference_ms, report.mask_ms = inference_ms, mask_ms
    return reports


def format_table(reports: Sequence[ModelReport]) -> str:
    """One row per model: IoU and boundary F per source, their means, latency, flicker, decisive share, size."""
    sources = sorted({s for r in reports for s in r.iou})
    header = (["model"] + [f"IoU {s}" for s in sources] + ["IoU mean"] + [f"BF {s}" for s in sources]
              + ["infer ms", "mask ms", "flicker", "decisive", "size KB"])
    rows = [header]
    for r in reports:
        bf_values = [r.boundary_f.get(s, float("nan")) for s in sources]
        rows.append([r.name] + [f"{r.iou.get(s, float('nan')):.4f}" for s in sources] + [f"{r.mean_iou:.4f}"]
                    + [f"{v:.4f}" for v in bf_values]
                    + [f"{r.inference_ms:.3f}", f"{r.mask_ms:.3f}", f"{r.flicker:.5f}", f"{r.decisive:.3f}",
                       "-" if r.size_bytes is None else f"{r.size_bytes / 1024:.0f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in rows)
