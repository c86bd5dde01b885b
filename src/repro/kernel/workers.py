"""Work a cell hands to other processes gets seeds that follow the work, not the workers.

Each task a cell submits to a process pool gets a seed derived from the cell's
seed and the task's position in the order the cell submitted it; items of a
map-like call get one each, by their position in the iterable. The task carries
its seed (:mod:`repro.kernel.tasks`) and seeds the process it lands in. So
``n_jobs=1`` and ``n_jobs=4``, fork and spawn, any chunk size give the same numbers.

Patched, each when its module is imported (through the same import hook as the
backends), and undone by ``%seed --off`` and ``%unload_ext``:

- ``multiprocessing``: ``Pool.map/starmap/map_async/starmap_async/imap/imap_unordered/
  apply/apply_async`` and ``Process.start`` (a process the user made);
- ``concurrent.futures.ProcessPoolExecutor``: ``submit`` and ``map``;
- joblib's ``Parallel`` with the loky, multiprocessing and sequential backends (and so
  scikit-learn's ``n_jobs``);
- torch's ``DataLoader``: generators made without a seed in a worker follow the
  worker's seed, also under spawn, and persistent workers start afresh in a new cell.

Threads share the global generators, so draws from them in thread pools cannot be
seeded per task: a cell that ran a thread pool and drew from a global generator
is told so, once.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable

from repro.kernel import guard, notice, warn
from repro.kernel.backends import Restore
from repro.kernel.importhook import ImportWatcher
from repro.kernel.session import SeedState
from repro.kernel.tasks import SeededCall, SeededItem, SeededWorkerInit, seed_once_of, set_host
from repro.kernel.undo import undo_all
from repro.seeding import SeedMode, derive_seed

# Targets of processes that pools start for themselves: their tasks are seeded one by one.
_INTERNAL_TARGETS = ("multiprocessing.", "concurrent.futures.", "joblib.", "loky.", "torch.")

THREADS_NOTICE = (
    "this cell drew from a global random generator while a thread pool ran; threads share "
    "those generators, so such draws are not reproducible: give each task its own seeded generator"
)


class _Host:
    """How a task that runs in the kernel, or in a process forked from it, seeds its backends."""

    def __init__(self, repro) -> None:
        self._repro = repro
        self.state = repro.state
        self._kernel = os.getpid()
        self._key: tuple = ()
        self._seeders: list = []

    def run(self, seed: int, func: Callable, args: tuple, kwargs: dict) -> Any:
        """Call *func* seeded with *seed*. In the kernel itself (joblib's sequential backend), the
        kernel's generators and counters are put back afterwards: its own streams go on as if
        the task had run in a worker process, whatever the number of workers."""
        if os.getpid() != self._kernel:  # a forked worker: nothing of its own to put back
            with self.state.reseeded(seed):
                self._seed(seed)
                return func(*args, **kwargs)
        repro = self._repro
        loaded = repro.loaded_backends()
        saved = repro.saved_states(loaded)
        try:
            with self.state.reseeded(seed):
                self._seed(seed)
                return func(*args, **kwargs)
        finally:
            undo_all(saved)
            # A library the task imported (numpy imports numpy.random on first use) is
            # seeded as if the kernel had imported it after the task, as with a worker process.
            imported = [b for b in repro.loaded_backends() if b not in loaded]
            if imported and self.state.current is not None:
                repro.seed_backends(self.state.current, imported)

    def _seed(self, seed: int) -> None:
        key = (len(sys.modules), len(self._repro.failed))
        if key != self._key:  # imports or failures changed: look the loaded backends up again
            self._key = key
            self._seeders = [seed_once_of(b) for b in self._repro.loaded_backends()]
        seeding = guard()
        with seeding:  # the common case, one pass: this runs before every task
            for seed_once in self._seeders:
                seed_once(seed)
        if seeding.error is not None:
            self._repro.seed_backends(seed)  # guarded: the failing backend is reported and dropped
            self._key = ()


class TaskSeeding:
    """The kernel side of task seeding: counts what a cell submits and patches the pools."""

    def __init__(self, state: SeedState, states: Callable[[], dict[str, bytes]]) -> None:
        self.state = state
        self._states = states
        self.cell = 0  # cells started, so that a persistent DataLoader knows a new cell
        self._threads_from: dict[str, bytes] | None = None  # generator states when a thread pool first ran
        self._threads_drew = False  # a thread pool's run changed a global generator
        self._watching = 0  # thread-pool runs being watched as a whole (see in_threads)
        self._local = threading.local()
        self._restores: dict[str, Restore] = {}
        self._watcher = ImportWatcher(PATCHES, self._on_import)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, repro) -> None:
        set_host(_Host(repro))
        self._watcher.install()
        for module in PATCHES:
            if module in sys.modules:
                self._patch(module)

    def stop(self) -> None:
        self._watcher.uninstall()
        restores, self._restores = self._restores, {}
        try:
            undo_all((f"the task seeding of {module}", restores[module]) for module in reversed(restores))
        finally:
            set_host(None)

    def _on_import(self, module: str) -> None:
        self._patch(module)

    def _patch(self, module: str) -> None:
        if module in self._restores:
            return
        with guard(lambda exc: warn(f"task seeding for {module} could not be set up: {exc!r}")):
            self._restores[module] = PATCHES[module](self)

    # -- per cell ------------------------------------------------------------------------

    def pre_run_cell(self, info=None) -> None:
        self.cell += 1
        self._threads_from = None
        self._threads_drew = False

    def post_run_cell(self, result=None) -> None:
        if self._threads_from is not None and self._read() != self._threads_from:
            self._threads_drew = True
        self._threads_from = None
        if self._threads_drew:
            self._threads_drew = False
            notice(THREADS_NOTICE)

    def _read(self) -> dict[str, bytes] | None:
        try:
            return self._states()
        except Exception:  # the recorder reports a backend that cannot be read
            return None

    def thread_pool_submitted(self) -> None:
        """A task went to a thread pool executor: compare the generators at the end of the cell."""
        # Not while in_threads watches a whole run: the pool dispatches from its own threads too.
        if self._threads_from is None and self.state.mode == SeedMode.PER_CELL and not self._watching:
            self._threads_from = self._read()

    def in_threads(self, call: Callable):
        """Run a thread pool's whole map (*call*) and note whether it changed a global generator."""
        if self.state.mode != SeedMode.PER_CELL:
            return call()
        before = self._read()
        self._watching += 1
        try:
            return call()
        finally:
            self._watching -= 1
            if self._read() != before:
                self._threads_drew = True

    def next_seed(self) -> int | None:
        """The seed of the next task the running cell submits; None when seeding is not per cell."""
        state = self.state
        if state.mode != SeedMode.PER_CELL or state.current is None or getattr(self._local, "inside", False):
            return None
        state.submitted += 1
        return derive_seed(state.current, "task", state.submitted)

    def call(self, func: Callable) -> Callable:
        seed = self.next_seed()
        return func if seed is None or isinstance(func, SeededCall) else SeededCall(func, seed)

    def items(self, func: Callable, star: bool = False) -> Callable | None:
        base = self.next_seed()
        return None if base is None else SeededItem(func, base, star)

    def inside(self):
        """Within a patched call: the calls it makes itself are not tasks of their own."""
        return _Inside(self._local)


class _Inside:
    def __init__(self, local) -> None:
        self._local = local

    def __enter__(self):
        self._saved = getattr(self._local, "inside", False)
        self._local.inside = True

    def __exit__(self, *exc) -> None:
        self._local.inside = self._saved


def _replace(owner, name: str, wrapper) -> Restore:
    original = owner.__dict__[name]
    setattr(owner, name, wrapper(original))

    def restore() -> None:
        setattr(owner, name, original)

    return restore


def _undo_all(restores: list[Restore]) -> Restore:
    def restore() -> None:
        for undo in reversed(restores):
            undo()

    return restore


# -- multiprocessing ---------------------------------------------------------------------


def _patch_pool(seeding: TaskSeeding) -> Restore:
    pool = sys.modules["multiprocessing.pool"]

    def map_async(original):
        def _map_async(self, func, iterable, mapper, *args, **kwargs):
            if isinstance(self, pool.ThreadPool):
                return seeding.in_threads(lambda: original(self, func, iterable, mapper, *args, **kwargs))
            wrapped = seeding.items(func, star=mapper is pool.starmapstar)
            if wrapped is None:
                return original(self, func, iterable, mapper, *args, **kwargs)
            return original(self, wrapped, list(enumerate(iterable)), mapper, *args, **kwargs)
        return _map_async

    def imap(original):
        def _imap(self, func, iterable, chunksize=1):
            if isinstance(self, pool.ThreadPool):
                seeding.thread_pool_submitted()  # a lazy iterator: its draws happen later
                return original(self, func, iterable, chunksize)
            wrapped = seeding.items(func)
            if wrapped is None:
                return original(self, func, iterable, chunksize)
            return original(self, wrapped, enumerate(iterable), chunksize)
        return _imap

    def apply_async(original):
        def _apply_async(self, func, *args, **kwargs):
            if isinstance(self, pool.ThreadPool):
                seeding.thread_pool_submitted()
                return original(self, func, *args, **kwargs)
            return original(self, seeding.call(func), *args, **kwargs)
        return _apply_async

    return _undo_all([
        _replace(pool.Pool, "_map_async", map_async),
        _replace(pool.Pool, "imap", imap),
        _replace(pool.Pool, "imap_unordered", imap),
        _replace(pool.Pool, "apply_async", apply_async),
    ])


def _patch_process(seeding: TaskSeeding) -> Restore:
    process = sys.modules["multiprocessing.process"]

    def start(original):
        def _start(self):
            target = getattr(self, "_target", None)
            module = getattr(target, "__module__", None) or ""
            if target is not None and not module.startswith(_INTERNAL_TARGETS):
                self._target = seeding.call(target)
            return original(self)
        return _start

    return _replace(process.BaseProcess, "start", start)


# -- concurrent.futures --------------------------------------------------------------------


def _patch_futures(seeding: TaskSeeding) -> Restore:
    futures = sys.modules["concurrent.futures.process"]

    def submit(original):
        def _submit(self, fn, /, *args, **kwargs):
            return original(self, seeding.call(fn), *args, **kwargs)
        return _submit

    def map_(original):
        def _map(self, fn, *iterables, **kwargs):
            wrapped = seeding.items(fn)
            if wrapped is None:
                return original(self, fn, *iterables, **kwargs)
            import itertools

            with seeding.inside():  # Executor.map submits its chunks eagerly
                return original(self, wrapped, itertools.count(), *iterables, **kwargs)
        return _map

    return _undo_all([
        _replace(futures.ProcessPoolExecutor, "submit", submit),
        _replace(futures.ProcessPoolExecutor, "map", map_),
    ])


def _patch_thread_pools(seeding: TaskSeeding) -> Restore:
    thread = sys.modules["concurrent.futures.thread"]

    def submit(original):
        def _submit(self, fn, /, *args, **kwargs):
            seeding.thread_pool_submitted()
            return original(self, fn, *args, **kwargs)
        return _submit

    return _replace(thread.ThreadPoolExecutor, "submit", submit)


# -- joblib (and scikit-learn's n_jobs) -------------------------------------------------------


def _patch_joblib(seeding: TaskSeeding) -> Restore:
    parallel = sys.modules["joblib.parallel"]

    def call(original):
        def __call__(self, iterable):
            if type(getattr(self, "_backend", None)).__name__ == "ThreadingBackend":
                if _joblib_workers(self) > 1:
                    return seeding.in_threads(lambda: original(self, iterable))
                return original(self, iterable)  # one thread: runs here, in order
            base = seeding.next_seed()
            if base is None:
                return original(self, iterable)
            tasks = ((SeededCall(func, derive_seed(base, "item", index)), args, kwargs)
                     for index, (func, args, kwargs) in enumerate(iterable))
            with seeding.inside():  # a Parallel inside a task: seeded as part of it
                return original(self, tasks)
        return __call__

    return _replace(parallel.Parallel, "__call__", call)


def _joblib_workers(parallel) -> int:
    try:
        return int(parallel._effective_n_jobs())
    except Exception:  # a joblib that computes it otherwise: assume a pool
        return 2


# -- torch DataLoader ---------------------------------------------------------------------------


def _patch_dataloader(seeding: TaskSeeding) -> Restore:
    dataloader = sys.modules["torch.utils.data.dataloader"]
    loader = dataloader.DataLoader

    def init(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            if self.num_workers > 0 and not isinstance(self.worker_init_fn, SeededWorkerInit):
                self.worker_init_fn = SeededWorkerInit(self.worker_init_fn)
        return __init__

    def iter_(original):
        def __iter__(self):
            # Persistent workers would carry their generators over from the cell that
            # started them: a new cell starts new workers, seeded from that cell.
            iterator = self.__dict__.get("_iterator")
            if (self.persistent_workers and iterator is not None and seeding.state.mode == SeedMode.PER_CELL
                    and self.__dict__.get("_repro_cell") != seeding.cell):
                iterator._shutdown_workers()
                self._iterator = None
            self.__dict__["_repro_cell"] = seeding.cell
            return original(self)
        return __iter__

    return _undo_all([_replace(loader, "__init__", init), _replace(loader, "__iter__", iter_)])


#: Module -> the function that patches it and returns what undoes the patch.
PATCHES: dict[str, Callable[[TaskSeeding], Restore]] = {
    "multiprocessing.pool": _patch_pool,
    "multiprocessing.process": _patch_process,
    "concurrent.futures.process": _patch_futures,
    "concurrent.futures.thread": _patch_thread_pools,
    "joblib.parallel": _patch_joblib,
    "torch.utils.data.dataloader": _patch_dataloader,
}
