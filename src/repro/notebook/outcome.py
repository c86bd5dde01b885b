"""From runs to results: which cells reproduced, which differ, which failed, and why.

Pure data in and out, no kernel: :mod:`repro.notebook.verify` executes the
notebooks and hands the runs here; :mod:`repro.notebook.report` renders the results.
"""

from __future__ import annotations

from pathlib import Path

from repro.environment import environment_changes
from repro.notebook.compare import CompareOptions, OutputDiff, compare_outputs, options_for_cell, widget_states
from repro.notebook.diagnose import (
    classify,
    rng_divergence,
    stale_notes,
    state_divergence,
    stored_records,
)
from repro.notebook.hints import attach_hints
from repro.notebook.markers import cell_markers
from repro.seeding import source_digest
from repro.notebook.results import (
    CellResult,
    CellStatus,
    Failure,
    NotebookResult,
    NotebookRun,
    NotebookStatus,
    SkipReason,
)


def _skip_reason(cell, stripped: bool = False) -> SkipReason | None:
    markers = cell_markers(cell)
    if "skip" in markers:
        return SkipReason.MARKED_SKIP
    if not cell.source.strip():
        return SkipReason.EMPTY
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return SkipReason.NEVER_EXECUTED
    if stripped:
        return SkipReason.OUTPUTS_STRIPPED
    return None


def _cell_id(cell) -> str | None:
    value = cell.get("id")
    return value if isinstance(value, str) else None


def outputs_stripped(expected_nb, actual_nb) -> bool:
    """Whether *expected_nb*'s outputs were stripped with its execution counts kept (``nbstripout
    --keep-count``, say): no code cell holds an output, while *actual_nb*'s code cells printed some.
    Nothing was stored to compare with; a notebook whose cells print nothing stays comparable."""
    if any(c.get("outputs") for c in expected_nb.cells if c.cell_type == "code"):
        return False
    return any(c.get("outputs") for c in actual_nb.cells if c.cell_type == "code")


def compare_cells(expected_nb, actual_nb, options: CompareOptions, executed: set[int] | None = None,
                  failure: Failure | None = None) -> list[CellResult]:
    """Compare the code cells of *expected_nb* with the cells at the same positions of *actual_nb*.

    *executed*: the cells a run executed (None when *actual_nb* was not run here).
    """
    results = []
    stop = failure.cell_index if failure is not None else None
    widgets = widget_states(expected_nb, actual_nb)
    stripped = outputs_stripped(expected_nb, actual_nb)
    for index, cell in enumerate(expected_nb.cells):
        if cell.cell_type != "code":
            continue
        result = CellResult(index=index, status=CellStatus.SAME, execution_count=cell.get("execution_count"),
                            cell_id=_cell_id(cell))
        results.append(result)
        if stop is not None and index == stop:
            result.status, result.reason = CellStatus.FAILED, failure.message
            continue
        reason = _skip_reason(cell, stripped)
        if reason is not None:
            result.status, result.reason = CellStatus.SKIPPED, reason
            continue
        if stop is not None and index > stop:
            result.status, result.reason = CellStatus.SKIPPED, f"not run: the notebook stopped at cell {stop + 1}"
            continue
        if executed is not None and index not in executed:
            result.status, result.reason = CellStatus.SKIPPED, SkipReason.NOT_EXECUTED
            continue
        actual = actual_nb.cells[index] if index < len(actual_nb.cells) else None
        if actual is None or actual.cell_type != "code":
            result.status, result.reason = CellStatus.DIFFERS, "no matching code cell"
            result.diffs = [OutputDiff("missing", "cell", "code cell", None, "")]
            continue
        if "ignore-output" in cell_markers(cell):
            result.status, result.reason = CellStatus.SKIPPED, SkipReason.OUTPUT_IGNORED
            continue
        result.diffs = compare_outputs(cell.get("outputs", []), actual.get("outputs", []),
                                       options_for_cell(options, cell), widgets=widgets)
        if result.diffs:
            result.status = CellStatus.DIFFERS
    return results


def notebook_status(cells: list[CellResult], failure: Failure | None) -> NotebookStatus:
    """``failed``, ``differs``, ``reproduced``, or ``unverified`` when no cell was compared
    (no stored outputs, every cell skipped): nothing compared is not a pass."""
    if failure is not None:
        return NotebookStatus.FAILED
    if any(c.status in (CellStatus.DIFFERS, CellStatus.FAILED) for c in cells):
        return NotebookStatus.DIFFERS
    if not any(c.status == CellStatus.SAME for c in cells):
        return NotebookStatus.UNVERIFIED
    return NotebookStatus.REPRODUCED


def judge_runs(path: Path, stored_nb, runs: list[NotebookRun], options: CompareOptions) -> NotebookResult:
    """Compare one or more runs of *stored_nb* (identical settings) with what it stored.

    With several runs, each differing cell gets a cause, as far as the runs alone tell it:
    ``nondeterministic`` where they disagree, else ``drift`` until
    :func:`repro.notebook.hashorder.explain` has seen a run under another PYTHONHASHSEED.
    """
    primary = next((run for run in runs if run.failure is not None), runs[0])
    cells = compare_cells(stored_nb, primary.notebook, options, executed=primary.executed, failure=primary.failure)
    if primary.failure is None:
        _compare_other_runs(stored_nb, cells, runs, primary, options)
    attach_hints(stored_nb, cells, options)
    status = notebook_status(cells, primary.failure)
    unexplained = status in (NotebookStatus.DIFFERS, NotebookStatus.FAILED)
    stored = stored_records(stored_nb)
    records = [run.cell_records for run in runs]
    result = NotebookResult(
        path=path,
        status=status,
        cells=cells,
        failure=primary.failure,
        duration=max(run.duration for run in runs),
        records=primary.cell_records,
        runs=len(runs),
        state_divergence=state_divergence(stored, records),  # also behind identical outputs
        notes=_run_notes(runs) + (stale_notes(stored_nb, stored) if unexplained else []),
    )
    if unexplained or result.state_divergence is not None:  # what the random draws say about it
        result.rng_divergence = rng_divergence(stored, records)
    recorded_env = stored_nb.metadata.get("repro", {}).get("environment")
    if unexplained and recorded_env and primary.environment:
        result.environment_changes = environment_changes(recorded_env, primary.environment)
    mark_downstream(result)
    return result


