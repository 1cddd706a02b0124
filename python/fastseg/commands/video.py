"""`fastseg video IN -o OUT`: the effect on every frame of a clip, keeping its size, frame rate
and frame count; decoding and segmentation of frame n+1 overlap compositing and encoding of
frame n (see pipeline.py)."""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Optional

import cv2
from tqdm import tqdm

from ..cli import CliError
from .common import (
    EFFECTS,
    Look,
    MaskOptions,
    VideoInfo,
    add_effect_arguments,
    add_model_arguments,
    frame_error,
    open_segmenter,
    open_video,
    read_frames,
    unit_float,
)
from .pipeline import FrameCompositor, segmented

# Codecs the OpenCV wheels can encode (they ship no H.264 encoder).
FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
VIDEO_EFFECTS = tuple(e for e in EFFECTS if e != "transparent")  # no alpha in these codecs


def register(sub) -> None:
    p = sub.add_parser(
        "video",
        help="blur, replace or mask the background of a video clip",
        description="Apply a background effect to every frame of a video; the output keeps the size, "
        "frame rate and frame count. A truncated or corrupt input stops with an error, and OUT then "
        "holds the frames done (playable).",
    )
    p.add_argument("input", type=Path, metavar="IN", help="the input clip")
    p.add_argument("-o", "--output", type=Path, required=True, help=f"output clip ({', '.join(FOURCC)})")
    add_model_arguments(p, threads_default="1 with the pipeline, else all cores")
    add_effect_arguments(p, VIDEO_EFFECTS)
    p.add_argument("--temporal", type=unit_float, default=0.0, help="temporal smoothing of the mask in [0, 1) (default 0)")
    p.add_argument("--method", choices=("model", "bgsub"), default="model",
                   help="model: the segmentation model; bgsub: background subtraction (static camera)")
    p.add_argument("--no-pipeline", action="store_true", help="one frame at a time, no overlap (for comparison)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is shown on a terminal)")
    p.set_defaults(run=run)


@dataclass
class VideoReport:
    frames: int  # written
    expected: int  # as the input's container states it (0: unknown)
    seconds: float
    info: VideoInfo

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def truncated(self) -> bool:
        # Containers such as Matroska estimate the count from the duration, off by a frame or two.
        return self.expected > 0 and self.frames < self.expected - max(2, self.expected // 100)


def run(args: argparse.Namespace) -> int:
    if args.temporal >= 1.0:
        raise CliError("--temporal must be below 1")
    look = Look.from_args(args.effect, args.background, args.strength)
    options = MaskOptions(threshold=args.threshold, temporal=args.temporal, refine=args.refine)
    threads = pipeline_threads(args.threads, pipelined=not args.no_pipeline)
    segmenter = open_segmenter(args.model, threads, options, method=args.method)
    report = convert_video(args.input, args.output, segmenter, look, pipelined=not args.no_pipeline,
                           progress=not args.no_progress)
    check_complete(report, args.input, args.output)
    mode = "one frame at a time" if args.no_pipeline else "two-stage pipeline"
    info = report.info
    print(f"{args.output}: {report.frames} frames, {info.width}x{info.height} at {info.fps:g} fps; "
          f"{report.fps:.1f} frames/s ({mode})")
    return 0


def pipeline_threads(threads: Optional[int], pipelined: bool) -> Optional[int]:
    """ONNX Runtime threads: as asked, else one in the pipeline, whose other stage has the
    second core (a second inference thread would spin against it)."""
    return threads if threads is not None or not pipelined else 1


def convert_video(source: Path, target: Path, segmenter, look: Look, *, pipelined: bool = True,
                  progress: bool = True) -> VideoReport:
    """Every frame of `source` through the segmenter and the look into `target`. The writer is
    always released, so whatever was written is a playable file even when a frame fails."""
    fourcc = check_target(source, target)
    # Pipelined, the decoder has a thread of its own: its internal threads would only compete.
    capture = open_video(source, decode_threads=1 if pipelined else 0)
    info = VideoInfo.of(capture)
    composite = FrameCompositor()
    writer: Optional[cv2.VideoWriter] = None
    frames = 0
    start = perf_counter()
    bar = tqdm(total=info.frames or None, unit="frame", desc=source.name, disable=None if progress else True)
    try:
        with contextlib.closing(segmented(read_frames(capture), segmenter, pipelined=pipelined)) as pairs:
            for frame, alpha in pairs:
                result = composite(frame, alpha, look.effect, look.options())
                if writer is None:
                    writer = open_writer(target, fourcc, info.fps, result.shape)
                writer.write(result)
                frames += 1
                bar.update()
    except ValueError as err:  # e.g. bgsub: a frame of another size than it learnt
        raise frame_error(source, err) from err
    finally:
        bar.close()
        if writer is not None:
            writer.release()
        capture.release()
    return VideoReport(frames, info.frames, perf_counter() - start, info)


def check_target(source: Path, target: Path) -> str:
    """The output's FourCC; refuses a type OpenCV cannot write and writing over the input."""
    fourcc = FOURCC.get(target.suffix.lower())
    if fourcc is None:
        raise CliError(f"cannot write video type {target.suffix or '(none)'!r}: use {', '.join(FOURCC)}")
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise CliError(f"output {target} is the input itself: inputs are never overwritten")
    return fourcc


def open_writer(path: Path, fourcc: str, fps: float, shape) -> cv2.VideoWriter:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (shape[1], shape[0]))
    if not writer.isOpened():
        raise CliError(f"cannot write {path} ({fourcc} at {shape[1]}x{shape[0]})")
    return writer


def check_complete(report: VideoReport, source: Path, target: Path) -> None:
    if report.frames == 0:
        target.unlink(missing_ok=True)
        raise CliError(f"{source}: no readable frame (empty or corrupt video); nothing written")
    if report.truncated:
        raise CliError(
            f"{source} ended after {report.frames} of {report.expected} frames (truncated or corrupt); "
            f"{target} holds the {report.frames} frames done"
        )
