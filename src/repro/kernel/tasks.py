"""Tasks that seed the process they run in: what a cell hands to a worker process.

The kernel wraps each task a cell submits (see :mod:`repro.kernel.workers`) in a
:class:`SeededCall` that carries the task's seed, derived in the kernel from the
cell's seed and the task's position in the order the cell submitted it. Wherever
the task runs (a forked or spawned worker, a loky worker, or the kernel itself
for a sequential backend), it first seeds the random libraries loaded there, and
generators it creates without a seed draw from that seed too. So a task's random
numbers depend on what it is, never on which worker runs it or when.

This module is imported in worker processes when they unpickle a task: it stays
light (the standard library, :mod:`repro.seeding`, the session state and the backends' registry).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from repro.kernel.session import SeedState
from repro.seeding import SeedMode

#: In the kernel (and in processes forked from it): how to seed its backends for a task.
_host = None
#: In a process that did not inherit the kernel's extension (spawn, forkserver): the same, made on first use.
_worker = None


def set_host(host) -> None:
    """Register the kernel's extension (or None): tasks that run here use its backends and seed state."""
    global _host
    _host = host


class _Worker:
    """Seeding in a process that has no extension: the backends, a seed state, an import hook."""

    def __init__(self) -> None:
        from repro.kernel.backends import load_backends
        from repro.kernel.importhook import ImportWatcher

        self.state = SeedState(mode=SeedMode.PER_CELL)
        self.backends = load_backends()
        self._patched: set[str] = set()
        self._failed: set[str] = set()
        self._by_module = {b.module: b for b in self.backends}
        self._loaded_key: tuple = ()
        self._loaded_list: list = []
        self._seeders: list = []
        ImportWatcher(self._by_module, self._on_import).install()

    def _setup(self, backend, seed: int) -> None:
        from repro.kernel import guard, warn

        def fail(exc: BaseException) -> None:
            self._failed.add(backend.name)
            warn(f"random backend {backend.name!r} failed in a worker process and is ignored there: {exc!r}")

        with guard(fail):
            backend.seed(seed)
            self.patch(backend)

    def patch(self, backend) -> None:
        """Generators made without a seed follow the task's seed (a backend without patch() has none)."""
        if backend.name not in self._patched:
            self._patched.add(backend.name)
            patch = getattr(backend, "patch", None)
            if patch is not None:
                patch(self.state.next_entropy)

    def run(self, seed: int, func: Callable, args: tuple, kwargs: dict) -> Any:
        """Call *func* seeded with *seed*. This process is a worker: nothing to put back, and
        what runs after the task (a generator it returned, say) goes on under its seed."""
        from repro.kernel import guard

        self.state.start_worker(seed)
        loaded = self._loaded()
        seeding = guard()
        with seeding:  # the common case, one pass: every backend seeds
            for seed_once in self._seeders:
                seed_once(seed)
        if seeding.error is not None:
            for backend in loaded:  # the slow path names the backend that failed
                self._setup(backend, seed)
        return func(*args, **kwargs)

    def _loaded(self) -> list:
        """The backends whose library is imported here, not failed; recomputed when imports change."""
        import sys

        key = (len(sys.modules), len(self._failed))
        if key != self._loaded_key:
            self._loaded_key = key
            self._loaded_list = [b for b in self.backends if b.module in sys.modules and b.name not in self._failed]
            for backend in self._loaded_list:
                if backend.name not in self._patched:
                    self._setup(backend, self.state.current if self.state.current is not None else 0)
            self._loaded_list = [b for b in self._loaded_list if b.name not in self._failed]
            self._seeders = [seed_once_of(b) for b in self._loaded_list]
        return self._loaded_list

    def _on_import(self, module: str) -> None:
        backend = self._by_module.get(module)
        if backend is not None and backend.name not in self._failed and self.state.current is not None:
            self._setup(backend, self.state.current)


def seed_once_of(backend) -> Callable[[int], object]:
    """The cheapest way to seed *backend* with a seed that will not come again."""
    return getattr(backend, "seed_once", None) or backend.seed


def _seeder():
    global _worker
    if _host is not None:
        return _host
    if _worker is None:
        _worker = _Worker()
    return _worker


def run_seeded(seed: int, func: Callable, args: tuple, kwargs: dict) -> Any:
    """Call *func* with the random libraries of this process seeded with *seed*."""
    return _seeder().run(seed, func, args, kwargs)


class SeededCall:
    """*func*, called with this process's random libraries seeded with *seed* first."""

    __slots__ = ("func", "seed")

    def __init__(self, func: Callable, seed: int) -> None:
        self.func = func
        self.seed = seed

    def __call__(self, *args, **kwargs):
        return run_seeded(self.seed, self.func, args, kwargs)

    def __reduce__(self):
        return (SeededCall, (self.func, self.seed))

    def __repr__(self) -> str:
        return f"SeededCall({self.func!r}, seed={self.seed})"


class SeededItem:
    """For map-like calls over ``enumerate(items)``: item *i* runs seeded from *base* and *i*.

    So the seed of an item does not depend on how the items are chunked or which
    worker takes them. With *star*, the item is an argument tuple (``starmap``).
    """

    __slots__ = ("func", "base", "star", "_prefix")

    def __init__(self, func: Callable, base: int, star: bool = False) -> None:
        self.func = func
        self.base = base
        self.star = star
        self._prefix = None

    def seed_of(self, index: int) -> int:
        """``derive_seed(base, "item", index)``, with the hash of the common prefix done once."""
        prefix = self._prefix
        if prefix is None:
            prefix = self._prefix = hashlib.blake2b(f"{self.base}\x1fitem\x1f".encode(), digest_size=4)
        digest = prefix.copy()
        digest.update(str(index).encode())
        return int.from_bytes(digest.digest(), "big")

    def __call__(self, index, item=None, *rest):
        if not self.star and item is None and not rest and isinstance(index, tuple) and len(index) == 2:
            index, item = index  # Pool.map passes (index, item) as one argument
        seed = self.seed_of(index)
        if self.star:
            return run_seeded(seed, self.func, tuple(item), {})
        if rest:  # Executor.map(fn, *iterables): the index, then one item per iterable
            return run_seeded(seed, self.func, (item, *rest), {})
        return run_seeded(seed, self.func, (item,), {})

    def __reduce__(self):
        return (SeededItem, (self.func, self.base, self.star))


class SeededWorkerInit:
    """A DataLoader ``worker_init_fn``: generators made without a seed in the worker follow its seed.

    torch seeds each worker's ``random``, torch and NumPy generators from the loader's
    base seed and the worker's id; this makes ``default_rng()`` and the like in the
    dataset follow the same seed, also under spawn, then calls the user's own function.
    """

    __slots__ = ("func",)

    def __init__(self, func: Callable | None) -> None:
        self.func = func

    def __call__(self, worker_id: int) -> None:
        import sys

        seeder = _seeder()
        torch = sys.modules.get("torch")
        seed = (torch.initial_seed() if torch is not None else worker_id) % (2**32)
        state = seeder.state
        state.start_worker(seed)
        if seeder is _worker:  # spawned: patch generators made without a seed, leave torch's own seeding alone
            for backend in seeder.backends:
                if backend.module in sys.modules:
                    seeder.patch(backend)
        if self.func is not None:
            self.func(worker_id)

    def __reduce__(self):
        return (SeededWorkerInit, (self.func,))
