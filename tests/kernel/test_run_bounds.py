"""What a run may leave or hold: no process outlives it, output is bounded per cell,
SIGTERM on one notebook stops it as on two, kernels start over private sockets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from repro.notebook.execute import execute_notebook
from repro.notebook.options import ExecuteOptions
from tests.builders import run_cli, write_notebook
from tests.kernel.conftest import pid_alive

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")]

DETACHED_SLEEP = """\
import subprocess
child = subprocess.Popen(['sleep', '600'], start_new_session=True)
print(child.pid)"""

# A double fork and setsid: the grandchild is a forked copy of the kernel, already
# orphaned (and out of the kernel's tree) while the kernel still runs.
DAEMON = """\
import os, time
r, w = os.pipe()
first = os.fork()
if first == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(600)
    os._exit(0)
os.close(w)
os.waitpid(first, 0)
print(int(os.read(r, 32)))"""


def _wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in pids if pid_alive(p)], timeout=seconds)
    return [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def test_processes_a_cell_detached_do_not_outlive_record(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", DETACHED_SLEEP, DAEMON)
    code, out, err = run_cli(capsys, "record", "--current-python", str(path))
    nb = nbformat.read(path, 4)
    pids = [int(nb.cells[i].outputs[0]["text"]) for i in (1, 2)]
    try:
        assert code == 0, err
        assert [pid for pid in pids if pid_alive(pid)] == []
        line = next(line for line in err.splitlines() if line.startswith("repro: ended"))
        assert line.startswith("repro: ended 2 processes a cell left running: ")
        assert f"sleep (pid {pids[0]})" in line and f"(pid {pids[1]})" in line
    finally:
        for pid in pids:  # what the assertion found alive, by PID: the test leaves nothing behind
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_output_past_the_limit_is_dropped_and_fails_the_notebook(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "print('before')",
                          "import sys\nfor _ in range(3):\n    sys.stdout.write('x' * (1 << 20))\n    sys.stdout.flush()",
                          "print('never')")
    nb = nbformat.read(path, 4)
    run = execute_notebook(nb, path, ExecuteOptions(current_python=True, max_output_bytes=1 << 20))
    assert run.failure is not None and run.failure.kind == "output-limit" and run.failure.cell_index == 2
    assert run.failure.message == "output limit exceeded: the cell wrote more than 1 MiB; the rest was dropped"
    outputs = run.notebook.cells[2].outputs
    assert sum(len(o.get("text", "")) for o in outputs) <= (1 << 20) + 100
    assert outputs[-1]["text"] == "[repro: output past 1 MiB dropped]\n"
    assert 3 not in run.executed


def _started(path: Path) -> None:
    deadline = time.monotonic() + 120
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # a file the cell writes in another process: nothing to wait on
    assert path.exists(), "the cell never started"


def test_sigterm_on_one_notebook_stops_it_as_on_two(tmp_path):
    flag = tmp_path / "started"
    path = write_notebook(tmp_path / "slow.ipynb", "x = 1",
                          f"import pathlib, time\npathlib.Path({str(flag)!r}).touch()\ntime.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-m", "repro", "verify", "--current-python", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _started(flag)
    kernels = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, (out, err)
    assert err.strip().splitlines()[-1].startswith("repro-nb: stopped by SIGTERM") and "Traceback" not in err
    assert "the kernel died" not in out and "interrupted" in out
    assert not psutil.wait_procs(kernels, timeout=10)[1]


def test_the_signal_handlers_in_place_before_a_run_are_in_place_after_it(tmp_path):
    def mine(signum, frame):
        raise KeyboardInterrupt

    path = write_notebook(tmp_path / "nb.ipynb", "1 + 1")
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        run = execute_notebook(nbformat.read(path, 4), path, ExecuteOptions(current_python=True))
        assert run.failure is None
        # nbclient leaves SIGTERM at its default, which ends the process with no clean-up
        # (a record's temporary file left next to the notebook).
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_kernels_start_over_sockets_in_a_private_folder(tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    source = ("import json\nfrom ipykernel.connect import get_connection_file\n"
              "print(json.load(open(get_connection_file()))['transport'], get_connection_file())")
    path = write_notebook(tmp_path / "nb.ipynb", source)
    run = execute_notebook(nbformat.read(path, 4), path, ExecuteOptions(current_python=True))
    assert run.failure is None
    transport, connection_file = run.notebook.cells[1].outputs[0]["text"].split()
    assert transport == "ipc" and Path(connection_file).parent.parent == scratch
    assert list(scratch.iterdir()) == []  # the folder, the key and the sockets are gone

