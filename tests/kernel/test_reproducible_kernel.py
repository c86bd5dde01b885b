"""The reproducible kernel (``repro-nb kernel install``) with a notebook's own ``%load_ext repro``,
and the PYTHONHASHSEED advice of a plain kernel, against real kernels."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from repro.payload import is_notice_output
from repro.seeding import derive_cell_seed
from tests.builders import notebook, run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel

DRAWS = ("import random\nprint(random.random())", "import numpy as np\nprint(np.random.rand(2))",
         "print(list({'apple', 'banana', 'cherry'}))")


@pytest.fixture
def repro_kernel(tmp_path, capsys, monkeypatch):
    """The reproducible kernel, installed as a user would, with per-cell seeding on (seed 5) at start."""
    prefix = tmp_path / "prefix"
    code, out, err = run_cli(capsys, "kernel", "install", "--prefix", str(prefix), "--name", "repro-test",
                             "--seed", "5")
    assert code == 0, err
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    return "repro-test"


def test_load_ext_on_the_reproducible_kernel_is_silent_keeps_the_seed_and_verifies_on_the_default_kernel(
        repro_kernel, tmp_path, capsys):
    lazy = "print(repr(numpy.random.rand()))"
    state = write_notebook(tmp_path / "state.ipynb", "%load_ext repro", "%seed",
                           "import numpy, sys\n%seed\nprint('numpy.random' in sys.modules)", lazy)
    assert run_cli(capsys, "record", "--kernel", repro_kernel, str(state))[0] == 0
    load, shown, imported, drawn = nbformat.read(state, 4).cells[1:]
    assert load.outputs == []  # no "already loaded, use %reload_ext"
    (described,) = shown.outputs
    assert described.text.startswith("repro: seed 5, re-seeding before every cell")  # the kernel's seed kept
    assert "PYTHONHASHSEED: fixed" in described.text
    # NumPy 2 loads numpy.random on first use: `import numpy` shows numpy imported, and the first
    # use seeds it with the seed of the cell that uses it.
    text = "".join(o.text for o in imported.outputs)
    assert "numpy (not imported)" not in text and "numpy" in text and text.endswith("False\n")
    expected = np.random.RandomState(derive_cell_seed(5, lazy)).rand()
    assert drawn.outputs[0].text == f"{expected!r}\n"

    # The README's notebook, recorded on the reproducible kernel, reproduces on the default one:
    # every cell but the one that prints a set of strings, whose order a reader of the default
    # kernel does not get (it may differ there, as hash order, and then only there).
    path = write_notebook(tmp_path / "readme.ipynb", "%load_ext repro", "%seed 42", *DRAWS)
    assert run_cli(capsys, "record", "--kernel", repro_kernel, str(path))[0] == 0
    recorded = nbformat.read(path, 4)
    assert recorded.cells[1].outputs == [] and recorded.cells[2].outputs == []
    code, data = verify_json(capsys, "--kernel", "python3", str(path))
    cells = data["notebooks"][0]["cells"]
    assert all(c["status"] == "same" for c in cells[:-1]), data
    assert cells[-1]["status"] == "same" or cells[-1]["cause"] == "hash-order", data


def test_the_hash_seed_advice_is_plain_text_once_and_never_a_difference(kernels, tmp_path, capsys, monkeypatch):
    """Run in a plain kernel (PYTHONHASHSEED not fixed) and saved, as from Lab; then verified."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    nb = notebook("%load_ext repro\n%seed 3", "%seed 4", DRAWS[0])
    run = kernels.run_notebook(nb)
    first, second = run.nb.cells[1], run.nb.cells[2]
    (advice,) = first.outputs
    assert advice.output_type == "display_data" and is_notice_output(advice)  # not stderr: not an error box
    assert list(advice.data) == ["text/plain"] and "repro-nb kernel install" in advice.data["text/plain"]
    assert second.outputs == []  # once
    path = tmp_path / "saved.ipynb"
    nbformat.write(run.nb, path)
    code, data = verify_json(capsys, str(path))
    assert code == 0 and data["notebooks"][0]["status"] == "reproduced", data
    # record fixes PYTHONHASHSEED: the advice never goes into a recorded notebook.
    assert run_cli(capsys, "record", str(path))[0] == 0
    assert "PYTHONHASHSEED" not in json.dumps([c.get("outputs", []) for c in nbformat.read(path, 4).cells])
