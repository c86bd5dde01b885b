"""Wall time of `repro-nb verify --runs 2` against a single run, on the same notebook.

Both commands run in turn, several rounds; medians and their ratio are printed.
The notebook does single-threaded work in each cell, as most cells do, so that
the kernels' start-up does not dominate.

    python benchmarks/runs_speed.py [--rounds 5]

Target: --runs 2 on two cores costs at most 1.3x a single run.
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
    work = Path(tempfile.mkdtemp(prefix="repro-runs-"))
    try:
        path = work / "nb.ipynb"
        build_notebook(path)
        single, double = [], []
        for _ in range(args.rounds):
            single.append(timed([str(BIN / "repro-nb"), "verify", str(path)]))
            double.append(timed([str(BIN / "repro-nb"), "verify", "--runs", "2", str(path)]))
        a, b = statistics.median(single), statistics.median(double)
        print(f"{os.cpu_count()} cores, {args.rounds} rounds, median wall time:")
        print(f"  repro-nb verify            {a:6.2f} s")
        print(f"  repro-nb verify --runs 2   {b:6.2f} s  ({b / a:4.2f}x a single run; target <= 1.3x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
