"""The execution loop: `repro-nb verify` (pipelined) against `--sequential`, nbconvert and nbval.

Two notebook sets, each tool run in turn on the same files, several rounds; medians
and ratios to nbconvert are printed:

- one notebook of 1000 trivial cells (``x = 0``, ``x = 1``, ...), where the loop's
  cost per cell is all there is;
- eight notebooks of one cell each, where the kernels' start-up is (verify runs them
  in parallel kernels, one per core; nbconvert and nbval one after the other).

    pip install -e ".[bench]"
    python benchmarks/loop_speed.py [--rounds 3] [--cells 1000]

Targets: 1000 cells in at most 0.75x nbconvert's time; no notebook slower pipelined than
with --sequential.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from parallel_speed import timed  # noqa: E402

#: Where repro-nb, jupyter and python are: this Python's, unless REPRO_BENCH_BIN says.
BIN = Path(os.environ.get("REPRO_BENCH_BIN") or Path(sys.executable).parent)


def build(path: Path, sources: list[str]) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(s) for s in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    subprocess.run([BIN / "repro-nb", "record", str(path)], check=True, capture_output=True)


def tools(targets: list[Path]) -> dict[str, list[str]]:
    paths = [str(p) for p in targets]
    return {
        "repro-nb verify": [str(BIN / "repro-nb"), "verify", *paths],
        "repro-nb verify --sequential": [str(BIN / "repro-nb"), "verify", "--sequential", *paths],
        "jupyter nbconvert --execute": [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                                        "--output-dir", str(targets[0].parent / "out"), *paths],
        "pytest --nbval": [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", *paths],
    }


def compare(title: str, targets: list[Path], rounds: int) -> None:
    commands = tools(targets)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(timed(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["jupyter nbconvert --execute"]
    print(f"{title}, {rounds} rounds, median wall time (min-max):")
    for name, value in medians.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"  {name:30s} {value:6.2f} s ({spread})  {value / base:4.2f}x nbconvert")
    sequential = medians["repro-nb verify --sequential"]
    print(f"  pipelined / sequential: {medians['repro-nb verify'] / sequential:4.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cells", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="repro-loop-"))
    try:
        many = work / "many"
        many.mkdir()
        build(many / "cells.ipynb", [f"x = {i}" for i in range(args.cells)])
        small = work / "small"
        small.mkdir()
        for i in range(8):
            build(small / f"nb{i}.ipynb", [f"print({i})"])
        compare(f"1 notebook of {args.cells} trivial cells", [many / "cells.ipynb"], args.rounds)
        compare("8 notebooks of one cell", sorted(small.glob("*.ipynb")), args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
