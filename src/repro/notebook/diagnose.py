"""Why a notebook did not reproduce: the cause of each differing cell, where the random
streams and the variables first diverged, and signs of stale stored outputs.

Pure functions over notebooks, runs and parsed records (:class:`repro.payload.CellRecord`);
:func:`repro.notebook.outcome.judge_runs` calls them and attaches what they find to its result.

- The cause of a differing cell (:class:`~repro.notebook.results.Cause`), from repeated
  runs (``verify --runs N``): :func:`classify` tells ``nondeterministic`` (runs with
  identical settings disagree) from ``drift`` (they agree with each other, not with the
  stored outputs); :func:`is_hash_order` then tells ``hash-order`` from drift with a run
  under another PYTHONHASHSEED.
- :func:`rng_divergence`: the first cell that draws from a generator whose state differs,
  or from one nothing seeded, against the records stored in the notebook, else between runs;
  :func:`unseen_draws`: a cell whose worker processes drew where no fingerprint looks.
- :func:`state_divergence`: the first cell after which a variable's digest differs (state
  tracing), against the stored digests, else between runs.
- :func:`stale_notes`: stored outputs that did not come from running the current notebook
  top to bottom (run out of order, cells skipped or run twice, cells edited since recorded).

The stored records are parsed once per notebook (:func:`stored_records`), each run's once
(:attr:`~repro.notebook.results.NotebookRun.cell_records`).
"""

from __future__ import annotations

from typing import Mapping

from repro.notebook.compare import CompareOptions, compare_outputs, options_for_cell, widget_states
from repro.notebook.io import stored_payloads
from repro.notebook.markers import cell_markers
from repro.notebook.results import Against, Cause, Divergence, NotebookRun, StateDivergence
from repro.payload import CellRecord, parse_records
from repro.seeding import source_digest

Records = Mapping[int, CellRecord]  # cell index -> its record


def stored_records(nb) -> dict[int, CellRecord]:
    """The records ``repro-nb record`` stored in *nb*'s cells, parsed; those that do not parse left out."""
    return parse_records(stored_payloads(nb), stored=True)


def classify(index: int, differs: list[bool], runs: list[NotebookRun], options: CompareOptions) -> Cause:
    """The cause of a difference at cell *index*, as far as runs with identical settings tell it:
    ``nondeterministic`` or ``drift`` (``hash-order`` needs a run under another PYTHONHASHSEED).

    *differs* says, for each of *runs*, whether its outputs differ from the stored
    ones: verify has compared them already. Runs that disagree about that disagree
    with each other; only when every run differs are the runs compared with each other.
    """
    if any(differs) and not all(differs):
        return Cause.NONDETERMINISTIC
    if any(_outputs_differ(runs[0].notebook, run.notebook, index, options) for run in runs[1:]):
        return Cause.NONDETERMINISTIC
    return Cause.DRIFT


def is_hash_order(index: int, runs: list[NotebookRun], hash_run: NotebookRun, options: CompareOptions) -> bool:
    """Whether a cell on which the runs agree changes under another PYTHONHASHSEED."""
    return _outputs_differ(runs[0].notebook, hash_run.notebook, index, options)


def _outputs_differ(a_nb, b_nb, index: int, options: CompareOptions) -> bool:
    a_cell, b_cell = a_nb.cells[index], b_nb.cells[index]
    return bool(compare_outputs(a_cell.get("outputs", []), b_cell.get("outputs", []), options_for_cell(options, a_cell),
                                widgets=widget_states(a_nb, b_nb)))


def first_divergence(reference: Records, other: Records, against: Against) -> Divergence | None:
    """The first cell, in notebook order, that draws from a generator whose state differs
    between two sets of records, or from one that nothing seeded (its draws are fresh
    entropy in every run: ``unseeded``).

    A generator nobody draws from may differ from the start (unseeded at kernel
    start, or imported without a seed in force) without changing any result: it
    counts only at a cell that draws from it, on either side. A cell that imports a
    library (``consumed`` unknown) is not named for it: ``import pandas`` imports
    ``numpy.random`` and draws nothing; the first cell that draws is named instead.
    Nor is a cell after which the state is the same on both sides (it seeded the
    generator: ``np.random.seed(0)``, ``torch.manual_seed(42)``): where the state
    before it differed, the stream diverged before it, in a cell that did not draw,
    and what follows is the same. Digests made in different ways (records of an older
    repro) are not compared: only the draws from unseeded generators are named then.
    """
    for index in sorted(set(reference) & set(other)):
        ref_backends = reference[index].backends
        other_backends = other[index].backends
        comparable = reference[index].digests == other[index].digests  # digests made the same way
        for name in sorted(set(ref_backends) & set(other_backends)):
            a, b = ref_backends[name], other_backends[name]
            if not (a.consumed or b.consumed):
                continue
            if a.unseeded or b.unseeded:
                return Divergence(cell=index, backend=name, against=against, unseeded=True)
            if not comparable or a.after is not None and a.after == b.after:
                continue
            for x, y in ((a.before, b.before), (a.after, b.after)):
                if x is not None and y is not None and x != y:
                    return Divergence(cell=index, backend=name, against=against)
    return None


