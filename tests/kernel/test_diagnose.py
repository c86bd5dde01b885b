"""verify explains why: causes from repeated runs, RNG divergence, stale outputs, environment."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel

def make(path: Path, *sources: str) -> Path:
    return write_notebook(path, *sources, markdown_first=False)


def verify(capsys, *argv: str) -> tuple[int, dict]:
    code, report = verify_json(capsys, *argv)
    return code, report["notebooks"][0]


def record(capsys, path: Path) -> None:
    code, _, err = run_cli(capsys, "record", str(path))
    assert code == 0, err


def test_unseeded_numpy_is_nondeterministic_and_its_stream_diverges(tmp_path, capsys):
    path = make(tmp_path / "np.ipynb", "import numpy as np", "print(np.random.rand(3))", "print('stable')")
    record(capsys, path)
    code, notebook = verify(capsys, "--runs", "2", str(path))
    assert code == 1 and notebook["runs"] == 2
    cells = {c["index"]: c for c in notebook["cells"]}
    assert cells[1]["status"] == "differs" and cells[1]["cause"] == "nondeterministic"
    assert cells[2]["status"] == "same" and cells[2]["cause"] is None
    assert notebook["rng_divergence"] == {"cell": 1, "backend": "numpy", "against": "stored", "unseeded": True}
    code, out, _ = run_cli(capsys, "verify", "--runs", "2", str(path))
    assert "1 cell differs: 1 nondeterministic (cell 2)" in out
    assert "first RNG divergence: numpy at cell 2: it drew from numpy's global generator while nothing " \
           "had seeded it" in out


def test_unseeded_torch_training_is_nondeterministic(tmp_path, capsys):
    pytest.importorskip("torch")
    path = make(
        tmp_path / "train.ipynb",
        "import torch",
        "model = torch.nn.Linear(1, 1)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "x = torch.linspace(0, 1, 8).unsqueeze(1)\nfor _ in range(20):\n"
        "    opt.zero_grad(); loss = ((model(x) - 2 * x) ** 2).mean(); loss.backward(); opt.step()\n"
        "print(round(loss.item(), 6))",
    )
    record(capsys, path)
    code, notebook = verify(capsys, "--runs", "2", str(path))
    assert code == 1
    assert notebook["cells"][1]["cause"] == "nondeterministic"


def test_a_set_of_strings_is_hash_order(tmp_path, capsys):
    words = ["books", "computers", "phones", "bags", "pens", "cups", "lamps", "chairs", "desks", "maps"]
    path = make(tmp_path / "sets.ipynb", f"print(list({set(words)!r}))")
    nb = nbformat.read(path, 4)
    # Stored outputs from a kernel whose PYTHONHASHSEED was not the one verify uses.
    NotebookClient(nb, kernel_name="python3").execute(env=dict(os.environ, PYTHONHASHSEED="123"))
    nbformat.write(nb, path)
    code, notebook = verify(capsys, "--runs", "2", str(path))
    assert code == 1
    assert notebook["cells"][0]["cause"] == "hash-order"


def test_a_hand_edited_output_is_drift_with_the_same_random_draws(tmp_path, capsys):
    path = make(tmp_path / "edited.ipynb", "%load_ext repro\n%seed 1", "import numpy as np\nprint(np.random.rand(2))")
    record(capsys, path)
    nb = nbformat.read(path, 4)
    nb.cells[1].outputs[0]["text"] = "[0.1 0.2]\n"
    nbformat.write(nb, path)
    code, notebook = verify(capsys, "--runs", "2", str(path))
    assert code == 1
    assert notebook["cells"][1]["cause"] == "drift"
    assert notebook["rng_divergence"] is None
    code, out, _ = run_cli(capsys, "verify", "--runs", "2", str(path))
    assert "with the same random draws: the stored output is not what this code produces here" in out


def test_changed_upstream_draws_are_found_where_the_stream_diverged(tmp_path, capsys):
    path = make(
        tmp_path / "once.ipynb",
        "%load_ext repro\n%seed 42 --once",
        "import numpy as np\nx = np.random.rand(3)",
        "print(np.random.rand())",
    )
    record(capsys, path)
    nb = nbformat.read(path, 4)
    nb.cells[1].source = "import numpy as np\nx = np.random.rand(4)"  # one more draw upstream
    nbformat.write(nb, path)
    code, notebook = verify(capsys, "--runs", "2", str(path))
    assert code == 1
    cells = {c["index"]: c for c in notebook["cells"]}
    assert cells[1]["status"] == "same"  # no visible output changed there
    assert cells[2]["status"] == "differs" and cells[2]["cause"] == "drift"
    assert notebook["rng_divergence"] == {"cell": 1, "backend": "numpy", "against": "stored", "unseeded": False}
    assert "cell 2 was edited since its outputs were recorded" in notebook["notes"]
    code, out, _ = run_cli(capsys, "verify", "--runs", "2", str(path))
    assert "drift: the random stream changed upstream, at cell 2" in out


def test_out_of_order_stored_outputs_are_noted(tmp_path, capsys):
    path = make(tmp_path / "order.ipynb", "print(1)", "print(2)")
    record(capsys, path)
    nb = nbformat.read(path, 4)
    nb.cells[0].execution_count, nb.cells[1].execution_count = 7, 3
    nb.cells[1].outputs[0]["text"] = "two\n"
    nbformat.write(nb, path)
    code, notebook = verify(capsys, str(path))
    assert code == 1
    assert any("run out of order" in note for note in notebook["notes"])


def test_record_stores_an_allow_listed_environment_and_verify_shows_changes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REPRO_TEST_SECRET_TOKEN", "s3cr3t-value")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    path = make(tmp_path / "env.ipynb", "import numpy as np\nprint(np.arange(3))")
    record(capsys, path)
    nb = nbformat.read(path, 4)
    env = nb.metadata["repro"]["environment"]
    assert env["packages"]["numpy"] == __import__("numpy").__version__
    assert env["env"] == {"OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    assert env["cpu_count"] == os.cpu_count()
    text = json.dumps(nb.metadata)
    for secret in ("s3cr3t-value", socket.gethostname(), os.path.expanduser("~"), str(tmp_path)):
        assert secret not in text
    env["packages"]["numpy"] = "1.0.0"
    nb.cells[0].outputs[0]["text"] = "[0 1 9]\n"
    nbformat.write(nb, path)
    code, notebook = verify(capsys, str(path))
    assert {"key": "packages.numpy", "recorded": "1.0.0", "current": __import__("numpy").__version__} in notebook[
        "environment_changes"
    ]
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert "environment changed since recording:" in out and "packages.numpy: 1.0.0 ->" in out


def test_kernel_install_gives_a_fixed_hash_seed_and_repro_loaded(tmp_path, capsys, monkeypatch):
    code, out, _ = run_cli(capsys, "kernel", "install", "--name", "repro-test", "--seed", "5",
                       "--prefix", str(tmp_path / "prefix"))
    assert code == 0 and "installed kernelspec repro-test" in out
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "prefix" / "share" / "jupyter"))
    nb = new_notebook(
        cells=[new_code_cell("import os\nprint(os.environ['PYTHONHASHSEED'])\n%seed")],
        metadata={"kernelspec": {"name": "repro-test", "display_name": "repro", "language": "python"}},
    )
    NotebookClient(nb, kernel_name="repro-test").execute()
    text = nb.cells[0].outputs[0]["text"]
    assert text.startswith("0\nrepro: seed 5, re-seeding before every cell")


def test_a_kernel_with_repro_loaded_takes_load_ext_silently_and_reload_keeps_the_seed(tmp_path, capsys, monkeypatch):
    code, _, _ = run_cli(capsys, "kernel", "install", "--name", "repro-reload", "--seed", "5",
                         "--prefix", str(tmp_path / "prefix"))
    assert code == 0
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "prefix" / "share" / "jupyter"))
    nb = new_notebook(
        cells=[new_code_cell("%load_ext repro"), new_code_cell("%seed 7\n%reload_ext repro"), new_code_cell("%seed")],
        metadata={"kernelspec": {"name": "repro-reload", "display_name": "repro", "language": "python"}},
    )
    NotebookClient(nb, kernel_name="repro-reload").execute()
    assert nb.cells[0].outputs == [] and nb.cells[1].outputs == []
    assert nb.cells[2].outputs[0]["text"].startswith("repro: seed 7, re-seeding before every cell")


def test_runs_must_be_a_positive_number(tmp_path, capsys):
    path = make(tmp_path / "x.ipynb", "print(1)")
    code, _, err = run_cli(capsys, "verify", "--runs", "0", str(path))
    assert code == 2 and "--runs" in err
