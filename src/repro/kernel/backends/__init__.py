"""Random backends: one small adapter per library that keeps a global generator.

A backend is any object with the attributes ``name`` and ``module`` and the
methods ``seed(seed)`` and ``state()`` of :class:`Backend`; ``patch(entropy)``,
``deterministic(options)``, ``seed_once(seed)`` and ``snapshot()`` are optional
(an object without them is treated as :class:`Backend`'s defaults: nothing to
patch, no deterministic mode, a state that cannot be put back). Backends are found through the ``repro.backends`` entry-point group; repro's
own register there too. A third-party package adds one with::

    [project.entry-points."repro.backends"]
    mylib = "mylib_repro:MyLibBackend"

The entry point may name a class (instantiated with no arguments) or an
instance. A backend module must import nothing heavy at module level: its
library is reached through ``sys.modules`` only once the user has imported it.
"""

from __future__ import annotations

import ctypes
import sys
import zlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Callable

from repro.kernel import guard, warn

ENTRY_POINT_GROUP = "repro.backends"

Restore = Callable[[], None]


def _nothing_to_restore() -> None:
    return None


#: The most threads ``%%deterministic --threads`` pins to: the same bound on every machine,
#: so that a notebook that runs on one runs on another. Past it torch overflows (or starts
#: thousands of threads).
MAX_THREADS = 4096


@dataclass(frozen=True)
class DeterministicOptions:
    """Settings of one ``%%deterministic`` cell, checked before they get here.

    ``threads`` is None or from 1 to :data:`MAX_THREADS`.
    """

    warn_only: bool = False
    threads: int | None = None


class Backend:
    """Base class and protocol of a random backend.

    ``name`` is how the backend appears in records and reports; ``module`` is
    the module whose presence in ``sys.modules`` means the library is loaded.
    """

    name: str = ""
    module: str = ""
    #: Whether the library seeds its global generator from the operating system's entropy
    #: when imported (its state then says nothing until something seeds it).
    unseeded_at_import: bool = False
    #: Functions of ``module`` (or of its submodules: ``"random.manual_seed"``) that seed the
    #: global generator: called with a seed, it is seeded; called with none (``seed()``), it
    #: takes fresh entropy again. Restoring a saved state changes neither.
    seed_functions: tuple[str, ...] = ()

    def loaded(self) -> ModuleType | None:
        """The library's module if the user has imported it, else None."""
        return sys.modules.get(self.module)

    def seed(self, seed: int) -> bytes | None:
        """Seed the library's global generator(s) with *seed* (0 <= seed < 2**32).

        May return what :meth:`state` would return right after, as bytes, when the
        backend knows it without reading (it seeded with *seed* before): repro then
        skips the read before the cell. Anything else (None) means "read it".
        """
        raise NotImplementedError

    def seed_once(self, seed: int) -> None:
        """Seed as :meth:`seed` does, for a seed that will not come again (one task's):
        nothing is kept to make the next seeding with it faster."""
        self.seed(seed)

    def state(self) -> bytes:
        """The generator state as bytes: equal states give equal bytes.

        Called twice per cell, so keep it cheap; repro hashes it into the
        short digest that records show.
        """
        raise NotImplementedError

    def patch(self, entropy: Callable[[int], int]) -> Restore | None:
        """Make generators created without a seed draw their seed from *entropy*.

        *entropy(bits)* returns that many bits derived from the cell seed and a
        per-cell counter. Return a callable that undoes the patch, or None.
        """
        return None

    def deterministic(self, options: DeterministicOptions) -> Restore:
        """Switch the library's deterministic mode on; return what restores it."""
        return _nothing_to_restore

    def snapshot(self) -> Restore | None:
        """The generators' whole state now, as a function that puts it back; None if it cannot.

        Used around a task that runs in the kernel itself (joblib's sequential
        backend), so that the kernel's streams go on as if it had run elsewhere.
        """
        return None


