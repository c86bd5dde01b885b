"""Real kernels: verify names the first cell whose variables diverge, and the variables."""

from __future__ import annotations

import nbformat
import pytest

from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel


def record(capsys, path) -> None:
    code, _, err = run_cli(capsys, "record", str(path))
    assert code == 0, err


def test_runs_name_the_silent_cell_where_an_unseeded_array_diverged(tmp_path, capsys):
    path = write_notebook(tmp_path / "silent.ipynb", "import numpy as np", "n = 4", "arr = np.random.rand(n)",
                          "total = arr.sum()", "print(round(float(total), 6))", markdown_first=False)
    record(capsys, path)
    assert "state" in nbformat.read(path, 4).cells[2].metadata["repro"]
    code, report = verify_json(capsys, "--runs", "2", str(path))
    notebook = report["notebooks"][0]
    assert code == 1 and notebook["first_difference"] == 4
    assert notebook["state_divergence"]["cell"] == 2 and notebook["state_divergence"]["names"] == ["arr"]
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert "first state divergence: cell 3 (In [3]): arr differs" in out
    assert "outputs first differ at cell 5" in out


def test_an_edit_that_changes_an_array_but_no_output_is_found_against_the_stored_digests(tmp_path, capsys):
    path = write_notebook(tmp_path / "edit.ipynb", "import numpy as np", "n = 4", "arr = np.arange(n) * 1.0",
                          "total = arr.sum()", "print(total)", markdown_first=False)
    record(capsys, path)
    nb = nbformat.read(path, 4)
    nb.cells[2].source = "arr = np.arange(n)[::-1] * 1.0"  # same sum, other array
    nbformat.write(nb, path)
    code, report = verify_json(capsys, str(path))
    notebook = report["notebooks"][0]
    assert code == 0 and notebook["status"] == "reproduced"
    assert notebook["state_divergence"] == {"cell": 2, "names": ["arr"], "against": "stored"}
