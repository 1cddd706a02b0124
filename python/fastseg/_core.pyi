"""Type stub for fastseg._core, the C++ kernels (hand-written; keep in step with bindings/)."""

from typing import Literal, Optional, Sequence, Tuple, TypeVar

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]
_A = TypeVar("_A", bound=np.ndarray)

# Every array argument must be C-contiguous, non-empty, at most 16384 per side, of the exact
# dtype named: a wrong dtype raises TypeError, a wrong shape/layout/size ValueError, naming
# the argument. `out` arrays are written in place and returned; omitted, a new one is made.

# --- dispatch -------------------------------------------------------------------------------
def available_isas() -> list[str]: ...  # worst to best, e.g. ["scalar", "sse2", "avx2"]
def current_isa() -> str: ...
def set_isa(name: str) -> None: ...  # process-wide; "auto" restores the best

# --- preprocessing --------------------------------------------------------------------------
def preprocess(
    frame: U8,  # (H, W, 3)
    out: _A,  # float32 (C, h, w) / (1, C, h, w) for nchw, (h, w, C) / (1, h, w, C) for nhwc; C = 3 or 4
    *,
    mean: Sequence[float] = (0.0, 0.0, 0.0),  # per model channel, 0..255 units
    std: Sequence[float] = (1.0, 1.0, 1.0),
    swap_rb: bool = False,  # frame order differs from the model's (BGR frame, RGB model)
    layout: Literal["nchw", "nhwc"] = "nchw",
    prev_mask: Optional[F32] = None,  # (h, w), required iff C == 4
) -> _A: ...
def resize_image(src: U8, out: _A) -> _A: ...  # (H, W, 3) -> (h, w, 3); area down, bilinear up

# --- mask post-processing (model resolution, float32) ---------------------------------------
def sigmoid(x: F32, out: Optional[F32] = None) -> F32: ...
def softmax2(fg: F32, bg: F32, out: Optional[F32] = None) -> F32: ...  # 1 / (1 + exp(bg - fg))
def temporal_ema(current: F32, state: _A, strength: float) -> _A: ...  # in place on state
def smoothstep(x: F32, lo: float, hi: float, out: Optional[F32] = None) -> F32: ...  # hi <= lo: threshold
def feather(mask: F32, radius: int, out: Optional[F32] = None) -> F32: ...  # (h, w); out may be mask
def upsample_mask(mask: F32, out: _A) -> _A: ...  # (h, w) float [0, 1] -> uint8 (H, W) alpha; area where H < h or W < w
def upsample_logits(logits: F32, out: _A) -> _A: ...  # (h, w) float logits -> uint8 (H, W) alpha clamp(0.5 + x/4), the contour at their zero
def refine_mask(mask: F32, frame: U8, out: Optional[U8] = None, radius: int = 2, eps: float = 1e-3) -> U8: ...

# --- compositing (frame, alpha uint8 (H, W); colours in the frame's channel order) ----------
def composite_blur(frame: U8, alpha: U8, out: Optional[U8] = None, strength: float = 0.5) -> U8: ...
def composite_image(frame: U8, alpha: U8, background: U8, out: Optional[U8] = None) -> U8: ...
def composite_color(frame: U8, alpha: U8, color: Tuple[int, int, int], out: Optional[U8] = None) -> U8: ...
def composite_rgba(frame: U8, alpha: U8, out: Optional[U8] = None, swap_rb: bool = False) -> U8: ...
def harmonize(frame: U8, alpha: U8, background: U8, out: Optional[U8] = None, amount: float = 1.0) -> U8: ...
def blur_factor(height: int, width: int) -> int: ...
def blur_radius(strength: float) -> int: ...

# --- bit-packing ----------------------------------------------------------------------------
def pack_mask(mask: U8, bits: Literal[8, 16] = 8, threshold: int = 128, out: Optional[np.ndarray] = None) -> np.ndarray: ...
def unpack_mask(packed: np.ndarray, width: int, out: Optional[U8] = None) -> U8: ...  # uint8 or uint16 words

# --- background subtraction (fastseg.BackgroundSubtractor wraps the class) --------------------
class BackgroundSubtractor:
    def __init__(
        self,
        *,
        learn_frames: int = 30,  # frames averaged into the background; their masks are empty
        color: bool = False,  # False: gray plane; True: B, G, R planes, any differing counts
        blur: int = 5,  # odd Gaussian size, 1 = off
        sigma: float = 0.0,  # <= 0: from the size, as OpenCV
        threshold: int = 10,  # global T on |frame - background|
        k_sigma: float = 3.0,  # > 0: per-pixel max(T, k * sigma of the learning frames)
        close: int = 15,  # odd square sizes, 0 or 1 = off
        open: int = 5,
        largest: bool = True,  # else every component >= min_area
        min_area: int = 500,
        connectivity: Literal[4, 8] = 8,
        update: float = 0.05,  # background learning rate outside the mask, 0 = frozen
    ) -> None: ...
    def apply(self, frame: U8, out: Optional[U8] = None) -> U8: ...  # (H, W, 3) -> (H, W) 0 / 255
    def relearn(self) -> None: ...
    @property
    def learning(self) -> bool: ...
    @property
    def frames_learned(self) -> int: ...
    @property
    def background(self) -> Optional[U8]: ...  # (planes, H, W) blurred mean, None while learning
    @property
    def thresholds(self) -> Optional[U8]: ...  # (planes, H, W) per-pixel thresholds

def to_gray(frame: U8, out: Optional[U8] = None) -> U8: ...  # as cv2.COLOR_BGR2GRAY
def gaussian_blur(image: U8, ksize: int, sigma: float = 0.0, out: Optional[U8] = None) -> U8: ...  # (H, W)
def morphology(mask: U8, op: Literal["dilate", "erode", "close", "open"], ksize: int, out: Optional[U8] = None) -> U8: ...
def keep_components(
    mask: U8, min_area: int = 0, largest: bool = True, connectivity: Literal[4, 8] = 8, out: Optional[U8] = None
) -> U8: ...
