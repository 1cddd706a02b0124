"""Mask post-processing: activations, temporal smoothing, smooth-step, feather, upsampling
and guided refinement, against the scalar reference and numpy/scipy/OpenCV.

Tolerances:
- sigmoid / softmax2: 2e-6 absolute. The SIMD paths evaluate exp with a Cephes polynomial
  (relative error ~1e-7), the scalar path with libm; outputs lie in [0, 1].
- temporal_ema, smoothstep: 1e-6 absolute (same float operations in a different order at most).
- feather: 1e-5 absolute: running box sums accumulate float rounding over a row.
- upsample_mask vs OpenCV: 3 levels. The mask is quantised to uint8 first (0.5), the output
  is rounded (0.5), and the bilinear weights are 7-bit, so a weight is off by up to 1/256 per
  axis, i.e. up to 255/256 levels per axis between a 0 and a 255 neighbour. Random masks reach
  2.5 at 4K; the mean error must stay below 0.5.
- upsample_logits vs the hard sigmoid clamp(0.5 + x / 4) of OpenCV's bilinear logits: the codes
  step by 0.25 logit (16 alpha levels) and round by up to half a step, each of the two lerps
  rounds by half a step and its 7-bit weight moves it by up to 255/256 of one, so the alpha is
  on the reference's side of 0.5 wherever the reference is beyond +-0.5 logit (two steps) and
  off by at most 40 levels (2.5 steps; 34.6 seen over 20 seeds). Away from contours the error
  is 0, so on frames of 720 rows and more the mean error is below 1.5 levels (1.18 seen).
- every uint8 output (upsample_mask, upsample_logits, refine_mask) is bit-exact with the scalar reference.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from conftest import ODD_WIDTHS, assert_bit_exact, random_frame, random_unit_mask, scalar_reference
from fastseg import _core

ACTIVATION_ATOL = 2e-6
UPSAMPLE_MAX_LEVELS = 3.0


def logits(rng: np.random.Generator, shape) -> np.ndarray:
    """Mostly moderate logits plus a tail out to +-100 where exp over/underflows."""
    x = rng.normal(0.0, 6.0, shape).astype(np.float32)
    x.flat[::97] = rng.uniform(-100, 100, x.flat[::97].shape)
    return x


def numpy_sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


# --- activations ------------------------------------------------------------------------------

ACTIVATION_SHAPES = [(1,), (1, 1), (7,), (144, 256), (1, 1, 17, 63), (3, 1281)]


@pytest.mark.parametrize("shape", ACTIVATION_SHAPES, ids=str)
def test_sigmoid_matches_numpy_and_scalar(isa, rng, shape):
    x = logits(rng, shape)
    out = _core.sigmoid(x)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, numpy_sigmoid(x), rtol=0, atol=ACTIVATION_ATOL)
    np.testing.assert_allclose(out, scalar_reference(_core.sigmoid, x), rtol=0, atol=ACTIVATION_ATOL)


@pytest.mark.parametrize("shape", ACTIVATION_SHAPES, ids=str)
def test_softmax2_matches_numpy_and_scalar(isa, rng, shape):
    fg, bg = logits(rng, shape), logits(rng, shape)
    out = np.empty_like(fg)
    assert _core.softmax2(fg, bg, out=out) is out
    two_class = np.stack([bg, fg]).astype(np.float64)
    expected = np.exp(two_class - two_class.max(axis=0)) / np.exp(two_class - two_class.max(axis=0)).sum(axis=0)
    np.testing.assert_allclose(out, expected[1], rtol=0, atol=ACTIVATION_ATOL)
    np.testing.assert_allclose(out, scalar_reference(_core.softmax2, fg, bg), rtol=0, atol=ACTIVATION_ATOL)


def test_sigmoid_in_place(isa, rng):
    x = logits(rng, (33, 65))
    expected = numpy_sigmoid(x)
    _core.sigmoid(x, out=x)
    np.testing.assert_allclose(x, expected, rtol=0, atol=ACTIVATION_ATOL)


# Non-finite logits (a broken model or a corrupted buffer) must not decide person vs
# background differently depending on the CPU: whatever the scalar reference gives (NaN
# stays NaN, which upsample_mask then maps to 0), the SIMD paths must give too.
NON_FINITE = np.array([np.nan, np.inf, -np.inf, 0.0, 3.0, -3.0, 1e30, -1e30] * 5, dtype=np.float32)


@pytest.mark.parametrize(
    "kernel",
    [
        pytest.param(lambda x: _core.sigmoid(x), id="sigmoid"),
        pytest.param(lambda x: _core.softmax2(x, np.zeros_like(x)), id="softmax2"),
        pytest.param(lambda x: _core.smoothstep(x, 0.25, 0.75), id="smoothstep"),
        pytest.param(lambda x: _core.smoothstep(x, 0.5, 0.5), id="threshold"),
    ],
)
def test_non_finite_inputs_agree_with_scalar(simd_isa, kernel):
    np.testing.assert_allclose(
        kernel(NON_FINITE), scalar_reference(kernel, NON_FINITE), rtol=0, atol=ACTIVATION_ATOL, equal_nan=True
    )


# --- temporal smoothing and smooth-step -------------------------------------------------------


@pytest.mark.parametrize("strength", [0.0, 0.3, 0.85, 1.0])
@pytest.mark.parametrize("shape", [(1, 1), (7, 17), (144, 256), (1, 1, 5, 129)], ids=str)
def test_temporal_ema_matches_numpy(isa, rng, strength, shape):
    current = rng.random(shape, dtype=np.float32)
    state = rng.random(shape, dtype=np.float32)
    s = np.float32(strength)
    expected = s * state + (np.float32(1) - s) * current
    on_scalar = scalar_reference(_core.temporal_ema, current, state, strength)
    result = _core.temporal_ema(current, state, strength)
    assert result is state
    np.testing.assert_allclose(state, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(state, on_scalar, rtol=0, atol=1e-6)


def numpy_smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return (x >= lo).astype(np.float32)
    t = np.clip((x.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@pytest.mark.parametrize(("lo", "hi"), [(0.2, 0.8), (0.0, 1.0), (0.45, 0.55), (0.5, 0.5), (0.7, 0.3)])
@pytest.mark.parametrize("shape", [(1, 1), (9, 63), (144, 256)], ids=str)
def test_smoothstep_and_threshold_match_numpy(isa, rng, lo, hi, shape):
    x = rng.uniform(-0.2, 1.2, shape).astype(np.float32)
    x.flat[::11] = np.float32(lo)  # exactly at the threshold: x >= lo is 1
    out = _core.smoothstep(x, lo, hi)
    np.testing.assert_allclose(out, numpy_smoothstep(x, lo, hi), rtol=0, atol=1e-6)
    np.testing.assert_allclose(out, scalar_reference(_core.smoothstep, x, lo, hi), rtol=0, atol=1e-6)
    if hi <= lo:
        assert set(np.unique(out)) <= {0.0, 1.0}


# --- feather ----------------------------------------------------------------------------------


def numpy_feather(mask: np.ndarray, radius: int) -> np.ndarray:
    """Two separable box passes of width 2r+1 with replicated edges (scipy 'nearest')."""
    x = mask.astype(np.float64)
    for _ in range(2):
        x = uniform_filter(x, size=2 * radius + 1, mode="nearest")
    return x


@pytest.mark.parametrize("radius", [0, 1, 3, 8, 40])
@pytest.mark.parametrize("shape", [(1, 1), (144, 256), (5, 1), (13, 129), (31, 7)], ids=str)
def test_feather_matches_two_box_passes(isa, rng, radius, shape):
    mask = random_unit_mask(rng, *shape)
    out = _core.feather(mask, radius)
    np.testing.assert_allclose(out, numpy_feather(mask, radius), rtol=0, atol=1e-5)
    np.testing.assert_allclose(out, scalar_reference(_core.feather, mask, radius), rtol=0, atol=1e-6)


def test_feather_in_place(isa, rng):
    mask = random_unit_mask(rng, 36, 64)
    expected = numpy_feather(mask, 3)
    assert _core.feather(mask, 3, out=mask) is mask
    np.testing.assert_allclose(mask, expected, rtol=0, atol=1e-5)


# --- upsample_mask ----------------------------------------------------------------------------


def cv2_upsample(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    return cv2.resize(np.clip(mask, 0, 1), (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float64) * 255


UPSAMPLE_SIZES = [
    ((144, 256), (720, 1280)),
    ((144, 256), (1080, 1920)),
    ((37, 41), (100, 130)),
    ((1, 1), (5, 7)),
    ((9, 13), (9, 13)),
] + [((4, max(1, w // 8)), (9, w)) for w in ODD_WIDTHS]


def assert_upsampled_close(alpha: np.ndarray, mask: np.ndarray) -> None:
    diff = np.abs(alpha - cv2_upsample(mask, *alpha.shape))
    assert diff.max() <= UPSAMPLE_MAX_LEVELS
    assert diff.mean() < 0.5


@pytest.mark.parametrize(("mask_size", "alpha_size"), UPSAMPLE_SIZES, ids=str)
def test_upsample_mask_matches_opencv_and_scalar(isa, rng, mask_size, alpha_size):
    mask = random_unit_mask(rng, *mask_size)
    mask.flat[::13] = rng.uniform(-0.5, 1.5, mask.flat[::13].shape)  # out of range: clamped
    alpha = np.empty(alpha_size, np.uint8)
    assert _core.upsample_mask(mask, alpha) is alpha
    assert_upsampled_close(alpha, mask)
    assert_bit_exact(alpha, scalar_reference(_core.upsample_mask, mask, np.empty_like(alpha)))


@pytest.mark.parametrize(("mask_size", "alpha_size"), [((144, 256), (72, 128)), ((37, 41), (10, 60)), ((9, 13), (1, 1))], ids=str)
def test_upsample_mask_averages_a_shrinking_axis(isa, rng, mask_size, alpha_size):
    """Frames smaller than the model's mask: area along the shrinking axis, linear along a growing one."""
    mask = random_unit_mask(rng, *mask_size)
    alpha = _core.upsample_mask(mask, np.empty(alpha_size, np.uint8))
    (h, w), (H, W) = mask_size, alpha_size
    x = cv2.resize(mask, (W, h), interpolation=cv2.INTER_AREA if W < w else cv2.INTER_LINEAR)
    x = cv2.resize(x.reshape(h, W), (W, H), interpolation=cv2.INTER_AREA if H < h else cv2.INTER_LINEAR)
    expected = np.clip(np.round(x.reshape(H, W) * 255), 0, 255)
    assert np.abs(alpha.astype(np.float64) - expected).max() <= 1


