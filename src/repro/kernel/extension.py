"""The extension object: one per IPython shell, tying backends, seeding and hooks together."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from traitlets import Bool, Int
from traitlets.config import Configurable

from repro.kernel import guard, warn
from repro.kernel.backends import Backend, DeterministicOptions, Restore, load_backends
from repro.kernel.deterministic import DeterministicCells
from repro.kernel.importhook import ImportWatcher
from repro.kernel.recorder import CellRecorder
from repro.kernel.session import SeedState, Settings
from repro.kernel.undo import undo_all
from repro.seeding import SeedMode, check_seed, hash_seed_fixed

# Survive `%reload_ext repro`, which re-executes repro/__init__.py only. By id(shell):
# the extension of each shell, the settings of the last unload, and those a reload keeps.
_active: dict[int, Repro] = {}
_unloaded: dict[int, tuple[object, Settings]] = {}
_reloading: dict[int, tuple[object, Settings]] = {}

HASH_SEED_ADVICE = ("note: PYTHONHASHSEED is not fixed in this kernel, so sets of strings iterate in another order in "
                    "each new kernel (repro-nb verify fixes it). For a kernel that fixes it, with repro loaded: "
                    "repro-nb kernel install --user, then choose the kernel 'Python {}.{} (repro)'.")


class Repro(Configurable):
    """Reproducible random numbers for an IPython shell; options go in an IPython profile
    (``c.Repro.seed = 42``) or ``%config Repro.seed = 42``."""

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
        self._cells = DeterministicCells(self)
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

    def register(self, kept: Settings | None = None) -> None:
        """Hook into the shell; with *kept* (a reload), go on with those settings, else with ``Repro.seed``."""
        for event, callback in self._callbacks():
            self.shell.events.register(event, callback)
        self._watcher.install()
        if self not in self.shell.configurables:
            self.shell.configurables.append(self)
        for backend in self.loaded_backends():  # Python's random, seeded from entropy at start-up
            self.recorder.unseeded.loaded(backend, seeded=False)
        if kept is not None:
            self._restore_settings(kept)
        elif self.seed is not None:
            try:
                seed = check_seed(self.seed)
            except ValueError as exc:  # a half-loaded extension could not be unloaded: warn, don't raise
                warn(f"Repro.seed: {exc}; per-cell seeding is left off")
                return
            self.activate(seed, mode=SeedMode.PER_CELL)

    def unregister(self) -> None:
        for event, callback in self._callbacks():
            if callback in self.shell.events.callbacks[event]:
                self.shell.events.unregister(event, callback)
        self._watcher.uninstall()
        self.recorder.unseeded.stop()
        self.deactivate()
        if self in self.shell.configurables:
            self.shell.configurables.remove(self)

    def settings(self) -> Settings:
        """What ``%reload_ext repro`` keeps: the seed state and whether state tracing is on."""
        tracer = self.recorder.tracer
        return Settings(self.state.mode, self.state.base, self.state.current,
                        None if tracer is None else tracer.limits.max_bytes, self._warned_hash_seed)

    def _restore_settings(self, kept: Settings) -> None:
        """Go on as before a reload: the generators are not seeded again, their streams continue."""
        self.state.switch(kept.mode, kept.base)
        self.state.current = kept.current
        self._warned_hash_seed = kept.warned_hash_seed
        if kept.mode != SeedMode.OFF:
            self._apply_mode()
        if kept.trace_max_bytes is not None:
            self.trace_state(True, kept.trace_max_bytes)

    @property
    def tracing(self) -> bool:
        """Whether each cell's record carries digests of the variables it changed."""
        return self.recorder.tracer is not None

    def trace_state(self, on: bool, max_bytes: int | None = None) -> None:
        """Switch per-cell state digests on or off; off, the per-cell hooks do not look at them."""
        if not on:
            self.recorder.tracer = None
            return
        from repro.kernel.tracer import Limits, StateTracer

        limits = Limits() if max_bytes is None else Limits(max_bytes=max_bytes)
        self.recorder.tracer = StateTracer(self.shell.user_ns, self.shell.transform_cell, limits, warn)

    # -- backends ----------------------------------------------------------------

    @property
    def failed(self) -> frozenset[str]:
        """The names of the backends that failed once and are ignored from then on."""
        return frozenset(self._failed)

    def loaded_backends(self) -> list[Backend]:
        return [b for b in self.backends if b.module in sys.modules and b.name not in self._failed]

    def _guard(self, backend: Backend, action: str, func, *args):
        """Run a backend call; a failing backend is reported once and then left alone.

        Anything it raises counts, SystemExit or GeneratorExit too (a plugin must
        not end the user's cell), except KeyboardInterrupt: Ctrl-C means stop.
        """
        with guard(lambda exc: self._fail(backend, action, exc)):
            return func(*args)
        return None

    def _fail(self, backend: Backend, action: str, exc: BaseException) -> None:
        if backend.name not in self._failed:
            self._failed.add(backend.name)
            warn(f"random backend {backend.name!r} failed to {action} and is now ignored: {exc!r}")

    def _read_state(self, backend: Backend) -> bytes | None:
        """One backend's state as bytes (a buffer is copied); None, with one warning and the
        backend ignored from then on, if it has none."""
        # What guard() does, spelled out: this runs for every backend after every cell.
        try:
            state = backend.state()
            if type(state) is bytes:
                return state
            if isinstance(state, (bytes, bytearray, memoryview)):
                return bytes(state)  # a released memoryview raises here
            raise TypeError(f"state() returned {type(state).__name__}, not bytes")
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._fail(backend, "read its state", exc)
        return None

    def change(self, backend: Backend, action: str, func, arg) -> Restore | None:
        """Call a backend's patch() or deterministic(), guarded: what it returned if it can undo the change."""
        restore = self._guard(backend, action, func, arg)
        if restore is None or callable(restore):
            return restore
        self._fail(backend, action, TypeError(f"it returned {type(restore).__name__}, not a function that undoes it"))
        return None

    def seed_backends(self, seed: int, backends: list[Backend] | None = None) -> None:
        for backend in self.loaded_backends() if backends is None else backends:
            self._guard(backend, "seed", backend.seed, seed)

    def saved_states(self, backends: list[Backend] | None = None) -> list[tuple[str, Restore]]:
        """What puts the generators of every loaded backend back as they are now (those that can:
        a backend without ``snapshot()``, or whose snapshot() fails, is left out)."""
        saved = []
        for backend in self.loaded_backends() if backends is None else backends:
            snapshot = getattr(backend, "snapshot", None)
            restore = None if snapshot is None else self._guard(backend, "save its state", snapshot)
            if callable(restore):
                saved.append((f"the generator state of random backend {backend.name!r}", restore))
        return saved

    def states(self) -> dict[str, bytes]:
        """The generator state of every loaded backend (runs after every cell: kept lean)."""
        states, modules, failed = {}, sys.modules, self._failed
        for backend in self.backends:  # loaded_backends(), without its list
            if backend.module in modules and backend.name not in failed:
                if (state := self._read_state(backend)) is not None:
                    states[backend.name] = state
        return states

    def _on_import(self, module_name: str) -> None:
        """Right after a backend's module was first imported; never fails the user's import."""
        backend = self._by_module.get(module_name)
        if backend is None or backend.name in self._failed:
            return
        with guard(lambda exc: warn(f"seeding {module_name} at import failed: {exc!r}")):
            self._set_up_imported(backend)

    def _set_up_imported(self, backend: Backend) -> None:
        """Give a backend imported just now what the loaded ones have: seed, patch, deterministic mode."""
        failed = self._failed
        if self.state.current is not None:
            self._guard(backend, "seed", backend.seed, self.state.current)
        self.recorder.unseeded.loaded(backend, seeded=self.state.current is not None)
        if self.state.mode == SeedMode.PER_CELL and backend.name not in failed:
            self._patch(backend)
        self._cells.imported(backend)
        if backend.name not in failed:
            state = self._read_state(backend)
            if state is not None:
                self.recorder.backend_imported(backend.name, state)

    def _patch(self, backend: Backend) -> None:
        patch = getattr(backend, "patch", None)  # optional: a backend may have no generators to patch
        if patch is not None and backend.name not in self._patches:
            restore = self.change(backend, "patch", patch, self.state.next_entropy)
            if restore is not None:
                self._patches[backend.name] = restore

    def _unpatch_all(self) -> None:
        """Undo every patch, the last made first; one that cannot be undone does not keep the others."""
        patches, self._patches = self._patches, {}
        undo_all((f"the patch of random backend {name!r}", patches[name]) for name in reversed(patches))

    # -- seeding -----------------------------------------------------------------

    def activate(self, seed: int, mode: SeedMode) -> None:
        """Seed every loaded backend with exactly *seed*; keep re-seeding per cell if mode is per-cell."""
        self.state.switch(mode, seed)
        self.state.draws = self.state.import_draws = 0
        self.seed_backends(seed)
        self._apply_mode()
        self.recorder.reseeded(seed, self.state.mode, self.states())

    def deactivate(self) -> None:
        """``%seed --off``: nothing seeded from now on, devices a library starts later included."""
        self.state.switch(SeedMode.OFF, None)
        self._apply_mode()
        for backend in self.loaded_backends():
            if hasattr(backend, "unseeded"):  # optional: a backend that seeds what starts later
                self._guard(backend, "stop seeding", backend.unseeded)

    def _apply_mode(self) -> None:
        """Patches and task seeding on in per-cell mode, off otherwise."""
        if self.state.mode == SeedMode.PER_CELL:
            for backend in self.loaded_backends():
                self._patch(backend)
            self._task_seeding().start(self)
        else:
            self._unpatch_all()
            if self.tasks is not None:
                self.tasks.stop()

    @contextmanager
    def reseeded(self, seed: int, own_counters: bool = True) -> Iterator[None]:
        """Run the block with every loaded backend seeded with *seed* and *seed* in force
        (see :meth:`SeedState.reseeded <repro.kernel.session.SeedState.reseeded>`); on the way
        out the seed state is as before, and so are the patches if a ``%seed`` in the block
        switched the mode. The generators are left as the block left them; the seeding is no
        draw in the cell's record (a body that draws nothing did not draw)."""
        state = self.state
        mode = state.mode
        with state.reseeded(seed, own_counters):
            try:
                drawn = self.states()
                self.seed_backends(seed)
                self.recorder.unseeded.seeded()
                self.recorder.restarted(drawn, self.states())
                yield
            finally:
                switched = state.mode != mode
        if switched:
            self._apply_mode()

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
                state = None
                if seed is not None:
                    try:  # guard(), spelled out for the hot path
                        state = backend.seed(seed)
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

    def hash_seed_advice(self) -> str | None:
        """The PYTHONHASHSEED advice, the first time it applies in this session (for :func:`~repro.kernel.advise`)."""
        if self._warned_hash_seed or not self.warn_hash_seed or hash_seed_fixed():
            return None
        self._warned_hash_seed = True
        return HASH_SEED_ADVICE.format(*sys.version_info[:2])

    def jax_key(self):
        """A JAX PRNG key derived from the seed in force and a per-cell counter."""
        if self.state.current is None:
            raise RuntimeError("repro: no seed in force; run %seed N first")
        import jax

        return jax.random.PRNGKey(self.state.next_entropy(32))

    def deterministic(self, seed: int, options: DeterministicOptions):
        """``with repro.deterministic(seed, options):`` see :meth:`DeterministicCells.run
        <repro.kernel.deterministic.DeterministicCells.run>`."""
        return self._cells.run(seed, options)


