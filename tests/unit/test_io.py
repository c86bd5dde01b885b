from __future__ import annotations

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from repro.notebook.errors import InputError
from repro.notebook.io import read_notebook, write_notebook_atomic


def _sample():
    cell = new_code_cell("print('a')\nprint('b')", execution_count=1)
    cell.outputs = [
        new_output("stream", name="stdout", text="a\nb\n"),
        new_output("execute_result", data={"text/plain": "1\n2", "application/json": {"x": [1, 2]}}, execution_count=1),
    ]
    return new_notebook(cells=[new_markdown_cell("# T\ntext"), cell], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def test_reads_the_same_notebook_as_nbformat(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(_sample(), path)
    assert read_notebook(path) == nbformat.read(path, as_version=4)


def test_atomic_write_leaves_the_original_when_replacing_fails(tmp_path, monkeypatch):
    path = tmp_path / "a.ipynb"
    nbformat.write(_sample(), path)
    before = path.read_bytes()
    changed = _sample()
    changed.cells[1].outputs = []

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(InputError, match="No space left on device"):
        write_notebook_atomic(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]


def test_atomic_write_keeps_the_file_mode(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(_sample(), path)
    os.chmod(path, 0o600)
    write_notebook_atomic(_sample(), path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_notebook(path) == nbformat.read(path, as_version=4)
