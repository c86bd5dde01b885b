"""PyTorch: the CPU generator and every CUDA or MPS device already initialized.

``torch.manual_seed`` also records a stack trace to seed CUDA lazily, which
costs hundreds of microseconds per call; this backend seeds the CPU generator
directly and touches CUDA only when it is initialized, so it never
initializes CUDA itself.
"""

from __future__ import annotations

import os
import sys

from repro.kernel.backends import Backend, DeterministicOptions, Restore, read_memory

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

    def seed(self, seed: int) -> None:
        torch = sys.modules["torch"]
        torch.default_generator.manual_seed(seed)
        for generator in _device_generators(torch):
            generator.manual_seed(seed)

    def state(self) -> bytes:
        torch = sys.modules["torch"]
        state = _generator_state(torch.default_generator)
        for generator in _device_generators(torch):
            state += _generator_state(generator)
        return state

    def deterministic(self, options: DeterministicOptions) -> Restore:
        torch = self.loaded()
        cudnn = torch.backends.cudnn
        before = (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            cudnn.deterministic,
            cudnn.benchmark,
            torch.get_num_threads(),
        )
        had_workspace = "CUBLAS_WORKSPACE_CONFIG" in os.environ
        if torch.version.cuda and not had_workspace:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE_CONFIG
        torch.use_deterministic_algorithms(True, warn_only=options.warn_only)
        cudnn.deterministic = True
        cudnn.benchmark = False
        if options.threads:
            torch.set_num_threads(options.threads)

        def restore() -> None:
            enabled, warn_only, cudnn_deterministic, cudnn_benchmark, threads = before
            torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
            cudnn.deterministic = cudnn_deterministic
            cudnn.benchmark = cudnn_benchmark
            torch.set_num_threads(threads)
            if torch.version.cuda and not had_workspace:
                os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)

        return restore
