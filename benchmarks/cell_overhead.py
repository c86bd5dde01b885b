"""Time per cell with repro loaded and ``%seed 0`` on, against the same shell without it.

Runs in one process: an in-process IPython shell with random, numpy and torch imported
runs cells with distinct sources (``x = 0``, ``x = 1``, ...). Every cell of a notebook
run is such a first execution: its digest and seed are computed afresh. Blocks without
repro, with it, and with it and state tracing on (``%repro trace on``, what ``repro-nb``
runs use) alternate; the medians per cell, the time added and its share of a bare cell's
time are printed (target: at most 30%, tracing off). IPython keeps a name per cell run
(``_i1``, ``_i2``...), and the tracer looks over the namespace's names before and after
each cell: these are dropped between rounds, so that the namespace stays the size of a
notebook's of a few hundred cells. A second figure re-runs sources
already run (their digest, seed and generator states cached), against the same re-runs
without repro. The machine's speed varies from run to run: compare the ratios, measured
side by side, not the microseconds. Next to repro's own hooks, the least such hooks do
(digest the source, seed each library, read and digest each state: repro's pieces without
its record) shows how much of the time is seeding itself. Last, ``%load_ext repro`` is timed in fresh
processes that have imported what a kernel imports, next to the start of that shell
(target: under 50 ms).

    python benchmarks/cell_overhead.py [--cells 2000] [--block 100] [--loads 9]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import itertools
import statistics
import subprocess
import sys
import time

# What a kernel process has imported before its first cell (ipykernel, if installed), then an
# IPython shell, then the extension.
LOAD_TIME = """
import importlib.util, time
start = time.perf_counter()
if importlib.util.find_spec("ipykernel"):
    import ipykernel.ipkernel
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
started = time.perf_counter()
shell.run_line_magic("load_ext", "repro")
print(started - start, time.perf_counter() - started)
"""


def time_load(runs: int) -> tuple[float, float]:
    """Medians, in seconds, of starting a kernel's IPython shell (without its messaging) and of
    `%load_ext repro` in it, each in a fresh process."""
    shells, loads = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LOAD_TIME], capture_output=True, text=True, check=True).stdout
        shell, load = map(float, out.split())
        shells.append(shell)
        loads.append(load)
    return statistics.median(shells), statistics.median(loads)


def run_cells(shell, sources: list[str]) -> list[float]:
    samples = []
    for source in sources:
        start = time.perf_counter()
        shell.run_cell(source, store_history=True)
        samples.append(time.perf_counter() - start)
    return samples


def control(shell, *lines: str) -> None:
    """Run magics that switch repro on or off, their messages not shown."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for line in lines:
            shell.run_cell(line)


def drop_input_names(shell) -> None:
    """Drop the names IPython keeps for each cell run (``_i1``, ``_i2``...): the namespace stays
    as large as a notebook's of a few hundred cells, not of the thousands this benchmark runs."""
    namespace = shell.user_ns
    for name in [name for name in namespace if name.startswith("_i") and name[2:].isdigit()]:
        del namespace[name]


class Essentials:
    """The least a per-cell hook of this kind does, with repro's own pieces and none of its
    bookkeeping: the source digest and the cell seed, each backend seeded, each state read
    after the cell and a digest of it. What the hooks cost beyond it is repro's record."""

    def __init__(self, shell) -> None:
        from repro.kernel.backends import digest_state, load_backends
        from repro.seeding import cell_seed, source_digest

        self.shell, self.digest_state = shell, digest_state
        self.cell_seed, self.source_digest = cell_seed, source_digest
        self.backends = [backend for backend in load_backends() if backend.module in sys.modules]
        self.before: list = []

    def pre_run_cell(self, info) -> None:
        seed = self.cell_seed(0, self.source_digest(info.raw_cell))
        self.before = [backend.seed(seed) or backend.state() for backend in self.backends]

    def post_run_cell(self, result) -> None:
        after = [backend.state() for backend in self.backends]
        digests = {b.name: (self.digest_state(x), self.digest_state(y)) for b, x, y in zip(self.backends, self.before, after)}
        self.shell.payload_manager.write_payload({"backends": digests})

    def __enter__(self):
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)

    def __exit__(self, *exc) -> None:
        self.shell.events.unregister("pre_run_cell", self.pre_run_cell)
        self.shell.events.unregister("post_run_cell", self.post_run_cell)


def measure(shell, cells: int, block: int) -> dict[str, list[float]]:
    """Per-cell times of each kind of block, alternating round by round."""
    numbers = itertools.count()
    fresh = lambda: [f"x = {next(numbers)}" for _ in range(block)]  # noqa: E731
    again = [f"y = {i}" for i in range(block)]  # the same sources in every round
    times: dict[str, list[float]] = {"bare": [], "essentials": [], "repro": [], "traced": [], "bare again": [],
                                     "repro again": []}
    essentials = Essentials(shell)
    run_cells(shell, fresh())  # warm up
    for _ in range(max(1, cells // block)):
        drop_input_names(shell)
        shell.payload_manager.clear_payload()  # a kernel sends them with each reply
        times["bare"] += run_cells(shell, fresh())
        with essentials:
            times["essentials"] += run_cells(shell, fresh())
        times["bare again"] += run_cells(shell, again)
        control(shell, "%load_ext repro", "%seed 0")
        times["repro"] += run_cells(shell, fresh())
        run_cells(shell, again)  # this load's generator states are kept from here on
        times["repro again"] += run_cells(shell, again)
        control(shell, "%repro trace on")
        times["traced"] += run_cells(shell, fresh())
        control(shell, "%repro trace off", "%unload_ext repro")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2000, help="cells of each kind")
    parser.add_argument("--block", type=int, default=100, help="cells per block; the kinds alternate block by block")
    parser.add_argument("--loads", type=int, default=9, help="fresh processes that time %%load_ext repro")
    args = parser.parse_args()

    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.config.Repro.warn_hash_seed = False  # the advice is printed at each load otherwise
    libraries = ["random", "numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])
    shell.run_cell("\n".join(f"import {name}" for name in libraries))
    shell.run_cell("import numpy.random")
    times = {kind: statistics.median(samples) * 1e6 for kind, samples in measure(shell, args.cells, args.block).items()}

    def added(kind: str, base: str) -> str:
        extra = times[kind] - times[base]
        return f"{times[kind]:7.1f} us  +{extra:5.1f} us = {extra / times[base]:4.0%} of a bare cell"

    first = (times["repro"] - times["bare"]) / times["bare"]
    print(f"libraries loaded: {', '.join(libraries)}; {args.cells} cells of each kind, "
          f"in alternating blocks of {args.block}; medians per cell")
    print("first run of a cell (distinct sources, as in a notebook run):")
    print(f"  without repro                   {times['bare']:7.1f} us")
    print(f"  the least such a hook does      {added('essentials', 'bare')}")
    print(f"  %load_ext repro, %seed 0        {added('repro', 'bare')} "
          f"(target <= 30%: {'met' if first <= 0.30 else 'NOT met'})")
    print(f"  and %repro trace on             {added('traced', 'bare')}; "
          f"{times['traced'] / times['repro']:.2f}x tracing off")
    print("a cell run again (the same sources, each run before):")
    print(f"  without repro                   {times['bare again']:7.1f} us")
    print(f"  %load_ext repro, %seed 0        {added('repro again', 'bare again')}")
    shell_start, load = time_load(args.loads)
    print(f"fresh processes, median of {args.loads}: kernel's IPython shell start {shell_start * 1e3:.1f} ms, "
          f"%load_ext repro {load * 1e3:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