def load(shell, seed: int | None = None, trace: bool = False) -> Repro:
    """Register repro on *shell*; loading twice keeps the first registration.

    With *seed*, per-cell seeding is switched on as by ``%seed``; with *trace*,
    per-cell state digests as by ``%repro trace on``. Right after
    :func:`keep_settings_for_reload` (``%reload_ext repro``), the seed state and
    the tracing of the unloaded extension go on instead.
    """
    key = id(shell)
    repro = _active.get(key)
    if repro is not None and repro.shell is shell:
        if trace:
            repro.trace_state(True)
        return repro
    kept = _reloading.pop(key, None)
    _unloaded.pop(key, None)
    repro = Repro(shell) if seed is None else Repro(shell, seed=seed)
    _active[key] = repro
    from repro.kernel.magics import register_magics

    register_magics(shell, repro)
    repro.register(None if kept is None or kept[0] is not shell else kept[1])
    if trace:
        repro.trace_state(True)
    return repro


def unload(shell) -> None:
    """Remove everything :func:`load` added to *shell*."""
    repro = _active.pop(id(shell), None)
    if repro is None:
        return
    _unloaded[id(shell)] = shell, repro.settings()
    repro.unregister()
    from repro.kernel.magics import unregister_magics

    unregister_magics(shell)


def keep_settings_for_reload() -> None:
    """The next :func:`load` of each shell unloaded just now goes on with its settings.

    ``%reload_ext repro`` unloads, re-executes ``repro/__init__.py`` (which calls
    this) and loads: a reload must not switch seeding off.
    """
    _reloading.update(_unloaded)
    _unloaded.clear()


def active(shell=None) -> Repro | None:
    """The extension object of *shell* (default: the running IPython shell), if loaded."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    return _active.get(id(shell)) if shell is not None else None
