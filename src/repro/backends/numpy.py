"""NumPy: the legacy global generator behind ``np.random.*`` functions."""

from __future__ import annotations

import sys
from typing import Callable

from repro.backends import Backend, Restore, read_memory

# numpy's mt19937_state struct: uint32_t key[624]; int pos.
_MT19937_STATE_SIZE = 624 * 4 + 4


class NumpyBackend(Backend):
    name = "numpy"
    module = "numpy.random"

    def seed(self, seed: int) -> None:
        sys.modules["numpy.random"].seed(seed)

    def state(self) -> bytes:
        bit_generator = sys.modules["numpy.random"].mtrand._rand._bit_generator
        if type(bit_generator).__name__ == "MT19937":
            # Reading the state struct through the documented ctypes interface
            # costs under 1 µs; get_state() copies it into new objects (~40 µs).
            return read_memory(bit_generator.ctypes.state_address, _MT19937_STATE_SIZE)
        return repr(bit_generator.state).encode()

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