def test_upsample_mask_exact_on_constant_masks(isa):
    for value, level in [(0.0, 0), (1.0, 255), (0.5, 128), (np.nan, 0)]:
        alpha = _core.upsample_mask(np.full((5, 9), value, np.float32), np.empty((17, 33), np.uint8))
        assert np.all(alpha == level), (value, np.unique(alpha))


def test_upsample_mask_4k(isa, rng):
    mask = random_unit_mask(rng, 144, 256)
    alpha = _core.upsample_mask(mask, np.empty((2160, 3840), np.uint8))
    assert_upsampled_close(alpha, mask)
    assert_bit_exact(alpha, scalar_reference(_core.upsample_mask, mask, np.empty_like(alpha)))


# --- upsample_logits ----------------------------------------------------------------------------

LOGIT_RANGE = 32.0  # the codes' span, +-


@pytest.mark.parametrize(("logit_size", "alpha_size"), UPSAMPLE_SIZES + [((72, 128), (2160, 3840))], ids=str)
def test_upsample_logits_puts_the_contour_at_the_zero_crossing(isa, rng, logit_size, alpha_size):
    x = rng.normal(0.0, 12.0, logit_size).astype(np.float32)
    x.flat[::31] = rng.uniform(-100, 100, x.flat[::31].shape)  # beyond the codes' range: clamped
    alpha = np.empty(alpha_size, np.uint8)
    assert _core.upsample_logits(x, alpha) is alpha
    height, width = alpha_size
    reference = cv2.resize(np.clip(x, -LOGIT_RANGE, LOGIT_RANGE), (width, height), interpolation=cv2.INTER_LINEAR)
    decided = np.abs(reference) > 0.5
    assert np.array_equal(alpha[decided] >= 128, reference[decided] > 0)
    error = np.abs(alpha - 255 * np.clip(0.5 + reference / 4, 0, 1))
    assert error.max() <= 40
    if height >= 720:
        assert error.mean() < 1.5
    assert_bit_exact(alpha, scalar_reference(_core.upsample_logits, x, np.empty_like(alpha)))


