"""The extension object: one per IPython shell, tying backends, seeding and hooks together."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from traitlets import Bool, Int
from traitlets.config import Configurable

from repro.kernel import warn
from repro.kernel.backends import Backend, DeterministicOptions, Restore, load_backends
from repro.kernel.importhook import ImportWatcher
from repro.kernel.recorder import CellRecorder
from repro.kernel.undo import limit_thread_pools, undo_all
from repro.seeding import SeedState, check_seed, hash_seed_fixed

# Survives `%reload_ext repro`, which re-executes repro/__init__.py only.
_active: dict[int, Repro] = {}


class Repro(Configurable):
    """Reproducible random numbers for an IPython shell.

    Options can be set in an IPython profile (``c.Repro.seed = 42``) or with
    ``%config Repro.seed = 42``.
    """

    seed = Int(
        None,
        allow_none=True,
        help="Switch per-cell seeding on with this seed when the extension loads.",
    ).tag(config=True)
    warn_hash_seed = Bool(
        True,
        help="Say once when %seed runs in a kernel whose PYTHONHASHSEED is not fixed.",
    ).tag(config=True)

    def __init__(self, shell, **kwargs) -> None:
        super().__init__(parent=shell, **kwargs)
        self.shell = shell
        self.backends: list[Backend] = load_backends()
        self.state = SeedState()
        self.recorder = CellRecorder(shell.payload_manager, self.state, self.start_cell, self.states)
        self.tasks = None  # TaskSeeding, made when per-cell seeding first starts (see _task_seeding)
        self._by_module = {b.module: b for b in self.backends}
        self._watcher = ImportWatcher(self._by_module, self._on_import)
        self._patches: dict[str, Restore] = {}
        # One entry per running %%deterministic cell: its options and what undoes it.
        self._deterministic: list[tuple[DeterministicOptions, list[tuple[str, Restore]]]] = []
        self._failed: set[str] = set()
        self._warned_hash_seed = False

    # -- lifecycle -------------------------------------------------------------

    def _callbacks(self) -> tuple:
        callbacks = [("pre_run_cell", self.recorder.pre_run_cell), ("post_run_cell", self.recorder.post_run_cell)]
        if self.tasks is not None:
            callbacks += [("pre_run_cell", self.tasks.pre_run_cell), ("post_run_cell", self.tasks.post_run_cell)]
        return tuple(callbacks)

    def _task_seeding(self):
        """The seeding of work handed to other processes; imported and hooked in on first use,
        so that loading repro without %seed costs nothing for it."""
        if self.tasks is None:
            from repro.kernel.workers import TaskSeeding

            self.tasks = TaskSeeding(self.state, self.states)
            self.shell.events.register("pre_run_cell", self.tasks.pre_run_cell)
            self.shell.events.register("post_run_cell", self.tasks.post_run_cell)
        return self.tasks

    def register(self) -> None:
        for event, callback in self._callbacks():
            self.shell.events.register(event, callback)
        self._watcher.install()
        if self not in self.shell.configurables:
            self.shell.configurables.append(self)
        if self.seed is not None:
            try:
                seed = check_seed(self.seed)
            except ValueError as exc:  # a half-loaded extension could not be unloaded: warn, don't raise
                warn(f"Repro.seed: {exc}; per-cell seeding is left off")
                return
            self.activate(seed, mode="per-cell")

    def unregister(self) -> None:
        for event, callback in self._callbacks():
            if callback in self.shell.events.callbacks[event]:
                self.shell.events.unregister(event, callback)
        self._watcher.uninstall()
        self.deactivate()
        if self in self.shell.configurables:
            self.shell.configurables.remove(self)

    @property
    def tracing(self) -> bool:
        """Whether each cell's record carries digests of the variables it changed."""
        return self.recorder.tracer is not None

    def trace_state(self, on: bool, max_bytes: int | None = None) -> None:
        """Switch per-cell state digests on or off; off, the per-cell hooks do not look at them."""
        if not on:
            self.recorder.tracer = None
            return
        from repro.kernel.state import Limits, StateTracer

        limits = Limits() if max_bytes is None else Limits(max_bytes=max_bytes)
        self.recorder.tracer = StateTracer(self.shell.user_ns, self.shell.transform_cell, limits, warn)

    # -- backends ----------------------------------------------------------------

    def loaded_backends(self) -> list[Backend]:
        modules = sys.modules
        return [b for b in self.backends if b.module in modules and b.name not in self._failed]

    def _guard(self, backend: Backend, action: str, func, *args):
        """Run a backend call; a failing backend is reported once and then left alone.

        Anything it raises counts, SystemExit or GeneratorExit too (a plugin must
        not end the user's cell), except KeyboardInterrupt: Ctrl-C means stop.
        """
        try:
            return func(*args)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._fail(backend, action, exc)
            return None

    def _fail(self, backend: Backend, action: str, exc: BaseException) -> None:
        if backend.name not in self._failed:
            self._failed.add(backend.name)
            warn(f"random backend {backend.name!r} failed to {action} and is now ignored: {exc!r}")

    def _bytes_state(self, backend: Backend, state: object) -> bytes | None:
        """A state that is not exactly bytes: a buffer is copied; anything else fails the backend (None)."""
        if isinstance(state, (bytes, bytearray, memoryview)):
            try:
                return bytes(state)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a released memoryview, say
                self._fail(backend, "read its state", exc)
                return None
        self._fail(backend, "read its state", TypeError(f"state() returned {type(state).__name__}, not bytes"))
        return None

    def _read_state(self, backend: Backend) -> bytes | None:
        """One backend's state as bytes; None, with one warning and the backend ignored, if it has none."""
        try:
            state = backend.state()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._fail(backend, "read its state", exc)
            return None
        return state if type(state) is bytes else self._bytes_state(backend, state)

    def _restore_of(self, backend: Backend, action: str, restore: object) -> Restore | None:
        """What a backend's patch() or deterministic() returned, if it can undo the change."""
        if restore is None or callable(restore):
            return restore
        self._fail(backend, action, TypeError(f"it returned {type(restore).__name__}, not a function that undoes it"))
        return None

    def seed_backends(self, seed: int, backends: list[Backend] | None = None) -> None:
        for backend in self.loaded_backends() if backends is None else backends:
            self._guard(backend, "seed", backend.seed, seed)

    def states(self) -> dict[str, bytes]:
        """The generator state of every loaded backend (runs after every cell: kept lean)."""
        states = {}
        modules = sys.modules
        failed = self._failed
        for backend in self.backends:
            if backend.module in modules and backend.name not in failed:
                state = self._read_state(backend)
                if state is not None:
                    states[backend.name] = state
        return states

    def _on_import(self, module_name: str) -> None:
        """Right after a backend's module was first imported; never fails the user's import."""
        backend = self._by_module.get(module_name)
        if backend is None or backend.name in self._failed:
            return
        try:
            self._set_up_imported(backend)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            warn(f"seeding {module_name} at import failed: {exc!r}")

    def _set_up_imported(self, backend: Backend) -> None:
        """Give a backend imported just now what the loaded ones have: seed, patch, deterministic mode."""
        failed = self._failed
        if self.state.current is not None:
            self._guard(backend, "seed", backend.seed, self.state.current)
        if self.state.mode == "per-cell" and backend.name not in failed:
            self._patch(backend)
        for options, restores in self._deterministic:
            if backend.name not in failed:
                self._enter(backend, options, restores)
        if backend.name not in failed:
            state = self._read_state(backend)
            if state is not None:
                self.recorder.backend_imported(backend.name, state)

    def _patch(self, backend: Backend) -> None:
        if backend.name not in self._patches:
            restore = self._guard(backend, "patch", backend.patch, self.state.next_entropy)
            restore = self._restore_of(backend, "patch", restore)
            if restore is not None:
                self._patches[backend.name] = restore

    def _unpatch_all(self) -> None:
        """Undo every patch, the last made first; one that cannot be undone does not keep the others."""
        patches, self._patches = self._patches, {}
        undo_all((f"the patch of random backend {name!r}", patches[name]) for name in reversed(patches))

    # -- seeding -----------------------------------------------------------------

    def activate(self, seed: int, mode: str) -> None:
        """Seed every loaded backend with exactly *seed*; keep re-seeding per cell if mode is per-cell."""
        self.state.mode = mode
        self.state.base = seed
        self.state.current = seed
        self.state.draws = 0
        self.seed_backends(seed)
        if mode == "per-cell":
            for backend in self.loaded_backends():
                self._patch(backend)
            self._task_seeding().start(self)
        else:
            self._unpatch_all()
            if self.tasks is not None:
                self.tasks.stop()
        self.recorder.reseeded(seed, mode, self.states())

    def deactivate(self) -> None:
        self.state.mode = "off"
        self.state.base = None
        self.state.current = None
        self._unpatch_all()
        if self.tasks is not None:
            self.tasks.stop()

    def start_cell(self, source_digest: str) -> tuple[int | None, dict[str, bytes]]:
        """Before each cell: re-seed when per-cell seeding is on; return the seed and the states.

        One pass over the backends: this runs before every cell. A backend whose
        seed() returns its state (bytes) is not read again.
        """
        seed = self.state.start_cell(source_digest)
        states = {}
        modules = sys.modules
        failed = self._failed
        for backend in self.backends:
            if backend.module in modules and backend.name not in failed:
                try:
                    state = None if seed is None else backend.seed(seed)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    self._fail(backend, "seed", exc)
                    continue
                if type(state) is not bytes:
                    state = self._read_state(backend)
                if state is not None:
                    states[backend.name] = state
        return seed, states

    def hash_seed_warning(self) -> str | None:
        """The PYTHONHASHSEED advice, the first time it applies in this session (for :func:`~repro.kernel.notice`)."""
        if self._warned_hash_seed or not self.warn_hash_seed or hash_seed_fixed():
            return None
        self._warned_hash_seed = True
        return (
            "PYTHONHASHSEED is not fixed in this kernel, so the iteration order of "
            "sets of strings changes from one kernel to the next; it cannot be changed in a "
            "running kernel: start the kernel with PYTHONHASHSEED=0 (repro-nb verify does)."
        )

    def jax_key(self):
        """A JAX PRNG key derived from the seed in force and a per-cell counter."""
        if self.state.current is None:
            raise RuntimeError("repro: no seed in force; run %seed N first")
        import jax

        return jax.random.PRNGKey(self.state.next_entropy(32))

    # -- deterministic mode ------------------------------------------------------

    @contextmanager
    def deterministic(self, seed: int, options: DeterministicOptions) -> Iterator[None]:
        """Seed with *seed* and switch every loaded framework to deterministic mode, then restore.

        *options* must have been checked, as ``%%deterministic`` checks them
        before anything changes. Each step is all or nothing: a backend that
        fails to switch on has undone its own changes (the built-in ones do)
        and is reported and ignored from then on, a thread-pool limit that
        cannot be set is reported and put back, and the cell runs with the
        rest. Everything switched on is undone, the last first, and the seed
        in force restored, when the cell ends, raises or is interrupted, also
        while switching on.
        """
        restores: list[tuple[str, Restore]] = []
        saved_current = self.state.current
        self._deterministic.append((options, restores))
        try:
            self.state.current = seed
            self.seed_backends(seed)
            for backend in self.loaded_backends():
                self._enter(backend, options, restores)
            if options.threads:
                self._limit_threads(options.threads, restores)
            yield
        finally:
            self._deterministic.pop()
            try:
                undo_all(reversed(restores))
            finally:
                self.state.current = saved_current

    def _enter(self, backend: Backend, options: DeterministicOptions, restores: list[tuple[str, Restore]]) -> None:
        restore = self._guard(backend, "enter deterministic mode", backend.deterministic, options)
        restore = self._restore_of(backend, "enter deterministic mode", restore)
        if restore is not None:
            restores.append((f"the deterministic mode of random backend {backend.name!r}", restore))

    @staticmethod
    def _limit_threads(threads: int, restores: list[tuple[str, Restore]]) -> None:
        try:
            restore = limit_thread_pools(threads)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            warn(f"the BLAS and OpenMP thread pools could not be limited to {threads} "
                 f"and are left as they were: {exc!r}")
            return
        restores.append(("the limit on the BLAS and OpenMP thread pools", restore))


def load(shell, seed: int | None = None, trace: bool = False) -> Repro:
    """Register repro on *shell*; loading twice keeps the first registration.

    With *seed*, per-cell seeding is switched on as by ``%seed``; with *trace*,
    per-cell state digests as by ``%repro trace on``.
    """
    key = id(shell)
    repro = _active.get(key)
    if repro is not None and repro.shell is shell:
        if trace:
            repro.trace_state(True)
        return repro
    repro = Repro(shell) if seed is None else Repro(shell, seed=seed)
    _active[key] = repro
    from repro.kernel.magics import ReproMagics

    shell.register_magics(ReproMagics(shell, repro=repro))
    repro.register()
    if trace:
        repro.trace_state(True)
    return repro


def unload(shell) -> None:
    """Remove everything :func:`load` added to *shell*."""
    repro = _active.pop(id(shell), None)
    if repro is None:
        return
    repro.unregister()
    from repro.kernel.magics import unregister_magics

    unregister_magics(shell)


def active(shell=None) -> Repro | None:
    """The extension object of *shell* (default: the running IPython shell), if loaded."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    return _active.get(id(shell)) if shell is not None else None
