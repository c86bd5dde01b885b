"""Outputs that depend on hash order: which PYTHONHASHSEED verify runs under, and what a
run under another one says.

A set of strings iterates in the order of the strings' hashes, which Python salts with a
key chosen when the interpreter starts, unless ``PYTHONHASHSEED`` fixes it. A reader who
opens a notebook in a plain Jupyter kernel gets a random key, so an output that shows such
an order is not what readers will see, even though it repeats under the hash seed it was
recorded under. Hence, by default (:func:`plan`):

- a notebook recorded by ``repro-nb record`` (its metadata holds the hash seed) is verified
  under **another** hash seed: an output that depends on hash order differs in the first run,
  at no extra cost for a notebook that does not;
- only when a cell differs does verify run it once more under the recorded hash seed: the
  cells that reproduce there are ``hash-order`` (:func:`explain`);
- a notebook whose kernel fixes ``PYTHONHASHSEED`` for everybody who runs it (its
  kernelspec sets it, as ``repro-nb kernel install`` does) runs under that one: the kernel's
  setting wins, and readers on that kernel get the same order;
- a hash seed given explicitly (``ExecuteOptions.hash_seed``), or none recorded, is used as
  it is; with ``--runs N`` the cells whose runs agree but differ from the stored outputs are
  then run once more under another hash seed, as before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from repro.notebook.compare import CompareOptions, compare_outputs, options_for_cell, widget_states
from repro.notebook.diagnose import is_hash_order
from repro.notebook.io import notebook_hash_seed
from repro.notebook.options import ExecuteOptions
from repro.notebook.results import DEFAULT_HASH_SEED, Cause, NotebookResult, NotebookRun

#: The environment key (repro.environment) of the hash seed, left out of the changes verify lists
#: when it chose another hash seed on purpose.
ENVIRONMENT_KEY = "env.PYTHONHASHSEED"


@dataclass(frozen=True)
class HashSeeds:
    """The PYTHONHASHSEEDs of one verify."""

    recorded: str | None  # the notebook's metadata says it was recorded under it
    run: str  # what the runs were started with
    against_recorded: bool  # chosen to differ from the recorded one, to find hash-order outputs
    kernel_fixes: bool = False  # the kernel's own spec fixes it (the runs ran under it): readers get it too
    checked: str | None = None  # the hash seed of the run once more, if there was one


def other_hash_seed(seed: str) -> str:
    """A hash seed other than *seed*, the same every time."""
    return str((int(seed) + 1) % 2**32)


def plan(nb, options: ExecuteOptions) -> HashSeeds:
    """The hash seed to run *nb* under (see the module's docstring)."""
    recorded = notebook_hash_seed(nb)
    if options.hash_seed:
        return HashSeeds(recorded, options.hash_seed, against_recorded=False)
    if recorded is None:
        return HashSeeds(None, DEFAULT_HASH_SEED, against_recorded=False)
    return HashSeeds(recorded, other_hash_seed(recorded), against_recorded=True)


def after_runs(seeds: HashSeeds, run: NotebookRun) -> HashSeeds:
    """*seeds* as the first run tells them: a kernel whose spec fixes the hash seed ran under its own."""
    if run.kernel_hash_seed is None:
        return seeds
    return dataclasses.replace(seeds, run=run.kernel_hash_seed, against_recorded=False, kernel_fixes=True)


def check_seed(seeds: HashSeeds, result: NotebookResult, runs: int) -> str | None:
    """The hash seed to run the notebook once more under, or None when that would tell nothing."""
    if seeds.kernel_fixes or result.failure is not None:
        return None
    if seeds.against_recorded:
        if any(c.cause in (None, Cause.DRIFT) for c in result.differing):
            return seeds.recorded
        return None
    if runs > 1 and any(c.cause == Cause.DRIFT for c in result.differing):
        return other_hash_seed(seeds.run)
    return None


def explain(result: NotebookResult, stored_nb, runs: list[NotebookRun], check: NotebookRun,
            options: CompareOptions) -> None:
    """Name the cells whose difference is hash order, from the run once more under *check*'s hash seed.

    Against the recorded hash seed: a cell that differs here and reproduces the stored outputs
    there. Otherwise (``--runs``): a cell the runs agree on that changes under the other one.
    """
    seeds = result.hash_seeds
    if check.failure is not None or seeds is None:
        return
    widgets = widget_states(stored_nb, check.notebook)
    for cell in result.differing:
        if seeds.against_recorded and cell.cause in (None, Cause.DRIFT):
            stored = stored_nb.cells[cell.index]
            again = check.notebook.cells[cell.index].get("outputs", [])
            if not compare_outputs(stored.get("outputs", []), again, options_for_cell(options, stored),
                                   widgets=widgets):
                cell.cause = Cause.HASH_ORDER
        elif cell.cause == Cause.DRIFT and is_hash_order(cell.index, runs, check, options):
            cell.cause = Cause.HASH_ORDER


def without_hash_seed_change(changes: list, seeds: HashSeeds) -> list:
    """The environment changes, less the hash seed when verify chose another one on purpose."""
    if not seeds.against_recorded:
        return changes
    return [change for change in changes if change[0] != ENVIRONMENT_KEY]


def describe(result: NotebookResult) -> list[str]:
    """The report's line about hash order: the cells, and why readers would not see the stored order
    (the fix is in the result's advice)."""
    cells = [c.index + 1 for c in result.differing if c.cause == Cause.HASH_ORDER]
    seeds = result.hash_seeds
    if not cells or seeds is None:
        return []
    which = f"cell{'s' if len(cells) > 1 else ''} {', '.join(map(str, cells))}"
    if seeds.against_recorded and seeds.checked is not None:
        how = (f"reproduce{'s' if len(cells) == 1 else ''} under the PYTHONHASHSEED the notebook was recorded "
               f"under ({seeds.checked}) and differ{'s' if len(cells) == 1 else ''} under another ({seeds.run})")
    else:
        how = f"change{'s' if len(cells) == 1 else ''} with PYTHONHASHSEED ({seeds.run}, then {seeds.checked})"
    return [f"hash order: {which} {how}: the order of a set (or of a dict built from one) of strings, "
            "which differs in every plain Jupyter kernel a reader starts"]
