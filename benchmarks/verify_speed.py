"""Wall time of `repro-nb verify` against `jupyter nbconvert --execute` and `pytest --nbval`.

All three run in one go on the same notebooks, alternating, several rounds;
medians are printed with their ratios. Also times `repro-nb diff` on two
notebooks with 20 MB of outputs, and `repro-nb --help`.

    pip install -e ".[bench]"
    python benchmarks/verify_speed.py [--rounds 3] [--cells 20]

Targets: verify within 1.10x of nbconvert, faster than nbval; diff of 20 MB
under 1 s; --help under 0.3 s.
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

BIN = Path(sys.executable).parent


def build_notebook(path: Path, cells: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    sources = ["import numpy as np\nimport random", "%load_ext repro\n%seed 42"]
    sources += [f"x{i} = np.random.rand(50)\nprint(round(float(x{i}.sum()), 6))" for i in range(cells)]
    nb = new_notebook(
        cells=[new_code_cell(s) for s in sources],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, path)
    subprocess.run([BIN / "repro-nb", "record", str(path)], check=True, capture_output=True)


def build_large(path: Path, megabytes: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    line = "0.123456 0.654321 loss: 1.234567 step 12345\n"
    per_cell = megabytes * 1_000_000 // 20
    cells = []
    for i in range(20):
        cell = new_code_cell(f"print(big_{i})", execution_count=i + 1)
        cell.outputs = [new_output("stream", name="stdout", text=line * (per_cell // len(line)))]
        cells.append(cell)
    nbformat.write(new_notebook(cells=cells), path)


def timed(command: list, env=None) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cells", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="repro-bench-"))
    try:
        notebooks = []
        for n in range(2):
            path = work / f"nb{n}.ipynb"
            build_notebook(path, args.cells)
            notebooks.append(path)
        tools = {
            "repro-nb verify": lambda nb: [str(BIN / "repro-nb"), "verify", str(nb)],
            "jupyter nbconvert --execute": lambda nb: [
                str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--stdout", str(nb)],
            "pytest --nbval": lambda nb: [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                          "--nbval", str(nb)],
        }
        times: dict[str, list[float]] = {name: [] for name in tools}
        for _ in range(args.rounds):
            for nb in notebooks:
                for name, command in tools.items():
                    times[name].append(timed(command(nb)))
        medians = {name: statistics.median(values) for name, values in times.items()}
        base = medians["jupyter nbconvert --execute"]
        print(f"{len(notebooks)} notebooks x {args.cells + 2} cells, {args.rounds} rounds, median wall time per notebook:")
        for name, value in medians.items():
            print(f"  {name:30s} {value:6.2f} s  ({value / base:4.2f}x nbconvert)")

        a, b = work / "large_a.ipynb", work / "large_b.ipynb"
        build_large(a, 20)
        shutil.copy(a, b)
        size = a.stat().st_size / 1e6
        diff_times = [timed([str(BIN / "repro-nb"), "diff", str(a), str(b)]) for _ in range(3)]
        print(f"  repro-nb diff, two notebooks of {size:.0f} MB of outputs: {statistics.median(diff_times):.2f} s (target < 1 s)")
        help_times = [timed([str(BIN / "repro-nb"), "--help"]) for _ in range(5)]
        print(f"  repro-nb --help: {statistics.median(help_times):.3f} s (target < 0.3 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
