"""Teacher soft targets, computed once with ONNX Runtime and cached as PNG files.

Distillation needs the teacher's opinion of every training image; running the teacher during
training would cost far more than the student. So `cache_soft_targets` runs it once per image
(through `fastseg.Segmenter`, the same pre- and post-processing every model gets) and writes
`DIR/ID.png` (uint8 probability, the image's size). `pseudo_label_videos` turns frames of
unlabelled clips into a dataset in the usual layout whose masks are the teacher's: webcam-like
material the labelled sources lack.

Teachers must be Apache-2.0 or MIT (MODNet, MediaPipe); never RVM (GPL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import cv2
import numpy as np

from ..data import layout
from ..data.build import make_progress
from ..segmenter import Segmenter

ALLOWED_TEACHERS = ("modnet", "mediapipe_selfie_landscape", "mediapipe_selfie")
TEACHER_SHORT_SIDE = 256  # MODNet at 256 is ~70 ms an image on one core; 512 would be 4x that


def open_teacher(name: str, path: Path) -> Segmenter:
    if name not in ALLOWED_TEACHERS:
        raise ValueError(f"teacher {name!r} is not allowed; licence-compatible teachers: {ALLOWED_TEACHERS}")
    short_side = TEACHER_SHORT_SIDE if name == "modnet" else None
    return Segmenter(name, path=path, threads=1, short_side=short_side)


def soft_target_path(cache: Path, item_id: str) -> Path:
    return Path(cache) / f"{item_id}.png"


def cache_soft_targets(dataset: Path, cache: Path, teacher: str, teacher_path: Path, split: str = "train",
                       progress: bool = True) -> int:
    """Write the teacher's mask of every `split` item of `dataset` not cached yet; returns how many were written."""
    records = [r for r in layout.read_manifest(dataset) if r["split"] == split]
    todo = [r for r in records if not soft_target_path(cache, r["id"]).is_file()]
    if not todo:
        return 0
    seg = open_teacher(teacher, teacher_path)
    bar = make_progress(len(todo), progress)
    for record in todo:
        image = cv2.imread(str(layout.image_path(dataset, record["id"])), cv2.IMREAD_COLOR)
        soft = np.round(seg.mask(image) * 255).astype(np.uint8)
        layout.write_atomic(soft_target_path(cache, record["id"]), layout.encode_png(soft))
        bar.update()
    bar.close()
    return len(todo)


def video_frames(path: Path, every: int, max_side: int) -> Iterable[tuple[int, np.ndarray]]:
    """(index, frame) of every `every`-th frame, shrunk so the long side is at most max_side."""
    capture = cv2.VideoCapture(str(path))
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            if index % every == 0:
                scale = max_side / max(frame.shape[:2])
                if scale < 1:
                    frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                yield index, frame
            index += 1
    finally:
        capture.release()


def pseudo_label_videos(videos: list[Path], out: Path, teacher: str, teacher_path: Path, every: int = 10,
                        max_side: int = 512, progress: bool = True) -> list[dict]:
    """A train-only dataset of video frames labelled by the teacher (source "video_pseudo")."""
    seg = open_teacher(teacher, teacher_path)
    records = []
    for video in videos:
        seg.reset()
        for index, frame in video_frames(video, every, max_side):
            records.append(write_pseudo_item(out, f"video-{Path(video).stem}-{index:05d}", frame, seg.mask(frame), teacher))
        if progress:
            print(f"{video}: {len(records)} frames so far")
    layout.write_manifest(out, records)
    return records


def write_pseudo_item(out: Path, item_id: str, frame: np.ndarray, soft: np.ndarray, teacher: str) -> dict:
    files = {"image": layout.encode_jpeg(frame), "mask": layout.encode_png(np.round(soft * 255).astype(np.uint8))}
    for kind, data in files.items():
        layout.write_atomic(layout.OUTPUT_PATHS[kind](out, item_id), data)
    return {
        "id": item_id, "source": "video_pseudo", "format": "pseudo", "licence": f"video: see ../shared/data; labels: {teacher}",
        "split": "train", "height": frame.shape[0], "width": frame.shape[1],
        "person_fraction": round(float(soft.mean()), 5), "teacher": teacher,
        "sha256": {kind: layout.sha256(data) for kind, data in files.items()},
    }


def default_teacher_path(name: str, models_dir: Optional[Path] = None) -> Path:
    return Path(models_dir or Path.cwd().parent / "shared" / "models") / f"{name}.onnx"
