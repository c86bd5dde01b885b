"""The data the notebook side passes around: runs, cell and notebook results, divergences.

Plain dataclasses, so that comparing, diagnosing and reporting never import nbclient.
The words a result is made of (a notebook's status, a cell's, why a cell was skipped,
the cause of a difference, what a divergence is against) are enumerations of ``str``:
a misspelt member is an error, and each member is the very string the JSON report writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.notebook.compare import OutputDiff
from repro.payload import CellRecord, parse_records

if TYPE_CHECKING:
    from repro.notebook.reorder import RecordedOrder

#: PYTHONHASHSEED used when the notebook's metadata records none.
DEFAULT_HASH_SEED = "0"


class _Word(str, Enum):
    """A member equal to, printed as and written to JSON as its plain string."""

    __str__ = str.__str__
    __format__ = str.__format__


class NotebookStatus(_Word):
    REPRODUCED = "reproduced"
    DIFFERS = "differs"
    FAILED = "failed"
    UNVERIFIED = "unverified"  # no cell compared (no stored outputs, every cell skipped): not a pass


class CellStatus(_Word):
    SAME = "same"
    DIFFERS = "differs"
    SKIPPED = "skipped"
    FAILED = "failed"


class SkipReason(_Word):
    """Why a code cell was not compared, where no message of the run's says it."""

    MARKED_SKIP = "marked skip"  # a skip marker (repro-skip, nbval-skip, NBVAL_SKIP)
    EMPTY = "empty"  # a blank source
    NEVER_EXECUTED = "never executed"  # no stored count and no stored outputs
    NOT_EXECUTED = "not executed"  # this run did not execute it
    OUTPUT_IGNORED = "output ignored"  # an ignore-output marker


class Cause(_Word):
    """Why a cell differs, as repeated runs (``verify --runs N``) tell it."""

    NONDETERMINISTIC = "nondeterministic"  # runs with identical settings disagree with each other
    HASH_ORDER = "hash-order"  # the runs agree under one PYTHONHASHSEED and change with another
    DRIFT = "drift"  # the runs agree with each other, not with the stored outputs


class Against(_Word):
    """What a divergence was found against."""

    STORED = "stored"  # the records stored in the notebook (the recorded run)
    RUNS = "runs"  # two runs of this verify


@dataclass
class Failure:
    """Why a notebook did not run to the end, and where."""

    kind: str  # "error" | "timeout" | "dead-kernel" | "interrupted" | "kernel"
    message: str
    cell_index: int | None = None
    ename: str | None = None
    evalue: str | None = None


@dataclass
class SideEffects:
    """Files (relative to the notebook's folder, ``/``-separated) a run created or changed there."""

    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    isolated: bool = False  # in a scratch copy of the folder (--isolate): the folder itself is untouched


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    notebook: Any  # the executed copy (nbformat NotebookNode)
    executed: set[int] = field(default_factory=set)  # indices of the code cells that ran
    records: dict[int, dict] = field(default_factory=dict)  # cell index -> repro payload, as received (and stored)
    failure: Failure | None = None
    kernel_name: str = ""
    hash_seed: str = DEFAULT_HASH_SEED
    duration: float = 0.0
    records_available: bool = False  # repro was importable in the kernel
    environment: dict | None = None  # captured in the kernel after the last cell (repro.environment)
    notes: list[str] = field(default_factory=list)  # about how it ran: a kernel fallen back to, say
    side_effects: SideEffects | None = None  # with isolate: what the run wrote into its scratch folder

    @cached_property
    def cell_records(self) -> dict[int, CellRecord]:
        """:attr:`records` parsed, those that do not parse left out: once, on first use,
        which comes after the run ended (while it runs, records still arrive)."""
        return parse_records(self.records)


@dataclass
class CellResult:
    index: int  # position in the notebook's cells list, from 0 (markdown cells included)
    status: CellStatus
    execution_count: int | None = None  # the stored one, as the user saw it
    diffs: list[OutputDiff] = field(default_factory=list)
    reason: str | None = None  # why skipped (a SkipReason, or why the run did not get there) or failed
    cause: Cause | None = None  # for a differing cell, with --runs
    hint: str | None = None  # for a differing cell: what it likely means and the fix (repro.notebook.hints)
    downstream_of: int | None = None  # for a differing cell: the earlier differing cell it likely follows from
    cell_id: str | None = None  # the notebook cell's nbformat id, if it has one

    def __post_init__(self) -> None:
        self.status = CellStatus(self.status)
        if self.cause is not None:
            self.cause = Cause(self.cause)


@dataclass(frozen=True)
class Divergence:
    """The first cell after which some generator's state differs between two runs."""

    cell: int  # index in the notebook's cells
    backend: str
    against: Against

    def __post_init__(self) -> None:
        object.__setattr__(self, "against", Against(self.against))


@dataclass(frozen=True)
class StateDivergence:
    """The first cell after which some user variable's digest differs, and which variables."""

    cell: int  # index in the notebook's cells
    names: tuple[str, ...]
    against: Against

    def __post_init__(self) -> None:
        object.__setattr__(self, "against", Against(self.against))


@dataclass
class NotebookResult:
    path: Path
    status: NotebookStatus
    cells: list[CellResult]
    failure: Failure | None = None
    duration: float | None = None
    records: dict[int, CellRecord] = field(default_factory=dict)  # the judged run's, parsed
    runs: int = 1
    rng_divergence: Divergence | None = None
    state_divergence: StateDivergence | None = None
    notes: list[str] = field(default_factory=list)  # how it ran (kernel fallback), signs of stale stored outputs
    environment_changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    side_effects: SideEffects | None = None  # files the runs created or changed; None when not tracked
    recorded_order: RecordedOrder | None = None  # the run in the order the stored counts say (verify)

    def __post_init__(self) -> None:
        self.status = NotebookStatus(self.status)

    @property
    def compared(self) -> int:
        """How many code cells had their outputs compared."""
        return sum(c.status in (CellStatus.SAME, CellStatus.DIFFERS) for c in self.cells)

    def passed(self, allow_unverified: bool = False) -> bool:
        """Whether this counts as a pass: reproduced, or unverified when that is allowed."""
        return self.status == NotebookStatus.REPRODUCED or (
            allow_unverified and self.status == NotebookStatus.UNVERIFIED)

    @property
    def differing(self) -> list[CellResult]:
        return [c for c in self.cells if c.status == CellStatus.DIFFERS]

    @property
    def first_difference(self) -> int | None:
        """Index of the first cell that differs or failed, if any."""
        for cell in self.cells:
            if cell.status in (CellStatus.DIFFERS, CellStatus.FAILED):
                return cell.index
        return None


@dataclass
class RecordResult:
    """What ``record`` did with one notebook: written, or why not."""

    path: Path
    run: NotebookRun | None
    written: bool
    message: str  # one line for the user: "recorded PATH (1.2 s)", or why not

    @property
    def duration(self) -> float | None:
        return None if self.run is None else self.run.duration
