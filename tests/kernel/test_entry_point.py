"""One library entry point behind every face, and one bounded pool behind every kernel."""

from __future__ import annotations

import json
import threading

import nbformat
import psutil
import pytest

import repro
from repro.notebook.report import to_json_data
from tests.builders import run_cli, verify_json, write_notebook

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.kernel


def _comparable(report: dict) -> dict:
    """A JSON report without what legitimately differs between two executions: timings (also
    on the first line of the notebook's text report)."""
    for notebook in report["notebooks"]:
        notebook.pop("duration")
        notebook["report"] = notebook["report"][1:]
    return report


@pytest.fixture
def edited(pytester, capsys):
    """In pytester's folder (the current directory), a recorded notebook whose second output
    was edited by hand: drift, with a cause under --runs."""
    path = write_notebook(pytester.path / "nb.ipynb", "%seed 3\nimport random\nprint(random.random())",
                          "print(sorted({'x', 'y'}))\n1 + 1")
    code, _, err = run_cli(capsys, "record", "nb.ipynb")
    assert code == 0, err
    nb = nbformat.read(path, 4)
    nb.cells[2].outputs[-1]["data"]["text/plain"] = "3"
    nbformat.write(nb, path)
    return path


def test_cli_pytest_plugin_and_python_api_give_the_same_json(edited, capsys, pytester, monkeypatch):
    code, from_cli = verify_json(capsys, "nb.ipynb", "--runs", "2")
    assert code == 1

    from_api = to_json_data([repro.verify_notebook("nb.ipynb", runs=2)])

    pytester.makeconftest(
        """
        import json
        import pytest

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(item, call):
            yield
            if call.when == "call" and getattr(item, "result", None) is not None:
                from repro.notebook.report import to_json_data
                with open("report.json", "w") as handle:
                    json.dump(to_json_data([item.result]), handle)
        """
    )
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_inprocess("-p", "repro.pytest_plugin", "--repro", "--repro-runs=2", "nb.ipynb")
    result.assert_outcomes(failed=1)
    assert "[drift]" in result.stdout.str()  # the failure report names the cause
    from_plugin = json.loads((pytester.path / "report.json").read_text())

    assert from_cli["notebooks"][0]["cells"][1]["cause"] == "drift"
    assert _comparable(from_cli) == _comparable(from_api) == _comparable(from_plugin)


def _kernels_alive(ignore: frozenset = frozenset()) -> set[int]:
    """PIDs of this process's kernels that are alive, less *ignore* (kernels of earlier tests, winding down).

    Kernels are this process's own children; their children are not kernels, even when a
    fork shows the kernel's command line for the moment before it runs another program.
    """
    alive = set()
    for child in psutil.Process().children(recursive=False):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
        except psutil.Error:
            continue
    return alive - ignore


def test_jobs_cap_the_kernels_alive_whatever_the_runs(tmp_path, capsys):
    paths = [write_notebook(tmp_path / f"nb{i}.ipynb", "import time\ntime.sleep(1.5)\nprint('done')")
             for i in range(2)]
    for path in paths:  # stored outputs equal to what a run prints: nothing to explain, no extra run
        nb = nbformat.read(path, 4)
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="done\n")]
        nb.cells[1].execution_count = 1
        nbformat.write(nb, path)

    most = 0
    stop = threading.Event()
    earlier = frozenset(_kernels_alive())

    def watch() -> None:
        nonlocal most
        while not stop.is_set():
            most = max(most, len(_kernels_alive(earlier)))
            stop.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code, report = verify_json(capsys, *map(str, paths), "-j", "4", "--runs", "3", "--current-python")
    finally:
        stop.set()
        watcher.join()
    assert code == 0, report
    assert [n["runs"] for n in report["notebooks"]] == [3, 3]
    assert 2 <= most <= 4  # 6 runs wanted a kernel; the pool let 4 live at once
    assert not _kernels_alive(earlier)


def test_bad_input_raises_before_any_kernel_starts(tmp_path):
    with pytest.raises(repro.InputError, match="no such file"):
        repro.verify_notebooks([tmp_path / "missing.ipynb"])
    with pytest.raises(repro.InputError, match="runs must be"):
        repro.verify_notebook(write_notebook(tmp_path / "a.ipynb", "1"), runs=0)
    with pytest.raises(repro.InputError, match="no such kernel"):
        repro.verify_notebook(tmp_path / "a.ipynb", repro.Options(repro.ExecuteOptions(kernel_name="nope-kernel")))
