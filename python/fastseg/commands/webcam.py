"""`fastseg webcam`: the live demo. Frames from a camera (or a video file, looped) through the
segmenter into a window with a frames-per-second overlay, a virtual camera, a recording, or
nowhere (--no-window --frames N measures the frame rate)."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional, Tuple

import cv2
import numpy as np

from ..cli import CliError
from .common import (
    Background,
    Look,
    MaskOptions,
    add_effect_arguments,
    add_model_arguments,
    frame_error,
    existing_file,
    open_segmenter,
    open_video,
    parse_color,
    quiet_opencv,
    positive_int,
    read_frames,
    unit_float,
)
from .pipeline import FrameCompositor
from .video import FOURCC, check_target, open_writer

WEBCAM_EFFECTS = ("blur", "replace", "color", "mask")
KEYS: List[Tuple[str, str]] = [
    ("h", "show or hide this list"),
    ("e", "next effect (blur, replace, color, mask)"),
    ("b", "next background"),
    ("+", "raise the threshold (sharper edge, less person)"),
    ("-", "lower the threshold"),
    ("t", "temporal smoothing on/off"),
    ("r", "edge refinement on/off"),
    ("s", "save a snapshot (PNG)"),
    ("q", "quit (also Esc or closing the window)"),
]
THRESHOLD_STEP = 0.05
DEFAULT_TEMPORAL = 0.5


def register(sub) -> None:
    p = sub.add_parser(
        "webcam",
        help="live demo: camera (or a looped clip) in a window, a virtual camera, or headless",
        description="The live demo: frames from a camera or a video file (looped) with the background\n"
        "effect, in a window with a frames-per-second overlay. --virtual-camera feeds video-call\n"
        "apps; --no-window --frames N measures the frame rate.",
        epilog=help_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--source", default="0", help="a camera index (default 0) or a video file, looped")
    p.add_argument("-o", "--output", type=Path, help=f"also record the result to this clip ({', '.join(FOURCC)})")
    add_model_arguments(p)
    add_effect_arguments(p, WEBCAM_EFFECTS, many_backgrounds=True)
    p.add_argument("--temporal", type=unit_float, default=DEFAULT_TEMPORAL,
                   help=f"temporal smoothing of the mask in [0, 1) (default {DEFAULT_TEMPORAL}; key t)")
    p.add_argument("--method", choices=("model", "bgsub"), default="model",
                   help="model: the segmentation model; bgsub: background subtraction (static camera)")
    p.add_argument("--no-window", action="store_true", help="run without a window")
    p.add_argument("--frames", type=positive_int, help="stop after this many frames and print the frame rate")
    p.add_argument("--virtual-camera", action="store_true", help="send the result to a virtual webcam (pyvirtualcam)")
    p.add_argument("--snapshots", type=Path, default=Path("."), help="folder for snapshots (key s; default: here)")
    p.set_defaults(run=run)


# --- the keys ---------------------------------------------------------------------------------


def studio_backdrop(height: int = 360, width: int = 640) -> np.ndarray:
    """A soft blue-grey gradient: a replace background that needs no file."""
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, bottom = np.array([170, 140, 110], np.float32), np.array([90, 60, 40], np.float32)  # BGR
    return np.broadcast_to(top + (bottom - top) * rows, (height, width, 3)).astype(np.uint8)


@dataclass
class Controls:
    """What the keys change. `rebuild` says the segmenter must be reconfigured with `mask`."""

    look: Look
    mask: MaskOptions
    temporal_on: float
    adjustable: bool = True  # False for bgsub: it has no threshold, smoothing or refinement
    show_help: bool = False
    quit: bool = False
    snapshot: bool = False
    rebuild: bool = False
    message: str = ""

    def press(self, key: str) -> None:
        handlers = {
            "h": self.toggle_help, "e": self.next_effect, "b": self.next_background,
            "+": self.raise_threshold, "=": self.raise_threshold, "-": self.lower_threshold,
            "t": self.toggle_temporal, "r": self.toggle_refine, "s": self.take_snapshot,
            "q": self.stop, "\x1b": self.stop, "Escape": self.stop,
        }
        handler = handlers.get(key.lower() if len(key) == 1 else key)
        if handler is not None:
            handler()

    def toggle_help(self) -> None:
        self.show_help = not self.show_help
        if self.show_help:
            print(help_text(), flush=True)

    def next_effect(self) -> None:
        effects = [e for e in WEBCAM_EFFECTS if e != "replace" or self.look.fitting_background("replace")]
        self.look.effect = effects[(effects.index(self.look.effect) + 1) % len(effects)]
        if self.look.effect in ("replace", "color"):
            self.look.background = self.look.fitting_background(self.look.effect)
        self.message = self.look.effect

    def next_background(self) -> None:
        backgrounds = self.look.backgrounds
        current = backgrounds.index(self.look.background) if self.look.background in backgrounds else -1
        self.look.background = backgrounds[(current + 1) % len(backgrounds)]
        self.look.effect = self.look.background.effect
        self.message = f"background {self.look.background.label}"

    def raise_threshold(self) -> None:
        self.set_threshold(+THRESHOLD_STEP)

    def lower_threshold(self) -> None:
        self.set_threshold(-THRESHOLD_STEP)

    def set_threshold(self, step: float) -> None:
        start = 0.5 if self.mask.threshold is None else self.mask.threshold + step
        self.change_mask(threshold=round(min(0.95, max(0.05, start)), 2))

    def toggle_temporal(self) -> None:
        self.change_mask(temporal=0.0 if self.mask.temporal else self.temporal_on)

    def toggle_refine(self) -> None:
        self.change_mask(refine=not self.mask.refine)

    def change_mask(self, **change) -> None:
        if not self.adjustable:
            self.message = "not with --method bgsub"
            return
        self.mask = replace(self.mask, **change)
        self.rebuild = True
        self.message = describe_mask(self.mask)

    def take_snapshot(self) -> None:
        self.snapshot = True

    def stop(self) -> None:
        self.quit = True


def help_text() -> str:
    return "keys:\n" + "\n".join(f"  {key}  {what}" for key, what in KEYS)


def describe_mask(mask: MaskOptions) -> str:
    threshold = "soft" if mask.threshold is None else f"{mask.threshold:.2f}"
    return f"threshold {threshold}, temporal {'on' if mask.temporal else 'off'}, refine {'on' if mask.refine else 'off'}"


def built_in_backgrounds() -> List[Background]:
    """A backdrop and two colours to cycle through after the user's backgrounds."""
    return [Background("studio", image=studio_backdrop())] + [
        Background(name, color=parse_color(name)) for name in ("green", "blue")
    ]


