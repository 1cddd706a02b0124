"""Bit-packing of binary masks: 8 or 16 pixels per word, LSB first, rows padded to whole words.

Integer outputs: every ISA must equal numpy's packbits(bitorder="little") exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ODD_WIDTHS, assert_bit_exact, random_alpha
from fastseg import _core

MASK_SIZES = [(1, 1), (2, 3), (144, 256), (720, 1280)] + [(3, w) for w in ODD_WIDTHS]


def numpy_pack(mask: np.ndarray, bits: int, threshold: int) -> np.ndarray:
    packed = np.packbits(mask >= threshold, axis=1, bitorder="little")
    if bits == 8:
        return packed
    if packed.shape[1] % 2:  # pad each row to whole 16-bit words
        packed = np.pad(packed, ((0, 0), (0, 1)))
    return np.ascontiguousarray(packed).view("<u2").astype(np.uint16)


@pytest.mark.parametrize("size", MASK_SIZES, ids=str)
@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("threshold", [1, 128, 255])
def test_pack_mask_matches_numpy_packbits(isa, rng, size, bits, threshold):
    mask = random_alpha(rng, *size)
    mask.flat[::5] = threshold  # exactly at the threshold: set
    packed = _core.pack_mask(mask, bits=bits, threshold=threshold)
    assert packed.dtype == (np.uint8 if bits == 8 else np.uint16)
    assert packed.shape == (size[0], -(-size[1] // bits))
    assert_bit_exact(packed, numpy_pack(mask, bits, threshold))


@pytest.mark.parametrize("size", MASK_SIZES, ids=str)
@pytest.mark.parametrize("bits", [8, 16])
def test_unpack_inverts_pack(isa, rng, size, bits):
    mask = random_alpha(rng, *size)
    out = np.empty_like(mask)
    unpacked = _core.unpack_mask(_core.pack_mask(mask, bits=bits), size[1], out=out)
    assert unpacked is out
    assert_bit_exact(out, np.where(mask >= 128, 255, 0).astype(np.uint8))


@pytest.mark.parametrize("width", ODD_WIDTHS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_unpack_arbitrary_words_matches_numpy(isa, rng, width, dtype):
    """Every word pattern, including set padding bits past the width (which must be ignored)."""
    words = rng.integers(0, np.iinfo(dtype).max + 1, (4, -(-width // (8 * np.dtype(dtype).itemsize))), dtype=dtype)
    bits = np.unpackbits(words.astype(f"<u{np.dtype(dtype).itemsize}").view(np.uint8), axis=1, bitorder="little")
    assert_bit_exact(_core.unpack_mask(words, width), (bits[:, :width] * 255).astype(np.uint8))


def test_pack_4k(isa, rng):
    mask = random_alpha(rng, 2160, 3840)
    for bits in (8, 16):
        packed = _core.pack_mask(mask, bits=bits)
        assert_bit_exact(packed, numpy_pack(mask, bits, 128))
        assert_bit_exact(_core.unpack_mask(packed, 3840), np.where(mask >= 128, 255, 0).astype(np.uint8))


def test_pack_into_given_out_clears_padding(isa, rng):
    mask = random_alpha(rng, 3, 17)
    out = np.full((3, 2), 0xFFFF, np.uint16)  # stale bits in the padding must be cleared
    assert _core.pack_mask(mask, bits=16, out=out) is out
    assert_bit_exact(out, numpy_pack(mask, 16, 128))