def test_upsample_logits_places_the_contour_where_upsampled_probabilities_do_not():
    """A sharp +12 pixel next to a -4 one: the logits cross zero 3/4 of the way, the
    probabilities (0.99999, 0.018) cross 0.5 half way."""
    x = np.array([[12.0, -4.0]], np.float32)
    alpha = _core.upsample_logits(x, np.empty((1, 16), np.uint8))
    from_prob = _core.upsample_mask(_core.sigmoid(x), np.empty((1, 16), np.uint8))
    # Output centres sit at source positions (o + 0.5) / 8 - 0.5: zero is crossed near o = 9.5.
    assert list(np.flatnonzero(alpha >= 128)) == list(range(10))
    assert list(np.flatnonzero(from_prob >= 128)) == list(range(8))


def test_upsample_logits_on_constant_planes(isa):
    for value, check in [(-100.0, lambda a: a == 0), (100.0, lambda a: a == 255), (np.nan, lambda a: a == 0),
                         (0.0, lambda a: a == 136), (np.inf, lambda a: a == 255)]:  # 0 -> code 128 = +0.125
        alpha = _core.upsample_logits(np.full((5, 9), value, np.float32), np.empty((17, 33), np.uint8))
        assert np.all(check(alpha)), (value, np.unique(alpha))