# --- the overlay ------------------------------------------------------------------------------


class FpsMeter:
    """Frames per second over the last second or so (an exponential average of frame times)."""

    def __init__(self) -> None:
        self._last: Optional[float] = None
        self._period = 0.0

    def tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            elapsed = now - self._last
            self._period = elapsed if self._period == 0.0 else 0.9 * self._period + 0.1 * elapsed
        self._last = now

    @property
    def fps(self) -> float:
        return 1.0 / self._period if self._period > 0 else 0.0


def draw_overlay(frame: np.ndarray, fps: float, controls: Controls) -> np.ndarray:
    lines = [f"{fps:5.1f} fps  {controls.look.effect}  {controls.message or 'h: keys'}"]
    if controls.show_help:
        lines += [f"{key}  {what}" for key, what in KEYS]
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, frame.shape[0] / 900)
    sizes = [cv2.getTextSize(line, font, scale, 1)[0] for line in lines]
    step = max(h for _, h in sizes) + 8
    # Darken the panel under the text so it reads on any background (an outline drawn thicker
    # does not line up: OpenCV spaces glyphs by thickness).
    panel = frame[: min(frame.shape[0], step * len(lines) + 8), : min(frame.shape[1], max(w for w, _ in sizes) + 20)]
    np.right_shift(panel, 2, out=panel)
    for i, line in enumerate(lines):
        cv2.putText(frame, line, (10, step * (i + 1)), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return frame


# --- sources and sinks ------------------------------------------------------------------------


def open_source(text: str) -> Tuple[cv2.VideoCapture, bool]:
    """(capture, is_file): a camera by index, or a video file (looped)."""
    if text.isdigit():
        with quiet_opencv():  # its warnings would add lines to our one-line error
            capture = cv2.VideoCapture(int(text))
        if not capture.isOpened():
            raise CliError(f"cannot open camera {text}: no such camera, or it is busy; --source also takes a video file")
        return capture, False
    return open_video(existing_file(Path(text), "--source")), True


class VirtualCamera:
    """pyvirtualcam, opened on the first frame (its size fixes the camera's)."""

    def __init__(self, fps: float) -> None:
        try:
            import pyvirtualcam
        except ImportError as err:
            raise CliError("--virtual-camera needs pyvirtualcam: pip install 'fastseg[webcam]'") from err
        self._module = pyvirtualcam
        self._fps = fps
        self._camera = None

    def send(self, frame: np.ndarray) -> None:
        if self._camera is None:
            try:
                self._camera = self._module.Camera(frame.shape[1], frame.shape[0], self._fps, fmt=self._module.PixelFormat.BGR)
            except RuntimeError as err:  # no virtual camera device (Linux: v4l2loopback)
                raise CliError(f"cannot open a virtual camera: {err}") from err
            print(f"virtual camera: {self._camera.device}", flush=True)
        self._camera.send(frame)

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()


class Snapshots:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._count = 0

    def save(self, frame: np.ndarray) -> Path:
        self._folder.mkdir(parents=True, exist_ok=True)
        self._count += 1
        path = self._folder / f"fastseg-{time.strftime('%Y%m%d-%H%M%S')}-{self._count}.png"
        if not cv2.imwrite(str(path), frame):
            raise CliError(f"cannot write snapshot {path}")
        print(f"snapshot: {path}", flush=True)
        return path


# --- the loop ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.temporal >= 1.0:
        raise CliError("--temporal must be below 1")
    if args.output is not None:
        check_target(Path(args.source), args.output)
    capture, looped = open_source(args.source)
    look = Look.from_args(args.effect, args.background, args.strength, built_in=built_in_backgrounds())
    mask = MaskOptions(threshold=args.threshold, temporal=args.temporal, refine=args.refine)
    controls = Controls(look, mask, temporal_on=args.temporal or DEFAULT_TEMPORAL, adjustable=args.method == "model")
    segmenter = open_segmenter(args.model, args.threads, mask, method=args.method)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    sinks = Sinks(args, fps)
    try:
        frames, seconds = live_loop(read_frames(capture, loop=looped), segmenter, controls, sinks, args)
    finally:
        sinks.close()
        capture.release()
    rate = frames / seconds if seconds > 0 else 0.0
    print(f"{frames} frames: {rate:.1f} frames/s ({args.method}, {'window' if sinks.window else 'no window'})")
    return 0


class Sinks:
    """Where the result goes: the window, a virtual camera, a recording, snapshots."""

    def __init__(self, args: argparse.Namespace, fps: float) -> None:
        from .window import Window

        self.window = None if args.no_window else Window("fastseg webcam (h: keys)")
        self.camera = VirtualCamera(fps) if args.virtual_camera else None
        self.snapshots = Snapshots(args.snapshots)
        self._record_to, self._fps = args.output, fps
        self._recorder: Optional[cv2.VideoWriter] = None

    def send(self, result: np.ndarray, controls: Controls) -> None:
        """The clean result to the camera, recording and snapshot (no overlay on those)."""
        if self.camera is not None:
            self.camera.send(result)
        if self._record_to is not None:
            if self._recorder is None:
                self._recorder = open_writer(self._record_to, FOURCC[self._record_to.suffix.lower()], self._fps, result.shape)
            self._recorder.write(result)
        if controls.snapshot:
            controls.snapshot = False
            self.snapshots.save(result)

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.release()
        if self.camera is not None:
            self.camera.close()
        if self.window is not None:
            self.window.close()


def live_loop(frames, segmenter, controls: Controls, sinks: Sinks, args: argparse.Namespace) -> Tuple[int, float]:
    """Run until --frames, q, the window closing or Ctrl-C; (frames done, seconds)."""
    composite, meter = FrameCompositor(), FpsMeter()
    count, start = 0, time.perf_counter()
    try:
        for frame in frames:
            try:
                alpha = segmenter.process(frame, "mask")
            except ValueError as err:  # e.g. bgsub: a frame of another size than it learnt
                raise frame_error(args.source, err) from err
            result = composite(frame, alpha, controls.look.effect, controls.look.options())
            meter.tick()
            sinks.send(result, controls)
            if sinks.window is not None:
                sinks.window.show(draw_overlay(result, meter.fps, controls))
                for key in sinks.window.keys():
                    controls.press(key)
            count += 1
            if controls.quit or (sinks.window is not None and sinks.window.closed) or count == args.frames:
                break
            if controls.rebuild:
                controls.rebuild = False
                segmenter.configure(**controls.mask.segmenter_kwargs())
    except KeyboardInterrupt:
        pass
    return count, time.perf_counter() - start
