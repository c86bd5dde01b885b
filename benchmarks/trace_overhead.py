"""What state tracing (``%repro trace on``, what ``repro-nb`` runs use) adds to a cell's time.

Runs in one process: an in-process IPython shell with numpy and torch imported, repro
loaded and ``%seed 0`` on, runs cells with distinct sources (every cell of a notebook
run is a first execution) in alternating blocks with tracing off and on, for three
kinds of cell: one that assigns a number, one that assigns a 1,000-element array, one
that assigns a 1,000-element tensor. It prints the medians per cell and their ratio
(target: at most 1.10x). IPython keeps a name per cell run (``_i1``, ``_i2``...), which
the tracer looks over before and after each cell: they are dropped between rounds, so
that the namespace stays the size of a notebook's of a few hundred cells. For the
figure on whole notebooks (``record`` and ``verify`` with and without state digests),
see ``benchmarks/trace_cost.py``.

    python benchmarks/trace_overhead.py [--cells 1000] [--block 50]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import statistics

from cell_overhead import control, run_cells  # benchmarks/ is the script's folder

KINDS = {
    "x = N (a number)": "x = {n}",
    "a = numpy.arange(1000) * N": "a = numpy.arange(1000) * {n}",
    "t = torch.ones(1000) * N": "t = torch.ones(1000) * {n}",
}


def drop_input_names(shell) -> None:
    namespace = shell.user_ns
    for name in [name for name in namespace if name.startswith("_i") and name[2:].isdigit()]:
        del namespace[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000, help="cells of each kind, each way")
    parser.add_argument("--block", type=int, default=50, help="cells per block; off and on alternate block by block")
    args = parser.parse_args()

    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.config.Repro.warn_hash_seed = False
    libraries = [name for name in ("numpy", "torch") if importlib.util.find_spec(name)]
    shell.run_cell("\n".join(f"import {name}" for name in libraries))
    kinds = {kind: template for kind, template in KINDS.items()
             if all(name in libraries for name in ("numpy", "torch") if f"{name}." in template)}
    control(shell, "%load_ext repro")
    control(shell, "%seed 0")
    numbers = itertools.count()
    times = {(kind, on): [] for kind in kinds for on in (False, True)}
    for template in kinds.values():
        run_cells(shell, [template.format(n=next(numbers)) for _ in range(args.block)])  # warm up
    for _ in range(max(1, args.cells // args.block)):
        drop_input_names(shell)
        for on in (False, True):
            control(shell, f"%repro trace {'on' if on else 'off'}")
            for kind, template in kinds.items():
                times[kind, on] += run_cells(shell, [template.format(n=next(numbers)) for _ in range(args.block)])
    control(shell, "%repro trace off")
    print(f"{args.cells} cells of each kind each way, in alternating blocks of {args.block}; "
          "median per cell, repro loaded and %seed 0 on:")
    print(f"  {'cell':28} {'tracing off':>12} {'tracing on':>12}  ratio (target <= 1.10x)")
    for kind in kinds:
        off, on = (statistics.median(times[kind, flag]) * 1e6 for flag in (False, True))
        print(f"  {kind:28} {off:9.1f} us {on:9.1f} us  {on / off:.2f}x")


if __name__ == "__main__":
    main()
