"""Verdicts that say what was checked: unverified notebooks, a preload without a trace,
order notes that skip what was skipped, a default time limit and a watchdog."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET

import nbformat
import pytest

import repro
from tests.builders import run_cli, verify_json, write_notebook
from tests.kernel.conftest import pid_alive

pytestmark = pytest.mark.kernel


def test_a_notebook_never_executed_is_unverified_not_a_pass(tmp_path, capsys):
    path = write_notebook(tmp_path / "bare.ipynb", "x = 1", "print(x)", "x * 2")
    junit = tmp_path / "report.xml"
    code, data = verify_json(capsys, "--junit-xml", str(junit), str(path))
    notebook = data["notebooks"][0]
    assert code == 1
    assert (notebook["status"], notebook["code_cells"], notebook["compared"]) == ("unverified", 3, 0)
    assert [c["reason"] for c in notebook["cells"]] == ["never executed"] * 3
    case = ET.parse(junit).getroot().find("testcase")
    assert case.find("failure") is not None and "unverified" in case.find("failure").get("message")

    code, out, _ = run_cli(capsys, "verify", str(path))
    assert code == 1
    assert out.splitlines()[0].startswith(f"UNVERIFIED {path}: unverified: 0 of 3 code cells had stored outputs")
    assert "run `repro-nb record` first" in out.splitlines()[0]


def test_allow_unverified_passes_and_junit_marks_it_skipped(tmp_path, capsys):
    path = write_notebook(tmp_path / "bare.ipynb", "x = 1", "print(x)")
    junit = tmp_path / "report.xml"
    code, data = verify_json(capsys, "--allow-unverified", "--junit-xml", str(junit), str(path))
    assert code == 0 and data["notebooks"][0]["status"] == "unverified"
    root = ET.parse(junit).getroot()
    assert root.get("skipped") == "1" and root.get("failures") == "0"
    assert root.find("testcase").find("skipped") is not None


def test_a_partly_executed_notebook_says_how_many_cells_were_compared(tmp_path, capsys):
    path = write_notebook(tmp_path / "part.ipynb", "x = 1", "print(x)", "print(x + 1)", "x * 3")
    assert run_cli(capsys, "record", str(path))[0] == 0
    nb = nbformat.read(path, 4)
    for cell in nb.cells[3:]:  # the last two code cells lose their outputs, as if never run
        cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)
    code, data = verify_json(capsys, str(path))
    notebook = data["notebooks"][0]
    assert code == 0 and notebook["status"] == "reproduced"
    assert (notebook["code_cells"], notebook["compared"]) == (4, 2)
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert "reproduced (2 of 4 code cells compared: 2 without stored outputs" in out


NAMESPACE_CELLS = (
    "x = 1\nimport math",
    "%whos",
    "print(sorted(n for n in dir() if not n.startswith('_')))",
    "print(len(get_ipython().user_ns), sorted(k for k in globals() if not k.startswith('_')))",
    "print(len(In), get_ipython().execution_count)",
)


def test_a_notebook_executed_by_plain_nbclient_reproduces_its_namespace_cells(tmp_path, capsys):
    from nbclient import NotebookClient

    path = write_notebook(tmp_path / "plain.ipynb", *NAMESPACE_CELLS)
    nb = nbformat.read(path, 4)
    NotebookClient(nb, kernel_name="python3", timeout=120,  # what `jupyter nbconvert --execute` runs
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(nb, path)
    assert "repro" not in json.dumps([c.get("outputs") for c in nb.cells])
    code, data = verify_json(capsys, str(path))
    notebook = data["notebooks"][0]
    assert code == 0, [c["diffs"] for c in notebook["cells"] if c["diffs"]]
    assert notebook["status"] == "reproduced" and notebook["compared"] == len(NAMESPACE_CELLS)


def test_record_then_verify_with_a_skipped_cell_gives_no_order_note(tmp_path, capsys):
    path = write_notebook(tmp_path / "skip.ipynb", "x = 1", "print('download')", "print(x)")
    nb = nbformat.read(path, 4)
    skipped = nb.cells[2]
    skipped.metadata["tags"] = ["repro-skip"]
    skipped.execution_count = 17  # from a session long ago
    skipped.outputs = [nbformat.v4.new_output("stream", name="stdout", text="download\n")]
    nbformat.write(nb, path)
    assert run_cli(capsys, "record", str(path))[0] == 0
    written = nbformat.read(path, 4)
    assert [c.execution_count for c in written.cells[1:]] == [1, None, 2]  # the skipped cell: In [ ]
    assert written.cells[2].outputs[0]["text"] == "download\n"  # its outputs are kept

    # A different stored count on the skipped cell, and a difference elsewhere, still give no order note.
    written.cells[2].execution_count = 99
    written.cells[3].outputs[0]["text"] = "2\n"
    nbformat.write(written, path)
    code, data = verify_json(capsys, str(path))
    notebook = data["notebooks"][0]
    assert code == 1 and notebook["status"] == "differs"
    assert not [n for n in notebook["notes"] if "order" in n or "skip" in n], notebook["notes"]


def shorten_the_default_limit(monkeypatch, seconds: float) -> None:
    """The default time limit per cell, shortened for a test: the setting's default and the constant."""
    import dataclasses

    from repro.notebook import options

    table = tuple(dataclasses.replace(s, default=seconds) if s.name == "timeout" else s for s in options.SETTINGS)
    monkeypatch.setattr(options, "SETTINGS", table)
    monkeypatch.setattr(options, "DEFAULT_TIMEOUT", seconds)  # the timeout message names the default limit


