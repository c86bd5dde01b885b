"""Python's ``random`` module: the global ``random.Random`` instance."""

from __future__ import annotations

import _random
import array
import struct
import sys
from typing import Callable

from repro.kernel.backends import Backend, MemoryView, Restore, SeededStates, memory_view

_MT_WORDS = 624
# CPython's _random.Random object: PyObject_HEAD, int index, uint32_t state[624].
_HEAD = 2 * struct.calcsize("P")
_STATE_SIZE = 4 + 4 * _MT_WORDS
# Every draw moves the index, and every regeneration of the words (each 624
# draws) changes the first ones: the index and 16 words fingerprint the stream
# position, 68 bytes read instead of 2,500 after a cell has evicted them from the cache.
FINGERPRINT_SIZE = 4 + 4 * 16


class PythonRandomBackend(Backend):
    name = "random"
    module = "random"
    unseeded_at_import = True
    seed_functions = ("seed",)

    def __init__(self) -> None:
        self._fast_state: bool | None = None  # the C layout is the expected one (checked once)
        self._views: tuple[MemoryView, MemoryView] | None = None  # fingerprint and whole state
        self._seeded = SeededStates()  # seed -> (whole state, fingerprint) right after seeding

    def seed(self, seed: int) -> bytes | None:
        inst = sys.modules["random"]._inst
        inst.gauss_next = None
        views = self._views_of(inst)
        if views is None:
            _random.Random.seed(inst, seed)  # random.seed(int) without its Python-level checks
            return None
        # Seeding computes 2,500 bytes from the seed (about 7 µs); copying them back
        # leaves exactly the same state in a fraction of a microsecond.
        known = self._seeded.get(seed)
        if known is not None:
            views[1].write(known[0])
            return known[1]
        _random.Random.seed(inst, seed)
        if not self._seeded.worth_keeping(seed):
            return views[0].read()
        whole = views[1].read()
        self._seeded.keep(seed, (whole, whole[:FINGERPRINT_SIZE]))
        return whole[:FINGERPRINT_SIZE]

    def seed_once(self, seed: int) -> None:
        inst = sys.modules["random"]._inst
        _random.Random.seed(inst, seed)
        inst.gauss_next = None

    def state(self) -> bytes:
        inst = sys.modules["random"]._inst
        # gauss() keeps its second value in Python; it is part of the stream.
        gauss = b"" if inst.gauss_next is None else repr(inst.gauss_next).encode()
        views = self._views_of(inst)
        if views is not None:
            # Reading the C struct costs a fraction of a microsecond; getstate()
            # builds a 625-tuple of ints (about 8 µs) on every cell.
            return views[0].read() + gauss
        return _state_bytes(inst.getstate())[:FINGERPRINT_SIZE] + gauss

    def snapshot(self) -> Restore:
        """The global generator's whole state, copied out of memory where its layout is the one known."""
        inst = sys.modules["random"]._inst
        views = self._views_of(inst)
        if views is None:
            state = inst.getstate()
            return lambda: inst.setstate(state)
        whole, gauss = views[1], inst.gauss_next
        saved = whole.read()

        def restore() -> None:
            whole.write(saved)
            inst.gauss_next = gauss

        return restore

    def _views_of(self, inst: object) -> tuple[MemoryView, MemoryView] | None:
        """Views of *inst*'s C state (fingerprint, whole), or None where the layout is not the one expected."""
        views = self._views
        if views is not None and views[0].owner is inst:
            return views
        if self._fast_state is None:
            self._fast_state = self._layout_matches(inst)
        if not self._fast_state:
            return None
        address = id(inst) + _HEAD
        self._views = memory_view(inst, address, FINGERPRINT_SIZE), memory_view(inst, address, _STATE_SIZE)
        return self._views

    @staticmethod
    def _layout_matches(inst: object) -> bool:
        """Whether the C layout this backend reads directly is the one in memory."""
        if sys.implementation.name != "cpython":
            return False
        import ctypes

        expected = _state_bytes(inst.getstate())
        return ctypes.string_at(id(inst) + _HEAD, _STATE_SIZE) == expected

    def patch(self, entropy: Callable[[int], int]) -> Restore:
        random = self.loaded()
        original = random.Random

        class Random(original):  # type: ignore[misc, valid-type]
            __doc__ = original.__doc__

            def __init__(self, x=None):
                super().__init__(entropy(128) if x is None else x)

        Random.__module__ = original.__module__
        Random.__qualname__ = original.__qualname__
        random.Random = Random

        def restore() -> None:
            if random.Random is Random:
                random.Random = original

        return restore


def _state_bytes(state: tuple) -> bytes:
    """The state as CPython lays it out: the index, then the 624 words."""
    words = state[1]
    return int(words[-1]).to_bytes(4, sys.byteorder) + array.array("I", words[:_MT_WORDS]).tobytes()

