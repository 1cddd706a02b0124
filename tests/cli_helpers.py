"""Helpers for the command-line tests: clips made here, reading them back, running `fastseg`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from fastseg.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_MODEL = SHARED / "models" / "mediapipe_selfie_landscape.onnx"
SHARED_VIDEOS = SHARED / "data" / "videos"

FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}
PERSON_RGB_MIN = 200  # the tiny models' "person" is bright; the background stays below 60


def person_frames(count: int, height: int = 96, width: int = 128, seed: int = 0, moving: bool = True) -> List[np.ndarray]:
    """Dark textured background with a bright block (the tiny models' person) that moves right
    one 4-pixel step per frame unless moving=False."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
    frames = []
    for i in range(count):
        frame = background.copy()
        left = width // 4 + (4 * i if moving else 0) % (width // 2)
        frame[height // 4 : 3 * height // 4, left : left + width // 4] = (230, 220, 210)
        frames.append(frame)
    return frames


def person_box(height: int, width: int, index: int = 0, moving: bool = True, margin: int = 0) -> Tuple[slice, slice]:
    """Where person_frames put the block in frame `index`, shrunk by `margin` pixels."""
    left = width // 4 + (4 * index if moving else 0) % (width // 2)
    return (slice(height // 4 + margin, 3 * height // 4 - margin), slice(left + margin, left + width // 4 - margin))


def write_clip(path: Path, frames: Sequence[np.ndarray], fps: float = 12.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix]), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def read_clip(path: Path) -> Tuple[List[np.ndarray], float]:
    """Every decodable frame and the frame rate."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"cannot open {path}"
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


def run_cli(capsys, *argv: str) -> Tuple[int, str, str]:
    """(exit status, stdout, stderr) of `fastseg argv...` run in this process."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse: --help, --version and usage errors
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *phrases: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, f"exit status {code}, stderr: {err!r}"
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"
