"""The session's seed state: what ``%seed`` switched on, the seed in force and the per-cell counters.

One :class:`SeedState` per extension (and one in a worker process that runs
seeded tasks). Code that runs something under another seed (a ``%%repeat`` run,
a ``%%deterministic`` cell, a task that runs in the kernel) does it in
``with state.reseeded(seed):``, which puts every field back on the way out.
"""

from __future__ import annotations

import os
import sys
import weakref
from dataclasses import dataclass

from repro.seeding import SeedMode, cell_seed, derive_bits


@dataclass(eq=False)
class SeedState:
    """What ``%seed`` has switched on, and the seed in force for the running cell."""

    mode: SeedMode = SeedMode.OFF
    base: int | None = None  # the N of %seed N
    current: int | None = None  # seed in force now (None: leave generators alone)
    draws: int = 0  # unseeded generators created in this cell
    import_draws: int = 0  # of those, the ones a module created while it was being imported
    forks: int = 0  # processes forked during this cell (DataLoader workers, say)
    submitted: int = 0  # tasks this cell handed to worker processes (see repro.kernel.workers)
    lineage: str = ""  # in a forked child: which fork of which parent it is, e.g. "/2"

    def __post_init__(self) -> None:
        _states.add(self)

    def start_cell(self, digest: str) -> int | None:
        """Enter a new cell, given its :func:`~repro.seeding.source_digest`: return the seed to apply, or None."""
        self.draws = self.import_draws = 0
        self.forks = 0
        self.submitted = 0
        if self.mode == SeedMode.PER_CELL and self.base is not None:
            self.current = cell_seed(self.base, digest)
            return self.current
        if self.mode == SeedMode.OFF:
            self.current = None
        return None

    def start_worker(self, seed: int) -> None:
        """This process is a worker that runs under *seed* from now on (a task's, or a DataLoader
        worker's), its counters afresh: nothing of the process's own to put back."""
        self.current, self.lineage = seed, ""
        self.draws = self.import_draws = self.forks = self.submitted = 0

    def switch(self, mode: SeedMode, base: int | None) -> None:
        """``%seed``: *mode* from now on, with *base* as the seed in force (None with ``--off``)."""
        self.mode, self.base, self.current = SeedMode(mode), base, base

    def reseeded(self, seed: int | None, own_counters: bool = True) -> Reseeded:
        """``with state.reseeded(seed):`` the block runs with *seed* in force.

        With *own_counters* (the default) it also starts its own count of unseeded
        generators, forks and submitted tasks, as a cell of its own; without, it
        counts with the code around it. On the way out, also on an exception or
        Ctrl-C, every field is as it was before the block, ``mode`` and ``base``
        too (a ``%seed`` inside the block lasts as long as the block).
        """
        return Reseeded(self, seed, own_counters)

    def next_entropy(self, bits: int) -> int:
        """Entropy for a generator created without a seed: from the cell seed and a counter.

        With no seed in force (a subclass of a patched class outliving
        ``%seed --off``, say), it is the operating system's entropy, as without repro.
        """
        if self.current is None:
            import secrets

            return secrets.randbits(bits)
        self.draws += 1
        if _importing():
            self.import_draws += 1
        counter = f"{self.lineage}#{self.draws}" if self.lineage else self.draws
        return derive_bits(self.current, counter, bits)


@dataclass(frozen=True)
class Settings:
    """What ``%reload_ext repro`` keeps of a session: its seed state and its state tracing."""

    mode: SeedMode
    base: int | None
    current: int | None
    trace_max_bytes: int | None  # None: state tracing off
    warned_hash_seed: bool


class Reseeded:
    """The context manager of :meth:`SeedState.reseeded` (a class: it runs around every task)."""

    __slots__ = ("_state", "_seed", "_own", "_saved")

    def __init__(self, state: SeedState, seed: int | None, own_counters: bool) -> None:
        self._state = state
        self._seed = seed
        self._own = own_counters
        self._saved: tuple = ()

    def __enter__(self) -> SeedState:
        state = self._state
        self._saved = (state.mode, state.base, state.current, state.lineage,
                       state.draws, state.import_draws, state.forks, state.submitted)
        state.current = self._seed
        if self._own:
            state.lineage, state.draws, state.import_draws, state.forks, state.submitted = "", 0, 0, 0, 0
        return state

    def __exit__(self, *exc) -> bool:
        state = self._state
        if self._own:
            (state.mode, state.base, state.current, state.lineage,
             state.draws, state.import_draws, state.forks, state.submitted) = self._saved
        else:
            state.mode, state.base, state.current, state.lineage = self._saved[:4]
        return False


# A forked child inherits the parent's counter: without telling the children
# apart, every worker of a DataLoader would create the same "unseeded"
# generators. Forks happen in a fixed order within a cell, so numbering them
# keeps the children distinct and reproducible. register_at_fork cannot be
# undone, hence one registration per process, over every live SeedState.
_states: weakref.WeakSet[SeedState] = weakref.WeakSet()


def _before_fork() -> None:
    for state in _states:
        state.forks += 1


def _in_forked_child() -> None:
    for state in _states:
        state.lineage = f"{state.lineage}/{state.forks}"
        state.forks = 0
        state.draws = state.import_draws = 0


# The file of the import system's own code ("<frozen importlib._bootstrap>", or a path when
# Python runs without frozen modules): its _load_unlocked runs every module an import executes.
_IMPORT_SYSTEM = sys.modules["_frozen_importlib"]._load_unlocked.__code__.co_filename


def _importing() -> bool:
    """Whether a module is being imported below the caller: the generators it makes are the
    library's own (made at import, alike in every run), not ones the cell's code made."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == _IMPORT_SYSTEM:
            return True
        frame = frame.f_back
    return False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_in_forked_child)
