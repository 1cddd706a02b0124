"""Compositing: blur, replace, solid colour, RGBA, harmonise.

The blends are exact integer formulas, so every ISA must equal the numpy reference
round((fg * a + bg * (255 - a)) / 255) bit for bit (which also makes every SIMD path equal to
the scalar one). The blurred background is checked against a float numpy model of the
documented algorithm: tolerance 2 levels max and 0.5 mean, from the rounding of the low-res
image to uint8, the 7-bit bilinear weights and the output rounding (measured <= 1.5 max, 0.45 mean on noise frames).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.ndimage import uniform_filter1d

from conftest import (
    ODD_WIDTHS,
    assert_bit_exact,
    blend_reference,
    random_alpha,
    random_frame,
    scalar_reference,
)
from fastseg import _core

FRAME_SIZES = [(1, 1), (2, 3), (720, 1280)] + [(3, w) for w in ODD_WIDTHS]


# --- numpy model of composite_blur's background -------------------------------------------------


def block_means(frame: np.ndarray, factor: int) -> np.ndarray:
    """Means of factor x factor blocks; partial blocks at the right and bottom average what they cover."""
    height, width = frame.shape[:2]
    starts_y, starts_x = np.arange(0, height, factor), np.arange(0, width, factor)
    sums = np.add.reduceat(np.add.reduceat(frame.astype(np.float64), starts_y, axis=0), starts_x, axis=1)
    rows, cols = np.minimum(factor, height - starts_y), np.minimum(factor, width - starts_x)
    return sums / (rows[:, None, None] * cols[None, :, None])


def lerp_axis(image: np.ndarray, n_out: int, scale: float, axis: int) -> np.ndarray:
    """Bilinear resampling along one axis, pixel centres aligned, clamped to the outer centres."""
    n_in = image.shape[axis]
    pos = np.clip((np.arange(n_out) + 0.5) * scale - 0.5, 0, n_in - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = (pos - i0).reshape([-1 if a == axis else 1 for a in range(image.ndim)])
    return np.take(image, i0, axis=axis) * (1 - frac) + np.take(image, i1, axis=axis) * frac


def blurred_background(frame: np.ndarray, strength: float) -> np.ndarray:
    """Block-mean downscale by blur_factor, two box passes of blur_radius at low res, bilinear upscale."""
    height, width = frame.shape[:2]
    factor, radius = _core.blur_factor(height, width), _core.blur_radius(strength)
    small = block_means(frame, factor)
    for _ in range(2 if radius > 0 else 0):
        small = uniform_filter1d(small, 2 * radius + 1, axis=1, mode="nearest")
        small = uniform_filter1d(small, 2 * radius + 1, axis=0, mode="nearest")
    return lerp_axis(lerp_axis(small, height, 1.0 / factor, 0), width, 1.0 / factor, 1)


def assert_close_to_blur_model(out: np.ndarray, frame: np.ndarray, strength: float) -> None:
    diff = np.abs(out - blurred_background(frame, strength))
    assert diff.max() <= 2.0 and diff.mean() < 0.5, (diff.max(), diff.mean())


# --- composite_blur -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", FRAME_SIZES + [(181, 263), (721, 1283)], ids=str)
@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0])
def test_composite_blur_background_matches_documented_algorithm(isa, rng, size, strength):
    frame = random_frame(rng, *size)
    out = _core.composite_blur(frame, np.zeros(size, np.uint8), strength=strength)
    assert_close_to_blur_model(out, frame, strength)


@pytest.mark.parametrize("size", FRAME_SIZES, ids=str)
def test_composite_blur_opaque_alpha_returns_frame(isa, rng, size):
    frame = random_frame(rng, *size)
    assert_bit_exact(_core.composite_blur(frame, np.full(size, 255, np.uint8), strength=0.7), frame)


@pytest.mark.parametrize("size", FRAME_SIZES, ids=str)
def test_composite_blur_blends_frame_over_its_blurred_copy(isa, rng, size):
    frame, alpha = random_frame(rng, *size), random_alpha(rng, *size)
    background = _core.composite_blur(frame, np.zeros(size, np.uint8), strength=0.5)
    out = np.empty_like(frame)
    assert _core.composite_blur(frame, alpha, out=out, strength=0.5) is out
    assert_bit_exact(out, blend_reference(frame, background, alpha))


def test_composite_blur_stronger_blurs_more(isa, rng):
    frame = random_frame(rng, 360, 640)
    transparent = np.zeros((360, 640), np.uint8)
    # Blur removes high frequencies: the mean gradient drops as the strength grows.
    roughness = [
        np.abs(np.diff(_core.composite_blur(frame, transparent, strength=s).astype(np.int16), axis=1)).mean()
        for s in (0.0, 0.5, 1.0)
    ]
    assert roughness[0] > roughness[1] > roughness[2]


@pytest.mark.parametrize("size", FRAME_SIZES + [(2160, 3840)], ids=str)
def test_composite_blur_simd_matches_scalar(simd_isa, rng, size):
    frame, alpha = random_frame(rng, *size), random_alpha(rng, *size)
    assert_bit_exact(
        _core.composite_blur(frame, alpha, strength=0.5),
        scalar_reference(_core.composite_blur, frame, alpha, strength=0.5),
    )


def test_blur_factor_and_radius():
    assert _core.blur_factor(1, 1) == 1
    assert _core.blur_factor(720, 1280) == _core.blur_factor(1280, 720) == 8
    factors = [_core.blur_factor(side, 2 * side) for side in range(1, 3000, 7)]
    assert factors == sorted(factors)
    radii = [_core.blur_radius(s) for s in np.linspace(0, 1, 21)]
    assert radii[0] == 0 and radii == sorted(radii) and radii[-1] > radii[0]


# --- replace, colour, RGBA -----------------------------------------------------------------------


@pytest.mark.parametrize("size", FRAME_SIZES + [(2160, 3840)], ids=str)
def test_composite_image_is_exact_blend(isa, rng, size):
    frame, alpha, background = random_frame(rng, *size), random_alpha(rng, *size), random_frame(rng, *size)
    out = np.empty_like(frame)
    assert _core.composite_image(frame, alpha, background, out=out) is out
    assert_bit_exact(out, blend_reference(frame, background, alpha))


@pytest.mark.parametrize("size", FRAME_SIZES, ids=str)
@pytest.mark.parametrize("color", [(0, 0, 0), (255, 255, 255), (12, 200, 77)])
def test_composite_color_is_exact_blend(isa, rng, size, color):
    frame, alpha = random_frame(rng, *size), random_alpha(rng, *size)
    background = np.broadcast_to(np.array(color, np.uint8), frame.shape)
    assert_bit_exact(_core.composite_color(frame, alpha, color), blend_reference(frame, background, alpha))


@pytest.mark.parametrize("size", FRAME_SIZES + [(2160, 3840)], ids=str)
@pytest.mark.parametrize("swap_rb", [False, True])
def test_composite_rgba_stacks_alpha(isa, rng, size, swap_rb):
    frame, alpha = random_frame(rng, *size), random_alpha(rng, *size)
    colours = frame[..., ::-1] if swap_rb else frame
    out = np.empty(size + (4,), np.uint8)
    assert _core.composite_rgba(frame, alpha, out=out, swap_rb=swap_rb) is out
    assert_bit_exact(out, np.dstack([colours, alpha]))


@pytest.mark.parametrize("alpha_value", [0, 255])
def test_composite_extremes_pick_one_side(isa, rng, alpha_value):
    frame, background = random_frame(rng, 5, 67), random_frame(rng, 5, 67)
    alpha = np.full((5, 67), alpha_value, np.uint8)
    expected = frame if alpha_value == 255 else background
    assert_bit_exact(_core.composite_image(frame, alpha, background), expected)


# --- harmonize ---------------------------------------------------------------------------------


def person_scene(rng: np.random.Generator, height: int = 240, width: int = 320):
    """A warm, textured person with a soft round alpha, and a cool background image."""
    frame = np.clip(rng.normal((60, 110, 190), 20, (height, width, 3)), 0, 255).astype(np.uint8)
    background = np.clip(rng.normal((170, 120, 70), 25, (height, width, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    radius = min(height, width) / 4
    alpha = np.clip((radius - np.hypot(yy - height / 2, xx - width / 2)) * 20 + 128, 0, 255).astype(np.uint8)
    return frame, alpha, background


def lab_mean(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_BGR2Lab).reshape(-1, 3).astype(np.float64)
    w = weight.reshape(-1).astype(np.float64)
    return (lab * w[:, None]).sum(axis=0) / w.sum()


@pytest.mark.parametrize("background_size", [None, (61, 97)], ids=["same-size", "other-size"])
def test_harmonize_moves_person_lab_mean_to_background(isa, rng, background_size):
    frame, alpha, background = person_scene(rng)
    if background_size is not None:  # the statistics need no particular size
        background = np.ascontiguousarray(background[: background_size[0], : background_size[1]])
    target = lab_mean(background, np.ones(background.shape[:2]))
    distance = {
        amount: np.linalg.norm(lab_mean(_core.harmonize(frame, alpha, background, amount=amount), alpha) - target)
        for amount in (0.0, 0.5, 1.0)
    }
    assert distance[0.0] > 40  # the scene really is mismatched
    assert distance[1.0] < 0.1 * distance[0.0]
    assert distance[1.0] < distance[0.5] < distance[0.0]


def test_harmonize_zero_amount_keeps_frame(isa, rng):
    frame, alpha, background = person_scene(rng)
    frame = random_frame(rng, *frame.shape[:2])  # every colour, not just the scene's
    out = _core.harmonize(frame, alpha, background, amount=0.0)
    assert np.abs(out.astype(np.int16) - frame).max() <= 1


def test_harmonize_leaves_invisible_pixels_alone(isa, rng):
    frame, alpha, background = person_scene(rng)
    out = np.empty_like(frame)
    assert _core.harmonize(frame, alpha, background, out=out) is out
    assert_bit_exact(out[alpha == 0], frame[alpha == 0])
    assert np.abs(out[alpha == 255].astype(np.int16) - frame[alpha == 255]).mean() > 10


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (240, 320)] + [(5, w) for w in ODD_WIDTHS], ids=str)
def test_harmonize_simd_matches_scalar(simd_isa, rng, size):
    frame, alpha, background = random_frame(rng, *size), random_alpha(rng, *size), random_frame(rng, *size)
    assert_bit_exact(
        _core.harmonize(frame, alpha, background, amount=0.8),
        scalar_reference(_core.harmonize, frame, alpha, background, amount=0.8),
    )
