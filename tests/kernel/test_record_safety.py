"""record never loses a user's edit, writes through links, refuses read-only files; faults end cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import psutil
import pytest

import repro
from tests.builders import run_cli, write_notebook

pytestmark = pytest.mark.kernel


def test_an_edit_saved_while_record_runs_is_kept(tmp_path, capsys):
    path = write_notebook(tmp_path / "nb.ipynb", "print('a')", "print('b')")
    edited = {}

    def save_from_an_editor(notebook_path, run, index, total):
        if not edited:  # the user saves a new cell while the kernel runs the first one
            nb = nbformat.read(path, 4)
            nb.cells.append(nbformat.v4.new_markdown_cell("my new notes"))
            nbformat.write(nb, path)
            edited["bytes"] = path.read_bytes()

    result = repro.record_notebook(path, progress=save_from_an_editor)
    assert not result.written and "changed on disk while repro-nb ran" in result.message
    assert path.read_bytes() == edited["bytes"]  # the user's save, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb"]


def test_record_writes_through_a_link_and_refuses_a_read_only_file(tmp_path, capsys):
    real = write_notebook(tmp_path / "real.ipynb", "print(6 * 7)")
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "nb.ipynb"
    link.symlink_to(real)
    code, out, err = run_cli(capsys, "record", str(link))
    assert code == 0, err
    assert link.is_symlink() and nbformat.read(real, 4).cells[1].outputs[0]["text"] == "42\n"

    os.chmod(real, 0o444)
    before = real.read_bytes()
    code, out, err = run_cli(capsys, "record", str(real))
    assert code == 1 and "is read-only: refusing to replace it" in err and err.count("\n") == 1
    assert real.read_bytes() == before


def test_a_kernel_that_cannot_start_is_one_line_naming_it(tmp_path):
    spec = tmp_path / "share" / "kernels" / "broken"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": ["/bin/false", "{connection_file}"], "display_name": "broken", "language": "python"}))
    path = write_notebook(tmp_path / "nb.ipynb", "1 + 1")
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "share"))
    done = subprocess.run([sys.executable, "-m", "repro", "verify", "--kernel", "broken", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "kernel 'broken' could not start" in done.stdout
    assert "Traceback" not in done.stderr and "AssertionError" not in done.stderr  # no atexit noise


def _kernels_of(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [c for c in process.children(recursive=True) if "ipykernel_launcher" in " ".join(c.cmdline())]
    except psutil.Error:
        return []


def test_sigterm_stops_every_kernel_and_leaves_nothing_behind(tmp_path):
    paths = [write_notebook(tmp_path / f"slow{i}.ipynb", "import time\ntime.sleep(60)") for i in range(2)]
    scratch = tmp_path / "tmp"  # where jupyter_client writes the kernels' connection files
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    proc = subprocess.Popen([sys.executable, "-m", "repro", "verify", "-j", "2", "--current-python", *map(str, paths)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 90
    while len(_kernels_of(parent)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # polling another process's children: there is nothing to wait on
    kernels = _kernels_of(parent)
    assert len(kernels) == 2
    time.sleep(1.0)  # let both clients reach the sleeping cell
    assert len(list(scratch.rglob("*.json"))) == 2  # the live kernels' connection files
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1].startswith("repro-nb: stopped by SIGTERM") and "Traceback" not in err
    gone, alive = psutil.wait_procs(kernels, timeout=10)
    assert not alive
    assert not list(scratch.rglob("*.json")), list(scratch.rglob("*"))  # connection files hold the kernels' keys
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["slow0.ipynb", "slow1.ipynb"]


def test_duplicate_cell_ids_are_renewed_with_one_note_not_nbformats_warnings(tmp_path, capsys):
    path = tmp_path / "copied.ipynb"
    cells = [{"cell_type": "code", "id": "same", "metadata": {}, "source": f"print({i})", "outputs": [],
              "execution_count": None} for i in range(3)]
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": cells,
                                "metadata": {"kernelspec": {"name": "python3", "display_name": "P"}}}))
    code, out, err = run_cli(capsys, "record", str(path))
    assert code == 0, err
    assert err == ""  # no DuplicateCellId warning, with nbformat's source line under it
    assert out.count("\n") == 1 and "note: 2 duplicate cell ids were renewed (cells 2, 3)" in out
    ids = [cell["id"] for cell in nbformat.read(path, 4).cells]
    assert ids[0] == "same" and len(set(ids)) == 3
