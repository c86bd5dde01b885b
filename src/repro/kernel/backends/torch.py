"""PyTorch: the CPU generator and every CUDA or MPS device already initialized.

``torch.manual_seed`` also records a stack trace to seed CUDA lazily, which
costs hundreds of microseconds per call; this backend seeds the CPU generator
directly and touches CUDA only when it is initialized, so it never
initializes CUDA itself.
"""

from __future__ import annotations

import array
import os
import struct
import sys
from contextlib import suppress

from repro.kernel.backends import (
    Backend,
    DeterministicOptions,
    MemoryView,
    Restore,
    memory_view,
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


# What get_state() serializes (5 kB) lives in the CPU generator's C++ object: the mt19937
# data (seed_ u64, left_ i32, seeded_ bool, next_ u32, state_ u32[624]) and the cached
# normal samples (optional<float>, optional<double>). As for NumPy's generator, the
# position (left_, next_), the first 16 words (each regeneration of the words changes
# them), the seed and the cached samples fingerprint the stream: state() is those fields,
# read from the object where its layout is the one known (no 5 kB tensor after every
# cell), else taken out of get_state()'s bytes: the same bytes either way.
_STATE_SIZE = 5056  # get_state()'s size, legacy layout: another one is not read directly
_ENGINE_SIZE = 2544
_HEAD_SIZE = 20 + 16 * 4  # seed_, left_, seeded_, next_ and state_[0:16]
_FLOAT_SAMPLE, _DOUBLE_SAMPLE = 2520, 2528  # offsets of the cached normals in the engine bytes
_DOUBLE_AT = _DOUBLE_SAMPLE - _FLOAT_SAMPLE  # the double's, from the float's


def _engine_views(generator) -> tuple[MemoryView, MemoryView] | None:
    """Views of a CPU generator's fingerprint (head, cached normals), or None where the layout is another."""
    torch = sys.modules["torch"]
    probe = torch.Generator()  # a private generator with a cached double sample, to find and check the layout
    probe.manual_seed(0)
    torch.empty(1, dtype=torch.float64).normal_(generator=probe)
    offset = _engine_offset(probe)
    if offset is None or _engine_offset(generator, offset) != offset:
        return None
    address = generator._cdata + offset
    return (memory_view(generator, address, _HEAD_SIZE),
            memory_view(generator, address + _FLOAT_SAMPLE, _ENGINE_SIZE - _FLOAT_SAMPLE))


def _engine_offset(generator, at: int | None = None) -> int | None:
    """Where *generator*'s engine bytes start in its C++ object: where they give the fingerprint
    of its get_state() and hold all of its words."""
    state = _generator_state(generator)
    if len(state) != _STATE_SIZE:
        return None
    expected = _fingerprint_of_state(state)
    head = expected[:_HEAD_SIZE - 3]
    address = generator._cdata
    candidates = range(0, 160, 8) if at is None else (at,)
    no_samples = bytes(_ENGINE_SIZE - _FLOAT_SAMPLE)
    offset = next((o for o in candidates if _fingerprint(read_memory(address + o, _HEAD_SIZE), no_samples)[:len(head)]
                   == head), None)
    if offset is None:
        return None
    engine = read_memory(address + offset, _ENGINE_SIZE)
    words = array.array("I", array.array("Q", state[24:24 + 624 * 8])).tobytes()
    fits = _fingerprint(engine[:_HEAD_SIZE], engine[_FLOAT_SAMPLE:]) == expected and engine[20:20 + 624 * 4] == words
    return offset if fits else None


def _fingerprint(head: bytes, samples: bytes) -> bytes:
    """The stream's fingerprint from the engine's bytes: *head* (``_HEAD_SIZE`` bytes) and
    *samples* (the cached normals). The 3 bytes of padding after seeded_ and the stale value
    of an empty sample are left out."""
    return (head[:13] + head[16:] + (samples[:5] if samples[4] else b"\0")
            + (samples[_DOUBLE_AT:_DOUBLE_AT + 9] if samples[_DOUBLE_AT + 8] else b"\0"))


def _fingerprint_of_state(state: bytes) -> bytes:
    """The same fingerprint, out of get_state()'s bytes (another layout: the bytes themselves)."""
    if len(state) != _STATE_SIZE:
        return state
    seed, left, seeded, next_ = struct.unpack_from("=QiiQ", state, 0)
    words = array.array("I", array.array("Q", state[24:24 + 16 * 8])).tobytes()
    normal_valid, = struct.unpack_from("=i", state, 5040)
    float_sample = state[5048:5052] + b"\1" if state[5052] else b"\0"
    double_sample = state[5024:5032] + b"\1" if normal_valid else b"\0"
    return (struct.pack("=Qi?I", seed, left, bool(seeded), next_ & 0xFFFFFFFF) + words
            + float_sample + double_sample)


#: The seed older torch releases give their default generator at import.
_FIXED_IMPORT_SEED = 67280421310721


class TorchBackend(Backend):
    name = "torch"
    module = "torch"
    seed_functions = ("manual_seed", "seed", "random.manual_seed", "random.seed")

    @property
    def unseeded_at_import(self) -> bool:
        """Recent torch releases seed the default generator from entropy at import (a 64-bit
        seed), older ones with a fixed seed."""
        seed = sys.modules["torch"].initial_seed()
        return seed >= 2**32 and seed != _FIXED_IMPORT_SEED

    def __init__(self) -> None:
        self._device_seed: int | None = None  # what a device initialized later in the cell starts from
        self._lazy_hooked = False
        self._engine: tuple[MemoryView, MemoryView] | None | bool = False  # False: not looked for yet

    def seed(self, seed: int) -> bytes | None:
        torch = sys.modules["torch"]
        cpu = torch.default_generator
        cpu.manual_seed(seed)
        devices = self._seed_devices(torch, seed)
        # With devices the state is more than the CPU's: repro reads it.
        return None if devices else self._cpu_state(cpu)

    def seed_once(self, seed: int) -> None:
        torch = sys.modules["torch"]
        torch.default_generator.manual_seed(seed)
        self._seed_devices(torch, seed)

    def unseeded(self) -> None:
        """Seeding is off: a device initialized from now on keeps torch's own seed."""
        self._device_seed = None

    def _seed_devices(self, torch, seed: int) -> list:
        """Seed every initialized device; one initialized later in the cell starts from *seed* too.

        As ``torch.manual_seed`` does, without its per-call stack trace: CUDA runs the
        hook queued here once, when it initializes, and the hook reads the seed in force then.
        """
        self._device_seed = seed
        devices = _device_generators(torch)
        for generator in devices:
            generator.manual_seed(seed)
        if not devices and not self._lazy_hooked:
            self._lazy_hooked = True
            with suppress(Exception):  # a torch without the queue: devices keep torch's own seed
                torch.cuda._lazy_call(self._seed_new_devices)
        return devices

    def _seed_new_devices(self) -> None:
        seed = self._device_seed
        if seed is not None:
            for generator in sys.modules["torch"].cuda.default_generators:
                generator.manual_seed(seed)

    def state(self) -> bytes:
        torch = sys.modules["torch"]
        state = self._cpu_state(torch.default_generator)
        for generator in _device_generators(torch):
            state += _generator_state(generator)
        return state

    def _cpu_state(self, cpu) -> bytes:
        """The CPU generator's fingerprint: read from its engine where the layout is known."""
        engine = self._engine_of(cpu)
        if engine is None:
            return _fingerprint_of_state(_generator_state(cpu))
        return _fingerprint(engine[0].read(), engine[1].read())

    def snapshot(self) -> Restore:
        """The CPU generator's state and every initialised device's."""
        torch = sys.modules["torch"]
        saved = [(generator, generator.get_state())
                 for generator in (torch.default_generator, *_device_generators(torch))]

        def restore() -> None:
            for generator, state in saved:
                generator.set_state(state)

        return restore

    def _engine_of(self, cpu) -> tuple[MemoryView, MemoryView] | None:
        if self._engine is False:
            try:
                self._engine = _engine_views(cpu)
            except (AttributeError, TypeError, ValueError, RuntimeError, struct.error):
                self._engine = None  # a torch without _cdata, or another serialization: get_state() it is
        engine = self._engine
        return engine if engine is not None and engine[0].owner is cpu else None

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
