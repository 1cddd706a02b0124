"""preprocess and resize_image against the scalar reference and OpenCV.

Tolerance for the float tensor: 1e-5 relative, plus 1e-5 of the 0..255 pixel range in
normalised units (values near zero after mean subtraction have no meaningful relative
error). OpenCV's float resize and the kernel differ only in summation order (measured
< 5e-5 in pixel units, 4e-7 relative).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import ODD_WIDTHS, assert_bit_exact, random_frame, scalar_reference
from fastseg import _core

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def cv2_resample(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Per-axis resampling as documented: area when an axis shrinks, bilinear when it grows."""
    def interp(src: int, dst: int) -> int:
        return cv2.INTER_AREA if dst < src else cv2.INTER_LINEAR

    x = image.astype(np.float32)
    x = cv2.resize(x, (width, x.shape[0]), interpolation=interp(x.shape[1], width)).reshape(x.shape[0], width, -1)
    x = cv2.resize(x, (width, height), interpolation=interp(x.shape[0], height)).reshape(height, width, -1)
    return x


def reference_tensor(frame, height, width, *, mean, std, swap_rb, layout, prev_mask=None, batch=False):
    rgb = cv2_resample(frame, height, width).astype(np.float64)
    if swap_rb:
        rgb = rgb[..., ::-1]
    hwc = (rgb - np.asarray(mean)) / np.asarray(std)
    if prev_mask is not None:
        hwc = np.dstack([hwc, prev_mask])
    tensor = hwc if layout == "nhwc" else hwc.transpose(2, 0, 1)
    return tensor[None] if batch else tensor


def empty_tensor(height, width, channels, layout, batch=False):
    shape = (channels, height, width) if layout == "nchw" else (height, width, channels)
    return np.full(((1,) if batch else ()) + shape, np.nan, dtype=np.float32)


def assert_tensor_close(actual, expected, std=STD):
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * 255 / min(std))


# (frame H, W) -> (tensor h, w): shrink both axes (integer and fractional ratios), grow both,
# mixed, identity, and 1x1 at either end. Whole factors take the exact block-sum path unless
# a block has more than 257 pixels (then the weighted path).
SIZES = [
    ((720, 1280), (144, 256)),
    ((30, 48), (10, 8)),
    ((40, 40), (2, 2)),
    ((721, 1283), (143, 255)),
    ((37, 41), (100, 130)),
    ((100, 41), (37, 130)),
    ((33, 65), (33, 65)),
    ((1, 1), (4, 5)),
    ((9, 13), (1, 1)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize(("frame_size", "tensor_size"), SIZES, ids=str)
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_preprocess_matches_opencv_chain(isa, rng, frame_size, tensor_size, layout):
    frame = random_frame(rng, *frame_size)
    out = empty_tensor(*tensor_size, 3, layout)
    result = _core.preprocess(frame, out, mean=MEAN, std=STD, swap_rb=True, layout=layout)
    assert result is out
    expected = reference_tensor(frame, *tensor_size, mean=MEAN, std=STD, swap_rb=True, layout=layout)
    assert_tensor_close(out, expected)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("batch", [False, True], ids=["CHW", "1CHW"])
@pytest.mark.parametrize("swap_rb", [False, True], ids=["bgr", "rgb"])
def test_preprocess_four_channels_carry_prev_mask(isa, rng, layout, batch, swap_rb):
    frame = random_frame(rng, 90, 161)
    prev_mask = rng.random((48, 64), dtype=np.float32)
    out = empty_tensor(48, 64, 4, layout, batch)
    _core.preprocess(frame, out, mean=MEAN, std=STD, swap_rb=swap_rb, layout=layout, prev_mask=prev_mask)
    expected = reference_tensor(
        frame, 48, 64, mean=MEAN, std=STD, swap_rb=swap_rb, layout=layout, prev_mask=prev_mask, batch=batch
    )
    assert_tensor_close(out, expected)
    mask_channel = out.reshape(-1, 48, 64)[3] if layout == "nchw" else out.reshape(48, 64, 4)[..., 3]
    assert_bit_exact(mask_channel, prev_mask)  # copied, not normalised


@pytest.mark.parametrize("batch", [False, True], ids=["CHW", "1CHW"])
def test_preprocess_default_mean_std_is_raw_pixels(isa, rng, batch):
    frame = random_frame(rng, 20, 30)
    out = empty_tensor(20, 30, 3, "nchw", batch)
    _core.preprocess(frame, out)
    expected = frame.transpose(2, 0, 1).astype(np.float32)
    assert_bit_exact(out.reshape(3, 20, 30), expected)


@pytest.mark.parametrize("width", ODD_WIDTHS)
@pytest.mark.parametrize("grow", [False, True], ids=["shrink", "grow"])
def test_preprocess_simd_matches_scalar_at_odd_widths(simd_isa, rng, width, grow):
    frame = random_frame(rng, 11, width)
    tensor_width = 2 * width + 1 if grow else max(1, width // 3)
    out = empty_tensor(5, tensor_width, 3, "nhwc")
    kwargs = dict(mean=MEAN, std=STD, swap_rb=True, layout="nhwc")
    actual = _core.preprocess(frame, out, **kwargs)
    expected = scalar_reference(_core.preprocess, frame, out, **kwargs)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    assert_tensor_close(actual, reference_tensor(frame, 5, tensor_width, **kwargs))


def test_preprocess_4k_frame(isa, rng):
    frame = random_frame(rng, 2160, 3840)
    out = empty_tensor(144, 256, 3, "nchw", batch=True)
    _core.preprocess(frame, out, mean=MEAN, std=STD, swap_rb=True)
    assert_tensor_close(out, reference_tensor(frame, 144, 256, mean=MEAN, std=STD, swap_rb=True, layout="nchw", batch=True))


# --- resize_image (uint8 backgrounds) -------------------------------------------------------

RESIZE_SIZES = [((480, 640), (720, 1280)), ((720, 1280), (333, 517)), ((1, 1), (3, 7)), ((5, 9), (1, 1))]


@pytest.mark.parametrize(("src_size", "dst_size"), RESIZE_SIZES + [((7, w), (13, 2 * w + 3)) for w in ODD_WIDTHS], ids=str)
def test_resize_image_matches_opencv_and_scalar(isa, rng, src_size, dst_size):
    src = random_frame(rng, *src_size)
    out = np.empty(dst_size + (3,), np.uint8)
    assert _core.resize_image(src, out) is out
    # The kernel rounds its float result half up; float summation order may move a value
    # across .5, so one level is the tolerance against OpenCV's float resize.
    expected = np.floor(cv2_resample(src, *dst_size) + 0.5).clip(0, 255)
    assert np.abs(out.astype(np.int16) - expected).max() <= 1
    assert_bit_exact(out, scalar_reference(_core.resize_image, src, np.empty_like(out)))


def test_resize_image_4k(isa, rng):
    src = random_frame(rng, 720, 1280)
    out = np.empty((2160, 3840, 3), np.uint8)
    _core.resize_image(src, out)
    assert np.abs(out.astype(np.int16) - np.floor(cv2_resample(src, 2160, 3840) + 0.5)).max() <= 1
