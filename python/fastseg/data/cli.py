"""`fastseg data ...`: build, composite, stats and preview, registered into the main CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import CliError
from . import require
from .sources import FORMATS


def require_data_extra() -> None:
    """The libraries `build` and `composite` read photos and labels with (the `data` extra)."""
    for module, package in (("PIL", "pillow"), ("scipy", "scipy")):
        try:
            require(module, package)
        except ImportError as e:
            raise CliError(str(e)) from e


def register(sub) -> None:
    p = sub.add_parser("data", help="build, composite, inspect training data")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    register_build(data_sub)
    register_composite(data_sub)
    register_stats(data_sub)
    register_preview(data_sub)


# --- build ----------------------------------------------------------------------------------------


def register_build(sub) -> None:
    p = sub.add_parser("build", help="convert labelled sources into one dataset (images/, masks/, manifest.jsonl)")
    p.add_argument("sources", nargs="+", type=Path, metavar="SOURCE", help="a source folder (or COCO .json)")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to create or update")
    p.add_argument("--format", choices=FORMATS, help="the sources' format (default: detect each one)")
    p.add_argument("--licence", help="licence to record (default: from a LICENSE file or the format)")
    p.add_argument("--max-side", type=int, help="shrink so the longer side is at most this many pixels")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--limit", type=int, help="only the first N items of each source (for a quick look)")
    p.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    require_data_extra()
    from .build import build
    from .sources import open_source

    check_outside_sources(args.out, args.sources)
    sources = []
    for path in args.sources:
        try:
            sources.append(open_source(path, args.format, licence=args.licence))
        except (ValueError, FileNotFoundError) as e:
            raise CliError(str(e)) from e
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise CliError(f"two sources share a name ({', '.join(names)}): ids would collide")
    report = build(sources, args.out, max_side=args.max_side, jobs=max(1, args.jobs), limit=args.limit)
    print_build_report(report, args.out)
    return 0


def check_outside_sources(out: Path, sources: list[Path]) -> None:
    out = out.resolve()
    for s in sources:
        root = s.resolve() if s.is_dir() else s.resolve().parent
        if out == root or root in out.parents:
            raise CliError(f"--out {out} is inside source {root}: sources are never written to")


def print_build_report(report, out: Path) -> None:
    for source, c in sorted(report.counts().items()):
        total = sum(c.values())
        print(f"{source}: {total} listed, {c['built'] + c['kept']} in dataset "
              f"({c['built']} built, {c['kept']} already there), {c['flagged']} flagged")
    for o in report.flagged:
        print(f"  flagged {o.flag}: {o.item_id} ({o.detail})")
    unusual = report.unusual_fractions()
    if unusual:
        print(f"  {len(unusual)} kept with an unusual person fraction for their source (see report.json):")
        for u in unusual[:10]:
            print(f"    {u['id']}: {u['person_fraction']:.4f} (z {u['z']:+.1f})")
    state = "updated" if report.manifest_changed else "unchanged"
    print(f"manifest {state}: {out / 'manifest.jsonl'}, report: {out / 'report.json'}; {report.seconds:.1f} s")


# --- composite, stats, preview: filled in by their modules ------------------------------------------


def register_composite(sub) -> None:
    p = sub.add_parser("composite", help="paste the people of a built dataset onto backgrounds, webcam-style")
    p.add_argument("dataset", type=Path, metavar="DIR", help="a dataset built by `fastseg data build`")
    p.add_argument("--out", type=Path, required=True, help="dataset folder for the composites")
    p.add_argument("--backgrounds", type=Path, help="folder of people-free photos (default: only crops of DIR's photos)")
    p.add_argument("-n", "--count", type=int, default=1000, help="frames to make (default 1000)")
    p.add_argument("--size", default="640x360", help="frame size WxH (default 640x360, 16:9)")
    p.add_argument("--split", choices=("train", "val"), default="train", help="whose people (default train)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--empty", type=float, default=0.0, metavar="SHARE",
                   help="share of frames with nobody pasted: the background alone, an all-zero mask (default 0)")
    p.add_argument("--far", type=float, default=0.0, metavar="SHARE",
                   help="share of frames showing a whole person small (20-50%% of the frame's height), as across "
                        "a room or a street; people their photo cuts off keep the webcam framing (default 0)")
    p.set_defaults(run=run_composite)


def run_composite(args: argparse.Namespace) -> int:
    require_data_extra()
    import time

    from .composite import composite

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as e:
        raise CliError(f"--size must be WxH, got {args.size!r}") from e
    read_records(args.dataset)
    start = time.perf_counter()
    try:
        records = composite(args.dataset, args.out, args.count, args.backgrounds, (width, height), args.seed,
                            args.split, max(1, args.jobs), empty=args.empty, far=args.far)
    except ValueError as e:
        raise CliError(str(e)) from e
    print(f"{len(records)} composites in {args.out} ({time.perf_counter() - start:.1f} s)")
    return 0


def register_stats(sub) -> None:
    p = sub.add_parser("stats", help="counts, sizes and person-fraction histogram per source and split")
    p.add_argument("dataset", type=Path, metavar="DIR")
    p.set_defaults(run=run_stats)


def run_stats(args: argparse.Namespace) -> int:
    from .stats import format_summary, summarize

    print(format_summary(summarize(read_records(args.dataset))))
    return 0


def register_preview(sub) -> None:
    p = sub.add_parser("preview", help="a grid of images with their masks overlaid")
    p.add_argument("dataset", type=Path, metavar="DIR")
    p.add_argument("-o", "--output", type=Path, required=True, help="grid image to write (PNG/JPEG)")
    p.add_argument("-n", "--count", type=int, default=24, help="how many items (default 24)")
    p.add_argument("--source", help="only items of this source")
    p.add_argument("--split", choices=("train", "val"), help="only items of this split")
    p.add_argument("--columns", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run_preview)


def run_preview(args: argparse.Namespace) -> int:
    import cv2

    from .stats import pick, preview_grid

    records = [r for r in read_records(args.dataset)
               if (args.source is None or r["source"] == args.source) and (args.split is None or r["split"] == args.split)]
    if not records:
        raise CliError("no items match")
    grid = preview_grid(args.dataset, pick(records, args.count, args.seed), columns=args.columns)
    if not cv2.imwrite(str(args.output), grid):
        raise CliError(f"cannot write {args.output}")
    print(f"wrote {args.output} ({grid.shape[1]}x{grid.shape[0]})")
    return 0


def read_records(dataset: Path) -> list[dict]:
    from .layout import read_manifest

    records = read_manifest(dataset)
    if not records:
        raise CliError(f"{dataset} has no manifest.jsonl with items; build one with `fastseg data build`")
    return records
