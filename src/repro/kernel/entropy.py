"""Which global generators hold fresh entropy: made from the operating system's randomness
and seeded by nobody since.

Python's ``random`` seeds itself from the operating system when the kernel starts, and so
does NumPy's legacy generator when it is imported; until something seeds them, their
state is different in every run and its digest tells nothing (and would change a
recorded notebook each time it is recorded again). The recorder leaves the digests of
such a generator out of a cell's record (see :mod:`repro.payload`) and keeps only
whether the cell drew from it.

A generator stops being unseeded when repro seeds it (``%seed``, a per-cell seed, a
library imported while a seed is in force) or when the user's code calls one of its
backend's :attr:`~repro.kernel.backends.Backend.seed_functions` with a seed: those
functions are wrapped while repro is loaded. Called with no seed (``random.seed()``,
``np.random.seed()``, ``torch.seed()``), they make the generator unseeded again. Putting a
saved state back (``setstate``) changes nothing here: the state saved was what it was.
"""

from __future__ import annotations

import functools
import sys
from typing import Callable

from repro.kernel import guard, warn
from repro.kernel.undo import undo_all

Restore = Callable[[], None]


class UnseededGenerators:
    """The names of the backends whose global generator holds fresh entropy right now."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self._restores: dict[str, Restore] = {}

    def loaded(self, backend, seeded: bool) -> None:
        """*backend*'s library is loaded (found at start, or imported just now), seeded by repro
        or not: watch its seeding functions, and note it unseeded if its library seeds itself
        from entropy."""
        if backend.name not in self._restores:
            with guard(lambda exc: warn(f"cannot watch the seeding of {backend.name!r}: {exc!r}")):
                self._restores[backend.name] = _wrap_seed_functions(backend, self)
        if seeded:
            self.names.discard(backend.name)
        elif getattr(backend, "unseeded_at_import", False):
            self.names.add(backend.name)

    def seeded(self) -> None:
        """repro seeded every loaded backend."""
        self.names.clear()

    def stop(self) -> None:
        """Put the seeding functions back."""
        restores, self._restores = self._restores, {}
        undo_all((f"the seeding functions of {name!r}", restore) for name, restore in restores.items())


def _wrap_seed_functions(backend, unseeded: UnseededGenerators) -> Restore:
    wrapped = []
    for path in getattr(backend, "seed_functions", ()):
        owner = sys.modules[backend.module]
        *parents, attribute = path.split(".")  # "random.manual_seed": a submodule's function
        for parent in parents:
            owner = getattr(owner, parent, None)
        original = getattr(owner, attribute, None)
        if original is None or getattr(original, "_repro_watched", False):
            continue
        wrapper = _watching(original, backend.name, unseeded)
        setattr(owner, attribute, wrapper)
        wrapped.append((owner, attribute, original, wrapper))

    def restore() -> None:
        for owner, attribute, original, wrapper in wrapped:
            if getattr(owner, attribute, None) is wrapper:
                setattr(owner, attribute, original)

    return restore


def _watching(original: Callable, name: str, unseeded: UnseededGenerators) -> Callable:
    @functools.wraps(original)
    def seed_function(*args, **kwargs):
        result = original(*args, **kwargs)
        seed = args[0] if args else next(iter(kwargs.values()), None)
        if seed is None:
            unseeded.names.add(name)
        else:
            unseeded.names.discard(name)
        return result

    seed_function._repro_watched = True
    return seed_function
