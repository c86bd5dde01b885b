"""CuPy: the random state of every device that has one.

CuPy creates a device's state on first use and seeds it from ``CUPY_SEED``
when that is set, so setting it here seeds states created later without
touching a device now. The state covers the seed of CuPy's own kernels
(``_rk_seed``), which advances with every draw; cuRAND's internal offset is not
readable, so draws made only through cuRAND show as consumed only through it.
"""

from __future__ import annotations

import os
import sys

from repro.kernel.backends import Backend


class CupyBackend(Backend):
    name = "cupy"
    module = "cupy.random"

    def _states(self) -> dict:
        generator = sys.modules.get("cupy.random._generator")
        return generator._random_states if generator is not None else {}

    def seed(self, seed: int) -> None:
        os.environ["CUPY_SEED"] = str(seed)
        for state in list(self._states().values()):
            state.seed(seed)

    def state(self) -> bytes:
        parts = [f"{device}:{state._rk_seed}" for device, state in sorted(self._states().items())]
        return ";".join(parts).encode()
