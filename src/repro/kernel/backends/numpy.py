"""NumPy: the legacy global generator behind ``np.random.*`` functions."""

from __future__ import annotations

import ctypes
import struct
import sys
from typing import Callable

from repro.kernel.backends import Backend, MemoryView, Restore, SeededStates, memory_view

# numpy's mt19937_state struct: uint32_t key[624]; int pos. Every draw moves
# pos, and every regeneration of key (each 624 draws) changes its first words,
# so pos and key[0:16] fingerprint the stream position: 68 bytes read instead
# of 2,500, which matters after a cell has pushed the state out of the cache.
_FINGERPRINT_WORDS = 16
_POS_OFFSET = 624 * 4
_STATE_SIZE = _POS_OFFSET + 4


class NumpyBackend(Backend):
    name = "numpy"
    module = "numpy.random"
    unseeded_at_import = True
    seed_functions = ("seed",)

    def __init__(self) -> None:
        self._seeded = SeededStates()  # seed -> state() right after seeding
        self._views: tuple[MemoryView, MemoryView] | None = None  # key[0:16] and pos of one MT19937
        self._gauss_at: int | None | bool = False  # where RandomState keeps its cached normal; False: not looked for

    def seed(self, seed: int) -> bytes:
        sys.modules["numpy.random"].seed(seed)
        # The legacy seeding fills the whole state from the seed alone.
        known = self._seeded.get(seed)
        if known is None:
            known = self.state()
            if self._seeded.worth_keeping(seed):
                self._seeded.keep(seed, known)
        return known

    def seed_once(self, seed: int) -> None:
        sys.modules["numpy.random"].seed(seed)

    def state(self) -> bytes:
        bit_generator = sys.modules["numpy.random"].mtrand._rand._bit_generator
        views = self._views
        if views is None or views[0].owner is not bit_generator:
            if type(bit_generator).__name__ != "MT19937":
                return repr(bit_generator.state).encode()
            # Found through the documented ctypes interface; reading it costs a
            # fraction of a microsecond, where get_state() copies the state into
            # new objects (~40 µs).
            address = bit_generator.ctypes.state_address
            views = self._views = (
                memory_view(bit_generator, address, 4 * _FINGERPRINT_WORDS),
                memory_view(bit_generator, address + _POS_OFFSET, 4),
            )
        return views[0].read() + views[1].read()

    def patch(self, entropy: Callable[[int], int]) -> Restore:
        # Every generator numpy creates without a seed (default_rng(),
        # RandomState(), PCG64(), SeedSequence()) gets its entropy from this one
        # function, looked up at call time.
        bit_generator_module = sys.modules["numpy.random.bit_generator"]
        original = bit_generator_module.randbits

        def randbits(bits: int) -> int:
            return entropy(bits)

        bit_generator_module.randbits = randbits

        def restore() -> None:
            if bit_generator_module.randbits is randbits:
                bit_generator_module.randbits = original

        return restore

    def snapshot(self) -> Restore:
        """The legacy generator's whole state (the MT19937 words, its position and the cached
        normal of ``randn``), copied in and out of memory where its layout is the one known."""
        rand = sys.modules["numpy.random"].mtrand._rand
        bit_generator = rand._bit_generator
        if self._gauss_at is False:
            self._gauss_at = _gauss_offset(type(rand)) if type(bit_generator).__name__ == "MT19937" else None
        if self._gauss_at is None or type(bit_generator).__name__ != "MT19937":
            state = rand.get_state()
            return lambda: rand.set_state(state)
        words = memory_view(bit_generator, bit_generator.ctypes.state_address, _STATE_SIZE)
        gauss = memory_view(rand, id(rand) + self._gauss_at, 16)
        saved = words.read(), gauss.read()

        def restore() -> None:
            if rand._bit_generator is bit_generator:
                words.write(saved[0])
                gauss.write(saved[1])

        return restore


def _gauss_offset(cls: type) -> int | None:
    """Where an object of this RandomState class keeps ``int has_gauss; double gauss``, found on a
    fresh one; None if it is not found as expected (get_state() is used then)."""
    probe = cls(sys.modules["numpy.random"].MT19937(0))  # RandomState(0) would draw entropy first
    name, key, pos = probe.get_state()[:3]
    marker = 0.6180339887498949
    probe.set_state((name, key, pos, 1, marker))
    raw = ctypes.string_at(id(probe), cls.__basicsize__)
    at = raw.find(struct.pack("=d", marker)) - 8
    if at < 0 or struct.unpack_from("=i", raw, at)[0] != 1:
        return None
    probe.set_state((name, key, pos, 0, 0.0))
    raw = ctypes.string_at(id(probe), cls.__basicsize__)
    return at if struct.unpack_from("=id", raw, at) == (0, 0.0) else None
