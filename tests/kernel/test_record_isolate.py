"""record --isolate against a real kernel: the outputs go into the notebook, nothing into its folder."""

from __future__ import annotations

import tempfile

import nbformat
import pytest

from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel


def test_record_and_verify_with_isolate_leave_the_folder_as_it_was(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "nb"
    folder.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = write_notebook(folder / "writes.ipynb",
                          "import os\nprint(os.path.exists('out.csv'))\nopen('out.csv', 'w').write('1,2\\n')")
    code, out, err = run_cli(capsys, "record", "--isolate", str(path))
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == ["writes.ipynb"]  # no out.csv left behind
    assert nbformat.read(path, 4).cells[1].outputs[0]["text"] == "False\n"
    code, data = verify_json(capsys, "--isolate", str(path))
    assert code == 0 and data["notebooks"][0]["side_effects"]["created"] == ["out.csv"]
    assert sorted(p.name for p in folder.iterdir()) == ["writes.ipynb"] and list(scratch.iterdir()) == []