def _is_noise(cell: CellResult) -> bool:
    """A difference that cannot have changed what later cells compute: a clock reading or a
    renderer (the cell has a hint), or text on stderr only (warnings, progress)."""
    return cell.hint is not None or all(d.key == "stderr" for d in cell.diffs)


def mark_downstream(result: NotebookResult) -> None:
    """Set ``downstream_of`` on the differing cells there is a reason to think follow from an
    earlier one: that earlier cell's difference is not known noise and, with per-cell records,
    the later cell ran after the random stream or the variables diverged. Otherwise the cells
    stand on their own."""
    divergences = [d.cell for d in (result.rng_divergence, result.state_divergence) if d is not None]
    upstream = None
    for cell in result.differing:
        if upstream is not None and (not result.records or any(d < cell.index for d in divergences)):
            cell.downstream_of = upstream
        if upstream is None and not _is_noise(cell):
            upstream = cell.index


def _run_notes(runs: list[NotebookRun]) -> list[str]:
    """The runs' own notes (a kernel fallen back to, say), each once, in order."""
    return list(dict.fromkeys(note for run in runs for note in run.notes))


def _compare_other_runs(stored_nb, cells: list[CellResult], runs: list[NotebookRun], primary: NotebookRun,
                        options: CompareOptions) -> None:
    """Compare every other run with the stored outputs, once per cell, and name causes."""
    comparable = [c for c in cells if c.status in (CellStatus.SAME, CellStatus.DIFFERS)]
    differs = {c.index: [c.status == CellStatus.DIFFERS] for c in comparable}
    for run in runs:
        if run is primary:
            continue
        widgets = widget_states(stored_nb, run.notebook)
        for cell in comparable:
            stored = stored_nb.cells[cell.index]
            diffs = compare_outputs(stored.get("outputs", []), run.notebook.cells[cell.index].get("outputs", []),
                                    options_for_cell(options, stored), widgets=widgets)
            differs[cell.index].append(bool(diffs))
            if diffs and cell.status == CellStatus.SAME:
                cell.status, cell.diffs = CellStatus.DIFFERS, diffs
    if len(runs) > 1:
        ordered = [primary, *(run for run in runs if run is not primary)]
        for cell in comparable:
            if cell.status == CellStatus.DIFFERS:
                cell.cause = classify(cell.index, differs[cell.index], ordered, options)


def diff_result(path: Path, a_nb, b_nb, options: CompareOptions) -> NotebookResult:
    """Compare two executed notebooks without running them, cell by cell.

    Cells are paired by id when both notebooks have the same ids, else by position.
    """
    ids_a = [c.get("id") for c in a_nb.cells]
    ids_b = [c.get("id") for c in b_nb.cells]
    paired = "by position"
    if all(ids_a) and all(ids_b) and set(ids_a) == set(ids_b):
        paired = "by id"
        if ids_a != ids_b:
            by_id = {c.get("id"): c for c in b_nb.cells}
            b_nb = type(b_nb)(b_nb)
            b_nb.cells = [by_id[i] for i in ids_a]
    cells = compare_cells(a_nb, b_nb, options)
    if len(b_nb.cells) > len(a_nb.cells):
        extra = [i for i, c in enumerate(b_nb.cells) if i >= len(a_nb.cells) and c.cell_type == "code"]
        for index in extra:
            cells.append(
                CellResult(index=index, status=CellStatus.DIFFERS, reason="only in the second notebook",
                           diffs=[OutputDiff("extra", "cell", None, "code cell", "")], cell_id=_cell_id(b_nb.cells[index]))
            )
    attach_hints(a_nb, cells, options, ran_now=False)  # two stored notebooks: neither ran now
    note = _other_code(a_nb, b_nb, paired)
    result = NotebookResult(path=path, status=notebook_status(cells, None), cells=cells, notes=[note] if note else [])
    mark_downstream(result)
    return result


def _other_code(a_nb, b_nb, paired: str) -> str | None:
    """Which paired code cells of two notebooks hold other code (by tokens, as records digest it)."""
    pairs = [(i, cell, b_nb.cells[i]) for i, cell in enumerate(a_nb.cells)
             if cell.cell_type == "code" and i < len(b_nb.cells)]
    other = [i + 1 for i, a, b in pairs if b.cell_type != "code" or source_digest(a.source) != source_digest(b.source)]
    if not other:
        return None
    if len(other) == len(pairs):
        return (f"the two notebooks share no code: their cells were paired {paired}, and every pair holds other "
                "code, so their outputs need not match")
    many = len(other) > 1
    return (f"cell{'s' if many else ''} {', '.join(map(str, other))} hold{'' if many else 's'} other code in "
            f"the second notebook (cells paired {paired}): {'their' if many else 'its'} outputs need not match")
