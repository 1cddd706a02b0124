"""Segmenter.process(frame, effect="blur") at 1280x720 with mediapipe_selfie_landscape, one
thread, against the best plain OpenCV/numpy + onnxruntime ``session.run`` pipeline.

Both pipelines do the same work: area downscale to 256x144, BGR->RGB, /255, inference, feather
at model resolution, bilinear mask upscale, background = downscale + blur + upscale, blend.
Run with: python -m pytest bench/test_bench_segmenter.py --benchmark-enable
"""

from __future__ import annotations

from pathlib import Path
from statistics import median
from time import perf_counter
from typing import Dict, List

import cv2
import numpy as np
import onnxruntime as ort
import pytest

import fastseg
from fastseg import _core

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODEL = SHARED / "models" / "mediapipe_selfie_landscape.onnx"
PHOTO = SHARED / "data" / "human_seg" / "Training_Images" / "72.jpg"  # a 1280x720 photo
HEIGHT, WIDTH = 720, 1280
FEATHER = 2  # box radius at model resolution, two passes (about a Gaussian of sigma 2)
STRENGTH = 0.5
STAGE_FRAMES = 300

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="../shared/models absent")


def hd_frame() -> np.ndarray:
    photo = cv2.imread(str(PHOTO)) if PHOTO.is_file() else None
    if photo is None:
        photo = np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(photo, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))


class Reference:
    """The best OpenCV/numpy pipeline we know, with every buffer preallocated."""

    def __init__(self) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(MODEL), sess_options=options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[0].name
        # The same downscale factor and blur as fastseg's composite_blur: two box passes of
        # radius r are a triangle of width 4r + 1, which is what stackBlur computes.
        factor = _core.blur_factor(HEIGHT, WIDTH)
        self.small_size = (WIDTH // factor, HEIGHT // factor)
        self.stack = 4 * _core.blur_radius(STRENGTH) + 1
        self.feather = 4 * FEATHER + 1
        self.inverse = np.empty((HEIGHT, WIDTH), np.float32)
        self.out = np.empty((HEIGHT, WIDTH, 3), np.uint8)

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(frame, (256, 144), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32)
        rgb *= np.float32(1 / 255)
        return rgb[None]

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        return self.session.run([self.output], {self.input: tensor})[0]

    def postprocess(self, prob: np.ndarray) -> np.ndarray:
        mask = cv2.GaussianBlur(prob[0, :, :, 0], (self.feather, self.feather), FEATHER)
        return cv2.resize(mask, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)

    def composite(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        small = cv2.resize(frame, self.small_size, interpolation=cv2.INTER_AREA)
        background = cv2.resize(cv2.stackBlur(small, (self.stack, self.stack)), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
        np.subtract(np.float32(1), mask, out=self.inverse)
        return cv2.blendLinear(frame, background, mask, self.inverse, dst=self.out)

    def process(self, frame: np.ndarray) -> np.ndarray:
        return self.composite(frame, self.postprocess(self.infer(self.preprocess(frame))))

    def timed(self, frame: np.ndarray) -> Dict[str, float]:
        t0 = perf_counter()
        tensor = self.preprocess(frame)
        t1 = perf_counter()
        prob = self.infer(tensor)
        t2 = perf_counter()
        mask = self.postprocess(prob)
        t3 = perf_counter()
        self.composite(frame, mask)
        t4 = perf_counter()
        return {"preprocess": t1 - t0, "inference": t2 - t1, "postprocess": t3 - t2, "composite": t4 - t3}


def segmenter(profile: bool = False) -> fastseg.Segmenter:
    return fastseg.Segmenter("mediapipe_selfie_landscape", path=MODEL, threads=1, feather=FEATHER, profile=profile)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return hd_frame()


def test_outputs_agree(frame):
    """Same work: the two composites differ only by resampling details."""
    with segmenter() as seg:
        ours = seg.process(frame, "blur", strength=STRENGTH)
    theirs = Reference().process(frame)
    assert np.abs(ours.astype(np.int16) - theirs).mean() < 3.0


def test_bench_fastseg_blur_720p(benchmark, frame):
    benchmark.group = "blur 1280x720 mediapipe_selfie_landscape"
    out = np.empty_like(frame)
    with segmenter() as seg:
        seg.process(frame, "blur", out=out, strength=STRENGTH)
        benchmark(seg.process, frame, "blur", out=out, strength=STRENGTH)


def test_bench_reference_blur_720p(benchmark, frame):
    benchmark.group = "blur 1280x720 mediapipe_selfie_landscape"
    reference = Reference()
    reference.process(frame)
    benchmark(reference.process, frame)


STAGES = ("preprocess", "inference", "postprocess", "composite")


def test_stage_breakdown(frame, summary):
    """Per-stage medians of both pipelines, frames interleaved so machine noise hits both."""
    reference = Reference()
    out = np.empty_like(frame)
    ours: List[Dict[str, float]] = []
    theirs: List[Dict[str, float]] = []
    with segmenter(profile=True) as seg:
        for i in range(STAGE_FRAMES + 20):
            seg.process(frame, "blur", out=out, strength=STRENGTH)
            times = reference.timed(frame)
            if i >= 20:  # warm-up
                ours.append(vars(seg.timings).copy())
                theirs.append(times)
    ours_med = {s: median(t[s] for t in ours) for s in STAGES}
    theirs_med = {s: median(t[s] for t in theirs) for s in STAGES}
    ours_total = median(sum(t.values()) for t in ours)
    theirs_total = median(sum(t.values()) for t in theirs)
    ours_outside = median(sum(t.values()) - t["inference"] for t in ours)
    summary(f"blur 1280x720, mediapipe_selfie_landscape, 1 thread, medians over {STAGE_FRAMES} interleaved frames (ms)")
    summary(f"{'stage':<14}{'fastseg':>10}{'reference':>12}{'ratio':>8}")
    for stage in STAGES:
        summary(f"{stage:<14}{ours_med[stage] * 1e3:>10.3f}{theirs_med[stage] * 1e3:>12.3f}{theirs_med[stage] / ours_med[stage]:>8.2f}")
    summary(f"{'end-to-end':<14}{ours_total * 1e3:>10.3f}{theirs_total * 1e3:>12.3f}{theirs_total / ours_total:>8.2f}")
    summary(f"fastseg outside inference: {ours_outside * 1e3:.3f} ms (target <= 1.5); end-to-end speed-up {theirs_total / ours_total:.2f}x (target >= 3)")
