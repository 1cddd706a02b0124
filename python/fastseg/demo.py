"""`fastseg demo`: the compositing kernels on a synthetic frame, timed against OpenCV."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from . import _core


def synthetic_frame(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured BGR frame and a 144x256-style soft 'person' mask (head and shoulders)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frame = np.stack([xx / width * 255, yy / height * 255, 128 + 60 * np.sin(xx / 23) * np.cos(yy / 31)], -1)
    frame = np.clip(frame + rng.normal(0, 12, frame.shape), 0, 255).astype(np.uint8)
    mh, mw = 144, 256
    my, mx = np.mgrid[0:mh, 0:mw].astype(np.float32)
    head = ((mx - mw / 2) / 30) ** 2 + ((my - mh * 0.35) / 38) ** 2 < 1
    body = ((mx - mw / 2) / 80) ** 2 + ((my - mh * 1.05) / 55) ** 2 < 1
    mask = (head | body).astype(np.float32)
    return frame, mask


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def run(args) -> int:
    width, height = (int(v) for v in args.size.lower().split("x"))
    frame, mask = synthetic_frame(height, width)
    alpha = np.empty((height, width), np.uint8)
    out = np.empty_like(frame)
    feathered = np.empty_like(mask)

    def fastseg_blur():
        _core.feather(mask, 2, out=feathered)
        _core.upsample_mask(feathered, alpha)
        _core.composite_blur(frame, alpha, out=out, strength=args.strength)

    def opencv_blur():
        a = cv2.GaussianBlur(cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR), (0, 0), 3)
        small = cv2.resize(frame, (width // 8, height // 8), interpolation=cv2.INTER_AREA)
        bg = cv2.resize(cv2.stackBlur(small, (9, 9)), (width, height), interpolation=cv2.INTER_LINEAR)
        return cv2.blendLinear(frame, bg, a, 1 - a)

    cv2.setNumThreads(1)
    ours, theirs = median_ms(fastseg_blur, args.repeat), median_ms(opencv_blur, args.repeat)
    print(f"fastseg {_core.current_isa()} (available: {', '.join(_core.available_isas())})")
    print(f"blur composite at {width}x{height}: fastseg {ours:.3f} ms, OpenCV {theirs:.3f} ms, {theirs / ours:.1f}x")
    if args.output:
        cv2.imwrite(str(Path(args.output)), out)
        print(f"wrote {args.output}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("demo", help="blur-composite a synthetic frame and time it against OpenCV")
    p.add_argument("-o", "--output", help="write the composited frame here (PNG/JPEG)")
    p.add_argument("--size", default="1280x720", help="frame size WxH (default 1280x720)")
    p.add_argument("--strength", type=float, default=0.5, help="blur strength in [0, 1]")
    p.add_argument("--repeat", type=int, default=50, help="timed repetitions")
    p.set_defaults(run=run)