def test_a_cell_that_never_ends_is_stopped_by_the_default_limit(tmp_path, capsys, monkeypatch):
    shorten_the_default_limit(monkeypatch, 2.0)
    path = write_notebook(tmp_path / "hang.ipynb", "x = 1", "import time\nwhile True:\n    time.sleep(0.1)")
    code, data = verify_json(capsys, str(path))  # no --timeout
    failure = data["notebooks"][0]["failure"]
    assert code == 1 and failure["kind"] == "timeout" and failure["cell"] == 2
    assert failure["message"].startswith("cell timed out after 2 s (the default limit")


def test_timeout_none_removes_the_limit(tmp_path, capsys, monkeypatch):
    shorten_the_default_limit(monkeypatch, 1.0)
    path = write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(2.5)\nprint('done')")
    assert run_cli(capsys, "record", "--timeout", "none", str(path))[0] == 0
    code, data = verify_json(capsys, "--timeout", "0", str(path))
    assert code == 0 and data["notebooks"][0]["status"] == "reproduced"


@pytest.mark.parametrize("sequential", [False, True])
def test_the_watchdog_ends_a_run_whose_client_stopped(tmp_path, monkeypatch, sequential):
    from repro.notebook import execute, pipeline

    async def stuck(self, *args, **kwargs):  # the client's wait for a reply that never returns
        await asyncio.Event().wait()

    monkeypatch.setattr(execute._Client, "_async_poll_for_reply", stuck)  # one cell at a time
    monkeypatch.setattr(pipeline.Pipeline, "_settle", stuck)  # pipelined
    monkeypatch.setattr(execute, "WATCHDOG_GRACE", 1.0)
    path = write_notebook(tmp_path / "stuck.ipynb", "x = 1")
    pids = []
    real_watch = execute.Watchdog.watch

    def watch(self, loop, task):
        pids.append(self._manager.provisioner.process.pid)
        return real_watch(self, loop, task)

    monkeypatch.setattr(execute.Watchdog, "watch", watch)
    options = repro.Options(execute=repro.ExecuteOptions(timeout=1.0, startup_timeout=3.0, sequential=sequential))
    result = repro.verify_notebook(path, options)
    assert result.status == "failed" and result.failure.kind == "timeout"
    assert result.failure.cell_index == 1 and result.failure.message.startswith("no progress for 4 s")
    assert pids and not pid_alive(pids[0])  # the kernel is gone
