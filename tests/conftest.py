"""Shared fixtures and helpers for the kernel tests.

Every kernel is run on every instruction set this CPU has (`isa` fixture) and compared with
the scalar reference (`simd_isa` fixture + `on_isa`) and with an independent numpy/OpenCV
reference. Helpers live here so the test files import one definition of each.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from fastseg import _core

ISAS = _core.available_isas()
SIMD_ISAS = [name for name in ISAS if name != "scalar"]

# Widths around the SIMD block sizes (4, 8, 16, 32 lanes; 64 bytes) plus 1 and an HD + 1 width.
ODD_WIDTHS = [1, 7, 17, 63, 65, 127, 129, 1281]


@contextlib.contextmanager
def using_isa(name: str) -> Iterator[None]:
    """Force one instruction set for the block, then restore the one that was active."""
    previous = _core.current_isa()
    _core.set_isa(name)
    try:
        yield
    finally:
        _core.set_isa(previous)


def on_isa(name: str, kernel: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """kernel(*args, **kwargs) with `name` forced; array arguments are copied so in-place kernels stay comparable."""
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    kwargs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    with using_isa(name):
        return kernel(*args, **kwargs)


def scalar_reference(kernel: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return on_isa("scalar", kernel, *args, **kwargs)


@pytest.fixture(params=ISAS)
def isa(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every available instruction set in turn, process-wide; "auto" restored afterwards."""
    with using_isa(request.param):
        yield request.param


@pytest.fixture(params=SIMD_ISAS)
def simd_isa(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every non-scalar instruction set: the paths that must agree with the scalar reference."""
    with using_isa(request.param):
        yield request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


def random_frame(rng: np.random.Generator, height: int, width: int, channels: int = 3) -> np.ndarray:
    return rng.integers(0, 256, (height, width, channels), dtype=np.uint8)


def random_alpha(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """uint8 alpha with the special values 0 and 255 well represented, alone and in runs of up
    to 80 pixels (the SIMD composites take shortcuts on runs)."""
    alpha = rng.integers(0, 256, (height, width), dtype=np.uint8)
    pick = rng.integers(0, 5, (height, width), dtype=np.uint8)
    alpha[pick == 0] = 0
    alpha[pick == 1] = 255
    edges = np.cumsum(rng.integers(1, 80, width))
    edges = edges[edges < width]
    for lo, hi in zip(np.r_[0, edges], np.r_[edges, width]):
        kind = rng.integers(0, 3, height)  # per row: keep, all 0, all 255
        alpha[kind == 1, lo:hi] = 0
        alpha[kind == 2, lo:hi] = 255
    return alpha


def random_unit_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """float32 mask in [0, 1] with exact 0s and 1s, like a thresholded model output."""
    mask = rng.random((height, width), dtype=np.float32)
    mask[mask < 0.15] = 0.0
    mask[mask > 0.85] = 1.0
    return mask


def blend_reference(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """round((fg * a + bg * (255 - a)) / 255); alpha (H, W) broadcasts over channels.

    For an integer x, x / 255 is never k + 0.5, so round(x / 255) == (x + 127) // 255 exactly.
    """
    a = alpha.astype(np.uint16)[..., None]
    # fg * a + bg * (255 - a) + 127 <= 255 * 255 + 127 fits uint16.
    return ((fg * a + bg * (255 - a) + 127) // 255).astype(np.uint8)


def assert_bit_exact(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    if not np.array_equal(actual, expected):
        bad = np.argwhere(actual != expected)
        first = tuple(int(i) for i in bad[0])
        raise AssertionError(
            f"{len(bad)} of {actual.size} elements differ; first at {first}: "
            f"{actual[first]!r} != {expected[first]!r}"
        )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny brightness model of tiny_models (built with the onnx helper API), with its spec
    in its metadata: a whole pipeline without shared data."""
    pytest.importorskip("onnx")
    from tiny_models import build_model, tiny_spec

    return build_model(tmp_path_factory.mktemp("model") / "tiny.onnx", spec=tiny_spec())
