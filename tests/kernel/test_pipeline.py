"""The pipelined runner (requests sent ahead, the default) against one cell at a time (--sequential):
the same results, records and failure reports, and nothing run in the kernel past a stop."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from repro.notebook.execute import execute_notebook
from repro.notebook.options import ExecuteOptions
from tests.builders import write_notebook
from tests.kernel.conftest import output_texts

pytestmark = pytest.mark.kernel

#: Cells queued behind the one that stops the run: each would leave a file if it ran.
LATER = 20


def touch(folder: Path, name: str) -> str:
    return f"open({str(folder / name)!r}, 'w').close()"


def later_cells(folder: Path) -> list[str]:
    return [touch(folder, f"ran-{i}") for i in range(LATER)]


def both(path: Path, **options):
    """The run of the notebook at *path* pipelined, then one cell at a time."""
    runs = []
    for sequential in (False, True):
        options = {"current_python": True, "seed": 7, **options, "sequential": sequential}
        runs.append(execute_notebook(nbformat.read(path, 4), path, ExecuteOptions(**options)))
    return runs


def summary(run) -> dict:
    """What a report shows of a run: its failure, the cells it ran, their outputs, counts and records."""
    failure = None if run.failure is None else (run.failure.kind, run.failure.cell_index, run.failure.message)
    cells = [(c.get("execution_count"), output_texts(c.get("outputs", [])), kinds(c.get("outputs", [])))
             for c in run.notebook.cells]
    return {"failure": failure, "executed": sorted(run.executed), "cells": cells, "records": run.records,
            "widgets": run.notebook.metadata.get("widgets")}


def kinds(outputs) -> list[str]:
    """The outputs' types, a stream split in several messages (as the kernel flushes it) counted once."""
    names = [o.get("name", o["output_type"]) for o in outputs]
    return [name for i, name in enumerate(names) if i == 0 or name != names[i - 1]]


