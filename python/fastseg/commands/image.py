"""`fastseg image IN... -o OUT`: the effect on one image (into a file) or many (into a folder)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

from ..cli import CliError
from .common import Look, MaskOptions, add_effect_arguments, add_model_arguments, existing_file, frame_error, open_segmenter

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
ALPHA_SUFFIXES = {".png", ".webp", ".tif", ".tiff"}


def register(sub) -> None:
    p = sub.add_parser(
        "image",
        help="blur, replace or remove the background of images",
        description="Apply a background effect to images. One input and -o FILE writes that file; "
        "several inputs (or folders of images) and -o DIR write DIR/<name>. "
        "--effect transparent writes PNG with an alpha channel.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="image files, or folders of images")
    p.add_argument("-o", "--output", type=Path, required=True, help="output file (one input) or folder")
    add_model_arguments(p)
    add_effect_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    inputs = expand_inputs(args.inputs)
    look = Look.from_args(args.effect, args.background, args.strength)
    pairs = output_paths(inputs, args.output, look.effect)
    options = MaskOptions(threshold=args.threshold, refine=args.refine)
    with open_segmenter(args.model, args.threads, options) as segmenter:
        for source, target in pairs:
            image = read_image(source)
            try:
                result = segmenter.process(image, look.effect, **look.options())
            except ValueError as err:  # the segmenter refused this image
                raise frame_error(source, err) from err
            write_image(target, result)
            # Each image is its own scene: nothing carries over to the next one.
            segmenter.reset()
            print(f"{source} -> {target}")
    return 0


def expand_inputs(paths: List[Path]) -> List[Path]:
    """Files as given, folders as the images they hold (sorted)."""
    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise CliError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {path}")
            files += found
        else:
            files.append(existing_file(path))
    return files


def output_paths(inputs: List[Path], output: Path, effect: str) -> List[Tuple[Path, Path]]:
    """(input, output) pairs: into a folder when there are several inputs or -o names a folder."""
    into_folder = len(inputs) > 1 or output.is_dir() or str(output).endswith(("/", "\\")) or not output.suffix
    if not into_folder:
        check_output_suffix(output, effect)
        pairs = [(inputs[0], output)]
    else:
        # Transparent needs an alpha channel, which the input's JPEG would not keep.
        pairs = [(p, output / (p.stem + (".png" if effect == "transparent" else p.suffix.lower()))) for p in inputs]
        targets = [t for _, t in pairs]
        if len(set(targets)) != len(targets):
            raise CliError(f"two inputs share a file name, so their outputs in {output} would collide")
    for source, target in pairs:
        if target.resolve() == source.resolve():
            raise CliError(f"output {target} is the input itself: inputs are never overwritten")
    return pairs


def check_output_suffix(output: Path, effect: str) -> None:
    if not cv2.haveImageWriter(str(output)):
        raise CliError(f"cannot write images of type {output.suffix or '(none)'!r}: use {', '.join(sorted(IMAGE_SUFFIXES))}")
    if effect == "transparent" and output.suffix.lower() not in ALPHA_SUFFIXES:
        raise CliError(f"--effect transparent needs a format with alpha (.png), not {output.suffix}")


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise CliError(f"cannot read {path}: not an image OpenCV can decode, or the file is corrupt")
    return image


def write_image(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = cv2.imwrite(str(path), image)
    except cv2.error:  # OpenCV's message spans lines and names its own source files
        written = False
    if not written:
        raise CliError(f"cannot write {path}")
