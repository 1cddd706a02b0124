"""`fastseg bench`: per-stage times and frames per second of Segmenter.process at common frame
sizes, and with --video, the video command's two-stage pipeline against a plain loop."""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Dict, List, Optional, Tuple

from .. import models
from ..cli import CliError
from ..demo import synthetic_frame
from .common import Look, MaskOptions, add_model_arguments, existing_file, open_segmenter, positive_int
from .video import convert_video, pipeline_threads

SIZES = ((640, 480), (1280, 720), (1920, 1080))
STAGES = ("preprocess", "inference", "postprocess", "composite")
WARMUP = 3


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="time each stage of the pipeline at 640x480, 1280x720 and 1920x1080",
        description="Median per-stage times (preprocess, inference, post-process, composite) and frames "
        "per second of Segmenter.process with the blur effect, for the default model and each --model. "
        "--video CLIP also times the video command over the clip, pipelined and one frame at a time.",
    )
    add_model_arguments(p, repeat=True)
    p.add_argument("--frames", type=positive_int, default=30, help="timed frames per size (default 30)")
    p.add_argument("--sizes", type=parse_sizes, default=SIZES, help="frame sizes, e.g. 640x480,1280x720")
    p.add_argument("--video", type=Path, help="also time `fastseg video` on this clip, with and without the pipeline")
    p.add_argument("--repeat", type=positive_int, default=3, help="runs of each --video mode, best counts (default 3)")
    p.set_defaults(run=run)


def parse_sizes(text: str) -> Tuple[Tuple[int, int], ...]:
    try:
        sizes = tuple(tuple(int(v) for v in item.lower().split("x")) for item in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 640x480,1280x720, got {text!r}") from None
    if not sizes or any(len(s) != 2 or min(s) < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"expected sizes like 640x480,1280x720, got {text!r}")
    return sizes  # type: ignore[return-value]


def run(args: argparse.Namespace) -> int:
    chosen = bench_models(args.model)
    if args.video is not None:
        existing_file(args.video)
    print(f"{'model':<28} {'size':>9} " + " ".join(f"{s:>11}" for s in STAGES) + f" {'total':>9} {'fps':>7}")
    for model in chosen:
        segmenter = open_segmenter(model, args.threads, MaskOptions(), profile=True)
        for width, height in args.sizes:
            stages, total = time_stages(segmenter, width, height, args.frames)
            cells = " ".join(f"{stages[s] * 1e3:8.2f} ms" for s in STAGES)
            print(f"{model_label(model):<28} {f'{width}x{height}':>9} {cells} {total * 1e3:6.2f} ms {1 / total:7.1f}", flush=True)
    if args.video is not None:
        for model in chosen:
            compare_pipeline(model, args.threads, args.video, args.repeat)
    return 0


def bench_models(given: Optional[List[str]]) -> List[Optional[str]]:
    """The default model (None) when fastseg ships one, then each --model."""
    chosen: List[Optional[str]] = [None] if models.DEFAULT_MODEL in models.packaged() else []
    chosen += given or []
    if not chosen:
        open_segmenter(None, None, MaskOptions())  # raises the CliError that says how to pass --model
    return chosen


def model_label(model: Optional[str]) -> str:
    return f"{models.DEFAULT_MODEL}(default)" if model is None else Path(model).stem


def time_stages(segmenter, width: int, height: int, frames: int) -> Tuple[Dict[str, float], float]:
    """Median seconds per stage and per whole process() call, blur effect."""
    frame, _ = synthetic_frame(height, width)
    for _ in range(WARMUP):
        segmenter.process(frame, "blur")
    samples: Dict[str, List[float]] = {s: [] for s in STAGES}
    totals = []
    for _ in range(frames):
        start = perf_counter()
        segmenter.process(frame, "blur")
        totals.append(perf_counter() - start)
        for stage in STAGES:
            samples[stage].append(getattr(segmenter.timings, stage))
    return {s: statistics.median(v) for s, v in samples.items()}, statistics.median(totals)


def compare_pipeline(model: Optional[str], threads: Optional[int], clip: Path, repeat: int) -> None:
    """The video command over the clip one frame at a time and pipelined, alternating `repeat`
    times in this one run; the best rate of each, since other work on a shared machine only
    ever slows a run down."""
    rates: Dict[bool, List[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat):
            for pipelined in (False, True):
                segmenter = open_segmenter(model, pipeline_threads(threads, pipelined), MaskOptions())
                report = convert_video(clip, Path(folder) / "out.mp4", segmenter, Look(), pipelined=pipelined,
                                       progress=False)
                rates[pipelined].append(report.fps)
    plain, piped = max(rates[False]), max(rates[True])
    if not plain:
        raise CliError(f"{clip}: no frame decoded")
    print(f"video {clip.name} ({report.frames} frames, {report.info.width}x{report.info.height}), {model_label(model)}, "
          f"blur, best of {repeat}: one frame at a time {plain:.1f} frames/s, two-stage pipeline {piped:.1f} frames/s "
          f"({piped / plain:.2f}x)")
