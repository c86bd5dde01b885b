"""What a single run of verify can already say about why a notebook differs, and what to do.

Pure functions over the stored notebook, the parsed records and the result. Without a
second run, verify still knows:

- whether the **seeding** differs from the recording (:func:`seeding_note`): the stored
  records carry each cell's seed mode and seed;
- whether a differing cell's random draws came with **no seed in force**
  (:func:`unseeded_note`), from the first RNG divergence and the records around it;
- which cells were **edited** since recording, and what changed in the environment
  (:mod:`repro.notebook.diagnose`, :mod:`repro.environment`), and the clock readings
  (:mod:`repro.notebook.hints`);
- and when none of that accounts for every differing cell, that ``--runs 2`` would
  (:func:`next_step`).

:data:`WHAT_TO_DO` holds the advice for each finding; the README's table quotes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from repro.notebook.results import Cause, CellStatus, NotebookResult, NotebookStatus
from repro.payload import CellRecord
from repro.seeding import cell_seed, source_digest

Records = Mapping[int, CellRecord]

#: The fix for each kind of finding, as verify's report says it (and the README quotes it).
WHAT_TO_DO = {
    Cause.NONDETERMINISTIC: "seed it: `%load_ext repro` and `%seed 0` in the first cell "
                            "(`%%deterministic` for GPU kernels)",
    Cause.HASH_ORDER: "sort what is printed (`sorted(...)`), or run the notebook on a kernel that fixes "
                      "PYTHONHASHSEED (`repro-nb kernel install --user`, then pick that kernel for the notebook)",
    Cause.DRIFT: "record again (`repro-nb record`) if the change is expected (a library, BLAS, threads, "
                 "hardware, or stale stored outputs)",
    "unseeded": "seed it: `%load_ext repro` and `%seed 0` in the first cell (or try it without editing: "
                "`repro-nb verify --seed 0`, and `repro-nb record --seed 0` to record so)",
    "edited": "record again (`repro-nb record`) to store what the edited cells print",
}

_SEED_MAGIC = re.compile(r"^\s*%seed\s+(\d+)(\s+--once)?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Seeding:
    """How a run seeded: from which cell, in which mode, and how it was asked for."""

    cell: int  # the first cell with a seed in force
    mode: str  # "per-cell" | "once"
    how: str  # "%seed 0 in cell 1", "--seed 3", "a seed set outside the notebook"
    seed: int | None  # the record's seed at that cell


def seeding(records: Records, nb, given: int | None = None, given_as: str = "--seed") -> Seeding | None:
    """How the run behind *records* seeded, or None when no cell ran with a seed in force.

    *given*: the base seed the run was started with (``--seed N``), if known. The record of
    the cell where ``%seed N`` ran holds N itself; a cell under a seed given from outside holds
    the seed derived from it and the cell's source.
    """
    for index in sorted(records):
        record = records[index]
        if record.seed_mode == "off" or record.seed is None:
            continue
        source = nb.cells[index].source if index < len(nb.cells) else ""
        found = _SEED_MAGIC.search(source)
        once = " --once" if record.seed_mode == "once" else ""
        if found:
            how = f"%seed {found.group(1)}{found.group(2) or ''} in cell {index + 1}"
        elif given is not None and record.seed == cell_seed(given, record.source_digest):
            how = f"{given_as} {given}"
        else:
            how = f"%seed {record.seed}{once} in cell {index + 1}"
        return Seeding(index, record.seed_mode, how, record.seed)
    return None


def _mode(seeding: Seeding) -> str:
    kind = "per-cell seeding" if seeding.mode == "per-cell" else "one seed at the start"
    return f"{kind} ({seeding.how})"


def seeding_change(nb, stored: Records, run: Records, run_seed: int | None = None) -> tuple[str, str] | None:
    """How the seeding of this run differs from the recording's: (the fact, the fix), or None."""
    if not stored or not run:
        return None
    recorded_seed = nb.metadata.get("repro", {}).get("seed")
    recorded_seed = recorded_seed if type(recorded_seed) is int else None
    before = seeding(stored, nb, recorded_seed, "record --seed")
    now = seeding(run, nb, run_seed)
    if before is None and now is None:
        return None
    if before is not None and now is None:
        if before.how.startswith("record --seed"):
            fix = (f"`repro-nb verify --seed {recorded_seed}` seeds as the recording did; for readers to get it "
                   f"too, put `%load_ext repro` and `%seed {recorded_seed}` in the first cell")
        else:
            fix = "put the seeding back, or record again without it"
        return f"recorded with {_mode(before)}; this run has none, so its random draws are not the recorded ones", fix
    if before is None:
        fix = (f"record with `repro-nb record --seed {run_seed}` to compare like with like"
               if run_seed is not None else "record again to store what the seeded notebook prints")
        return f"this run has {_mode(now)}; the recording had no seeding, so the random draws differ", fix
    if (before.mode, before.how) != (now.mode, now.how) and not (before.cell == now.cell and before.seed == now.seed):
        return (f"recorded with {_mode(before)}; this run has {_mode(now)}, so the random draws differ",
                "seed as the recording did, or record again")
    return None


