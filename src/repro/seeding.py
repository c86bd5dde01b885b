"""Seed derivation and the session's seeding state.

Every seed repro hands to a library is an integer in ``[0, 2**32)``: the
widest range that every supported library accepts (NumPy's legacy generator
refuses anything larger), so the same value reaches each library unchanged.
Seeds for cells are derived from the session seed and the cell's normalised
source with BLAKE2b, never with Python's ``hash()``, whose value for strings
changes from one process to the next.
"""

from __future__ import annotations

import hashlib
import os
import re
import weakref
from dataclasses import dataclass

SEED_LIMIT = 2**32
#: Session seed used by ``%%deterministic`` when ``%seed`` is off.
DEFAULT_BASE_SEED = 0


def hash_seed_fixed(environ=os.environ) -> bool:
    """Whether this process was started with a fixed PYTHONHASHSEED."""
    return environ.get("PYTHONHASHSEED", "random").strip().isdigit()


def check_hash_seed(value: object) -> str:
    """Return *value* as a PYTHONHASHSEED value (0 to 2**32 - 1), or raise ValueError."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) >= SEED_LIMIT:
        raise ValueError(f"PYTHONHASHSEED must be an integer from 0 to {SEED_LIMIT - 1}, got {text!r}")
    return str(int(text))


def check_seed(value: object) -> int:
    """Return *value* as a seed, or raise ValueError saying what is wrong with it (in one short line).

    Only the ASCII digits 0-9 make a seed (with a "-" only to say that it is
    negative): not "1_000", "+5" or "\u0663", which ``int()`` would take.
    """
    text = str(value).strip()
    shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
    if not _SEED_TEXT.fullmatch(text):
        raise ValueError(f"seed must be an integer written with the digits 0-9, got {shown!r}")
    # More than 10 significant digits is out of range: never convert a huge number.
    if len(text.lstrip("-").lstrip("0")) > 10 or not 0 <= int(text) < SEED_LIMIT:
        raise ValueError(f"seed must be between 0 and {SEED_LIMIT - 1}, got {shown}")
    return int(text)


_SEED_TEXT = re.compile(r"-?[0-9]+")


# Line breaks other than "\n", or blanks at a line's end: the source needs per-line work.
_NEEDS_LINE_WORK = re.compile("[\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]|[ \t]\n")


def normalize_source(source: str) -> str:
    """Cell source as it is hashed: line endings unified, trailing blanks of lines
    and blank lines at both ends dropped."""
    # Runs before every cell: most sources need no per-line work.
    if _NEEDS_LINE_WORK.search(source):
        source = "\n".join([line.rstrip() for line in source.splitlines()])
    return source.rstrip().strip("\n")


def _digest(*parts: object, size: int) -> bytes:
    text = "\x1f".join(map(str, parts))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=size).digest()


def source_digest(source: str) -> str:
    """Short stable digest of a cell's normalised source (16 hex digits)."""
    return _digest(normalize_source(source), size=8).hex()


def derive_seed(base_seed: int, *parts: object) -> int:
    """A seed in ``[0, 2**32)`` derived from *base_seed* and *parts* by a stable hash."""
    return int.from_bytes(_digest(base_seed, *parts, size=4), "big")


def derive_cell_seed(base_seed: int, source: str) -> int:
    """The seed a cell with this source gets under session seed *base_seed*."""
    return derive_seed(base_seed, "cell", source_digest(source))


def derive_bits(seed: int, counter: int | str, bits: int) -> int:
    """*bits* bits of entropy derived from a cell seed and a per-cell call counter."""
    size = max(1, (bits + 7) // 8)
    value = int.from_bytes(_digest(seed, "entropy", counter, size=size), "big")
    return value >> (size * 8 - bits) if bits else 0


@dataclass(eq=False)
class SeedState:
    """What ``%seed`` has switched on, and the seed in force for the running cell."""

    mode: str = "off"  # "off" | "per-cell" | "once"
    base: int | None = None  # the N of %seed N
    current: int | None = None  # seed in force now (None: leave generators alone)
    draws: int = 0  # unseeded generators created in this cell
    forks: int = 0  # processes forked during this cell (DataLoader workers, say)
    lineage: str = ""  # in a forked child: which fork of which parent it is, e.g. "/2"

    def __post_init__(self) -> None:
        _states.add(self)

    def start_cell(self, digest: str) -> int | None:
        """Enter a new cell, given its :func:`source_digest`: return the seed to apply, or None."""
        self.draws = 0
        self.forks = 0
        if self.mode == "per-cell" and self.base is not None:
            self.current = derive_seed(self.base, "cell", digest)
            return self.current
        if self.mode == "off":
            self.current = None
        return None

    def next_entropy(self, bits: int) -> int:
        """Entropy for a generator created without a seed: from the cell seed and a counter.

        With no seed in force (a subclass of a patched class outliving
        ``%seed --off``, say), it is the operating system's entropy, as without repro.
        """
        if self.current is None:
            import secrets

            return secrets.randbits(bits)
        self.draws += 1
        counter = f"{self.lineage}#{self.draws}" if self.lineage else self.draws
        return derive_bits(self.current, counter, bits)


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
        state.draws = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_in_forked_child)