@pytest.mark.parametrize(("logit_size", "alpha_size"), [((144, 256), (72, 128)), ((37, 41), (10, 60))], ids=str)
def test_upsample_logits_shrinks_as_probabilities(isa, rng, logit_size, alpha_size):
    """A shrinking axis averages the person's share of an area, as upsample_mask does."""
    x = rng.normal(0.0, 6.0, logit_size).astype(np.float32)
    alpha = _core.upsample_logits(x, np.empty(alpha_size, np.uint8))
    hard_sigmoid = np.clip(0.5 + x / 4, 0, 1)
    assert_bit_exact(alpha, _core.upsample_mask(hard_sigmoid, np.empty(alpha_size, np.uint8)))


# --- refine_mask (fast guided filter) ---------------------------------------------------------


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    return uniform_filter(x.astype(np.float64), size=2 * radius + 1, mode="nearest")


@pytest.mark.parametrize(("mask_size", "frame_size", "radius"), [((36, 64), (360, 640), 2), ((17, 23), (100, 130), 1), ((36, 64), (361, 641), 4)], ids=str)
def test_refine_mask_on_flat_frame_is_smoothed_bilinear(isa, rng, mask_size, frame_size, radius):
    """A flat guide has no variance: a = 0 and b = box(p), so the output is box(box(p)) upsampled."""
    mask = random_unit_mask(rng, *mask_size)
    frame = np.full(frame_size + (3,), 77, np.uint8)
    alpha = _core.refine_mask(mask, frame, radius=radius)
    smoothed = box_mean(box_mean(mask, radius), radius).astype(np.float32)
    expected = np.floor(cv2.resize(smoothed, frame_size[::-1], interpolation=cv2.INTER_LINEAR) * 255 + 0.5)
    assert np.abs(alpha - expected).max() <= 1


