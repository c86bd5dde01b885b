"""Stalled cells when several kernels run at once: repro's sliced socket waits against one long wait.

With several kernels' clients busy in one process, the asyncio poll of a zmq socket
can miss the wake-up for a message that has arrived and see it only when its timeout
runs out. nbclient waits for each reply with one poll as long as the cell's time
limit, so a missed wake-up stalls the cell until the limit (forever without one).
repro's channels (``repro.notebook.managers.PolledChannel``) wait at most 0.5 s at a
time. Both run here in one go on the same notebooks (ipywidgets ``Output`` widgets,
which send many messages), alternating, with a short limit so that a stall shows.

    python benchmarks/parallel_stalls.py [--rounds 3] [--limit 5]

Prints, for each, the cells that took at least the limit (stalls) and the wall time.
Target: no stall with repro's channels.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

SOURCES = [
    "import ipywidgets as w\nfrom IPython.display import display\nout = w.Output()\ndisplay(out)",
    "with out:\n    print('inside')\n    display(w.IntSlider(3))",
    "out.clear_output()\nwith out:\n    print('again')",
    "import time\nfor i in range(5):\n    with out:\n        print(i)\n    time.sleep(0.05)",
    "print('end')",
]


def build(folder: Path, count: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    for k in range(count):
        nb = new_notebook(cells=[new_code_cell(s) for s in SOURCES],
                          metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                   "language": "python"}})
        nbformat.write(nb, folder / f"widgets{k}.ipynb")


def one_round(folder: Path, limit: float, sliced: bool) -> tuple[int, float]:
    """(cells that took >= limit, wall seconds) for one verify of every notebook, -j 3 --runs 2."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    import repro
    from repro.notebook import managers
    from repro.notebook.options import resolve_options

    channel = managers.PolledChannel if sliced else AsyncZMQSocketChannel
    for name in ("shell_channel_class", "iopub_channel_class", "control_channel_class"):
        setattr(managers.CellIdKernelClient, name, channel)  # traitlets Type: the class itself is accepted
    started: dict[tuple, float] = {}
    slow = []

    def progress(path, run, index, total):
        now = time.monotonic()
        key = (str(path), run)
        if key in started and now - started[key] >= limit:
            slow.append(key)
        started[key] = now

    start = time.monotonic()
    repro.verify_notebooks([folder], resolve_options(folder, timeout=limit, jobs=3), runs=2, progress=progress)
    return len(slow), time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=5.0, help="per-cell time limit, seconds")
    parser.add_argument("--notebooks", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder, args.notebooks)
        totals = {True: [0, 0.0], False: [0, 0.0]}
        for _ in range(args.rounds):
            for sliced in (False, True):
                stalls, wall = one_round(folder, args.limit, sliced)
                totals[sliced][0] += stalls
                totals[sliced][1] += wall
        cells = args.rounds * args.notebooks * 2 * (len(SOURCES) - 1)
        for sliced, label in ((False, "one long wait (nbclient's own)"), (True, "sliced waits (repro)")):
            stalls, wall = totals[sliced]
            print(f"{label:32s} stalls: {stalls:3d} of {cells} cells   wall: {wall:6.1f} s "
                  f"({args.rounds} rounds, -j 3 --runs 2, limit {args.limit:g} s)")


if __name__ == "__main__":
    main()
