"""Time per cell with repro loaded and ``%seed`` on, against the same shell without it.

Runs in one process: an in-process IPython shell with random, numpy and torch
imported executes the same trivial cell many times, alternating blocks with and
without the extension, and prints the medians, the difference and its share of
a bare cell's time (target: at most 30%). The machine's speed varies from run to
run: compare the ratio, measured side by side, not the microseconds. It also
times a 20-line cell run for the first time (its source is tokenized once) and
``%load_ext repro`` in fresh kernels (target: under 50 ms).

    python benchmarks/cell_overhead.py [--cells 200] [--rounds 40]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import time

LOAD_TIME = """
import time
start = time.perf_counter()
get_ipython().run_line_magic("load_ext", "repro")
print(time.perf_counter() - start)
"""


def time_load(runs: int = 5) -> float:
    """Median wall time of `%load_ext repro` in fresh real kernels, in seconds."""
    from jupyter_client.manager import start_new_kernel

    samples = []
    for _ in range(runs):
        manager, client = start_new_kernel(kernel_name="python3", stderr=subprocess.DEVNULL)
        try:
            output = []
            client.execute_interactive(
                LOAD_TIME,
                output_hook=lambda msg: msg["msg_type"] == "stream" and output.append(msg["content"]["text"]),
                timeout=60,
            )
            samples.append(float("".join(output)))
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return statistics.median(samples)


def time_cells(shell, source: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        shell.run_cell(source, store_history=True)
        samples.append(time.perf_counter() - start)
    return samples


#: A cell as notebooks have them, with a marker that makes each run a new source.
NEW_CELL = "\n".join(["total_{n} = 0  # a fresh cell", *(f"v{i} = {i} * 2 + len('line {i}')  # step {i}" for i in range(18)),
                      "total_{n} += v17"])


def time_new_cells(shell, start: int, n: int) -> list[float]:
    """Cells never run before: what a notebook's first run costs per cell."""
    return [time_cells(shell, NEW_CELL.format(n=start + i), 1)[0] for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200, help="cells per block")
    parser.add_argument("--rounds", type=int, default=40, help="blocks with and without repro, alternating")
    args = parser.parse_args()

    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    libraries = ["random", "numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])
    shell.run_cell("\n".join(f"import {name}" for name in libraries))
    shell.run_cell("import numpy.random")
    source = "x = 1"

    without: list[float] = []
    with_repro: list[float] = []
    new_without: list[float] = []
    new_with: list[float] = []
    time_cells(shell, source, args.cells)  # warm up
    for round_ in range(args.rounds):
        without += time_cells(shell, source, args.cells)
        new_without += time_new_cells(shell, 2 * round_ * 10, 10)
        shell.run_cell("%load_ext repro")
        shell.run_cell("%seed 42")
        time_cells(shell, source, 50)
        with_repro += time_cells(shell, source, args.cells)
        new_with += time_new_cells(shell, (2 * round_ + 1) * 10, 10)
        shell.run_cell("%unload_ext repro")

    base = statistics.median(without) * 1e6
    loaded = statistics.median(with_repro) * 1e6
    new_base = statistics.median(new_without) * 1e6
    new_loaded = statistics.median(new_with) * 1e6
    ratio = (loaded - base) / base
    print(f"libraries loaded: {', '.join(libraries)}; {args.rounds} x {args.cells} cells each way")
    print(f"median per cell without repro:          {base:8.1f} us")
    print(f"median per cell with repro + %seed:     {loaded:8.1f} us")
    print(f"added per cell:                         {loaded - base:8.1f} us = {ratio:.0%} of a bare cell "
          f"(target <= 30%: {'met' if ratio <= 0.30 else 'NOT met'})")
    print(f"a new 20-line cell, without / with:     {new_base:8.1f} / {new_loaded:.1f} us "
          f"(+{new_loaded - new_base:.0f} us, once per source)")
    print(f"%load_ext repro in a fresh kernel:      {time_load() * 1e3:8.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
