"""Kernel benchmarks (issue 2): each fastseg kernel chain against the best OpenCV/numpy chain
doing the same job, on the same inputs, in the same run, one thread.

Run: python -m pytest bench/test_bench_kernels.py --benchmark-enable
pytest-benchmark prints one table per group; the parenthesised factor next to each median
is that row's time relative to the fastest in its group, i.e. the speed-up ratio.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fastseg import _core

SIZES = {"720p": (720, 1280), "1080p": (1080, 1920)}
MODEL_H, MODEL_W = 144, 256
FEATHER = 2  # model-resolution feather radius; the OpenCV chain feathers at full size (sigma 3)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    yield
    cv2.setNumThreads(previous)


def inputs(size: str):
    h, w = SIZES[size]
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    frame = np.clip(np.dstack([xx * 255 // w, yy * 255 // h, (xx ^ yy) & 255]) + rng.integers(0, 20, (h, w, 3)), 0, 255)
    my, mx = np.mgrid[0:MODEL_H, 0:MODEL_W]
    mask = (((mx - MODEL_W / 2) / 70) ** 2 + ((my - MODEL_H) / 110) ** 2 < 1).astype(np.float32)
    background = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    return frame.astype(np.uint8), mask, background


# --- preprocessing: frame -> 144x256 float NCHW RGB tensor in [0, 1] ---------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("impl", ["fastseg", "opencv"])
def test_preprocess(benchmark, size, impl):
    frame, _, _ = inputs(size)
    benchmark.group = f"preprocess {size} -> {MODEL_W}x{MODEL_H} NCHW"
    tensor = np.empty((1, 3, MODEL_H, MODEL_W), np.float32)
    mean, std = np.zeros(3, np.float32), np.full(3, 255.0, np.float32)
    if impl == "fastseg":
        run = lambda: _core.preprocess(frame, tensor, mean=(0, 0, 0), std=(255, 255, 255), swap_rb=True)  # noqa: E731
    else:

        def run():
            small = cv2.resize(frame, (MODEL_W, MODEL_H), interpolation=cv2.INTER_AREA)
            rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32)
            return ((rgb - mean) / std).transpose(2, 0, 1)[None].copy()

    result = benchmark(run)
    reference = cv2.resize(frame.astype(np.float32), (MODEL_W, MODEL_H), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(result[0], reference[..., ::-1].transpose(2, 0, 1) / 255, atol=2.5 / 255)


# --- blur composite: mask upsample + feather + background blur + blend ------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("impl", ["fastseg", "opencv"])
def test_blur_composite(benchmark, size, impl):
    frame, mask, _ = inputs(size)
    h, w = frame.shape[:2]
    benchmark.group = f"blur composite {size}"
    out, alpha, feathered = np.empty_like(frame), np.empty((h, w), np.uint8), np.empty_like(mask)
    if impl == "fastseg":

        def run():
            _core.feather(mask, FEATHER, out=feathered)
            _core.upsample_mask(feathered, alpha)
            return _core.composite_blur(frame, alpha, out=out, strength=0.5)

    else:
        f = _core.blur_factor(h, w)

        def run():
            a = cv2.GaussianBlur(cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR), (0, 0), 3)
            small = cv2.resize(frame, (w // f, h // f), interpolation=cv2.INTER_AREA)
            bg = cv2.resize(cv2.stackBlur(small, (9, 9)), (w, h), interpolation=cv2.INTER_LINEAR)
            return cv2.blendLinear(frame, bg, a, 1 - a)

    result = benchmark(run)
    inside = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST) > 0.5
    margin = 2 * int(np.ceil(2 * FEATHER * 1.5 * h / MODEL_H)) + 1  # beyond the feathered edge
    inside = cv2.erode(inside.astype(np.uint8), np.ones((margin, margin), np.uint8)) > 0
    assert np.abs(result[inside].astype(int) - frame[inside]).max() <= 1  # the person is untouched


# --- logit upsample: model logits -> frame-size alpha, contour at the zero crossing ----------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("impl", ["fastseg", "opencv"])
def test_logit_upsample(benchmark, size, impl):
    _, mask, _ = inputs(size)
    h, w = SIZES[size]
    benchmark.group = f"logit upsample {size}"
    logits = ((mask - 0.5) * 40).astype(np.float32)  # a sharp person, as fastseg's models give (x4)
    alpha = np.empty((h, w), np.uint8)
    if impl == "fastseg":

        def run():
            return _core.upsample_logits(logits, alpha)

    else:
        up, e = np.empty((h, w), np.float32), np.empty((h, w), np.float32)

        def run():
            cv2.resize(logits, (w, h), dst=up, interpolation=cv2.INTER_LINEAR)
            cv2.exp(-up, dst=e)
            return cv2.divide(255.0, 1.0 + e, dtype=cv2.CV_8U)

    result = benchmark(run)
    reference = cv2.resize(logits, (w, h), interpolation=cv2.INTER_LINEAR)
    decided = np.abs(reference) > 0.5
    assert np.array_equal(result[decided] >= 128, reference[decided] > 0)


# --- replace composite: mask upsample + blend over a cached, pre-resized background -----------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("impl", ["fastseg", "opencv"])
def test_replace_composite(benchmark, size, impl):
    frame, mask, background = inputs(size)
    h, w = frame.shape[:2]
    benchmark.group = f"replace composite {size}"
    out, alpha = np.empty_like(frame), np.empty((h, w), np.uint8)
    bg = _core.resize_image(background, np.empty_like(frame))  # both sides resize the background once
    if impl == "fastseg":

        def run():
            _core.upsample_mask(mask, alpha)
            return _core.composite_image(frame, alpha, bg, out=out)

    else:

        def run():
            a = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
            return cv2.blendLinear(frame, bg, a, 1 - a)

    result = benchmark(run)
    a = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    expected = frame * a + bg * (1 - a)
    assert np.abs(result - expected).max() <= 3
