"""Why a notebook did not reproduce: causes, the first RNG and state divergences, stale outputs.

Pure functions over notebooks, runs and records; :mod:`repro.notebook.verify` attaches
what they find to its results.

Causes of a differing cell, from repeated runs (``verify --runs N``):

- ``nondeterministic``: runs with identical settings disagree with each other;
- ``hash-order``: the runs agree under one PYTHONHASHSEED and change with another;
- ``drift``: all runs agree with each other but not with the stored outputs
  (library or environment change, stale outputs).
"""

from __future__ import annotations

from repro.notebook.compare import CompareOptions, compare_outputs, options_for_cell, widget_states
from repro.notebook.io import stored_payloads
from repro.notebook.markers import cell_markers
from repro.notebook.results import Divergence, NotebookRun, StateDivergence
from repro.payload import CellRecord, parse_records
from repro.seeding import source_digest


def classify(index: int, differs: list[bool], runs: list[NotebookRun], options: CompareOptions) -> str:
    """The cause of a difference at cell *index*, as far as runs with identical settings tell it:
    ``nondeterministic`` or ``drift`` (``hash-order`` needs a run under another PYTHONHASHSEED).

    *differs* says, for each of *runs*, whether its outputs differ from the stored
    ones: verify has compared them already. Runs that disagree about that disagree
    with each other; only when every run differs are the runs compared with each other.
    """
    if any(differs) and not all(differs):
        return "nondeterministic"
    if any(_outputs_differ(runs[0].notebook, run.notebook, index, options) for run in runs[1:]):
        return "nondeterministic"
    return "drift"


def is_hash_order(index: int, runs: list[NotebookRun], hash_run: NotebookRun, options: CompareOptions) -> bool:
    """Whether a cell on which the runs agree changes under another PYTHONHASHSEED."""
    return _outputs_differ(runs[0].notebook, hash_run.notebook, index, options)


def _outputs_differ(a_nb, b_nb, index: int, options: CompareOptions) -> bool:
    a_cell, b_cell = a_nb.cells[index], b_nb.cells[index]
    return bool(compare_outputs(a_cell.get("outputs", []), b_cell.get("outputs", []), options_for_cell(options, a_cell),
                                widgets=widget_states(a_nb, b_nb)))


def first_divergence(reference: dict[int, CellRecord], other: dict[int, CellRecord],
                     against: str) -> Divergence | None:
    """The first cell, in notebook order, that draws from a generator whose state differs
    between two sets of records (before or after the cell).

    A generator nobody draws from may differ from the start (unseeded at kernel
    start, or imported without a seed in force) without changing any result: it
    counts only at a cell that draws from it, on either side. A cell that imports a
    library (``consumed`` unknown) is not named for it: ``import pandas`` imports
    ``numpy.random`` and draws nothing; the first cell that draws is named instead.
    """
    for index in sorted(set(reference) & set(other)):
        ref_backends = reference[index].backends
        other_backends = other[index].backends
        for name in sorted(set(ref_backends) & set(other_backends)):
            a, b = ref_backends[name], other_backends[name]
            if not (a.consumed or b.consumed):
                continue
            for x, y in ((a.before, b.before), (a.after, b.after)):
                if x is not None and y is not None and x != y:
                    return Divergence(cell=index, backend=name, against=against)
    return None


def rng_divergence(stored_nb, runs: list[NotebookRun]) -> Divergence | None:
    """Against the stored records when there are any, else between the runs."""
    stored = parse_records(stored_payloads(stored_nb), stored=True)
    parsed = [parse_records(run.records) for run in runs]
    if stored and parsed and parsed[0]:
        found = first_divergence(stored, parsed[0], "stored")
        if found is not None:
            return found
    for records in parsed[1:]:
        found = first_divergence(parsed[0], records, "runs")
        if found is not None:
            return found
    return None


def first_state_divergence(reference: dict[int, CellRecord], other: dict[int, CellRecord],
                           against: str) -> StateDivergence | None:
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


def state_divergence(stored_nb, runs: list[NotebookRun]) -> StateDivergence | None:
    """Against the stored digests when the notebook has any, else (or when they agree)
    between the runs: the earliest cell over all of them."""
    stored = parse_records(stored_payloads(stored_nb), stored=True)
    parsed = [parse_records(run.records) for run in runs]
    if not parsed or not parsed[0]:
        return None
    if any(record.state for record in stored.values()):
        found = first_state_divergence(stored, parsed[0], "stored")
        if found is not None:
            return found
    between = [d for d in (first_state_divergence(parsed[0], records, "runs") for records in parsed[1:]) if d]
    if not between:
        return None
    cell = min(d.cell for d in between)
    names = sorted({name for d in between if d.cell == cell for name in d.names})
    return StateDivergence(cell=cell, names=tuple(names), against="runs")


def stale_notes(nb) -> list[str]:
    """Signs that the stored outputs were not produced by running the current notebook top to bottom.

    Cells marked skip do not count: verify does not run them, and their stored counts
    may come from any earlier session.
    """
    notes = []
    counted = [(i, c.get("execution_count")) for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and c.source.strip() and "skip" not in cell_markers(c)]
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
    for index, cell in enumerate(nb.cells):
        record = cell.metadata.get("repro") if cell.cell_type == "code" else None
        if isinstance(record, dict) and record.get("source_digest") and record["source_digest"] != source_digest(cell.source):
            notes.append(f"cell {index + 1} was edited since its outputs were recorded")
    return notes
