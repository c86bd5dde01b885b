"""Notebooks saved after running their cells out of order: verify runs them once more in the
order their stored execution counts record, and ``record --reorder`` moves them into it."""

from __future__ import annotations

import random

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import repro.notebook.verify as verify_module
from repro.notebook.report import render_text
from repro.notebook.verify import verify_notebook
from repro.notebook.options import resolve_options
from tests.builders import KERNELSPEC, run_cli, verify_json

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.kernel


def _code(source: str, count: int | None, printed: str | None = None):
    cell = new_code_cell(source, execution_count=count)
    if printed is not None:
        cell.outputs = [new_output("stream", name="stdout", text=printed)]
    return cell


def _write(path, *cells):
    nbformat.write(new_notebook(cells=list(cells), metadata={"kernelspec": dict(KERNELSPEC)}), path)
    return path


@pytest.fixture
def name_defined_later(tmp_path):
    """As its author left it: the fourth cell, which defines `b`, ran before the third, which uses it."""
    return _write(
        tmp_path / "later.ipynb",
        new_markdown_cell("# Sums"),
        _code("a = 1\nprint(a)", 1, "1\n"),
        _code("print(a + b)", 3, "3\n"),
        new_markdown_cell("## b"),
        _code("b = 2\nprint(b)", 2, "2\n"),
    )


def test_a_notebook_that_fails_top_to_bottom_reproduces_in_the_recorded_order(name_defined_later, capsys):
    code, data = verify_json(capsys, "--timeout", "60", str(name_defined_later))
    notebook = data["notebooks"][0]
    assert code == 1 and notebook["status"] == "failed"  # the verdict stays top to bottom's
    assert notebook["failure"]["ename"] == "NameError"
    found = notebook["recorded_order"]
    assert found["reproduces"] is True and found["status"] == "reproduced"
    assert found["moves"] == [{"cell": 4, "execution_count": 2, "before": 2, "after": 1}]
    assert found["draws_depend_on_order"] is False

    code, out, err = run_cli(capsys, "verify", "--timeout", "60", str(name_defined_later))
    assert code == 1
    assert ("reproduces when run in the order it was recorded: cell 5 (In [2]) ran before cell 3 (In [3])"
            in out)
    assert "random draws" not in out


def test_the_junit_report_carries_the_finding(name_defined_later, tmp_path, capsys):
    report = tmp_path / "report.xml"
    code, out, err = run_cli(capsys, "verify", "--timeout", "60", "--junit-xml", str(report),
                             str(name_defined_later))
    assert code == 1
    assert "reproduces when run in the order it was recorded" in report.read_text(encoding="utf-8")


def test_recorded_order_off_runs_once(name_defined_later, capsys):
    code, data = verify_json(capsys, "--timeout", "60", "--recorded-order", "off", str(name_defined_later))
    assert code == 1 and data["notebooks"][0]["recorded_order"] is None


def test_global_seed_draws_made_in_another_order(tmp_path, capsys):
    """One `random.seed(0)`, and the author drew `y` before `x`: top to bottom, they swap."""
    stream = random.Random(0)
    first, second = stream.random(), stream.random()
    path = _write(
        tmp_path / "draws.ipynb",
        _code("import random\nrandom.seed(0)", 1),
        _code("x = random.random()\nprint('x', x)", 3, f"x {second}\n"),
        _code("y = random.random()\nprint('y', y)", 2, f"y {first}\n"),
    )
    code, data = verify_json(capsys, "--timeout", "60", str(path))
    notebook = data["notebooks"][0]
    assert code == 1 and notebook["status"] == "differs"
    found = notebook["recorded_order"]
    assert found["reproduces"] is True and found["draws_depend_on_order"] is True
    code, out, err = run_cli(capsys, "verify", "--timeout", "60", str(path))
    assert "its random draws depend on the order the cells run in" in out


def test_a_notebook_in_order_that_fails_runs_once(tmp_path, monkeypatch):
    path = _write(tmp_path / "ordered.ipynb", _code("print(1)", 1, "1\n"), _code("print(2)", 2, "3\n"))
    calls = []
    execute = verify_module._execute
    monkeypatch.setattr(verify_module, "_execute", lambda *a, **k: calls.append(a) or execute(*a, **k))
    result = verify_notebook(path, resolve_options(tmp_path, timeout=60, recorded_order="always"))
    assert result.status == "differs"
    assert result.recorded_order is None and len(calls) == 1


def test_always_runs_in_the_recorded_order_also_when_top_to_bottom_reproduces(tmp_path):
    path = _write(tmp_path / "independent.ipynb", _code("print(1)", 2, "1\n"), _code("print(2)", 1, "2\n"))
    auto = verify_notebook(path, resolve_options(tmp_path, timeout=60))
    assert auto.status == "reproduced" and auto.recorded_order is None
    always = verify_notebook(path, resolve_options(tmp_path, timeout=60, recorded_order="always"))
    assert always.status == "reproduced" and always.recorded_order.reproduces
    assert "also reproduces when run in the order it was recorded: cell 2 (In [1]) ran before cell 1 (In [2])" \
        in render_text([always])


def test_record_reorder_writes_the_cells_in_the_recorded_order(name_defined_later, capsys):
    ids = [cell.id for cell in nbformat.read(name_defined_later, 4).cells]
    code, out, err = run_cli(capsys, "record", "--reorder", "--timeout", "60", str(name_defined_later))
    assert code == 0, err
    assert "cells moved into the order they were recorded: cell 5 (In [2]) ran before cell 3 (In [3])" in out
    nb = nbformat.read(name_defined_later, 4)
    # The markdown cell "## b" moved with the code cell after it.
    assert [c.source for c in nb.cells] == ["# Sums", "a = 1\nprint(a)", "## b", "b = 2\nprint(b)", "print(a + b)"]
    assert [c.id for c in nb.cells] == [ids[i] for i in (0, 1, 3, 4, 2)]
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3]
    code, data = verify_json(capsys, "--timeout", "60", str(name_defined_later))
    assert code == 0 and data["notebooks"][0]["status"] == "reproduced"
    assert data["notebooks"][0]["recorded_order"] is None


def test_record_reorder_that_fails_leaves_the_file_and_names_the_cell_as_stored(tmp_path, capsys):
    path = _write(tmp_path / "broken.ipynb", _code("print(1)", 2, "1\n"), _code("1 / 0", 1))
    before = path.read_bytes()
    code, out, err = run_cli(capsys, "record", "--reorder", "--timeout", "60", str(path))
    assert code == 1 and "failed at cell 2: ZeroDivisionError" in err
    assert path.read_bytes() == before


def test_pytest_plugin_reports_the_finding_and_can_turn_it_off(name_defined_later, pytester, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugin = ("-p", "repro.pytest_plugin", "--repro", "--repro-timeout=60", str(name_defined_later))
    found = pytester.runpytest(*plugin)
    found.assert_outcomes(failed=1)
    assert "reproduces when run in the order it was recorded: cell 5 (In [2])" in found.stdout.str()
    off = pytester.runpytest(*plugin, "--repro-recorded-order=off")
    off.assert_outcomes(failed=1)
    assert "recorded" not in off.stdout.str().split("NameError", 1)[1]