def unseeded_draw(result: NotebookResult, stored: Records) -> str | None:
    """The cell at the first RNG divergence, when it drew with no seed in force (as far as the
    records of both sides show): its numbers change on every run. Else None."""
    divergence = result.rng_divergence
    if divergence is None:
        return None
    sides = [r[divergence.cell] for r in (result.records, stored) if divergence.cell in r]
    if not sides or any(record.seed_mode != "off" for record in sides):
        return None
    return f"cell {divergence.cell + 1} drew from {divergence.backend} with no seed in force: its numbers change on every run"


def edited_cells(nb, stored: Records) -> list[int]:
    """The cells (indices) whose source changed since their records were stored."""
    return [index for index, record in sorted(stored.items())
            if record.source_digest and index < len(nb.cells)
            and record.source_digest != source_digest(nb.cells[index].source)]


def next_step(result: NotebookResult, explained: set[int] = frozenset(), random_from: int | None = None) -> str | None:
    """The command that would tell more, when the single run leaves a differing cell unexplained:
    one with no cause and no hint, not *explained* (edited since recording), not downstream of
    another, and not from *random_from* on (the random draws changed there, and the notes say why)."""
    if result.runs > 1 or result.status != NotebookStatus.DIFFERS:
        return None
    if not any(c.cause is None and c.hint is None and c.downstream_of is None and c.index not in explained
               and (random_from is None or c.index < random_from) for c in result.differing):
        return None
    return (f"`repro-nb verify --runs 2 {result.path}` runs it twice and names the cause of each difference "
            "(nondeterministic: the runs disagree; drift: they agree, not with the stored outputs)")


def attach(result: NotebookResult, nb, stored: Records, run_seed: int | None = None) -> None:
    """Add to *result* what verify knows without another run: notes (facts) and advice (what to do)."""
    edited = edited_cells(nb, stored)
    if result.status == NotebookStatus.REPRODUCED:
        compared = {c.index for c in result.cells if c.status == CellStatus.SAME}
        edited = [index for index in edited if index in compared]
        if edited:
            cells = ", ".join(str(i + 1) for i in edited)
            many = len(edited) > 1
            result.notes.append(f"cell{'s' if many else ''} {cells} {'were' if many else 'was'} edited since "
                                f"{'their' if many else 'its'} outputs were recorded, and still print"
                                f"{'' if many else 's'} the same")
        return
    if result.status not in (NotebookStatus.DIFFERS, NotebookStatus.FAILED):
        return
    facts, advice = [], []
    change = seeding_change(nb, stored, result.records, run_seed)
    if change is not None:
        facts.append(change[0])
        advice.append(change[1])
    elif (unseeded := unseeded_draw(result, stored)) is not None:
        facts.append(unseeded)
        advice.append(WHAT_TO_DO["unseeded"])
    random = result.rng_divergence.cell if facts and result.rng_divergence is not None else None
    # From where the random draws changed, the fact above says why; hash order has a fix of its own.
    causes = {c.cause for c in result.differing if c.cause is not None
              and (random is None or c.index < random or c.cause == Cause.HASH_ORDER)}
    advice += [f"{cause}: {WHAT_TO_DO[cause]}" for cause in Cause if cause in causes]
    if edited:
        advice.append(WHAT_TO_DO["edited"])
    step = next_step(result, set(edited), random)
    if step is not None:
        advice.append(step)
    result.notes[:0] = facts
    result.advice = list(dict.fromkeys(advice))


def unseen_divergence(result: NotebookResult) -> str:
    """The first state divergence of a notebook whose outputs reproduced, as information: what
    changed where no compared output shows it, and why, as far as the records tell."""
    state, rng = result.state_divergence, result.rng_divergence
    count = next((c.execution_count for c in result.cells if c.index == state.cell), None)
    where = f"cell {state.cell + 1}" + ("" if count is None else f" (In [{count}])")
    names = ", ".join(state.names[:10]) + (f" and {len(state.names) - 10} more" if len(state.names) > 10 else "")
    against = "the recorded run" if state.against == "stored" else "another run"
    line = (f"info: the outputs reproduced, but {names} after {where} differ{'s' if len(state.names) == 1 else ''} "
            f"from {against}, in values no compared output shows")
    if rng is not None and rng.cell <= state.cell:
        record = result.records.get(rng.cell)
        unseeded = " with no seed in force" if record is not None and record.seed_mode == "off" else ""
        line += f" (cell {rng.cell + 1} drew from {rng.backend}{unseeded})"
    return line + ": nothing a reader sees depends on them"
