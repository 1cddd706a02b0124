"""Instruction-set dispatch: listing, forcing and restoring."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ISAS, scalar_reference, using_isa
from fastseg import _core


def test_available_isas_start_with_scalar_and_default_to_the_best():
    assert ISAS[0] == "scalar"
    assert len(set(ISAS)) == len(ISAS)
    _core.set_isa("auto")
    assert _core.current_isa() == ISAS[-1]


def test_set_isa_switches_and_auto_restores(isa):
    assert _core.current_isa() == isa
    _core.set_isa("auto")
    assert _core.current_isa() == ISAS[-1]


def test_using_isa_restores_the_previous_choice():
    with using_isa("scalar"):
        assert _core.current_isa() == "scalar"
    assert _core.current_isa() == ISAS[-1]


@pytest.mark.parametrize("name", ["bogus", "", "AVX2 ", "avx512x"])
def test_set_isa_rejects_unknown_names(name):
    with pytest.raises(ValueError, match=f"ISA '{name}'"):
        _core.set_isa(name)
    assert _core.current_isa() == ISAS[-1]  # a failed call changes nothing


def test_forcing_an_isa_changes_the_code_that_runs(simd_isa):
    """The SIMD exp is a polynomial, libm's is not: some results must differ in the last bits.
    If they never do, set_isa is not switching kernels and the cross-ISA tests prove nothing."""
    x = np.random.default_rng(7).normal(0, 8, (250, 400)).astype(np.float32)
    assert not np.array_equal(_core.sigmoid(x), scalar_reference(_core.sigmoid, x))
