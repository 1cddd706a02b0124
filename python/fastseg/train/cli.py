"""`fastseg train`, `fastseg export` and `fastseg eval`, registered into the main CLI.

train and export need the `train` extra (PyTorch); eval needs only fastseg itself."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import CliError
from ..commands.common import MaskOptions, add_model_arguments, open_segmenter, positive_float, positive_int


def register(sub) -> None:
    register_train(sub)
    register_export(sub)
    register_eval(sub)


def require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise CliError("training needs PyTorch: pip install 'fastseg[train]'") from e


# --- train ------------------------------------------------------------------------------------------


def register_train(sub) -> None:
    p = sub.add_parser("train", help="train a fastseg model from a config (configs/*.json)")
    p.add_argument("--config", type=Path, required=True, help="training config (JSON), e.g. configs/fastseg_landscape.json")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--epochs", type=positive_int, help="total epochs (overrides the config)")
    p.add_argument("--out", help="run folder for checkpoints and log.csv (overrides the config)")
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    require_torch()
    from .loop import Trainer, TrainConfig

    if not args.config.is_file():
        raise CliError(f"config not found: {args.config}")
    try:
        config = TrainConfig.load(args.config, epochs=args.epochs, out=args.out)
    except (TypeError, ValueError) as e:
        raise CliError(f"{args.config}: {e}") from e
    trainer = Trainer(config)
    if args.resume and not (Path(config.out) / "last.pt").is_file():
        raise CliError(f"nothing to resume: {Path(config.out) / 'last.pt'} does not exist")
    trainer.run(resume=args.resume)
    print(f"best validation mean IoU {trainer.best:.4f}; checkpoints in {config.out}")
    return 0


# --- export -----------------------------------------------------------------------------------------


def register_export(sub) -> None:
    p = sub.add_parser("export", help="write a trained checkpoint as ONNX with its fastseg.spec (and INT8)")
    p.add_argument("checkpoint", type=Path, nargs="+",
                   help="a checkpoint of `fastseg train` (best.pt or last.pt); several of one model export their "
                        "averaged weights")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write")
    p.add_argument("--name", help="model name in the spec (default: the output's stem)")
    p.add_argument("--int8", type=Path, metavar="FILE", help="also write a static INT8 model here")
    p.add_argument("--calibration", type=Path, metavar="DATASET", help="dataset whose train images calibrate INT8")
    p.add_argument("--calibration-count", type=positive_int, default=200, help="calibration images (default 200)")
    p.add_argument("--logit-scale", type=positive_float, default=1.0,
                   help="multiply the logits: > 1 sharpens the mask, its 0.5 boundary stays (default 1)")
    p.add_argument("--half-weights", action="store_true",
                   help="store the float model's convolution weights as float16 (half the file; ONNX Runtime "
                        "casts them back to float32 at load, so it runs as fast)")
    p.add_argument("--first-looks", type=positive_int, default=1,
                   help="runs of a recurrent model on a first frame, each feeding its prior to the next (default 1)")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    require_torch()
    from .export import export_checkpoint

    for checkpoint in args.checkpoint:
        if not checkpoint.is_file():
            raise CliError(f"checkpoint not found: {checkpoint}")
    try:
        written = export_checkpoint(args.checkpoint, args.output, args.name, args.int8, args.calibration, args.calibration_count,
                                    args.logit_scale, args.half_weights, args.first_looks)
    except ValueError as e:
        raise CliError(str(e)) from e
    for path in written:
        print(f"{path}: {path.stat().st_size / 1024:.0f} KB")
    return 0


# --- eval -------------------------------------------------------------------------------------------


def register_eval(sub) -> None:
    p = sub.add_parser("eval", help="IoU, boundary F, latency and flicker of models side by side")
    p.add_argument("dataset", type=Path, metavar="DATASET", help="a dataset built by `fastseg data build`")
    add_model_arguments(p, repeat=True, threads_default="1")
    p.add_argument("--split", choices=("train", "val"), default="val", help="which split to score (default val)")
    p.add_argument("--videos", type=Path, metavar="DIR|CLIP",
                   help="clips for the flicker measure, e.g. ../shared/data/videos/asl_gestures (default: none)")
    p.add_argument("--limit", type=positive_int, help="at most N items a source (a quick look)")
    p.add_argument("--rounds", type=positive_int, default=5, help="latency rounds, models taking turns (default 5)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.set_defaults(run=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_table, list_videos

    if not (args.dataset / "manifest.jsonl").is_file():
        raise CliError(f"{args.dataset} is not a dataset (no manifest.jsonl): build one with `fastseg data build`")
    if args.videos is not None and not args.videos.exists():
        raise CliError(f"--videos {args.videos} does not exist")
    threads = args.threads or 1
    models = [(m, Path(m) if m and Path(m).suffix.lower() == ".onnx" else None) for m in (args.model or [None])]
    reports = evaluate(models, lambda m: open_segmenter(m, threads, MaskOptions(), profile=True), args.dataset,
                       list_videos(args.videos), args.split, args.limit, args.rounds)
    print(f"{args.dataset} ({args.split}), {threads} thread(s); flicker: mean |mask change| between frames"
          + (f" of {args.videos}" if args.videos else " (no --videos)"))
    print(format_table(reports))
    if args.json:
        args.json.write_text(json.dumps([{**r.__dict__, "path": str(r.path), "mean_iou": r.mean_iou} for r in reports], indent=2))
    return 0
