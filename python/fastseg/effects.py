"""Background effects: a frame and its uint8 alpha (255 = person) -> the composited frame.

Every effect is one C++ kernel call writing into ``out`` (allocated by the kernel when None).
Backgrounds are given in the frame's channel order; one of another size is resized once with
``_core.resize_image`` and cached for as long as the same array object is passed.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from . import _core

EFFECTS = ("blur", "replace", "color", "transparent", "mask", "harmonize")


class Compositor:
    """The effects for frames of one size, with the buffers they reuse."""

    def __init__(self, frame_shape: Tuple[int, int, int]) -> None:
        self._frame_shape = frame_shape
        self._background_source: Optional[np.ndarray] = None
        self._background: Optional[np.ndarray] = None
        self._resized: Optional[np.ndarray] = None
        self._harmonized: Optional[np.ndarray] = None

    def apply(self, effect: str, frame: np.ndarray, alpha: np.ndarray, out: Optional[np.ndarray], options) -> np.ndarray:
        if effect not in EFFECTS:
            raise ValueError(f"unknown effect {effect!r}; effects: {', '.join(EFFECTS)}")
        return getattr(self, effect)(frame, alpha, out, **options)

    def blur(self, frame, alpha, out, strength: float = 0.5) -> np.ndarray:
        return _core.composite_blur(frame, alpha, out, strength=strength)

    def replace(self, frame, alpha, out, background: np.ndarray) -> np.ndarray:
        return _core.composite_image(frame, alpha, self._fitted(background), out)

    def color(self, frame, alpha, out, color: Tuple[int, int, int] = (0, 255, 0)) -> np.ndarray:
        return _core.composite_color(frame, alpha, tuple(color), out)

    def transparent(self, frame, alpha, out) -> np.ndarray:
        """H x W x 4: the frame's colours in its own order plus alpha (BGRA for a BGR frame,
        which is what cv2.imwrite expects for a PNG)."""
        return _core.composite_rgba(frame, alpha, out)

    def mask(self, frame, alpha, out) -> np.ndarray:
        """The uint8 H x W alpha itself."""
        if out is None:
            return alpha.copy()
        _check_out(out, alpha)
        np.copyto(out, alpha)
        return out

    def harmonize(self, frame, alpha, out, background: np.ndarray, amount: float = 1.0) -> np.ndarray:
        """The person recoloured toward the background's colour statistics, then put on it."""
        fitted = self._fitted(background)
        if self._harmonized is None:
            self._harmonized = np.empty(self._frame_shape, np.uint8)
        _core.harmonize(frame, alpha, fitted, self._harmonized, amount=amount)
        return _core.composite_image(self._harmonized, alpha, fitted, out)

    def _fitted(self, background: np.ndarray) -> np.ndarray:
        """The background at the frame's size: itself when it fits, else resized once and cached."""
        if background is self._background_source:
            return self._background
        _check_background(background)
        if background.shape == self._frame_shape:
            fitted = background
        else:
            if self._resized is None:
                self._resized = np.empty(self._frame_shape, np.uint8)
            fitted = _core.resize_image(np.ascontiguousarray(background), self._resized)
        self._background_source, self._background = background, fitted
        return fitted


def _check_background(background) -> None:
    if not isinstance(background, np.ndarray):
        raise TypeError(f"background must be a uint8 numpy array (H, W, 3), got {type(background).__name__}")
    if background.dtype != np.uint8:
        raise TypeError(f"background must be a uint8 array, got {background.dtype}")
    if background.ndim != 3 or background.shape[2] != 3 or background.size == 0:
        raise ValueError(f"background must have shape (H, W, 3), got {background.shape}")


def _check_out(out, like: np.ndarray) -> None:
    if not isinstance(out, np.ndarray) or out.dtype != like.dtype:
        raise TypeError(f"out must be a {like.dtype} array, got {getattr(out, 'dtype', type(out).__name__)}")
    if out.shape != like.shape:
        raise ValueError(f"out must have shape {like.shape}, got {out.shape}")
