"""What the image, video, webcam and bench subcommands share: the model and effect flags,
opening the segmenter, reading videos, and backgrounds (an image, a looped video or a colour).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .. import models
from ..cli import CliError

# FFmpeg (inside OpenCV) prints its decoding complaints straight to stderr; we report a bad
# file as one line instead. Read when OpenCV first opens a video, so set before any does.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

# `harmonize` stays a Python-API effect: it needs a background and reads as `replace` here.
EFFECTS = ("blur", "replace", "color", "transparent", "mask")
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"}
# RGB, as people write colours; frames are BGR.
COLOR_NAMES = {
    "green": (0, 177, 64),
    "blue": (0, 71, 187),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
    "red": (200, 30, 30),
}
DEFAULT_COLOR = "green"


# --- flags ------------------------------------------------------------------------------------


def add_model_arguments(p: argparse.ArgumentParser, *, repeat: bool = False, threads_default: str = "all cores") -> None:
    default = models.DEFAULT_MODEL or "none yet"
    p.add_argument(
        "--model",
        action="append" if repeat else "store",
        help=f"a fastseg model name or an .onnx file (a file named after a registry entry, e.g. "
        f"mediapipe_selfie_landscape.onnx, or carrying fastseg.spec metadata); default: {default}",
    )
    p.add_argument("--threads", type=positive_int, help=f"ONNX Runtime threads (default: {threads_default})")


def add_effect_arguments(p: argparse.ArgumentParser, effects=EFFECTS, *, many_backgrounds: bool = False) -> None:
    p.add_argument("--effect", choices=effects, help="what to do with the background (default: blur, "
                   "or replace/color when --background is given)")
    p.add_argument(
        "--background",
        action="append" if many_backgrounds else "store",
        metavar="IMAGE|VIDEO|COLOR",
        help="replacement background: an image, a video (looped) or a colour "
        f"(#RRGGBB, R,G,B or {'/'.join(COLOR_NAMES)})" + ("; repeat to cycle with the b key" if many_backgrounds else ""),
    )
    p.add_argument("--strength", type=unit_float, default=0.5, help="blur strength in [0, 1] (default 0.5)")
    p.add_argument("--threshold", type=unit_float, help="sharpen the mask edge around this probability (default: soft mask)")
    p.add_argument("--refine", action="store_true", help="edge-aware mask upsampling guided by the frame")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0.0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


# --- the segmenter ----------------------------------------------------------------------------


@dataclass
class MaskOptions:
    """The Segmenter options the command line (and the webcam keys) change."""

    threshold: Optional[float] = None
    temporal: float = 0.0
    refine: bool = False

    def segmenter_kwargs(self) -> Dict[str, Any]:
        return {"threshold": smooth_band(self.threshold), "temporal": self.temporal, "refine": self.refine}


def smooth_band(threshold: Optional[float], half_width: float = 0.1) -> Optional[Tuple[float, float]]:
    """A smooth-step band around the threshold: a hard cut would make stair-stepped edges
    once the model-resolution mask is upsampled."""
    if threshold is None:
        return None
    lo, hi = max(0.0, threshold - half_width), min(1.0, threshold + half_width)
    return (lo, hi) if lo < hi else None


def model_arguments(model: Optional[str]) -> Tuple[Optional[str], Optional[Path]]:
    """--model as (registry name, path) for fastseg.Segmenter."""
    if model is None:
        if models.DEFAULT_MODEL not in models.packaged():
            raise CliError(
                "fastseg has no built-in model yet: pass --model FILE.onnx, e.g. --model "
                "../shared/models/mediapipe_selfie_landscape.onnx (known models: "
                + ", ".join(models.list()) + ")"
            )
        return None, None
    path = Path(model)
    if path.suffix.lower() == ".onnx" or path.exists():
        if not path.is_file():
            raise CliError(f"model file not found: {path}")
        # A third-party file named after its registry entry needs no more; any other file
        # must carry its spec in its metadata.
        return (path.stem if path.stem in models.REGISTRY else None), path
    if model in models.REGISTRY and model not in models.packaged():
        raise CliError(f"{model!r} is a third-party model that fastseg does not ship: pass its file, --model path/to/{model}.onnx")
    return model, None


def open_segmenter(model: Optional[str], threads: Optional[int], options: MaskOptions, *, method: str = "model",
                   profile: bool = False):
    """A fastseg.Segmenter (or BackgroundSubtractor for method "bgsub"); user errors as CliError."""
    if method == "bgsub":
        return open_background_subtractor()
    import fastseg

    name, path = model_arguments(model)
    try:
        return fastseg.Segmenter(name, path=path, threads=threads, profile=profile, **options.segmenter_kwargs())
    except (ValueError, FileNotFoundError) as err:
        raise CliError(str(err)) from err


def open_background_subtractor():
    import fastseg

    subtractor = getattr(fastseg, "BackgroundSubtractor", None)
    if subtractor is None:
        raise CliError("--method bgsub needs fastseg.BackgroundSubtractor, which this fastseg build does not have yet")
    return subtractor()


def frame_error(source, err: ValueError) -> CliError:
    """A frame (or background) the segmenter refused, as a one-line user error naming the input."""
    return CliError(f"{source}: {err}")


# --- inputs and outputs -----------------------------------------------------------------------


def existing_file(path: Path, what: str = "input") -> Path:
    if not path.exists():
        raise CliError(f"{what} not found: {path}")
    if not path.is_file():
        raise CliError(f"{what} is not a file: {path}")
    return path


def is_video_path(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV's own log silenced for the block (we report its failures as one line)."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def open_video(path: Path, decode_threads: int = 0) -> cv2.VideoCapture:
    """A capture of the file; `decode_threads` 0 lets the decoder pick (FFmpeg: one per core)."""
    existing_file(path)
    with quiet_opencv():
        capture = cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, decode_threads])
    if not capture.isOpened():
        raise CliError(f"cannot read {path}: not a video OpenCV can decode, or the file is corrupt")
    return capture


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int  # as the container states it; 0 when unknown

    @classmethod
    def of(cls, capture: cv2.VideoCapture) -> "VideoInfo":
        fps = capture.get(cv2.CAP_PROP_FPS)
        return cls(
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=fps if 0 < fps < 1000 else 30.0,
            frames=max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))),
        )


def read_frames(capture: cv2.VideoCapture, *, loop: bool = False) -> Iterator[np.ndarray]:
    """Every frame of the capture; with loop=True, from the start again at the end."""
    while True:
        ok, frame = capture.read()
        if ok:
            yield frame
            continue
        if not loop or not capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
            return
        ok, frame = capture.read()
        if not ok:  # rewinding gave nothing: the file has no readable frame
            return
        yield frame


# --- backgrounds ------------------------------------------------------------------------------


@dataclass
class Background:
    """A replacement background: an image (the same array every frame, so the resize to the
    frame size is cached), a video (the next frame, looped) or a colour (BGR)."""

    label: str
    image: Optional[np.ndarray] = None
    video: Optional[Iterator[np.ndarray]] = None
    color: Optional[Tuple[int, int, int]] = None

    @property
    def effect(self) -> str:
        return "color" if self.color is not None else "replace"

    def options(self) -> Dict[str, Any]:
        if self.color is not None:
            return {"color": self.color}
        return {"background": self.image if self.video is None else next(self.video)}


def parse_color(text: str) -> Optional[Tuple[int, int, int]]:
    """(B, G, R) from '#RRGGBB', 'R,G,B' or a colour name; None when it is none of these."""
    text = text.strip().lower()
    if text in COLOR_NAMES:
        r, g, b = COLOR_NAMES[text]
    elif text.startswith("#") and len(text) == 7:
        try:
            r, g, b = (int(text[i : i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            return None
    elif text.count(",") == 2:
        try:
            r, g, b = (int(v) for v in text.split(","))
        except ValueError:
            return None
        if not all(0 <= v <= 255 for v in (r, g, b)):
            return None
    else:
        return None
    return (b, g, r)


def open_background(text: str) -> Background:
    color = parse_color(text)
    path = Path(text)
    if color is not None and not path.is_file():
        return Background(text, color=color)
    if not path.exists():
        raise CliError(f"--background {text}: no such file, and not a colour (#RRGGBB, R,G,B or {', '.join(COLOR_NAMES)})")
    if not is_video_path(path):
        image = cv2.imread(str(existing_file(path, "--background")), cv2.IMREAD_COLOR)
        if image is not None:
            return Background(path.name, image=image)
    capture = open_video(path)
    frames = read_frames(capture, loop=True)
    first = next(frames, None)
    if first is None:
        raise CliError(f"--background {path}: no readable frame (not an image, or an empty or corrupt video)")
    return Background(path.name, video=_prepend(first, frames))


def _prepend(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


@dataclass
class Look:
    """An effect and what it needs: the one place that turns flags into Segmenter.process options."""

    effect: str = "blur"
    strength: float = 0.5
    background: Optional[Background] = None
    backgrounds: List[Background] = field(default_factory=list)

    @classmethod
    def from_args(cls, effect: Optional[str], background_args, strength: float,
                  built_in: Sequence[Background] = ()) -> "Look":
        """From --effect, --background (one or a list) and --strength; `built_in` backgrounds
        follow the user's (and serve --effect replace without --background)."""
        texts = background_args if isinstance(background_args, list) else [background_args] if background_args else []
        given = [open_background(t) for t in texts]
        backgrounds = given + list(built_in)
        if effect is None:
            effect = given[0].effect if given else "blur"
        if effect == "replace" and not any(b.effect == "replace" for b in backgrounds):
            raise CliError("--effect replace needs --background IMAGE or VIDEO")
        look = cls(effect=effect, strength=strength, backgrounds=backgrounds)
        look.background = look.fitting_background(effect)
        return look

    def fitting_background(self, effect: str) -> Optional[Background]:
        """The first background that serves this effect (an image/video for replace, a colour for color)."""
        wanted = "color" if effect == "color" else "replace"
        found = next((b for b in self.backgrounds if b.effect == wanted), None)
        if found is None and effect == "color":
            found = Background(DEFAULT_COLOR, color=parse_color(DEFAULT_COLOR))
        return found

    def options(self) -> Dict[str, Any]:
        """Segmenter.process / Compositor.apply keyword options for the next frame."""
        if self.effect == "blur":
            return {"strength": self.strength}
        if self.effect in ("replace", "color"):
            return self.background.options()
        return {}
