"""The door between the two sides: what the kernel reports about one executed cell.

The kernel side (:mod:`repro.kernel`) builds the payload with :func:`make_payload`
after each cell and attaches it to the cell's ``execute_reply``; the notebook
side (:mod:`repro.notebook`) finds it with :func:`find_payload` and parses it
with :meth:`CellRecord.from_payload`, the one parser of the format. Neither
side imports the other; both import this module, which imports nothing beyond
the standard library.

The kernel side also speaks on stderr: every line it writes there starts with
:data:`NOTICE_PREFIX`. Such lines describe the session (a backend that failed),
not the cell's results, so the notebook side leaves them out when it compares
stderr. Advice (not an error) goes out as plain text instead, a ``display_data``
whose metadata holds :data:`NOTICE_METADATA` (see :func:`is_notice_output`), which
the notebook side leaves out of comparisons too.

Payload schema, version 1 (one JSON object in the reply's ``payload`` list)::

    {
      "source": "repro",            # marks the payload as ours
      "version": 1,                 # bumped on any incompatible change
      "execution_count": 3,         # the kernel's count for this cell, or null
      "cell_id": "a1b2c3",          # the cell id the client sent, or null
      "source_digest": "9f86d081",  # digest of the cell's code (repro.seeding.source_digest)
      "seed": 1234567890,           # seed applied before the cell, or null
      "seed_mode": "per-cell",      # "off" | "per-cell" | "once"
      "session_seed": 42,           # the N of the %seed N in force, or null (seeding off)
      "error": false,               # the cell raised
      "backends": {                 # one entry per random backend loaded
        "numpy": {"before": "1a2b3c4d", "after": "5e6f7a8b", "consumed": true}
      },
      "unseeded_generators": 2,     # optional, only when not 0: see below
      "magics": ["deterministic"],  # optional, only when one applied: see below
      "processes": 4,               # optional, only when not 0: worker processes the cell started
      "digests": 2,                 # how the backends' digests are made: see below (absent: 1)
      "state": {                    # optional, only while state tracing is on: see below
        "weights": "3f2a9c0b1d4e5f60", "big": "<too-big>", "conn": "<unreadable>"
      }
    }

``before`` is the digest of the backend's generator state when the cell
started (after seeding), or, for a backend imported during the cell, right after
its import; it is null for a cell that started before repro was loaded (and, from
kernels of repro 0.1.0, for a backend imported while no seed was in force).
``before`` and ``after`` are also null while the generator holds fresh entropy, when
nothing has seeded it since it was made (Python's ``random`` at kernel start, NumPy's
when imported with no seed in force, or after ``np.random.seed()``): its state then
differs from run to run and says nothing. ``consumed`` says whether the cell drew from
it all the same; it is null when the kernel could not tell (a cell that started before
repro was loaded). ``unseeded_generators`` counts
the generators the cell created without a seed (``default_rng()``,
``RandomState()``, ``random.Random()``...) that repro seeded from the cell's
seed, except those a module created while it was being imported (a library's
own, alike in every run); the key is left out when there were none (and by
kernels older than it). A cell that seeds a generator again (``%%deterministic``,
a ``%%repeat`` run) before drawing from it has as ``before`` the state right after
that seeding: a seeding is no draw.
``seed`` is the seed the cell ran under: for a ``%%deterministic --seed 3`` cell, 3, while
``session_seed`` stays the N of the ``%seed N`` in force when the cell ended (a ``%seed``
in the cell counts; null while seeding is off, and from kernels older than the key).
``magics`` names repro's cell magics that ran the cell, ``"deterministic"`` or
``"repeat"``; the key is left out when none did.
``processes`` counts the processes the cell started through ``multiprocessing`` (torch
DataLoader workers, process pools, joblib's workers): what they draw is not in the
digests, which see the kernel's generators only.
``digests`` says how the backend digests were made. From 2 on, torch's digest is
of its generator's stream position (seed, position, first words, cached normal
samples), as NumPy's and ``random``'s always were; records without the key (1)
digest torch's whole ``get_state()``. Digests of records made in different ways
are not compared with each other.
``state`` maps each user variable the cell assigned, read or rebound (modules,
functions, classes, private and IPython names left out) to the first 16 hex digits
of a digest of its value (:mod:`repro.kernel.state`), or to ``"<too-big>"`` (over the
size limit or the time budget) or ``"<unreadable>"`` (reading it failed); the key is
present only while tracing is on (``%repro trace on``, or ``repro-nb`` runs).
Clients must ignore keys they do not know; removing or changing the meaning of
a key bumps ``version``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

PAYLOAD_SOURCE = "repro"
SCHEMA_VERSION = 1
#: How the kernel side makes backend digests (the payload's ``digests``); 1 where the key is absent.
DIGESTS = 2
#: Every line the kernel side writes to stderr starts with this.
NOTICE_PREFIX = "repro: "
#: The metadata of a display_data by which the kernel side gives advice: ``{"repro": {"notice": true}}``.
NOTICE_METADATA = {PAYLOAD_SOURCE: {"notice": True}}


def is_notice_output(output: object) -> bool:
    """Whether a notebook output is the kernel side's advice (a display marked with :data:`NOTICE_METADATA`)."""
    if not isinstance(output, Mapping) or output.get("output_type") != "display_data":
        return False
    metadata = output.get("metadata")
    ours = metadata.get(PAYLOAD_SOURCE) if isinstance(metadata, Mapping) else None
    return isinstance(ours, Mapping) and ours.get("notice") is True


