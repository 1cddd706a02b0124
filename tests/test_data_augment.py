"""Augmentation keeps image and masks aligned; previous-mask synthesis is near, not equal."""

from __future__ import annotations

import numpy as np
import pytest

from fastseg.data.augment import affine_jitter, dilate_or_erode, elastic_warp, synthesize_prior


def disc_mask(h: int = 120, w: int = 160) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.where((yy - h * 0.6) ** 2 + (xx - w / 2) ** 2 < (h * 0.3) ** 2, 255, 0).astype(np.uint8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 128, b >= 128
    return (a & b).sum() / max((a | b).sum(), 1)


def test_prior_is_near_the_mask_but_not_equal():
    mask = disc_mask()
    ious = [iou(synthesize_prior(mask, np.random.default_rng(seed), empty_p=0), mask) for seed in range(20)]
    assert all(0.5 < v < 1.0 for v in ious), ious
    assert np.std(ious) > 0.01  # each prior is a different guess


def test_prior_is_sometimes_empty_and_deterministic():
    mask = disc_mask()
    priors = [synthesize_prior(mask, np.random.default_rng(seed), empty_p=0.3) for seed in range(40)]
    empties = sum(not p.any() for p in priors)
    assert 4 <= empties <= 24
    np.testing.assert_array_equal(synthesize_prior(mask, np.random.default_rng(7)), synthesize_prior(mask, np.random.default_rng(7)))
    assert priors[0].dtype == np.uint8 and priors[0].shape == mask.shape


def test_each_prior_step_changes_the_mask():
    mask = disc_mask()
    for step in (affine_jitter, elastic_warp):
        moved = step(mask, np.random.default_rng(1))
        assert 0.7 < iou(moved, mask) < 1.0
    grown_or_shrunk = [dilate_or_erode(mask, np.random.default_rng(s)) for s in range(10)]
    areas = {int((g >= 128).sum()) - int((mask >= 128).sum()) for g in grown_or_shrunk}
    assert any(a > 0 for a in areas) and any(a < 0 for a in areas)


def test_train_transform_keeps_masks_aligned_with_the_image():
    pytest.importorskip("albumentations")
    from fastseg.data.augment import augment, train_transform

    mask = disc_mask(180, 320)
    image = np.dstack([mask] * 3)  # the image *is* the mask, so alignment is measurable
    ignore = np.zeros(mask.shape, bool)
    ignore[:, :10] = True
    transform = train_transform((144, 256))
    for seed in range(8):
        np.random.seed(seed)
        transform.set_random_seed(seed)
        out_image, out_mask, out_ignore = augment(transform, image, mask, ignore)
        assert out_image.shape == (144, 256, 3) and out_mask.shape == (144, 256) and out_ignore.dtype == bool
        assert iou(out_image.mean(axis=2), out_mask) > 0.85
