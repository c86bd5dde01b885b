"""What per-cell state digests cost: ``record`` and ``verify`` of the example notebooks, with and without.

Each round runs the four commands in turn on a scratch copy of ``example_notebooks/``
(``-j 1``), so that both sides see the same machine; medians and ratios are printed.

    python benchmarks/trace_cost.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPRO_NB = [sys.executable, "-m", "repro"]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="repro-trace-"))
    try:
        folder = work / "notebooks"
        shutil.copytree(ROOT / "example_notebooks", folder)
        times: dict[str, list[float]] = {"record": [], "record --no-trace-state": [],
                                         "verify": [], "verify --no-trace-state": []}
        for _ in range(args.rounds):
            for name in times:
                command, *flags = name.split()
                times[name].append(timed([*REPRO_NB, command, "-j", "1", *flags, str(folder)]))
        print(f"example notebooks, -j 1, {args.rounds} rounds, median wall time:")
        for command in ("record", "verify"):
            on, off = statistics.median(times[command]), statistics.median(times[f"{command} --no-trace-state"])
            print(f"  {command:7} with state digests {on:6.2f} s, without {off:6.2f} s: "
                  f"{on / off:4.2f}x (target <= 1.10x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