def digest_state(state: bytes) -> str:
    """The short digest of a state that records show: CRC-32 as 8 hex digits."""
    return f"{zlib.crc32(state):08x}"


def read_memory(address: int, size: int) -> bytes:
    """A copy of *size* bytes at *address*: a generator's state struct, read in well under 1 µs."""
    array = _ARRAYS.get(size)
    if array is None:
        array = ctypes.c_char * size
        if len(_ARRAYS) < 64:
            _ARRAYS[size] = array
    # No foreign call (ctypes.string_at is one): faster, and the GIL stays held.
    return array.from_address(address).raw


_ARRAYS: dict[int, type] = {}  # ctypes array types by size: a state struct has one size


@dataclass(frozen=True)
class MemoryView:
    """Part of a live object's C struct: ``read()`` copies it out, ``write(data)`` copies it in.

    Both take a tenth of :func:`read_memory`'s time (no foreign call) and hold the
    GIL, so no other thread sees a half-written state. Use it only while *owner*
    is the object whose state it is (check with ``is``).
    """

    owner: object
    _array: ctypes.Array

    def read(self) -> bytes:
        return self._array.raw

    def write(self, data: bytes) -> None:
        self._array.raw = data


def memory_view(owner: object, address: int, size: int) -> MemoryView:
    """A view of *size* bytes at *address*, inside *owner*'s memory, which it keeps alive."""
    return MemoryView(owner, (ctypes.c_char * size).from_address(address))


#: Seeds whose resulting states a backend keeps (a few kB each), so that a cell run again
#: is seeded by copying its state back (a seed per cell: a notebook's cells, and more).
SEEDED_STATES_KEPT = 512


class SeededStates(dict):
    """The states that seeding produced, by seed: at most :data:`SEEDED_STATES_KEPT` of them,
    and only for seeds that came before (a cell's first run keeps nothing: every cell of a
    notebook run is one, and copies of states never used again would cost more than they save)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[int] = set()

    def worth_keeping(self, seed: int) -> bool:
        """Whether seeding with *seed* came before (noted, for the next time, if not)."""
        seen = self._seen
        if seed in seen:
            return True
        if len(seen) >= 4 * SEEDED_STATES_KEPT:
            seen.clear()
        seen.add(seed)
        return False

    def keep(self, seed: int, value) -> None:
        if len(self) >= SEEDED_STATES_KEPT:
            self.clear()  # one step, also when a worker thread seeds at the same time
        self[seed] = value


def run_all(*steps: Callable[[], object]) -> None:
    """Call every step, also after one raised; then raise what the first one raised.

    For a :data:`Restore` that puts back several settings: one that cannot be
    put back does not keep the others as they are. A KeyboardInterrupt wins
    over any other exception.
    """
    error: BaseException | None = None
    for step in steps:
        try:
            step()
        except BaseException as exc:
            if error is None or (isinstance(exc, KeyboardInterrupt) and not isinstance(error, KeyboardInterrupt)):
                error = exc
    if error is not None:
        raise error


def load_backends() -> list[Backend]:
    """Every backend registered in the entry-point group, sorted by name.

    A plugin that fails to load costs one warning, never an exception, even
    when it raises SystemExit; only a KeyboardInterrupt stops the loading.
    """
    backends: dict[str, Backend] = {}
    seen: set[str] = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        def broken(exc: BaseException, ep=ep) -> None:  # a broken third-party plugin must not break the kernel
            warn(f"random backend {ep.name!r} ({ep.value}) failed to load and is ignored: {exc!r}")

        with guard(broken):
            obj = ep.load()
            backend = obj() if isinstance(obj, type) else obj
            name, module = backend.name, backend.module
            if not (isinstance(name, str) and isinstance(module, str) and name and module):
                raise TypeError(f"backend name and module must be non-empty strings, got {name!r} and {module!r}")
            if name in backends:
                raise ValueError(f"another backend is already named {name!r}")
            backends[name] = backend
    return [backends[name] for name in sorted(backends)]
