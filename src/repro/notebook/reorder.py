"""The order a notebook's author ran it in, and whether its outputs come back in that order.

A notebook saved after running its cells out of order stores execution counts
that say so (``In [4]`` in cell 9 above ``In [6]`` in cell 7). When verify finds
that such a notebook fails or differs top to bottom, it runs it once more with
its cells in the *recorded order* and tells whether that explains it.

The recorded order, the rule:

- every code cell with a stored execution count (not blank, not marked skip) is
  placed by its count; equal counts keep their order in the notebook;
- every other cell (markdown, raw, a code cell without a count, one marked skip)
  travels with the counted code cell that follows it, so a markdown cell stays
  right before the code it introduces; the cells after the last counted one stay
  at the end.

The moves that turn the notebook into that order are the fewest there are: the
counted cells in a longest increasing run of counts (not necessarily adjacent)
stay, every other one moves, with the cells that travel with it, to just before
the next cell that stays (or after the last one). Gaps in the counts (cells run
more than once) say nothing about order: cells in order need no move and no run.

Pure functions, no kernel: :mod:`repro.notebook.verify` runs the notebook and
hands the run here.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from repro.notebook.compare import CompareOptions
from repro.notebook.markers import cell_markers
from repro.notebook.outcome import compare_cells, notebook_status
from repro.notebook.results import CellStatus, NotebookResult, NotebookRun, NotebookStatus
from repro.payload import parse_records
from repro.seeding import SeedMode

#: ``--recorded-order``: ``auto`` runs in the recorded order when the counts are out of
#: order and the notebook fails or differs top to bottom; ``always`` whenever the counts
#: are out of order; ``off`` never.
MODES = ("auto", "off", "always")


@dataclass(frozen=True)
class Move:
    """Move cell *cell* (with the cells that travel with it) to just before cell *before*,
    or, when *before* is None, to just after cell *after*: both cells stay where they are."""

    cell: int  # index in the notebook's cells, from 0
    execution_count: int
    before: int | None
    after: int | None
    before_count: int | None = None
    after_count: int | None = None


@dataclass
class RecordedOrder:
    """What the run in the recorded order gave."""

    status: str  # that run against the stored outputs: "reproduced" | "differs" | "failed" | "unverified"
    moves: list[Move] = field(default_factory=list)
    first_difference: int | None = None  # index in the notebook (as stored) of the first cell differing or failed
    failure: str | None = None  # why that run did not run to the end
    draws_depend_on_order: bool = False  # a cell drew random numbers without per-cell seeding

    @property
    def reproduces(self) -> bool:
        return self.status == NotebookStatus.REPRODUCED


# -- the order and the moves, over a list of counts (None: a cell without one) -----------


def cell_counts(nb) -> list[int | None]:
    """For each cell of *nb*, the stored execution count that places it, or None."""
    counts: list[int | None] = []
    for cell in nb.cells:
        count = cell.get("execution_count") if cell.cell_type == "code" else None
        if isinstance(count, bool) or not isinstance(count, int) or not cell.source.strip() \
                or "skip" in cell_markers(cell):
            count = None
        counts.append(count)
    return counts


def _blocks(counts: list[int | None]) -> tuple[dict[int, list[int]], list[int]]:
    """Each counted position -> the positions that travel with it (itself last); the tail."""
    blocks: dict[int, list[int]] = {}
    pending: list[int] = []
    for position, count in enumerate(counts):
        pending.append(position)
        if count is not None:
            blocks[position], pending = pending, []
    return blocks, pending


def order_of_counts(counts: list[int | None]) -> list[int]:
    """The positions of *counts* in the recorded order (see the module's rule)."""
    blocks, tail = _blocks(counts)
    heads = sorted(blocks, key=lambda p: (counts[p], p))
    return [p for head in heads for p in blocks[head]] + tail


def _longest_increasing(keys: list[tuple[int, int]]) -> set[int]:
    """The indices into *keys* (all distinct) of a longest strictly increasing subsequence:
    of those, the one that keeps the earliest cells (so a cell run early moves up, before
    the cell it ran before, rather than the cells above it moving down)."""
    starting = [0] * len(keys)  # the longest increasing run that starts at each key
    tails: list[tuple[int, int]] = []  # from the right, keys negated: patience sorting
    for i in range(len(keys) - 1, -1, -1):
        negated = (-keys[i][0], -keys[i][1])
        length = bisect.bisect_left(tails, negated)
        if length == len(tails):
            tails.append(negated)
        else:
            tails[length] = negated
        starting[i] = length + 1
    chosen: set[int] = set()
    need, last = len(tails), None
    for i, key in enumerate(keys):  # the first key that can still start a run of the length needed
        if need and starting[i] == need and (last is None or key > last):
            chosen.add(i)
            need, last = need - 1, key
    return chosen


def moves_for_counts(counts: list[int | None]) -> list[Move]:
    """The fewest moves that put the counted positions of *counts* in the recorded order,
    in that order (smallest count first)."""
    heads = [p for p, c in enumerate(counts) if c is not None]
    keys = [(counts[p], p) for p in heads]
    staying = {heads[i] for i in _longest_increasing(keys)}
    ordered = sorted(heads, key=lambda p: (counts[p], p))
    moves = []
    for rank, position in enumerate(ordered):
        if position in staying:
            continue
        before = next((p for p in ordered[rank + 1:] if p in staying), None)
        after = next((p for p in reversed(ordered[:rank]) if p in staying), None)
        moves.append(Move(position, counts[position], before, after,
                          None if before is None else counts[before], None if after is None else counts[after]))
    return moves


def apply_moves(counts: list[int | None], moves: list[Move]) -> list[int]:
    """The positions of *counts* after *moves*, each cell moving with those that travel with it."""
    blocks, tail = _blocks(counts)
    moved = {m.cell for m in moves}
    heads = [p for p in blocks if p not in moved]
    for move in sorted(moves, key=lambda m: (m.execution_count, m.cell)):
        if move.before is None:
            heads.append(move.cell)
        else:
            heads.insert(heads.index(move.before), move.cell)
    return [p for head in heads for p in blocks[head]] + tail


# -- the notebook in that order ---------------------------------------------------------


def reorder_cells(nb, order: list[int]):
    """A shallow copy of *nb* with its cells in *order* (the cells themselves are shared)."""
    copy = type(nb)(nb)
    copy["cells"] = [nb.cells[i] for i in order]
    return copy


def planned_order(nb, result: NotebookResult, mode: str = "auto") -> list[int] | None:
    """The order to run *nb* in once more, or None: with *mode* ``auto``, only when *result*
    (top to bottom) differs or failed; never with ``off``; never after a kernel that could
    not start or Ctrl-C; and only when the stored counts are out of order."""
    if mode == "off" or (mode == "auto" and result.status not in (NotebookStatus.DIFFERS, NotebookStatus.FAILED)):
        return None
    if result.failure is not None and result.failure.kind in ("kernel", "interrupted"):
        return None
    counts = cell_counts(nb)
    if not moves_for_counts(counts):
        return None
    return order_of_counts(counts)


def judge_recorded_order(nb, order: list[int], run: NotebookRun, options: CompareOptions) -> RecordedOrder:
    """Compare *run*, an execution of ``reorder_cells(nb, order)``, with *nb*'s stored outputs."""
    stored = reorder_cells(nb, order)
    cells = compare_cells(stored, run.notebook, options, executed=run.executed, failure=run.failure)
    status = notebook_status(cells, run.failure)
    first = next((order[c.index] for c in cells if c.status in (CellStatus.DIFFERS, CellStatus.FAILED)), None)
    finding = RecordedOrder(status=status, moves=moves_for_counts(cell_counts(nb)), first_difference=first,
                            failure=None if run.failure is None else run.failure.message)
    finding.draws_depend_on_order = finding.reproduces and _draws_without_cell_seeds(run)
    return finding


def _draws_without_cell_seeds(run: NotebookRun) -> bool:
    """Whether a cell of *run* drew random numbers from a stream not seeded per cell: then the
    numbers it got depend on what ran before it (``%seed`` seeds each cell by its code)."""
    return any(record.seed_mode != SeedMode.PER_CELL and any(b.consumed for b in record.backends.values())
               for record in parse_records(run.records).values())


# -- words -------------------------------------------------------------------------------


def _label(index: int, count: int | None) -> str:
    return f"cell {index + 1}" + ("" if count is None else f" (In [{count}])")


def move_text(move: Move) -> str:
    """"cell 9 (In [4]) ran before cell 7 (In [6])"."""
    where = f"before {_label(move.before, move.before_count)}" if move.before is not None \
        else f"after {_label(move.after, move.after_count)}"
    return f"{_label(move.cell, move.execution_count)} ran {where}"


def moves_text(moves: list[Move], shown: int = 5) -> str:
    text = "; ".join(move_text(m) for m in moves[:shown])
    return text + (f"; and {len(moves) - shown} more" if len(moves) > shown else "")


def describe(finding: RecordedOrder | None, top_to_bottom: str = "failed") -> list[str]:
    """The report's lines about the run in the recorded order (none when there was none);
    *top_to_bottom*: the notebook's status run top to bottom."""
    if finding is None:
        return []
    if finding.reproduces:
        also = "also " if top_to_bottom == NotebookStatus.REPRODUCED else ""
        line = f"{also}reproduces when run in the order it was recorded: {moves_text(finding.moves)}"
        if finding.draws_depend_on_order:
            line += ("; its random draws depend on the order the cells run in (`%seed N` seeds each cell "
                     "by its code, not its place)")
        return [line + ("" if also else "; `repro-nb record --reorder` moves the cells into that order")]
    if finding.failure is not None:
        where = "" if finding.first_difference is None else f" at cell {finding.first_difference + 1}"
        why = f"failed{where}: {finding.failure}"
    elif finding.first_difference is not None:
        why = f"cell {finding.first_difference + 1} differs"
    else:
        why = "nothing compared"
    return [f"does not reproduce in the recorded order either ({moves_text(finding.moves)}): {why}"]


def to_json(finding: RecordedOrder | None) -> dict | None:
    """The JSON report's ``recorded_order`` (see :mod:`repro.notebook.report`)."""
    if finding is None:
        return None
    return {
        "reproduces": finding.reproduces,
        "status": finding.status,
        "moves": [{"cell": m.cell, "execution_count": m.execution_count, "before": m.before, "after": m.after}
                  for m in finding.moves],
        "first_difference": finding.first_difference,
        "failure": finding.failure,
        "draws_depend_on_order": finding.draws_depend_on_order,
    }


def record_order(nb) -> tuple[object, list[int] | None, str]:
    """For ``record --reorder``: *nb* with its cells in the recorded order, that order
    (None when nothing moves), and one line saying what moved."""
    counts = cell_counts(nb)
    moves = moves_for_counts(counts)
    if not moves:
        return nb, None, "cells already in the order they were recorded"
    order = order_of_counts(counts)
    return reorder_cells(nb, order), order, f"cells moved into the order they were recorded: {moves_text(moves)}"