@dataclass(frozen=True)
class BackendState:
    """Digests of one backend's generator state around one cell."""

    before: str | None
    after: str | None
    drew: bool | None = None  # the payload's "consumed", read where a digest is null

    @property
    def consumed(self) -> bool | None:
        """Whether the cell drew from this generator (None when unknown)."""
        if self.before is None or self.after is None:
            return self.drew
        return self.before != self.after

    @property
    def unseeded(self) -> bool:
        """Whether the cell drew from the generator while it held fresh entropy (no digests)."""
        return self.before is None and self.after is None and self.drew is True


@dataclass(frozen=True)
class CellRecord:
    """What repro knows about one executed cell."""

    execution_count: int | None
    cell_id: str | None
    source_digest: str
    seed: int | None
    seed_mode: str
    error: bool
    backends: Mapping[str, BackendState] = field(default_factory=dict)
    unseeded_generators: int = 0  # generators created without a seed that repro seeded
    processes: int = 0  # worker processes the cell started: their draws are not in the digests
    state: Mapping[str, str] | None = None  # variable -> digest or marker; None when not traced
    session_seed: int | None = None  # the N of the %seed N in force; None while seeding is off
    magics: tuple[str, ...] = ()  # repro's cell magics that ran the cell ("deterministic", "repeat")
    digests: int = 1  # how the backend digests were made (see DIGESTS): others are not comparable

    @classmethod
    def from_payload(cls, data: Mapping[str, Any], stored: bool = False) -> CellRecord:
        """Parse a payload dict; raise ValueError if it is not a version-1 repro record.

        *stored*: the record as ``repro-nb record`` keeps it in cell metadata, without
        the ``source`` key.
        """
        if not isinstance(data, Mapping):
            raise ValueError("not a repro payload")
        if not stored and data.get("source") != PAYLOAD_SOURCE:
            raise ValueError("not a repro payload")
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"unsupported repro payload version {data.get('version')!r}")
        try:
            backends = {str(name): _backend_state(s) for name, s in data.get("backends", {}).items()}
            return cls(
                execution_count=data.get("execution_count"),
                cell_id=data.get("cell_id"),
                source_digest=str(data["source_digest"]),
                seed=data.get("seed"),
                seed_mode=str(data.get("seed_mode", "off")),
                error=bool(data.get("error", False)),
                backends=backends,
                unseeded_generators=_count(data.get("unseeded_generators")),
                processes=_count(data.get("processes")),
                state=_state(data.get("state")),
                session_seed=_seed(data.get("session_seed")),
                magics=_names(data.get("magics")),
                digests=_count(data.get("digests")) or 1,
            )
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed repro payload: {exc}") from None


