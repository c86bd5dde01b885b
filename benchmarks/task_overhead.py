"""Per-task cost of seeding work handed to worker processes: ``Pool.map`` of many trivial tasks.

One in-process IPython shell with random, numpy and torch imported runs the same
``Pool.map`` of N trivial tasks (fork, two workers) in alternating rounds, with
repro's per-cell seeding on and with repro unloaded; medians and the ratio are printed.

    python benchmarks/task_overhead.py [--tasks 10000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_cell("import random, numpy, numpy.random, torch, multiprocessing as mp, operator")
    shell.run_cell(f"pool = mp.get_context('fork').Pool(2); tasks = list(range({args.tasks}))")
    shell.run_cell("import time; pauses = [0.0005] * 1000")
    cases = [("trivial tasks (abs)", "_ = pool.map(abs, tasks, chunksize=100)", args.tasks),
             ("tasks of 0.5 ms (time.sleep)", "_ = pool.map(time.sleep, pauses, chunksize=10)", 1000)]
    print(f"Pool.map, 2 fork workers, {args.rounds} rounds alternating, median:")
    for name, cell, count in cases:
        shell.run_cell(cell)  # warm the workers up
        plain, seeded = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            shell.run_cell(cell)
            plain.append(time.perf_counter() - start)
            shell.run_cell("%load_ext repro")
            shell.run_cell("%seed 1")
            start = time.perf_counter()
            shell.run_cell(cell)
            seeded.append(time.perf_counter() - start)
            shell.run_cell("%unload_ext repro")
        a, b = statistics.median(plain), statistics.median(seeded)
        print(f"  {count} {name}:")
        print(f"    without repro           {a * 1e3:8.1f} ms  ({a / count * 1e6:7.1f} us a task)")
        print(f"    with repro and %seed    {b * 1e3:8.1f} ms  ({b / count * 1e6:7.1f} us a task)")
        print(f"    ratio                   {b / a:8.2f}x  (target <= 1.10x); added {(b - a) / count * 2e6:.1f} us "
              "of worker time a task")
    shell.run_cell("pool.terminate()")


if __name__ == "__main__":
    sys.exit(main())