def test_refine_mask_on_flat_frame_stays_close_to_bilinear(isa):
    yy, xx = np.mgrid[0:36, 0:64]
    smooth_blob = (1 / (1 + np.exp(-((14 - np.hypot(yy - 18, xx - 32)) / 6)))).astype(np.float32)
    frame = np.full((360, 640, 3), 128, np.uint8)
    refined = _core.refine_mask(smooth_blob, frame).astype(np.int16)
    bilinear = _core.upsample_mask(smooth_blob, np.empty((360, 640), np.uint8))
    diff = np.abs(refined - bilinear)  # only the guided filter's box smoothing (radius 2) differs
    assert diff.mean() < 2.0 and diff.max() <= 12


EDGE_COLUMN = 333  # inside low-res mask cell 33 of 64 (frame 640 wide): not on the mask grid


def edge_scene(vertical: bool):
    """A dark background left of EDGE_COLUMN, a bright person right of it, and a coarse model mask."""
    frame = np.full((360, 640, 3), 40, np.uint8)
    frame[:, EDGE_COLUMN:] = (190, 200, 210)
    mask = np.zeros((36, 64), np.float32)
    mask[:, 33:] = 1.0
    ideal = np.zeros((360, 640))
    ideal[:, EDGE_COLUMN:] = 255
    if not vertical:
        frame, ideal = np.ascontiguousarray(frame[:, :360].transpose(1, 0, 2)), ideal[:, :360].T
        mask = np.ascontiguousarray(mask[:, :36].T)
    return frame, mask, ideal


@pytest.mark.parametrize("vertical", [True, False], ids=["vertical-edge", "horizontal-edge"])
def test_refine_mask_follows_frame_edge_better_than_bilinear(isa, vertical):
    frame, mask, ideal = edge_scene(vertical)
    refined = _core.refine_mask(mask, frame).astype(np.float64)
    bilinear = _core.upsample_mask(mask, np.empty(ideal.shape, np.uint8)).astype(np.float64)
    axis = 1 if vertical else 0

    def crossing_error(alpha):  # where alpha first reaches 128 along the edge normal, vs the true edge
        return np.abs((alpha >= 128).argmax(axis=axis) - EDGE_COLUMN).mean()

    assert crossing_error(refined) <= 1.0 < crossing_error(bilinear)
    assert np.abs(refined - ideal).mean() < 0.5 * np.abs(bilinear - ideal).mean()


REFINE_SIZES = [((1, 1), (1, 1)), ((1, 1), (7, 9)), ((9, 13), (4, 5)), ((144, 256), (720, 1280))] + [
    ((5, max(1, w // 4)), (11, w)) for w in ODD_WIDTHS
]


@pytest.mark.parametrize(("mask_size", "frame_size"), REFINE_SIZES, ids=str)
def test_refine_mask_simd_matches_scalar(simd_isa, rng, mask_size, frame_size):
    mask = random_unit_mask(rng, *mask_size)
    frame = random_frame(rng, *frame_size)
    out = np.empty(frame_size, np.uint8)
    assert _core.refine_mask(mask, frame, out=out, radius=2, eps=1e-2) is out
    assert_bit_exact(out, scalar_reference(_core.refine_mask, mask, frame, radius=2, eps=1e-2))


def test_refine_mask_4k_simd_matches_scalar(simd_isa, rng):
    mask = random_unit_mask(rng, 144, 256)
    frame = random_frame(rng, 2160, 3840)
    assert_bit_exact(_core.refine_mask(mask, frame), scalar_reference(_core.refine_mask, mask, frame))
