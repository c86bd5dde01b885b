"""A ``%%repeat`` cell in a real kernel: recorded by ``repro-nb record``, then verified exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.builders import write_notebook

pytestmark = pytest.mark.kernel

REPRO_NB = Path(sys.executable).parent / "repro-nb"


def _repro_nb(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPRO_NB), *argv], capture_output=True, text=True, timeout=300)


def test_a_repeat_cell_records_and_verifies(tmp_path):
    path = write_notebook(
        tmp_path / "repeat.ipynb",
        "%load_ext repro",
        "%seed 1",
        "%%repeat 5\nimport random\nimport numpy as np\nprint('run')\n"
        "{'uniform': random.random(), 'normal': float(np.random.randn())}",
        "print(_repeat['seed'])",
    )
    recorded = _repro_nb("record", str(path))
    assert recorded.returncode == 0, recorded.stderr + recorded.stdout
    cell = nbformat.read(path, as_version=4).cells[3]
    kinds = [o["output_type"] for o in cell.outputs]
    # The progress display became the summary: nothing else of ours is stored.
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"stream"}, cell.outputs
    summary = cell.outputs[0]["data"]
    assert summary["text/plain"].startswith("%%repeat: 5 runs") and "<table>" in summary["text/html"]
    assert "progress" not in summary["text/plain"] and "run 1 of" not in summary["text/plain"]
    assert "".join(o["text"] for o in cell.outputs[1:]) == "run\n" * 5
    verified = _repro_nb("verify", str(path))
    assert verified.returncode == 0, verified.stderr + verified.stdout
