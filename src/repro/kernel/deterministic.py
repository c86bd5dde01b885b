"""``%%deterministic``: every loaded framework's deterministic mode on for one cell, then off again."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from repro.kernel import guard, warn
from repro.kernel.backends import Backend, DeterministicOptions, Restore
from repro.kernel.undo import limit_thread_pools, undo_all


class DeterministicCells:
    """The ``%%deterministic`` cells running now, each with its options and what undoes it.

    *repro* is the extension (:class:`repro.kernel.extension.Repro`): its
    loaded backends, its guarded :meth:`change` of a backend and its scoped re-seed.
    """

    def __init__(self, repro) -> None:
        self._repro = repro
        self._running: list[tuple[DeterministicOptions, list[tuple[str, Restore]]]] = []

    @contextmanager
    def run(self, seed: int, options: DeterministicOptions) -> Iterator[None]:
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
        repro = self._repro
        restores: list[tuple[str, Restore]] = []
        # The body is the cell: generators it makes without a seed count as the cell's.
        with repro.reseeded(seed, own_counters=False):
            self._running.append((options, restores))
            try:
                for backend in repro.loaded_backends():
                    self._enter(backend, options, restores)
                if options.threads:
                    _limit_threads(options.threads, restores)
                yield
            finally:
                self._running.pop()
                undo_all(reversed(restores))

    def imported(self, backend: Backend) -> None:
        """A backend imported during a deterministic cell enters its deterministic mode too."""
        for options, restores in self._running:
            if backend.name not in self._repro.failed:
                self._enter(backend, options, restores)

    def _enter(self, backend: Backend, options: DeterministicOptions, restores: list[tuple[str, Restore]]) -> None:
        deterministic = getattr(backend, "deterministic", None)  # optional: not every library has such a mode
        if deterministic is None:
            return
        restore = self._repro.change(backend, "enter deterministic mode", deterministic, options)
        if restore is not None:
            restores.append((f"the deterministic mode of random backend {backend.name!r}", restore))


def _limit_threads(threads: int, restores: list[tuple[str, Restore]]) -> None:
    with guard(lambda exc: warn(f"the BLAS and OpenMP thread pools could not be limited to {threads} "
                                f"and are left as they were: {exc!r}")):
        restores.append(("the limit on the BLAS and OpenMP thread pools", limit_thread_pools(threads)))
