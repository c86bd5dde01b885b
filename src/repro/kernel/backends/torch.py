"""PyTorch: the CPU generator and every CUDA or MPS device already initialized.

``torch.manual_seed`` also records a stack trace to seed CUDA lazily, which
costs hundreds of microseconds per call; this backend seeds the CPU generator
directly and touches CUDA only when it is initialized, so it never
initializes CUDA itself.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress

from repro.kernel.backends import (
    Backend,
    DeterministicOptions,
    Restore,
    SeededStates,
    read_memory,
    run_all,
)

# cuBLAS needs a fixed workspace to be deterministic from CUDA 10.2 on.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


_MACOS = sys.platform == "darwin"


def _device_generators(torch) -> list:
    """Generators of the accelerators torch has initialized (never initializes one)."""
    generators = []
    if torch.cuda.is_initialized():
        generators.extend(torch.cuda.default_generators)
    if _MACOS and torch.backends.mps.is_available():
        from torch.mps import _get_default_mps_generator

        generators.append(_get_default_mps_generator())
    return generators


def _generator_state(generator) -> bytes:
    state = generator.get_state()  # a uint8 tensor on the CPU
    return read_memory(state.data_ptr(), state.nbytes)


class TorchBackend(Backend):
    name = "torch"
    module = "torch"

    def __init__(self) -> None:
        # seed -> (the CPU generator's state tensor right after seeding, its bytes)
        self._seeded = SeededStates()

    def seed(self, seed: int) -> bytes | None:
        torch = sys.modules["torch"]
        cpu = torch.default_generator
        known = self._seeded.get(seed)
        if known is not None:
            cpu.set_state(known[0])  # the same state, seed included, in a fifth of the time
        else:
            cpu.manual_seed(seed)
            state = cpu.get_state()
            known = state, read_memory(state.data_ptr(), state.nbytes)
            self._seeded.keep(seed, known)
        devices = _device_generators(torch)
        for generator in devices:
            generator.manual_seed(seed)
        # With devices the state is more than the CPU's: repro reads it.
        return None if devices else known[1]

    def state(self) -> bytes:
        torch = sys.modules["torch"]
        state = _generator_state(torch.default_generator)
        for generator in _device_generators(torch):
            state += _generator_state(generator)
        return state

    def deterministic(self, options: DeterministicOptions) -> Restore:
        """All or nothing: a setting that cannot be made undoes the ones made before it."""
        torch = self.loaded()
        cudnn = torch.backends.cudnn
        enabled = torch.are_deterministic_algorithms_enabled()
        warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        cudnn_deterministic, cudnn_benchmark = cudnn.deterministic, cudnn.benchmark
        threads = torch.get_num_threads()
        set_workspace = bool(torch.version.cuda) and "CUBLAS_WORKSPACE_CONFIG" not in os.environ

        def restore() -> None:
            run_all(
                lambda: torch.use_deterministic_algorithms(enabled, warn_only=warn_only),
                lambda: setattr(cudnn, "deterministic", cudnn_deterministic),
                lambda: setattr(cudnn, "benchmark", cudnn_benchmark),
                lambda: torch.set_num_threads(threads),
                lambda: os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None) if set_workspace else None,
            )

        try:
            if set_workspace:
                os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE_CONFIG
            torch.use_deterministic_algorithms(True, warn_only=options.warn_only)
            cudnn.deterministic = True
            cudnn.benchmark = False
            if options.threads:
                torch.set_num_threads(options.threads)
        except BaseException:
            with suppress(Exception):  # what is raised is the first failure, not a later one
                restore()
            raise
        return restore
