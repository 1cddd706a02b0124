"""fastseg.BackgroundSubtractor: person masks for a fixed camera without any model.

The classical baseline of the Portrait-Segmentation seed ("Segmentation via Background
Subtraction: A Naive Approach"), in C++: learn the empty scene, then per frame grayscale (or
colour planes), Gaussian blur, absolute difference, threshold, close then open, keep the
largest connected component. It also fixes the naive version's known weaknesses: a per-pixel
threshold from the learning frames' noise (``k_sigma``) and a slow background update outside
the mask (``update``) so lighting drift does not eat the picture.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _core
from .effects import EFFECTS, Compositor
from .segmenter import _check_frame


class BackgroundSubtractor:
    """Foreground masks and background effects for a static camera.

    Learning: the first ``learn_frames`` frames are taken to show the scene without anyone in
    it. Each is folded into a per-pixel mean and variance and gets an empty mask (every pixel
    background), so ``process`` applies the effect to the whole frame meanwhile; ``learning``
    says whether that phase is still on. The first learning frame fixes the frame size; a
    frame of another size afterwards is a ValueError until :meth:`relearn`.

    Per frame after learning: ``color=False`` compares one gray plane, ``True`` the B, G and R
    planes (a pixel is foreground if any plane differs). ``blur``: Gaussian kernel size (odd,
    1 = off; ``sigma`` 0 derives it from the size). A pixel is foreground when
    ``|frame - background| > max(threshold, k_sigma * sigma_pixel)`` (``k_sigma=0``: the global
    ``threshold`` alone). ``close`` / ``open``: square kernel sizes of the closing that fills
    holes and the opening that removes specks (odd, 0 or 1 = off). ``largest=True`` keeps the
    largest connected component (``connectivity`` 4 or 8), else every component of at least
    ``min_area`` pixels. ``update``: per-frame learning rate of the background outside the mask
    (0 = frozen background).
    """

    def __init__(
        self,
        learn_frames: int = 30,
        *,
        color: bool = False,
        blur: int = 5,
        sigma: float = 0.0,
        threshold: int = 10,
        k_sigma: float = 3.0,
        close: int = 15,
        open: int = 5,
        largest: bool = True,
        min_area: int = 500,
        connectivity: int = 8,
        update: float = 0.05,
    ) -> None:
        _check_int("learn_frames", learn_frames)
        self._core = _core.BackgroundSubtractor(
            learn_frames=learn_frames, color=bool(color), blur=_check_int("blur", blur), sigma=float(sigma),
            threshold=_check_int("threshold", threshold), k_sigma=float(k_sigma), close=_check_int("close", close),
            open=_check_int("open", open), largest=bool(largest), min_area=_check_int("min_area", min_area),
            connectivity=_check_int("connectivity", connectivity), update=float(update),
        )
        self._compositor: Optional[Compositor] = None
        self._alpha: Optional[np.ndarray] = None

    # --- public API -------------------------------------------------------------------------

    def mask(self, frame: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """uint8 H x W mask of a uint8 H x W x 3 frame: 255 = foreground, 0 = background (all 0
        while learning). Written into ``out`` when given (no allocation)."""
        if not isinstance(frame, np.ndarray):
            _check_frame(frame)  # the TypeError for a non-array, as Segmenter gives it
        return self._core.apply(frame, out)

    def process(self, frame: np.ndarray, effect: str = "blur", out: Optional[np.ndarray] = None, **options: Any) -> np.ndarray:
        """The frame with an effect applied to its background, as ``Segmenter.process``: effects
        ``blur``, ``replace``, ``color``, ``transparent``, ``mask``, ``harmonize`` with the same
        options, written into ``out`` when given."""
        if effect not in EFFECTS:
            raise ValueError(f"unknown effect {effect!r}; effects: {', '.join(EFFECTS)}")
        compositor, alpha = self._buffers_for(frame)
        self._core.apply(frame, alpha)
        return compositor.apply(effect, frame, alpha, out, options)

    def relearn(self) -> None:
        """Forget the background: the next ``learn_frames`` frames are learned again (at any size)."""
        self._core.relearn()

    @property
    def learning(self) -> bool:
        """True until ``learn_frames`` frames have been learned."""
        return self._core.learning

    @property
    def frames_learned(self) -> int:
        return self._core.frames_learned

    @property
    def background(self) -> Optional[np.ndarray]:
        """The learned (blurred) background, planes x H x W uint8, or None while learning."""
        return self._core.background

    def __repr__(self) -> str:
        state = "learning" if self.learning else "segmenting"
        return f"BackgroundSubtractor({state}, {self.frames_learned} frames learned)"

    # --- buffers ----------------------------------------------------------------------------

    def _buffers_for(self, frame: np.ndarray):
        if self._alpha is None or not isinstance(frame, np.ndarray) or frame.shape[:2] != self._alpha.shape:
            _check_frame(frame)
            self._compositor = Compositor(tuple(frame.shape))
            self._alpha = np.zeros(frame.shape[:2], np.uint8)
        return self._compositor, self._alpha


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return int(value)