def divergence_line(divergence: Divergence) -> str:
    """The report's line for the first RNG divergence."""
    if divergence.unseeded:
        return (f"first RNG divergence: {divergence.backend} at cell {divergence.cell + 1}: it drew from "
                f"{divergence.backend}'s global generator while nothing had seeded it (fresh entropy in every run): "
                "seed it before (%seed N)")
    against = "the recorded run" if divergence.against == Against.STORED else "another run"
    return (f"first RNG divergence: {divergence.backend} after cell {divergence.cell + 1} "
            f"(its random state differs from {against} from there on)")


def unseen_draws(records: Records, index: int) -> str | None:
    """Why the fingerprints cannot vouch for cell *index*'s draws, when it ran worker processes."""
    record = records.get(index)
    if record is None or not record.processes:
        return None
    return (f"this cell ran {record.processes} worker process{'es' if record.processes > 1 else ''}, whose draws "
            "the fingerprints do not see (num_workers, worker_init_fn, the work each worker got)")


def rng_divergence(stored: Records, runs: list[Records]) -> Divergence | None:
    """Against the *stored* records when there are any, else between the runs' records."""
    if stored and runs and runs[0]:
        found = first_divergence(stored, runs[0], Against.STORED)
        if found is not None:
            return found
    for records in runs[1:]:
        found = first_divergence(runs[0], records, Against.RUNS)
        if found is not None:
            return found
    return None


def first_state_divergence(reference: Records, other: Records, against: Against) -> StateDivergence | None:
    """The first cell, in notebook order, after which a variable both records digested
    has different digests, with every such variable of that cell.

    Markers (``<too-big>``, ``<unreadable>``) and names only one side has are not compared.
    """
    for index in sorted(set(reference) & set(other)):
        a, b = reference[index].state, other[index].state
        if not a or not b:
            continue
        names = tuple(sorted(name for name in set(a) & set(b)
                             if a[name] != b[name] and not a[name].startswith("<") and not b[name].startswith("<")))
        if names:
            return StateDivergence(cell=index, names=names, against=against)
    return None


def state_divergence(stored: Records, runs: list[Records]) -> StateDivergence | None:
    """Against the *stored* digests when the notebook has any, else (or when they agree)
    between the runs' records: the earliest cell over all of them."""
    if not runs or not runs[0]:
        return None
    if any(record.state for record in stored.values()):
        found = first_state_divergence(stored, runs[0], Against.STORED)
        if found is not None:
            return found
    between = [d for d in (first_state_divergence(runs[0], records, Against.RUNS) for records in runs[1:]) if d]
    if not between:
        return None
    cell = min(d.cell for d in between)
    names = sorted({name for d in between if d.cell == cell for name in d.names})
    return StateDivergence(cell=cell, names=tuple(names), against=Against.RUNS)


def stale_notes(nb, stored: Records | None = None) -> list[str]:
    """Signs that the stored outputs were not produced by running the current notebook top to bottom.

    Cells marked skip do not count: verify does not run them, and their stored counts
    may come from any earlier session. *stored*: *nb*'s :func:`stored_records`, when
    already parsed.
    """
    notes = []
    # An empty cell counts where it was run (Jupyter gives it a count), not where it was not.
    counted = [(i, c.get("execution_count")) for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and (c.source.strip() or c.get("execution_count") is not None)
               and "skip" not in cell_markers(c)]
    with_counts = [(i, n) for i, n in counted if n is not None]
    for (i, a), (j, b) in zip(with_counts, with_counts[1:]):
        if b <= a:
            notes.append(f"stored outputs were run out of order: cell {j + 1} has In [{b}] after In [{a}] in cell {i + 1}")
            break
    else:
        if with_counts:
            last_counted = with_counts[-1][0]
            missing = [i + 1 for i, n in counted if n is None and i < last_counted]
            if missing:
                cells = ", ".join(map(str, missing))
                notes.append(f"stored outputs skip cell{'s' if len(missing) > 1 else ''} {cells}: "
                             "they were not run before later cells")
            counts = [n for _, n in with_counts]
            if counts and (counts[0] != 1 or any(b != a + 1 for a, b in zip(counts, counts[1:]))) and not missing:
                notes.append(f"stored execution counts run {counts[0]}..{counts[-1]} over {len(counts)} cells: "
                             "some cells were run more than once or in another session")
    stored = stored_records(nb) if stored is None else stored
    for index in sorted(stored):
        digest = stored[index].source_digest
        if digest and index < len(nb.cells) and digest != source_digest(nb.cells[index].source):
            notes.append(f"cell {index + 1} was edited since its outputs were recorded")
    return notes
