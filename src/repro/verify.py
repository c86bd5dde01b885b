"""Notebook-level comparison: which cells reproduced, which differ, which failed.

Pure data in and out; :mod:`repro.report` turns it into text, JSON or JUnit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from repro.compare import CompareOptions, OutputDiff, cell_markers, compare_outputs
from repro.diagnose import Divergence, classify, rng_divergence, stale_notes
from repro.runs import Failure, NotebookRun

CELL_STATUSES = ("same", "differs", "skipped", "failed")
NOTEBOOK_STATUSES = ("reproduced", "differs", "failed")


@dataclass
class CellResult:
    index: int  # position in the notebook's cells list, from 0 (markdown cells included)
    status: str  # one of CELL_STATUSES
    execution_count: int | None = None  # the stored one, as the user saw it
    diffs: list[OutputDiff] = field(default_factory=list)
    reason: str | None = None  # why skipped or failed
    cause: str | None = None  # for a differing cell, with --runs: one of repro.diagnose.CAUSES


@dataclass
class NotebookResult:
    path: Path
    status: str  # one of NOTEBOOK_STATUSES
    cells: list[CellResult]
    failure: Failure | None = None
    duration: float | None = None
    records: dict[int, dict] = field(default_factory=dict)
    runs: int = 1
    rng_divergence: Divergence | None = None
    notes: list[str] = field(default_factory=list)  # signs of stale stored outputs
    environment_changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)

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


def _skip_reason(cell) -> str | None:
    markers = cell_markers(cell)
    if "skip" in markers:
        return "marked skip"
    if not cell.source.strip():
        return "empty"
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return "never executed"
    return None


def compare_cells(expected_nb, actual_nb, options: CompareOptions, executed: set[int] | None = None,
                  failure: Failure | None = None) -> list[CellResult]:
    """Compare the code cells of *expected_nb* with the cells at the same positions of *actual_nb*.

    *executed*: the cells a run executed (None when *actual_nb* was not run here).
    """
    results = []
    stop = failure.cell_index if failure is not None else None
    for index, cell in enumerate(expected_nb.cells):
        if cell.cell_type != "code":
            continue
        result = CellResult(index=index, status="same", execution_count=cell.get("execution_count"))
        results.append(result)
        if stop is not None and index == stop:
            result.status, result.reason = "failed", failure.message
            continue
        reason = _skip_reason(cell)
        if reason is not None:
            result.status, result.reason = "skipped", reason
            continue
        if stop is not None and index > stop:
            result.status, result.reason = "skipped", f"not run: the notebook stopped at cell {stop}"
            continue
        if executed is not None and index not in executed:
            result.status, result.reason = "skipped", "not executed"
            continue
        actual = actual_nb.cells[index] if index < len(actual_nb.cells) else None
        if actual is None or actual.cell_type != "code":
            result.status, result.reason = "differs", "no matching code cell"
            result.diffs = [OutputDiff("missing", "cell", "code cell", None, "")]
            continue
        if "ignore-output" in cell_markers(cell):
            result.status, result.reason = "skipped", "output ignored"
            continue
        result.diffs = compare_outputs(cell.get("outputs", []), actual.get("outputs", []), options)
        if result.diffs:
            result.status = "differs"
    return results


def notebook_status(cells: list[CellResult], failure: Failure | None) -> str:
    if failure is not None:
        return "failed"
    if any(c.status in ("differs", "failed") for c in cells):
        return "differs"
    return "reproduced"


def verify_result(path: Path, stored_nb, runs: list[NotebookRun], options: CompareOptions,
                  hash_run: NotebookRun | None = None) -> NotebookResult:
    """Compare one or more runs of *stored_nb* with what it stored, and explain the differences.

    *runs* have identical settings; *hash_run*, if any, used another PYTHONHASHSEED.
    """
    from repro.environment import environment_changes

    primary = next((run for run in runs if run.failure is not None), runs[0])
    cells = compare_cells(stored_nb, primary.notebook, options, executed=primary.executed, failure=primary.failure)
    if primary.failure is None:
        for run in runs:
            if run is primary:
                continue
            for cell in cells:
                if cell.status == "same":
                    diffs = compare_outputs(stored_nb.cells[cell.index].get("outputs", []),
                                            run.notebook.cells[cell.index].get("outputs", []), options)
                    if diffs:
                        cell.status, cell.diffs = "differs", diffs
        if len(runs) > 1:
            for cell in cells:
                if cell.status == "differs":
                    cell.cause = classify(cell.index, runs, hash_run, options)
    status = notebook_status(cells, primary.failure)
    result = NotebookResult(
        path=path,
        status=status,
        cells=cells,
        failure=primary.failure,
        duration=max(run.duration for run in runs),
        records=primary.records,
        runs=len(runs),
        rng_divergence=rng_divergence(stored_nb, runs) if status != "reproduced" else None,
        notes=stale_notes(stored_nb) if status != "reproduced" else [],
    )
    recorded_env = stored_nb.metadata.get("repro", {}).get("environment")
    if status != "reproduced" and recorded_env and primary.environment:
        result.environment_changes = environment_changes(recorded_env, primary.environment)
    return result


def needs_hash_run(result: NotebookResult) -> bool:
    """Whether a run under another PYTHONHASHSEED could tell causes apart."""
    return result.failure is None and bool(result.differing)


def diff_result(path: Path, a_nb, b_nb, options: CompareOptions) -> NotebookResult:
    """Compare two executed notebooks without running them, cell by cell.

    Cells are paired by id when both notebooks have the same ids, else by position.
    """
    ids_a = [c.get("id") for c in a_nb.cells]
    ids_b = [c.get("id") for c in b_nb.cells]
    if all(ids_a) and all(ids_b) and ids_a != ids_b and set(ids_a) == set(ids_b):
        by_id = {c.get("id"): c for c in b_nb.cells}
        b_nb = type(b_nb)(b_nb)
        b_nb.cells = [by_id[i] for i in ids_a]
    cells = compare_cells(a_nb, b_nb, options)
    if len(b_nb.cells) > len(a_nb.cells):
        extra = [i for i, c in enumerate(b_nb.cells) if i >= len(a_nb.cells) and c.cell_type == "code"]
        for index in extra:
            cells.append(
                CellResult(index=index, status="differs", reason="only in the second notebook",
                           diffs=[OutputDiff("extra", "cell", None, "code cell", "")])
            )
    return NotebookResult(path=path, status=notebook_status(cells, None), cells=cells)
