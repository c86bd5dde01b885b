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
        self._by_module = {b.module: b for b in self.backends}
        self._watcher = ImportWatcher(self._by_module, self._on_import)
        self._patches: dict[str, Restore] = {}
        self._deterministic: list[tuple[DeterministicOptions, list[Restore]]] = []
        self._failed: set[str] = set()
        self._warned_hash_seed = False

    # -- lifecycle -------------------------------------------------------------

    def register(self) -> None:
        self.shell.events.register("pre_run_cell", self.recorder.pre_run_cell)
        self.shell.events.register("post_run_cell", self.recorder.post_run_cell)
        self._watcher.install()
        if self not in self.shell.configurables:
            self.shell.configurables.append(self)
        if self.seed is not None:
            self.activate(check_seed(self.seed), mode="per-cell")

    def unregister(self) -> None:
        for event, callback in (
            ("pre_run_cell", self.recorder.pre_run_cell),
            ("post_run_cell", self.recorder.post_run_cell),
        ):
            if callback in self.shell.events.callbacks[event]:
                self.shell.events.unregister(event, callback)
        self._watcher.uninstall()
        self.deactivate()
        if self in self.shell.configurables:
            self.shell.configurables.remove(self)

    # -- backends ----------------------------------------------------------------

    def loaded_backends(self) -> list[Backend]:
        modules = sys.modules
        return [b for b in self.backends if b.module in modules and b.name not in self._failed]

    def _guard(self, backend: Backend, action: str, func, *args):
        """Run a backend call; a failing backend is reported once and then left alone."""
        try:
            return func(*args)
        except Exception as exc:
            self._failed.add(backend.name)
            warn(f"random backend {backend.name!r} failed to {action} and is now ignored: {exc!r}")
            return None

    def seed_backends(self, seed: int, backends: list[Backend] | None = None) -> None:
        for backend in self.loaded_backends() if backends is None else backends:
            self._guard(backend, "seed", backend.seed, seed)

    def states(self) -> dict[str, bytes]:
        """The generator state of every loaded backend (runs after every cell: kept lean)."""
        states = {}
        modules = sys.modules
        for backend in self.backends:
            if backend.module in modules and backend.name not in self._failed:
                try:
                    states[backend.name] = backend.state()
                except Exception as exc:
                    self._guard(backend, "read its state", _reraise, exc)
        return states

    def _on_import(self, module_name: str) -> None:
        backend = self._by_module.get(module_name)
        if backend is None or backend.name in self._failed:
            return
        try:
            if self.state.current is not None:
                self.seed_backends(self.state.current, [backend])
            if self.state.mode == "per-cell":
                self._patch(backend)
            for options, restores in self._deterministic:
                restore = self._guard(backend, "enter deterministic mode", backend.deterministic, options)
                if restore is not None:
                    restores.append(restore)
            if backend.name not in self._failed:
                self.recorder.backend_imported(backend.name, self._guard(backend, "read its state", backend.state))
        except Exception as exc:
            warn(f"seeding {module_name} at import failed: {exc!r}")

    def _patch(self, backend: Backend) -> None:
        if backend.name not in self._patches:
            restore = self._guard(backend, "patch", backend.patch, self.state.next_entropy)
            if restore is not None:
                self._patches[backend.name] = restore

    def _unpatch_all(self) -> None:
        while self._patches:
            _name, restore = self._patches.popitem()
            restore()

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
        else:
            self._unpatch_all()
        self.recorder.reseeded(seed, mode, self.states())

    def deactivate(self) -> None:
        self.state.mode = "off"
        self.state.base = None
        self.state.current = None
        self._unpatch_all()

    def start_cell(self, source_digest: str) -> tuple[int | None, dict[str, bytes]]:
        """Before each cell: re-seed when per-cell seeding is on; return the seed and the states.

        One pass over the backends: this runs before every cell.
        """
        seed = self.state.start_cell(source_digest)
        states = {}
        modules = sys.modules
        failed = self._failed
        for backend in self.backends:
            if backend.module in modules and backend.name not in failed:
                try:
                    if seed is not None:
                        backend.seed(seed)
                    states[backend.name] = backend.state()
                except Exception as exc:
                    self._guard(backend, "seed", _reraise, exc)
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
        """Seed with *seed* and switch every loaded framework to deterministic mode, then restore."""
        restores: list[Restore] = []
        saved_current = self.state.current
        limits = None
        self._deterministic.append((options, restores))
        try:
            self.state.current = seed
            self.seed_backends(seed)
            for backend in self.loaded_backends():
                restore = self._guard(backend, "enter deterministic mode", backend.deterministic, options)
                if restore is not None:
                    restores.append(restore)
            if options.threads:
                from threadpoolctl import threadpool_limits

                limits = threadpool_limits(limits=options.threads)
            yield
        finally:
            self._deterministic.pop()
            if limits is not None:
                limits.restore_original_limits()
            for restore in reversed(restores):
                try:
                    restore()
                except Exception as exc:
                    warn(f"restoring a deterministic setting failed: {exc!r}")
            self.state.current = saved_current


def _reraise(exc: Exception):
    raise exc


def load(shell, seed: int | None = None) -> Repro:
    """Register repro on *shell*; loading twice keeps the first registration.

    With *seed*, per-cell seeding is switched on as by ``%seed``.
    """
    key = id(shell)
    repro = _active.get(key)
    if repro is not None and repro.shell is shell:
        return repro
    repro = Repro(shell) if seed is None else Repro(shell, seed=seed)
    _active[key] = repro
    from repro.kernel.magics import ReproMagics

    shell.register_magics(ReproMagics(shell, repro=repro))
    repro.register()
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
