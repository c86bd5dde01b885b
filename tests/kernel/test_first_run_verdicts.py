"""One verify run tells what it can: hash order, seeding changed, unseeded draws, what to do;
a pass stays a pass. Real kernels, notebooks recorded with `repro-nb record`."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from repro.notebook.advice import WHAT_TO_DO
from repro.notebook.results import Cause
from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel

WORDS = ["books", "computers", "phones", "bags", "pens", "cups", "lamps", "chairs", "desks", "maps"]
SET_CELLS = (f"words = set({WORDS!r})", "print(list(words))", "print(len(words))")


def recorded(path: Path, *sources: str, capsys, **kernelspec) -> Path:
    write_notebook(path, *sources, markdown_first=False)
    if kernelspec:
        nb = nbformat.read(path, 4)
        nb.metadata["kernelspec"] = kernelspec
        nbformat.write(nb, path)
    code, out, err = run_cli(capsys, "record", str(path))
    assert code == 0, out + err
    return path


def verify(capsys, *argv: str) -> tuple[int, dict]:
    code, report = verify_json(capsys, *argv)
    return code, report["notebooks"][0]


def test_a_set_of_strings_recorded_then_verified_is_hash_order_in_one_run(tmp_path, capsys):
    path = recorded(tmp_path / "sets.ipynb", *SET_CELLS, capsys=capsys)
    code, notebook = verify(capsys, str(path))
    assert code == 1 and notebook["status"] == "differs" and notebook["runs"] == 1
    cells = {c["index"]: c for c in notebook["cells"]}
    assert cells[1]["cause"] == "hash-order" and cells[2]["status"] == "same"
    assert notebook["hash_seed"] == {"recorded": "0", "run": "1", "kernel_fixes": False, "checked": "0"}
    assert notebook["advice"] == [f"hash-order: {WHAT_TO_DO[Cause.HASH_ORDER]}"]
    assert not [c for c in notebook["environment_changes"] if "PYTHONHASHSEED" in c["key"]]
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert "1 cell differs: 1 hash-order (cell 2)" in out.splitlines()[0]
    assert "hash order: cell 2 reproduces under the PYTHONHASHSEED the notebook was recorded under (0)" in out


def test_a_set_of_strings_on_the_reproducible_kernel_passes(tmp_path, capsys, monkeypatch):
    code, _, _ = run_cli(capsys, "kernel", "install", "--name", "repro-hash", "--prefix", str(tmp_path / "prefix"))
    assert code == 0
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "prefix" / "share" / "jupyter"))
    path = recorded(tmp_path / "sets.ipynb", *SET_CELLS, capsys=capsys,
                    name="repro-hash", display_name="repro", language="python")
    assert nbformat.read(path, 4).metadata["repro"]["hash_seed"] == "0"  # the kernel's own
    code, notebook = verify(capsys, str(path))
    assert code == 0 and notebook["status"] == "reproduced"
    assert notebook["hash_seed"] == {"recorded": "0", "run": "0", "kernel_fixes": True, "checked": None}


def test_seeding_removed_since_recording_is_named_in_one_run(tmp_path, capsys):
    path = recorded(tmp_path / "seeded.ipynb", "%load_ext repro\n%seed 0",
                    "import numpy as np\nprint(np.random.rand(2))", "print(np.random.rand())", capsys=capsys)
    nb = nbformat.read(path, 4)
    nb.cells[0].source = "%load_ext repro"
    nbformat.write(nb, path)
    code, notebook = verify(capsys, str(path))
    assert code == 1 and [c["index"] for c in notebook["cells"] if c["status"] == "differs"] == [1, 2]
    assert notebook["notes"][0] == ("recorded with per-cell seeding (%seed 0 in cell 1); this run has none, "
                                    "so its random draws are not the recorded ones")
    assert notebook["advice"][0] == "put the seeding back, or record again without it"
    assert not any("--runs 2" in line for line in notebook["advice"])


def test_unseeded_draws_are_named_with_the_fix_in_one_run(tmp_path, capsys):
    path = recorded(tmp_path / "unseeded.ipynb", "import numpy as np", "print(np.random.rand(2))", capsys=capsys)
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert code == 1
    assert "note: cell 2 drew from numpy with no seed in force: its numbers change on every run" in out
    assert f"what to do: {WHAT_TO_DO['unseeded']}" in out


def test_a_hand_edited_output_suggests_runs_2(tmp_path, capsys):
    path = recorded(tmp_path / "edited.ipynb", "print(1 + 1)", capsys=capsys)
    nb = nbformat.read(path, 4)
    nb.cells[0].outputs[0]["text"] = "3\n"
    nbformat.write(nb, path)
    code, notebook = verify(capsys, str(path))
    assert code == 1 and notebook["hash_seed"]["checked"] == "0"  # it differed: one run under the recorded one
    assert notebook["advice"] == [f"`repro-nb verify --runs 2 {path}` runs it twice and names the cause of each "
                                  "difference (nondeterministic: the runs disagree; drift: they agree, not with "
                                  "the stored outputs)"]


def test_a_pass_with_unseen_unseeded_draws_is_information(tmp_path, capsys):
    path = recorded(tmp_path / "quiet.ipynb", "import numpy as np", "a = np.random.rand(3)\nprint(a.shape)",
                    capsys=capsys)
    code, out, _ = run_cli(capsys, "verify", str(path))
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(f"ok {path}: reproduced")
    assert "RNG divergence" not in out
    assert lines[1] == ("  info: the outputs reproduced, but a after cell 2 (In [2]) differs from the recorded run, "
                        "in values no compared output shows (cell 2 drew from numpy with no seed in force): "
                        "nothing a reader sees depends on them")


def test_record_seed_and_verify_seed_are_a_pair(tmp_path, capsys):
    path = write_notebook(tmp_path / "plain.ipynb", "import numpy as np", "print(np.random.rand(2))",
                          markdown_first=False)
    code, out, _ = run_cli(capsys, "record", "--seed", "3", str(path))
    assert code == 0 and "`repro-nb verify --seed 3` verifies it so" in out
    assert nbformat.read(path, 4).metadata["repro"]["seed"] == 3
    assert run_cli(capsys, "verify", "--seed", "3", str(path))[0] == 0
    code, notebook = verify(capsys, str(path))
    assert code == 1
    assert notebook["notes"][0].startswith("recorded with per-cell seeding (record --seed 3); this run has none")
    assert notebook["advice"][0].startswith("`repro-nb verify --seed 3` seeds as the recording did")
