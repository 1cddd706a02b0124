"""The background subtractor's stages on their own: every instruction set against the scalar
reference (bit-exact), and against OpenCV where it computes the same thing.

- to_gray: cv2.cvtColor(COLOR_BGR2GRAY), bit-exact.
- gaussian_blur: cv2.GaussianBlur, bit-exact for ksize <= 7 with sigma 0 (OpenCV's fixed small
  kernels are exact in 8-bit taps, which fastseg uses too); larger kernels round their taps
  differently: within 2 levels, 0.3 on average (checked on images larger than the kernel).
- morphology: cv2.morphologyEx with a rectangle, bit-exact, borders included.
- keep_components: cv2.connectedComponentsWithStats, the same pixels kept.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import ODD_WIDTHS, assert_bit_exact, random_frame, scalar_reference
from fastseg import _core

HEIGHTS = [1, 2, 9, 33]
BLUR_SIZES = [1, 3, 5, 7, 9, 15, 31]
MORPH_SIZES = [1, 3, 5, 15, 31, 61]
LARGE_BLUR_LEVELS = 2
LARGE_BLUR_MEAN = 0.3


def random_mask(rng: np.random.Generator, height: int, width: int, density: float = 0.4) -> np.ndarray:
    return np.where(rng.random((height, width)) < density, np.uint8(255), np.uint8(0))


def blobs(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Random noise smoothed and thresholded: components of many sizes, holes, diagonal contacts."""
    noise = cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), 2.0)
    return np.where(noise > np.median(noise), np.uint8(255), np.uint8(0))


# --- every ISA against the scalar reference -------------------------------------------------------


@pytest.mark.parametrize("width", ODD_WIDTHS)
def test_to_gray_matches_scalar(simd_isa, rng, width):
    frame = random_frame(rng, 5, width)
    assert_bit_exact(_core.to_gray(frame), scalar_reference(_core.to_gray, frame))


@pytest.mark.parametrize("ksize", BLUR_SIZES)
@pytest.mark.parametrize("width", ODD_WIDTHS)
def test_gaussian_blur_matches_scalar(simd_isa, rng, width, ksize):
    image = rng.integers(0, 256, (9, width), dtype=np.uint8)
    assert_bit_exact(_core.gaussian_blur(image, ksize), scalar_reference(_core.gaussian_blur, image, ksize))


def test_gaussian_blur_extremes_match_scalar(simd_isa):
    """All-255 and 0/255 checkerboards reach the largest 16- and 32-bit intermediate sums."""
    for image in (np.full((20, 100), 255, np.uint8), (np.indices((20, 100)).sum(0) % 2 * 255).astype(np.uint8)):
        for ksize in (3, 7, 31):
            assert_bit_exact(_core.gaussian_blur(image, ksize), scalar_reference(_core.gaussian_blur, image, ksize))
    assert (_core.gaussian_blur(np.full((20, 100), 255, np.uint8), 31) == 255).all()


# --- against OpenCV (on every ISA: packing and unpacking go through the row kernels) ---------------


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize("width", ODD_WIDTHS)
def test_to_gray_matches_opencv(isa, rng, height, width):
    frame = random_frame(rng, height, width)
    assert_bit_exact(_core.to_gray(frame), cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))


@pytest.mark.parametrize("ksize", [1, 3, 5, 7])
@pytest.mark.parametrize("height", HEIGHTS)
def test_small_gaussian_blur_matches_opencv_exactly(isa, rng, height, ksize):
    for width in (1, 4, 65, 130):
        image = rng.integers(0, 256, (height, width), dtype=np.uint8)
        assert_bit_exact(_core.gaussian_blur(image, ksize), cv2.GaussianBlur(image, (ksize, ksize), 0))


@pytest.mark.parametrize("ksize", [9, 15, 31])
def test_large_gaussian_blur_is_close_to_opencv(isa, rng, ksize):
    image = rng.integers(0, 256, (64, 130), dtype=np.uint8)
    error = np.abs(_core.gaussian_blur(image, ksize).astype(np.int16) - cv2.GaussianBlur(image, (ksize, ksize), 0))
    assert error.max() <= LARGE_BLUR_LEVELS and error.mean() < LARGE_BLUR_MEAN


def test_gaussian_blur_with_sigma_is_close_to_opencv(rng):
    image = rng.integers(0, 256, (40, 70), dtype=np.uint8)
    ours = _core.gaussian_blur(image, 9, sigma=3.0)
    theirs = cv2.GaussianBlur(image, (9, 9), 3.0)
    error = np.abs(ours.astype(np.int16) - theirs)
    assert error.max() <= LARGE_BLUR_LEVELS and error.mean() < LARGE_BLUR_MEAN
    assert not np.array_equal(ours, _core.gaussian_blur(image, 9))  # sigma is used


