"""The data the notebook side passes around: runs, cell and notebook results, divergences.

Plain dataclasses, so that comparing, diagnosing and reporting never import nbclient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.notebook.compare import OutputDiff

if TYPE_CHECKING:
    from repro.notebook.reorder import RecordedOrder

#: PYTHONHASHSEED used when the notebook's metadata records none.
DEFAULT_HASH_SEED = "0"


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
    records: dict[int, dict] = field(default_factory=dict)  # cell index -> repro payload, as received
    failure: Failure | None = None
    kernel_name: str = ""
    hash_seed: str = DEFAULT_HASH_SEED
    duration: float = 0.0
    records_available: bool = False  # repro was importable in the kernel
    environment: dict | None = None  # captured in the kernel after the last cell (repro.environment)
    notes: list[str] = field(default_factory=list)  # about how it ran: a kernel fallen back to, say
    side_effects: SideEffects | None = None  # with isolate: what the run wrote into its scratch folder


@dataclass
class CellResult:
    index: int  # position in the notebook's cells list, from 0 (markdown cells included)
    status: str  # "same" | "differs" | "skipped" | "failed"
    execution_count: int | None = None  # the stored one, as the user saw it
    diffs: list[OutputDiff] = field(default_factory=list)
    reason: str | None = None  # why skipped or failed
    cause: str | None = None  # for a differing cell, with --runs: "nondeterministic" | "hash-order" | "drift"
    hint: str | None = None  # for a differing cell: what it likely means and the fix (repro.notebook.hints)
    downstream_of: int | None = None  # for a differing cell: the earlier differing cell it likely follows from


@dataclass(frozen=True)
class Divergence:
    """The first cell after which some generator's state differs between two runs."""

    cell: int  # index in the notebook's cells
    backend: str
    against: str  # "stored" (the recorded run) or "runs" (two runs of this verify)


@dataclass(frozen=True)
class StateDivergence:
    """The first cell after which some user variable's digest differs, and which variables."""

    cell: int  # index in the notebook's cells
    names: tuple[str, ...]
    against: str  # "stored" (the recorded digests) or "runs" (two runs of this verify)


@dataclass
class NotebookResult:
    path: Path
    status: str  # "reproduced" | "differs" | "failed" | "unverified" (no cell compared)
    cells: list[CellResult]
    failure: Failure | None = None
    duration: float | None = None
    records: dict[int, dict] = field(default_factory=dict)
    runs: int = 1
    rng_divergence: Divergence | None = None
    state_divergence: StateDivergence | None = None
    notes: list[str] = field(default_factory=list)  # how it ran (kernel fallback), signs of stale stored outputs
    environment_changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    side_effects: SideEffects | None = None  # files the runs created or changed; None when not tracked
    recorded_order: RecordedOrder | None = None  # the run in the order the stored counts say (verify)

    @property
    def compared(self) -> int:
        """How many code cells had their outputs compared."""
        return sum(c.status in ("same", "differs") for c in self.cells)

    def passed(self, allow_unverified: bool = False) -> bool:
        """Whether this counts as a pass: reproduced, or unverified when that is allowed."""
        return self.status == "reproduced" or (allow_unverified and self.status == "unverified")

    @property
    def differing(self) -> list[CellResult]:
        return [c for c in self.cells if c.status == "differs"]

    @property
    def first_difference(self) -> int | None:
        """Index of the first cell that differs or failed, if any."""
        for cell in self.cells:
            if cell.status in ("differs", "failed"):
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
