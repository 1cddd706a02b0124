"""Every binding refuses bad input loudly: TypeError for a wrong dtype, ValueError for a wrong
shape, layout, contiguity, size, writeability or parameter value, and the message names the
offending argument. Nothing is converted or copied silently.

The per-argument checks are generated from one table of kernels with valid arguments, so
every array argument of every kernel gets every applicable bad variant. Too-large arrays are
1 x 16385 (the limit is per side), so they cost a few kilobytes. Unknown ISA names for
set_isa are covered in test_dispatch.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

from fastseg import _core

MAX_SIDE = 16384


def u8(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.uint8)


def u16(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.uint16)


def f32(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.float32)


@dataclass(frozen=True)
class Kernel:
    name: str
    call: Callable[..., Any]  # call(**arrays)
    arrays: Callable[[], dict[str, np.ndarray]]  # valid arguments, fresh each time
    flat: frozenset[str] = field(default_factory=frozenset)  # any shape accepted
    written: frozenset[str] = field(default_factory=frozenset)  # written in place


KERNELS = [
    Kernel("preprocess", lambda frame, out: _core.preprocess(frame, out),
           lambda: dict(frame=u8(4, 6, 3), out=f32(3, 2, 3)), written=frozenset({"out"})),
    Kernel("preprocess_prev_mask",
           lambda frame, out, prev_mask: _core.preprocess(frame, out, layout="nhwc", prev_mask=prev_mask),
           lambda: dict(frame=u8(4, 6, 3), out=f32(1, 2, 3, 4), prev_mask=f32(2, 3)), written=frozenset({"out"})),
    Kernel("resize_image", lambda src, out: _core.resize_image(src, out),
           lambda: dict(src=u8(4, 6, 3), out=u8(2, 3, 3)), written=frozenset({"out"})),
    Kernel("sigmoid", lambda x, out: _core.sigmoid(x, out=out),
           lambda: dict(x=f32(4, 6), out=f32(4, 6)), flat=frozenset({"x"}), written=frozenset({"out"})),
    Kernel("softmax2", lambda fg, bg, out: _core.softmax2(fg, bg, out=out),
           lambda: dict(fg=f32(4, 6), bg=f32(4, 6), out=f32(4, 6)), flat=frozenset({"fg", "bg"}),
           written=frozenset({"out"})),
    Kernel("temporal_ema", lambda current, state: _core.temporal_ema(current, state, 0.5),
           lambda: dict(current=f32(4, 6), state=f32(4, 6)), flat=frozenset({"current", "state"}),
           written=frozenset({"state"})),
    Kernel("smoothstep", lambda x, out: _core.smoothstep(x, 0.2, 0.8, out=out),
           lambda: dict(x=f32(4, 6), out=f32(4, 6)), flat=frozenset({"x"}), written=frozenset({"out"})),
    Kernel("feather", lambda mask, out: _core.feather(mask, 2, out=out),
           lambda: dict(mask=f32(4, 6), out=f32(4, 6)), written=frozenset({"out"})),
    Kernel("upsample_mask", lambda mask, out: _core.upsample_mask(mask, out),
           lambda: dict(mask=f32(2, 3), out=u8(4, 6)), written=frozenset({"out"})),
    Kernel("upsample_logits", lambda logits, out: _core.upsample_logits(logits, out),
           lambda: dict(logits=f32(2, 3), out=u8(4, 6)), written=frozenset({"out"})),
    Kernel("refine_mask", lambda mask, frame, out: _core.refine_mask(mask, frame, out=out),
           lambda: dict(mask=f32(2, 3), frame=u8(4, 6, 3), out=u8(4, 6)), written=frozenset({"out"})),
    Kernel("composite_blur", lambda frame, alpha, out: _core.composite_blur(frame, alpha, out=out),
           lambda: dict(frame=u8(4, 6, 3), alpha=u8(4, 6), out=u8(4, 6, 3)), written=frozenset({"out"})),
    Kernel("composite_image",
           lambda frame, alpha, background, out: _core.composite_image(frame, alpha, background, out=out),
           lambda: dict(frame=u8(4, 6, 3), alpha=u8(4, 6), background=u8(4, 6, 3), out=u8(4, 6, 3)),
           written=frozenset({"out"})),
    Kernel("composite_color", lambda frame, alpha, out: _core.composite_color(frame, alpha, (1, 2, 3), out=out),
           lambda: dict(frame=u8(4, 6, 3), alpha=u8(4, 6), out=u8(4, 6, 3)), written=frozenset({"out"})),
    Kernel("composite_rgba", lambda frame, alpha, out: _core.composite_rgba(frame, alpha, out=out),
           lambda: dict(frame=u8(4, 6, 3), alpha=u8(4, 6), out=u8(4, 6, 4)), written=frozenset({"out"})),
    Kernel("harmonize", lambda frame, alpha, background, out: _core.harmonize(frame, alpha, background, out=out),
           lambda: dict(frame=u8(4, 6, 3), alpha=u8(4, 6), background=u8(4, 6, 3), out=u8(4, 6, 3)),
           written=frozenset({"out"})),
    Kernel("pack_mask8", lambda mask, out: _core.pack_mask(mask, bits=8, out=out),
           lambda: dict(mask=u8(4, 6), out=u8(4, 1)), written=frozenset({"out"})),
    Kernel("pack_mask16", lambda mask, out: _core.pack_mask(mask, bits=16, out=out),
           lambda: dict(mask=u8(4, 20), out=u16(4, 2)), written=frozenset({"out"})),
    Kernel("unpack_mask8", lambda packed, out: _core.unpack_mask(packed, 6, out=out),
           lambda: dict(packed=u8(4, 1), out=u8(4, 6)), written=frozenset({"out"})),
    Kernel("unpack_mask16", lambda packed, out: _core.unpack_mask(packed, 20, out=out),
           lambda: dict(packed=u16(4, 2), out=u8(4, 20)), written=frozenset({"out"})),
]

WRONG_DTYPE = {np.dtype(np.uint8): np.float32, np.dtype(np.uint16): np.float32, np.dtype(np.float32): np.float64}


def read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.setflags(write=False)
    return a


def strided(a: np.ndarray) -> np.ndarray:
    """Same shape and dtype, every other row of a taller array: not C-contiguous."""
    axis = next(i for i, n in enumerate(a.shape) if n > 1)  # numpy ignores strides of size-1 axes
    return np.repeat(a, 2, axis=axis)[(slice(None),) * axis + (slice(None, None, 2),)]


def with_side(a: np.ndarray, axis: int, size: int) -> np.ndarray:
    shape = list(a.shape)
    shape[axis] = size
    return np.zeros(shape, a.dtype)


@dataclass(frozen=True)
class Spoiler:
    spoil: Callable[[np.ndarray], np.ndarray]  # a valid array -> a bad one
    error: type[Exception]
    reason: str  # regex the message must also match: the check that fired is the right one
    for_flat: bool = True  # applies to arguments of any shape
    only_written: bool = False  # applies only to arrays written in place


SPOILERS = {
    "wrong-dtype": Spoiler(lambda a: a.astype(WRONG_DTYPE[a.dtype]), TypeError, "uint8|uint16|float32"),
    "strided": Spoiler(strided, ValueError, "contiguous"),
    "empty": Spoiler(lambda a: with_side(a, 0, 0), ValueError, "empty"),
    "too-large": Spoiler(lambda a: with_side(a, min(1, a.ndim - 1), MAX_SIDE + 1), ValueError, "too large|16384"),
    "extra-dim": Spoiler(lambda a: a[..., None], ValueError, "shape|must be", for_flat=False),
    "missing-dim": Spoiler(lambda a: a[..., 0], ValueError, "shape|must be", for_flat=False),
    "read-only": Spoiler(read_only, ValueError, "writeable|read-only", only_written=True),
}


def bad_argument_cases():
    for kernel in KERNELS:
        for arg in kernel.arrays():
            for kind, spoiler in SPOILERS.items():
                if (arg in kernel.flat and not spoiler.for_flat) or (spoiler.only_written and arg not in kernel.written):
                    continue
                yield pytest.param(kernel, arg, kind, id=f"{kernel.name}-{arg}-{kind}")


def assert_names(excinfo: pytest.ExceptionInfo, name: str) -> None:
    message = str(excinfo.value)
    assert re.search(rf"\b{re.escape(name)}\b", message), f"message does not name {name!r}: {message!r}"


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
def test_valid_arguments_are_accepted(kernel):
    """The baseline every bad variant spoils: without it the checks below could pass vacuously."""
    kernel.call(**kernel.arrays())


@pytest.mark.parametrize(("kernel", "arg", "kind"), list(bad_argument_cases()))
def test_bad_array_argument_is_refused_by_name(kernel, arg, kind):
    spoiler = SPOILERS[kind]
    arrays = kernel.arrays()
    arrays[arg] = spoiler.spoil(arrays[arg])
    with pytest.raises(spoiler.error, match=spoiler.reason) as excinfo:
        kernel.call(**arrays)
    assert_names(excinfo, arg)


def test_column_strided_frame_is_refused():
    frame = np.zeros((4, 12, 3), np.uint8)[:, ::2]
    with pytest.raises(ValueError, match=r"\bframe\b.*contiguous"):
        _core.composite_blur(frame, u8(4, 6))


# --- arguments that are fine alone but not together, and bad parameter values -----------------

F, A = u8(4, 6, 3), u8(4, 6)

MISMATCHES = [
    ("alpha-size", lambda: _core.composite_blur(F, u8(4, 5)), "alpha"),
    ("alpha-channels", lambda: _core.composite_image(F, u8(4, 6, 3), F), "alpha"),
    ("frame-channels", lambda: _core.composite_color(u8(4, 6, 4), A, (0, 0, 0)), "frame"),
    ("background-size", lambda: _core.composite_image(F, A, u8(4, 7, 3)), "background"),
    ("blur-out-size", lambda: _core.composite_blur(F, A, out=u8(4, 5, 3)), "out"),
    ("rgba-out-channels", lambda: _core.composite_rgba(F, A, out=u8(4, 6, 3)), "out"),
    ("harmonize-alpha-size", lambda: _core.harmonize(F, u8(3, 6), F), "alpha"),
    ("softmax2-bg-size", lambda: _core.softmax2(f32(4, 6), f32(4, 5)), "bg"),
    ("sigmoid-out-shape", lambda: _core.sigmoid(f32(4, 6), out=f32(6, 4)), "out"),
    ("ema-state-size", lambda: _core.temporal_ema(f32(4, 6), f32(4, 5), 0.5), "state"),
    ("feather-out-size", lambda: _core.feather(f32(4, 6), 1, out=f32(4, 7)), "out"),
    ("refine-out-size", lambda: _core.refine_mask(f32(2, 3), F, out=u8(4, 5)), "out"),
    ("resize-out-channels", lambda: _core.resize_image(F, u8(2, 3, 4)), "out"),
    ("preprocess-out-channels", lambda: _core.preprocess(F, f32(5, 2, 3)), "out"),
    ("preprocess-out-batch", lambda: _core.preprocess(F, f32(2, 3, 2, 3)), "out"),
    ("preprocess-nhwc-out-channels", lambda: _core.preprocess(F, f32(2, 3, 2), layout="nhwc"), "out"),
    ("prev-mask-missing", lambda: _core.preprocess(F, f32(4, 2, 3)), "prev_mask"),
    ("prev-mask-unwanted", lambda: _core.preprocess(F, f32(3, 2, 3), prev_mask=f32(2, 3)), "prev_mask"),
    ("prev-mask-size", lambda: _core.preprocess(F, f32(4, 2, 3), prev_mask=f32(3, 2)), "prev_mask"),
    ("pack-out-words", lambda: _core.pack_mask(A, bits=8, out=u8(4, 2)), "out"),
    ("unpack-width-vs-words", lambda: _core.unpack_mask(u8(4, 1), 20), "width"),
    ("unpack-out-size", lambda: _core.unpack_mask(u8(4, 1), 6, out=u8(4, 7)), "out"),
]

BAD_PARAMETERS = [
    ("blur-strength-negative", lambda: _core.composite_blur(F, A, strength=-0.1), "strength"),
    ("blur-strength-above-one", lambda: _core.composite_blur(F, A, strength=1.5), "strength"),
    ("blur-strength-nan", lambda: _core.composite_blur(F, A, strength=float("nan")), "strength"),
    ("ema-strength", lambda: _core.temporal_ema(f32(4, 6), f32(4, 6), 1.01), "strength"),
    ("ema-strength-negative", lambda: _core.temporal_ema(f32(4, 6), f32(4, 6), -0.5), "strength"),
    ("harmonize-amount", lambda: _core.harmonize(F, A, F, amount=2.0), "amount"),
    ("pack-bits-9", lambda: _core.pack_mask(A, bits=9), "bits"),
    ("pack-bits-32", lambda: _core.pack_mask(A, bits=32), "bits"),
    ("pack-threshold-0", lambda: _core.pack_mask(A, threshold=0), "threshold"),
    ("pack-threshold-256", lambda: _core.pack_mask(A, threshold=256), "threshold"),
    ("unpack-width-0", lambda: _core.unpack_mask(u8(4, 1), 0), "width"),
    ("std-zero", lambda: _core.preprocess(F, f32(3, 2, 3), std=(1.0, 0.0, 1.0)), "std"),
    ("std-negative", lambda: _core.preprocess(F, f32(3, 2, 3), std=(-1.0, 1.0, 1.0)), "std"),
    ("std-nan", lambda: _core.preprocess(F, f32(3, 2, 3), std=(1.0, 1.0, float("nan"))), "std"),
    ("layout-unknown", lambda: _core.preprocess(F, f32(3, 2, 3), layout="chw"), "layout"),
    ("feather-radius", lambda: _core.feather(f32(4, 6), -1), "radius"),
    ("refine-radius", lambda: _core.refine_mask(f32(2, 3), F, radius=0), "radius"),
    ("refine-eps-zero", lambda: _core.refine_mask(f32(2, 3), F, eps=0.0), "eps"),
    ("refine-eps-nan", lambda: _core.refine_mask(f32(2, 3), F, eps=float("nan")), "eps"),
    ("color-component", lambda: _core.composite_color(F, A, (0, 256, 0)), "color"),
    ("color-negative", lambda: _core.composite_color(F, A, (-1, 0, 0)), "color"),
]


@pytest.mark.parametrize(("call", "name"), [pytest.param(c, n, id=i) for i, c, n in MISMATCHES + BAD_PARAMETERS])
def test_bad_combination_or_parameter_is_refused_by_name(call, name):
    with pytest.raises(ValueError) as excinfo:
        call()
    assert_names(excinfo, name)


def test_unpickled_arrays_are_accepted():
    """An array that went through pickle (multiprocessing, caches) has an equal dtype object
    that is not numpy's canonical one; it must be accepted, and a byte-swapped one refused."""
    import pickle

    frame = pickle.loads(pickle.dumps(np.full((4, 6, 3), 200, np.uint8)))
    alpha = pickle.loads(pickle.dumps(np.full((4, 6), 255, np.uint8)))
    np.testing.assert_array_equal(_core.composite_color(frame, alpha, (0, 0, 0)), frame)
    mask = pickle.loads(pickle.dumps(np.zeros((4, 6), np.float32)))
    assert _core.sigmoid(mask)[0, 0] == 0.5
    with pytest.raises(TypeError, match="float32"):
        _core.sigmoid(mask.astype(">f4"))