def _backend_state(entry: Mapping[str, Any]) -> BackendState:
    before, after, consumed = entry.get("before"), entry.get("after"), entry.get("consumed")
    if before is not None and after is not None:
        return BackendState(before, after)
    return BackendState(before, after, drew=consumed if isinstance(consumed, bool) else None)


def _count(value: object) -> int:
    """An optional count: a non-negative integer, else 0 (an optional key never spoils a record)."""
    return value if type(value) is int and value > 0 else 0


def _seed(value: object) -> int | None:
    """An optional seed: a non-negative integer, else None."""
    return value if type(value) is int and value >= 0 else None


def _names(value: object) -> tuple[str, ...]:
    """An optional list of names: its strings, in order; anything else reads as none."""
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(name for name in value if isinstance(name, str))


def _state(value: object) -> dict[str, str] | None:
    """An optional state map: names to digest strings; anything else in it is left out."""
    if not isinstance(value, Mapping):
        return None
    return {name: digest for name, digest in value.items() if isinstance(name, str) and isinstance(digest, str)}


def make_payload(
    *,
    execution_count: int | None,
    cell_id: str | None,
    source_digest: str,
    seed: int | None,
    seed_mode: str,
    error: bool,
    before: Mapping[str, str | None],
    after: Mapping[str, str | None],
    unseeded_generators: int = 0,
    state: Mapping[str, str] | None = None,
    session_seed: int | None = None,
    magics: Iterable[str] = (),
    consumed: Mapping[str, bool | None] | None = None,
    processes: int = 0,
) -> dict[str, Any]:
    """Build the version-1 payload dict directly (the kernel's per-cell hot path).

    *after* names the backends loaded at the end of the cell; *before* may lack some.
    *consumed*: whether the cell drew, for the backends whose digests are left out (null)
    because their state was fresh entropy.
    """
    backends = {}
    consumed = consumed or {}
    for name, digest_after in after.items():
        digest_before = before.get(name)
        backends[name] = {
            "before": digest_before,
            "after": digest_after,
            "consumed": consumed.get(name) if digest_before is None or digest_after is None
            else digest_before != digest_after,
        }
    payload = {
        "source": PAYLOAD_SOURCE,
        "version": SCHEMA_VERSION,
        "execution_count": execution_count,
        "cell_id": cell_id,
        "source_digest": source_digest,
        "seed": seed,
        "seed_mode": seed_mode,
        "session_seed": session_seed,
        "error": error,
        "backends": backends,
        "digests": DIGESTS,
    }
    if unseeded_generators:
        payload["unseeded_generators"] = unseeded_generators
    if magics:
        payload["magics"] = list(magics)
    if processes > 0:
        payload["processes"] = processes
    if state is not None:
        payload["state"] = state
    return payload


def find_payload(payloads: Iterable[Any] | None) -> dict[str, Any] | None:
    """repro's payload among an execute reply's payloads, as the dict it came as, if any."""
    for data in payloads or ():
        if isinstance(data, dict) and data.get("source") == PAYLOAD_SOURCE:
            return data
    return None


def parse_records(payloads: Mapping[int, Any], stored: bool = False) -> dict[int, CellRecord]:
    """Parse a cell-index -> payload mapping; records that do not parse are left out."""
    records = {}
    for index, data in payloads.items():
        try:
            records[index] = CellRecord.from_payload(data, stored=stored)
        except ValueError:
            continue
    return records
