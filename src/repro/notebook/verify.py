"""The library entry point: verify, record and diff notebooks.

The CLI, the pytest plugin and the Python API (``repro.verify_notebook`` and
friends) all call these functions, in the spirit of ``nbclient.execute()``: a
face parses its options and renders the result, it never runs a loop of its own.

Every kernel started here, for every notebook and every run, takes a slot of one
:class:`~repro.notebook.pool.KernelPool` of ``options.jobs`` slots (default: one
per core), so no more kernels are alive at once than the user asked for.
Bad input raises :class:`~repro.notebook.errors.InputError` before any kernel starts.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Union

from repro.notebook.io import (
    Snapshot,
    check_replaceable,
    expand_paths,
    load_notebook,
    notebook_hash_seed,
    read_notebook,
    store_records,
    write_notebook_atomic,
)
from repro.notebook.errors import InputError
from repro.notebook.folder import check_isolatable, merge_side_effects, scratch_copy, side_effects, snapshot
from repro.notebook.options import ExecuteOptions, Options, check_kernel
from repro.notebook.outcome import diff_result, explain_hash_order, judge_runs, needs_hash_run
from repro.notebook.pool import KernelPool
from repro.notebook.reorder import judge_recorded_order, planned_order, record_order, reorder_cells
from repro.notebook.results import DEFAULT_HASH_SEED, Failure, NotebookResult, NotebookRun, RecordResult

#: ``progress(path, run, cell_index, cell_count)``: a cell is about to run. *run* counts
#: from 0; with ``runs=N`` the run under another PYTHONHASHSEED, if any, is run N.
Progress = Callable[[Path, int, int, int], None]

#: A cancellation token: a :class:`threading.Event`, or anything with ``is_set()``.
Cancel = Any

#: A notebook's path, or a notebook already read (an nbformat NotebookNode).
NotebookLike = Union[str, "os.PathLike[str]", Any]


def verify_notebook(notebook: NotebookLike, options: Options | None = None, runs: int = 1,
                    progress: Progress | None = None, *, path: str | os.PathLike | None = None,
                    cancel: Cancel | None = None) -> NotebookResult:
    """Execute *notebook* *runs* times in fresh kernels and compare with its stored outputs.

    *notebook* is a path, or a NotebookNode with *path* saying where it lives (its folder
    is the kernels' working directory; default: the current directory). Never modifies
    the notebook. With ``runs >= 2`` each differing cell gets a cause. The result lists the
    files the runs created or changed in the folder; with ``options.execute.isolate`` each
    run works in a scratch copy of the folder, removed afterwards. Setting *cancel* (a
    :class:`threading.Event`) from another thread kills the kernel at once: the run ends
    as interrupted and no other starts.
    """
    options = options or Options()
    where, nb = _load(notebook, path)
    _preflight(options, [where])
    pool = KernelPool(options.kernel_cap)
    with pool.cancelled_by(cancel):
        return _verify(where, nb, options, _check_runs(runs), progress, pool)


def verify_notebooks(notebooks: Iterable[str | os.PathLike], options: Options | None = None, runs: int = 1,
                     progress: Progress | None = None, *, cancel: Cancel | None = None) -> list[NotebookResult]:
    """:func:`verify_notebook` for many notebooks (directories are searched), in parallel
    up to ``options.jobs`` kernels in all. Every notebook is read before any runs."""
    options = options or Options()
    runs = _check_runs(runs)
    loaded = _load_all(notebooks)
    _preflight(options, [p for p, _, _ in loaded])
    pool = KernelPool(options.kernel_cap)
    jobs = [(lambda p=p, nb=nb: _verify(p, nb, options, runs, progress, pool)) for p, nb, _ in loaded]
    with pool.cancelled_by(cancel):
        return pool.map(jobs, threads=min(pool.size, len(jobs)))


def record_notebook(notebook: str | os.PathLike, options: Options | None = None,
                    progress: Progress | None = None, *, reorder: bool = False,
                    cancel: Cancel | None = None) -> RecordResult:
    """Execute the notebook at *notebook* and write its outputs back, with each cell's record
    and the run's metadata. The file is replaced atomically, and only when the whole
    notebook ran. With *reorder*, the cells are first moved into the order their stored
    execution counts record (:mod:`repro.notebook.reorder`), run so, and written so. *cancel*:
    as for :func:`verify_notebook`; a cancelled run writes nothing."""
    options = options or Options()
    ((where, nb, unchanged),) = _load_all([notebook])
    _preflight(options, [where])
    pool = KernelPool(options.kernel_cap)
    with pool.cancelled_by(cancel):
        return _record(where, nb, unchanged, options, progress, pool, reorder)


def record_notebooks(notebooks: Iterable[str | os.PathLike], options: Options | None = None,
                     progress: Progress | None = None, *, reorder: bool = False,
                     cancel: Cancel | None = None) -> list[RecordResult]:
    """:func:`record_notebook` for many notebooks, in parallel up to ``options.jobs`` kernels."""
    options = options or Options()
    loaded = _load_all(notebooks)
    _preflight(options, [p for p, _, _ in loaded])
    pool = KernelPool(options.kernel_cap)
    jobs = [(lambda p=p, nb=nb, snap=snap: _record(p, nb, snap, options, progress, pool, reorder))
            for p, nb, snap in loaded]
    with pool.cancelled_by(cancel):
        return pool.map(jobs, threads=min(pool.size, len(jobs)))


def diff_notebooks(a: NotebookLike, b: NotebookLike, options: Options | None = None) -> NotebookResult:
    """Compare two executed notebooks by the rules of verify, without executing them."""
    options = options or Options()
    a_path, a_nb = _load(a, None)
    _, b_nb = _load(b, None)
    return diff_result(a_path, a_nb, b_nb, options.compare)


# -- the work -------------------------------------------------------------------------


def _verify(path: Path, nb, options: Options, runs: int, progress: Progress | None,
            pool: KernelPool) -> NotebookResult:
    isolate = options.execute.isolate
    before = None if isolate else snapshot(path.parent)
    executions = _execute_runs(path, nb, options, runs, progress, pool)
    result = judge_runs(path, nb, executions, options.compare)
    if runs > 1 and needs_hash_run(result) and not pool.stopping.is_set():
        # Only a difference that looks like drift needs it: a run under another
        # PYTHONHASHSEED tells hash-order apart from drift.
        hash_seed = options.execute.hash_seed or notebook_hash_seed(nb) or DEFAULT_HASH_SEED
        other = dataclasses.replace(options.execute, hash_seed="1" if hash_seed != "1" else "2")
        hash_run = _execute(path, nb, other, _run_progress(progress, path, runs), pool)
        explain_hash_order(result, executions, hash_run, options.compare)
        executions = [*executions, hash_run]
    order = planned_order(nb, result, options.recorded_order)
    if order is not None and not pool.stopping.is_set():  # would it reproduce in the order it was run?
        reordered = _execute(path, reorder_cells(nb, order), options.execute,
                             _run_progress(progress, path, len(executions)), pool)
        result.recorded_order = judge_recorded_order(nb, order, reordered, options.compare)
        executions = [*executions, reordered]
    if isolate:
        result.side_effects = merge_side_effects([run.side_effects for run in executions])
    else:
        result.side_effects = side_effects(before, snapshot(path.parent))
    return result


def _execute_runs(path: Path, nb, options: Options, runs: int, progress: Progress | None,
                  pool: KernelPool) -> list[NotebookRun]:
    jobs = [(lambda k=k: _execute(path, nb, options.execute, _run_progress(progress, path, k), pool))
            for k in range(runs)]
    done = pool.map(jobs, threads=min(pool.size, runs))
    # A run that never started (Ctrl-C first) counts as interrupted like the others.
    return done or [_execute(path, nb, options.execute, None, pool)]


def _record(path: Path, nb, unchanged: Snapshot, options: Options, progress: Progress | None,
            pool: KernelPool, reorder: bool = False) -> RecordResult:
    """Run, then replace the file: only if the whole notebook ran, the file may be replaced,
    and nobody changed it meanwhile (a save from an editor would be lost)."""
    try:
        check_replaceable(path)
    except InputError as exc:
        return RecordResult(path, None, False, f"not recorded: {exc}")
    order, moved = None, None
    if reorder:
        nb, order, moved = record_order(nb)
    run = _execute(path, nb, options.execute, _run_progress(progress, path, 0), pool)
    if run.failure is not None:
        cell = run.failure.cell_index
        cell = cell if order is None or cell is None else order[cell]  # as the file on disk numbers it
        where = "" if cell is None else f" at cell {cell + 1}"
        return RecordResult(path, run, False, f"not recorded, failed{where}: {run.failure.message}")
    try:
        write_notebook_atomic(store_records(run), path, unchanged_since=unchanged)
    except InputError as exc:
        return RecordResult(path, run, False, f"not recorded: {exc}")
    notes = "".join(f"; note: {note}" for note in [*run.notes, *([moved] if moved else [])])
    return RecordResult(path, run, True, f"recorded {path} ({run.duration:.1f} s){notes}")


def _execute(path: Path, nb, options: ExecuteOptions, progress, pool: KernelPool) -> NotebookRun:
    from repro.notebook.execute import execute_notebook  # imports nbclient

    if not options.isolate:
        return execute_notebook(nb, path, options, progress=progress, pool=pool)
    try:
        with scratch_copy(path.parent) as folder:
            before = snapshot(folder)
            run = execute_notebook(nb, folder / path.name, options, progress=progress, pool=pool)
            run.side_effects = side_effects(before, snapshot(folder), isolated=True)
    except (OSError, InputError) as exc:  # the copy failed (a full disk, the folder grew meanwhile)
        message = f"could not start: no scratch copy of {path.parent} for --isolate: {exc}"
        return NotebookRun(notebook=copy.deepcopy(nb), failure=Failure("kernel", message))
    return run


def _preflight(options: Options, paths: list[Path]) -> None:
    """Before any kernel starts: the kernel the options name exists, and with isolate, every
    notebook's folder is small enough to copy for each run."""
    check_kernel(options)
    if options.execute.isolate:
        for folder in dict.fromkeys(p.resolve().parent for p in paths):
            check_isolatable(folder)


def _run_progress(progress: Progress | None, path: Path, run: int):
    if progress is None:
        return None
    return lambda index, total: progress(path, run, index, total)


def _check_runs(runs: int) -> int:
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise InputError(f"runs must be a whole number >= 1, got {runs!r}")
    return runs


def _load(notebook: NotebookLike, path) -> tuple[Path, Any]:
    if isinstance(notebook, (str, os.PathLike)):
        where = Path(notebook)
        return where, read_notebook(where)
    if not hasattr(notebook, "cells") or not hasattr(notebook, "metadata"):
        raise InputError(f"not a notebook: expected a path or an nbformat notebook, got {type(notebook).__name__}")
    return Path(path) if path is not None else Path("notebook.ipynb"), notebook


def _load_all(notebooks: Iterable[str | os.PathLike]) -> list[tuple[Path, Any, Snapshot]]:
    paths = expand_paths([Path(p) for p in notebooks])
    return [(p, *load_notebook(p)) for p in paths]
