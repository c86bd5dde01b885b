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


@pytest.mark.parametrize("operation", [
    "pass",
    "torch.rand(1)",
    "torch.randn(1, dtype=torch.float64)",  # leaves a cached normal sample
    "torch.empty(1, dtype=torch.float64).normal_()",
    "torch.randn(20)",
    "torch.randint(0, 10, (3,))",
    "torch.manual_seed(7)",
    "torch.default_generator.set_state(other)",
    "torch.randperm(5)",
    "torch.rand(624)",  # a whole period of the position: the words change instead
    "torch.rand(1248, dtype=torch.float64)",
])
def test_torch_state_is_the_fingerprint_of_get_state_whatever_the_cell_did(operation):
    torch, backend = _torch()
    from repro.kernel.backends.torch import _fingerprint_of_state, _generator_state

    other = torch.Generator().manual_seed(99).get_state()
    for seed in (3, 3, 4):
        backend.seed(seed)
        start = backend.state()
        assert start == _fingerprint_of_state(_generator_state(torch.default_generator))
        exec(operation, {"torch": torch, "other": other})
        after = backend.state()
        assert after == _fingerprint_of_state(_generator_state(torch.default_generator))
        assert (after == start) == (operation == "pass")


def test_torch_state_changes_with_every_draw_and_only_then():
    torch, backend = _torch()
    backend.seed(11)
    seen = {backend.state()}
    for _ in range(700):  # past a regeneration of the words
        torch.rand(1)
        seen.add(backend.state())
    assert len(seen) == 701
    state = backend.state()
    torch.Generator().manual_seed(0).get_state()  # another generator: not this one's state
    assert backend.state() == state


def test_torch_state_leaves_out_padding_and_stale_samples():
    """Equal streams give equal states, whatever a generator held before its seeding: an empty
    cached sample keeps its old value in memory, which must not count."""
    torch, backend = _torch()
    torch.randn(1, dtype=torch.float64)  # a cached double sample, about to go stale
    torch.randn(1, dtype=torch.float32)
    backend.seed(21)
    stale = backend.state()
    torch.manual_seed(5)
    backend.seed(21)
    assert backend.state() == stale
    torch.randn(1, dtype=torch.float64)
    with_sample = backend.state()
    backend.seed(21)
    torch.randn(1, dtype=torch.float64)
    assert backend.state() == with_sample != stale


def test_torch_reads_its_engine_directly_where_the_layout_is_known():
    torch, backend = _torch()
    from repro.kernel.backends.torch import _fingerprint_of_state, _generator_state

    backend.seed(5)
    if backend._engine is None:
        pytest.skip("this torch build's CPU generator has another layout: state() uses get_state()")
    state = backend.state()
    assert len(state) < 200  # a fingerprint, not get_state()'s 5 kB
    assert state == _fingerprint_of_state(_generator_state(torch.default_generator))
    torch.rand(1)
    assert backend.state() != state


def test_a_seed_is_kept_from_its_second_seeding_on():
    states = SeededStates()
    assert not states.worth_keeping(3)
    assert states.worth_keeping(3) and states.worth_keeping(3)
    assert not states.worth_keeping(4)
    backend = PythonRandomBackend()
    backend.seed(123456)
    assert 123456 not in backend._seeded
    backend.seed(123456)
    assert 123456 in backend._seeded
