"""Backends that seed a seed for the second time copy the state back: it must be exactly the seeded state."""

from __future__ import annotations

import random

import numpy as np
import pytest

from repro.kernel.backends import SEEDED_STATES_KEPT, SeededStates, memory_view, read_memory
from repro.kernel.backends.numpy import NumpyBackend
from repro.kernel.backends.python_random import PythonRandomBackend


def _torch():
    torch = pytest.importorskip("torch")
    from repro.kernel.backends.torch import TorchBackend

    return torch, TorchBackend()


def test_python_random_seeded_again_is_random_seed():
    backend = PythonRandomBackend()
    for seed in (5, 6, 5, 2**32 - 1, 5):
        random.random(), random.gauss(0, 1)  # a gauss value is pending now
        returned = backend.seed(seed)
        assert returned == backend.state()  # what seed() returns is the state, read or not
        drawn = [random.random(), random.gauss(0, 1), random.getrandbits(70)]
        reference = random.Random(seed)
        assert drawn == [reference.random(), reference.gauss(0, 1), reference.getrandbits(70)]
        backend.seed(seed)
        assert random.getstate() == random.Random(seed).getstate()


def test_numpy_seeded_again_returns_its_state():
    backend = NumpyBackend()
    for seed in (5, 6, 5):
        np.random.standard_normal(3)  # a Gaussian is pending in the legacy generator
        assert backend.seed(seed) == backend.state()
        drawn = np.random.standard_normal(3)
        assert drawn.tolist() == np.random.RandomState(seed).standard_normal(3).tolist()


def test_torch_seeded_again_is_manual_seed():
    torch, backend = _torch()
    for seed in (5, 6, 5, 5):
        torch.randn(5)
        returned = backend.seed(seed)
        assert returned == backend.state()
        assert torch.initial_seed() == seed
        drawn = (torch.randn(7), torch.rand(3))
        torch.manual_seed(seed)
        assert torch.equal(drawn[0], torch.randn(7)) and torch.equal(drawn[1], torch.rand(3))


def test_seeded_states_are_bounded():
    states = SeededStates()
    for seed in range(3 * SEEDED_STATES_KEPT + 3):
        states.keep(seed, seed)
        assert len(states) <= SEEDED_STATES_KEPT and states[seed] == seed


def test_a_memory_view_reads_and_writes_what_read_memory_sees():
    buffer = bytearray(b"0123456789")
    import ctypes

    address = ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))
    view = memory_view(buffer, address + 2, 4)
    assert view.read() == b"2345" == read_memory(address + 2, 4)
    view.write(b"abcd")
    assert bytes(buffer) == b"01abcd6789" and view.owner is buffer