MORPH_OPS = {"dilate": cv2.MORPH_DILATE, "erode": cv2.MORPH_ERODE, "close": cv2.MORPH_CLOSE, "open": cv2.MORPH_OPEN}


@pytest.mark.parametrize("op", MORPH_OPS)
@pytest.mark.parametrize("ksize", MORPH_SIZES)
def test_morphology_matches_opencv(isa, rng, op, ksize):
    for height, width in [(1, 1), (3, 70), (40, 64), (41, 129), (70, 200)]:
        for mask in (random_mask(rng, height, width), random_mask(rng, height, width, 0.9), blobs(rng, height, width)):
            kernel = np.ones((ksize, ksize), np.uint8)
            assert_bit_exact(_core.morphology(mask, op, ksize), cv2.morphologyEx(mask, MORPH_OPS[op], kernel))


def test_morphology_reads_nonzero_as_set_and_may_write_in_place(rng):
    mask = rng.integers(0, 3, (30, 90), dtype=np.uint8)  # 0, 1, 2
    expected = cv2.dilate(np.where(mask > 0, 255, 0).astype(np.uint8), np.ones((5, 5), np.uint8))
    assert_bit_exact(_core.morphology(mask, "dilate", 5, out=mask), expected)
    assert_bit_exact(mask, expected)


def components_reference(mask: np.ndarray, min_area: int, largest: bool, connectivity: int) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=connectivity)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    if largest and count > 1:
        best = int(np.argmax(areas))  # first of equals, in raster order
        keep[1 + best] = areas[best] >= max(1, min_area)
    elif not largest:
        keep[1:] = areas >= max(1, min_area)
    return np.where(keep[labels], np.uint8(255), np.uint8(0))


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("largest,min_area", [(True, 0), (True, 50), (False, 0), (False, 7), (False, 60)])
def test_keep_components_matches_opencv(isa, rng, connectivity, largest, min_area):
    for height, width in [(1, 1), (1, 70), (33, 64), (60, 129), (90, 200)]:
        for mask in (random_mask(rng, height, width), blobs(rng, height, width)):
            expected = components_reference(mask, min_area, largest, connectivity)
            assert_bit_exact(_core.keep_components(mask, min_area, largest, connectivity), expected)


def test_keep_components_diagonal_contact_depends_on_connectivity():
    mask = np.zeros((4, 4), np.uint8)
    mask[0:2, 0:2] = 255
    mask[2, 2] = 255  # touches the square at a corner only
    assert np.count_nonzero(_core.keep_components(mask, largest=True, connectivity=8)) == 5
    assert np.count_nonzero(_core.keep_components(mask, largest=True, connectivity=4)) == 4
    assert not _core.keep_components(np.zeros((3, 3), np.uint8)).any()


# --- bad arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: _core.gaussian_blur(np.zeros((4, 4), np.uint8), 4), ValueError, "ksize"),
        (lambda: _core.gaussian_blur(np.zeros((4, 4), np.uint8), 63), ValueError, "ksize"),
        (lambda: _core.gaussian_blur(np.zeros((4, 4), np.float32), 3), TypeError, "image"),
        (lambda: _core.gaussian_blur(np.zeros((4, 4, 3), np.uint8), 3), ValueError, "image"),
        (lambda: _core.morphology(np.zeros((4, 4), np.uint8), "thin", 3), ValueError, "op"),
        (lambda: _core.morphology(np.zeros((4, 4), np.uint8), "open", 0), ValueError, "ksize"),
        (lambda: _core.morphology(np.zeros((4, 8), np.uint8)[:, ::2], "open", 3), ValueError, "contiguous"),
        (lambda: _core.keep_components(np.zeros((4, 4), np.uint8), connectivity=6), ValueError, "connectivity"),
        (lambda: _core.keep_components(np.zeros((4, 4), np.uint8), min_area=-1), ValueError, "min_area"),
        (lambda: _core.keep_components(np.zeros((4, 4), np.uint8), out=np.zeros((4, 5), np.uint8)), ValueError, "out"),
        (lambda: _core.to_gray(np.zeros((4, 4, 4), np.uint8)), ValueError, "frame"),
    ],
)
def test_bad_arguments(call, error, words):
    with pytest.raises(error, match=words):
        call()
