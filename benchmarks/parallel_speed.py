"""Parallel kernels: `verify --runs 2` against one run, and `verify -j 2` against `-j 1`.

Each pair of commands runs in turn, several rounds; medians and ratios are printed.
The notebook does single-threaded work in each cell, as most cells do, so that
the kernels' start-up does not dominate.

    python benchmarks/parallel_speed.py [--rounds 5]

Targets on two cores: --runs 2 costs at most 1.3x a single run; four notebooks
with -j 2 take at most 0.6x the serial wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def build_notebook(path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    # Single-threaded Python work, as most notebook cells are; BLAS-heavy cells
    # that already use every core cannot run two at once for free.
    sources = ["%load_ext repro\n%seed 7", "import random\nimport numpy as np"]
    sources += [f"print(round(sum(random.random() for _ in range(400_000)), 3), np.random.rand(3).round(3))  # {i}"
                for i in range(10)]
    nb = new_notebook(cells=[new_code_cell(s) for s in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    subprocess.run([BIN / "repro-nb", "record", str(path)], check=True, capture_output=True)


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="repro-parallel-"))
    try:
        folder = work / "notebooks"
        folder.mkdir()
        paths = [folder / f"nb{i}.ipynb" for i in range(4)]
        for path in paths:
            build_notebook(path)
        verify = [str(BIN / "repro-nb"), "verify"]
        single, double, serial, parallel = [], [], [], []
        for _ in range(args.rounds):
            single.append(timed([*verify, "-j", "1", str(paths[0])]))
            # -j caps the kernels alive in all, runs included: two runs need two slots.
            double.append(timed([*verify, "-j", "2", "--runs", "2", str(paths[0])]))
            serial.append(timed([*verify, "-j", "1", str(folder)]))
            parallel.append(timed([*verify, "-j", "2", str(folder)]))
        a, b = statistics.median(single), statistics.median(double)
        c, d = statistics.median(serial), statistics.median(parallel)
        print(f"{os.cpu_count()} cores, {args.rounds} rounds, median wall time:")
        print(f"  verify, one notebook             {a:6.2f} s")
        print(f"  verify -j 2 --runs 2, one nb     {b:6.2f} s  ({b / a:4.2f}x a single run; target <= 1.3x)")
        print(f"  verify -j 1, four notebooks      {c:6.2f} s")
        print(f"  verify -j 2, four notebooks      {d:6.2f} s  ({d / c:4.2f}x serial; target <= 0.6x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
