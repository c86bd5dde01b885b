"""Peak memory (RSS) of `repro-nb verify` on a notebook whose one cell prints a lot.

Builds a notebook whose cell writes N MiB to stdout, 1 MiB at a time, runs
`repro-nb verify --current-python` on it under GNU time and prints the peak
RSS of the repro-nb process (its kernel is not counted) with the exit code.

    python benchmarks/output_memory.py                 # 100 MiB: quick
    python benchmarks/output_memory.py --mib 100 300 1024

Target: a peak that does not grow with the output once the per-cell output
limit (100 MiB by default) is passed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def build_notebook(path: Path, mib: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    source = f"import sys\nfor _ in range({mib}):\n    sys.stdout.write('x' * (1 << 20))"
    nb = new_notebook(cells=[new_code_cell(source)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)


def peak_rss_mib(path: Path) -> tuple[float, int, str]:
    """The peak RSS of `repro-nb verify` on *path* in MiB, its exit code and its last report line."""
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "repro", "verify", "--current-python",
               "--timeout", "none", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if match is None:
        sys.exit(f"no peak RSS in GNU time's output:\n{done.stderr[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return int(match.group(1)) / 1024, done.returncode, (lines[-1] if lines else "")[:160]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[100], help="MiB printed by the cell (default: 100)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for mib in args.mib:
            path = Path(scratch) / f"print_{mib}_mib.ipynb"
            build_notebook(path, mib)
            peak, code, line = peak_rss_mib(path)
            print(f"{mib:>6} MiB printed: peak RSS {peak:8.0f} MiB, exit {code}: {line}", flush=True)


if __name__ == "__main__":
    main()