def numbered(run) -> str:
    """:func:`summary` as JSON, the widgets' random model ids numbered in the order they first appear."""
    text = json.dumps(summary(run), sort_keys=False, default=str)
    ids: dict[str, str] = {}
    return re.sub(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", lambda m: ids.setdefault(m.group(), f"model-{len(ids)}"), text)


def assert_same(pipelined, sequential) -> None:
    assert numbered(pipelined) == numbered(sequential)


def test_many_cells_give_the_same_outputs_counts_and_records(tmp_path):
    sources = ["import random", "%load_ext repro"] + [f"print({i}); random.random()" for i in range(40)]
    pipelined, sequential = both(write_notebook(tmp_path / "nb.ipynb", *sources))
    assert pipelined.failure is None and len(pipelined.records) == 42
    assert pipelined.notebook.cells[-1].execution_count == 42
    assert output_texts(pipelined.notebook.cells[-1].outputs)["stdout"] == "39\n"
    assert_same(pipelined, sequential)


@pytest.mark.parametrize("first", [True, False])
def test_an_error_stops_the_run_and_nothing_queued_after_it_runs(tmp_path, first):
    before = [] if first else ["x = 1", "print(x)"]
    path = write_notebook(tmp_path / "nb.ipynb", *before, "1 / 0", *later_cells(tmp_path))
    pipelined, sequential = both(path)
    stop = len(before) + 1
    assert pipelined.failure.kind == "error" and pipelined.failure.cell_index == stop
    assert pipelined.failure.message == "ZeroDivisionError: division by zero"
    assert max(pipelined.executed) == stop
    assert list(tmp_path.glob("ran-*")) == []  # neither run ran a cell past the error
    assert_same(pipelined, sequential)


def test_allowed_errors_go_on(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "print('a')", "1 / 0", "# NBVAL_RAISES_EXCEPTION\nraise KeyError('k')",
                          "print('after')", "undefined_name", touch(tmp_path, "ran"))
    nb = nbformat.read(path, 4)
    nb.cells[2].metadata["tags"] = ["raises-exception"]
    nbformat.write(nb, path)
    pipelined, sequential = both(path)
    assert pipelined.failure.kind == "error" and pipelined.failure.cell_index == 5
    assert pipelined.failure.message.startswith("NameError")
    assert output_texts(pipelined.notebook.cells[4].outputs)["stdout"] == "after\n"
    assert not (tmp_path / "ran").exists()
    assert_same(pipelined, sequential)


def test_a_cell_past_its_limit_times_out_at_that_cell_and_the_queue_never_runs(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "x = 1", "import time\ntime.sleep(30)", *later_cells(tmp_path))
    pipelined, sequential = both(path, timeout=2.0)
    assert pipelined.failure.kind == "timeout" and pipelined.failure.cell_index == 2
    assert pipelined.failure.message == "cell timed out after 2 s"
    assert list(tmp_path.glob("ran-*")) == []
    assert_same(pipelined, sequential)


def test_a_may_raise_cell_past_its_limit_stops_the_queue_too(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "# NBVAL_RAISES_EXCEPTION\nimport time\ntime.sleep(30)",
                          *later_cells(tmp_path))
    pipelined, sequential = both(path, timeout=2.0)
    assert pipelined.failure.kind == "timeout" and pipelined.failure.cell_index == 1
    assert list(tmp_path.glob("ran-*")) == []
    assert_same(pipelined, sequential)


def test_the_limit_counts_from_each_cells_start_not_from_its_request(tmp_path):
    # Each cell is within the 2 s limit; the four together are not: the last was sent
    # (queued) about 4.5 s before it started.
    path = write_notebook(tmp_path / "nb.ipynb", *["import time\ntime.sleep(1.5)"] * 4)
    pipelined, sequential = both(path, timeout=2.0)
    assert pipelined.failure is None
    assert_same(pipelined, sequential)


def test_input_fails_at_its_cell_as_one_at_a_time(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "x = 1", "name = input('name? ')", *later_cells(tmp_path))
    pipelined, sequential = both(path)
    assert pipelined.failure.kind == "error" and pipelined.failure.cell_index == 2
    assert pipelined.failure.message.startswith("StdinNotImplementedError")
    assert list(tmp_path.glob("ran-*")) == []
    assert_same(pipelined, sequential)


def test_a_dead_kernel_is_reported_at_its_cell(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "print('before')\n7", "import os, time\ntime.sleep(0.2)\nos._exit(1)",
                          *later_cells(tmp_path))
    pipelined, sequential = both(path)
    assert pipelined.failure.kind == "dead-kernel" and pipelined.failure.cell_index == 2
    assert output_texts(pipelined.notebook.cells[1].outputs) == {"stdout": "before\n", "stderr": "",
                                                                 "execute_result": "7"}
    assert list(pipelined.records) == [1]
    assert list(tmp_path.glob("ran-*")) == []
    assert_same(pipelined, sequential)


@pytest.mark.parametrize("attempt", range(3))
def test_a_kernel_dead_the_moment_its_cell_starts_is_reported_at_that_cell(tmp_path, attempt):
    # The reply of the cell before it may die with the kernel; the guard's note of the
    # cell each request started still names the right one.
    path = write_notebook(tmp_path / "nb.ipynb", "x = 1", "import os\nos._exit(1)", *later_cells(tmp_path))
    pipelined, sequential = both(path)
    for run in (pipelined, sequential):
        assert run.failure.kind == "dead-kernel" and run.failure.cell_index == 2
        assert sorted(run.executed) == [1, 2]
    assert list(tmp_path.glob("ran-*")) == []


def test_widgets_and_output_widgets_are_kept_as_one_at_a_time(tmp_path):
    pytest.importorskip("ipywidgets")
    path = write_notebook(
        tmp_path / "nb.ipynb",
        "import ipywidgets as w\nslider = w.IntSlider(value=3)\nslider",
        "out = w.Output()\nwith out:\n    print('inside')\nout",
        "slider.value = 5\nprint('after')",
        "from IPython.display import display, update_display\nh = display('first', display_id='d')",
        "update_display('second', display_id='d')",
    )
    pipelined, sequential = both(path)
    assert pipelined.failure is None
    state = pipelined.notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(model["state"].get("value") == 5 for model in state.values())
    assert any(o.get("text") == "inside\n" for model in state.values() for o in model["state"].get("outputs", ()))
    assert output_texts(pipelined.notebook.cells[4].outputs)["execute_result"] == ""
    assert pipelined.notebook.cells[4].outputs[0]["data"]["text/plain"] == "'second'"
    assert_same(pipelined, sequential)


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 120
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # a file the cell writes in another process: nothing to wait on
    assert path.exists(), "the cell never started"


@pytest.mark.parametrize("sequential", [False, True])
def test_ctrl_c_reports_the_cell_and_nothing_queued_after_it_runs(tmp_path, sequential):
    started = tmp_path / "started"
    path = write_notebook(tmp_path / "nb.ipynb", "x = 1", f"import time\n{touch(tmp_path, 'started')}\ntime.sleep(60)",
                          *later_cells(tmp_path))
    argv = [sys.executable, "-m", "repro", "verify", "--format", "json", "--current-python", str(path)]
    process = subprocess.Popen(argv + (["--sequential"] if sequential else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(started)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    failure = json.loads(out)["notebooks"][0]["failure"]
    assert failure["kind"] == "interrupted" and failure["cell"] == 2
    assert "Traceback" not in err and "never retrieved" not in err, err
    assert list(tmp_path.glob("ran-*")) == []


def test_a_kernel_without_the_guard_runs_one_cell_at_a_time(tmp_path, monkeypatch):
    from repro.notebook import guard, pipeline

    # A statement the kernel cannot run, as a Python kernel that is not IPython would fail it.
    monkeypatch.setattr(guard, "guard_statement", lambda stop, started: "raise ImportError('no IPython')")
    sent = []
    real = pipeline.Pipeline.run

    async def run(self):
        sent.append(self)
        return await real(self)

    monkeypatch.setattr(pipeline.Pipeline, "run", run)
    path = write_notebook(tmp_path / "nb.ipynb", "print(1)", "1 / 0", touch(tmp_path, "ran"))
    pipelined, sequential = both(path)
    assert sent == [] and pipelined.failure.cell_index == 2
    assert_same(pipelined, sequential)
