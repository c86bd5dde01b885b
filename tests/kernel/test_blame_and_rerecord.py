"""Real kernels: verify blames the right cell and the right cause, and ``record`` writes only
what a later run reproduces (no notices of repro's own, no timestamps, no entropy)."""

from __future__ import annotations

import json
import textwrap

import nbformat
import pytest

from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel


def record(capsys, path) -> None:
    code, _, err = run_cli(capsys, "record", str(path))
    assert code == 0, err


def edit(path, index: int, source: str) -> None:
    nb = nbformat.read(path, 4)
    nb.cells[index].source = source
    nbformat.write(nb, path)


# --------------------------------------------------------------------------- worker processes

AUGMENTED = textwrap.dedent('''
    import numpy as np
    import torch
    from torch.utils.data import Dataset

    class Augmented(Dataset):
        """Each sample drawn in the worker that loads it, as augmentations are."""

        def __len__(self):
            return 16

        def __getitem__(self, i):
            return torch.tensor([i + float(np.random.rand())])
''')


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_more_dataloader_workers_are_blamed_on_the_workers_not_numerics(tmp_path, capsys, context):
    pytest.importorskip("torch")
    (tmp_path / "augmented.py").write_text(AUGMENTED)
    loader = (f"loader = DataLoader(augmented.Augmented(), batch_size=2, num_workers={{n}}, "
              f"multiprocessing_context={context!r})")
    path = write_notebook(
        tmp_path / "train.ipynb", "%load_ext repro\n%seed 0",
        "import warnings\nimport augmented\nfrom torch.utils.data import DataLoader\n"
        "warnings.filterwarnings('ignore', message='This DataLoader will create')",  # more workers than cores
        loader.format(n=2), "total = sum(float(batch.sum()) for batch in loader)", "print(round(total, 6))",
        markdown_first=False)
    record(capsys, path)
    assert nbformat.read(path, 4).cells[3].metadata["repro"]["processes"] == 2
    edit(path, 2, loader.format(n=4))
    code, report = verify_json(capsys, str(path))
    notebook = report["notebooks"][0]
    assert code == 1 and notebook["first_difference"] == 4
    assert notebook["rng_divergence"] is None  # the kernel's own draws are the same
    assert notebook["state_divergence"]["cell"] == 3 and notebook["state_divergence"]["names"] == ["total"]
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert ("random draws in the kernel identical up to there; this cell ran 4 worker processes, whose draws "
            "the fingerprints do not see (num_workers") in out
    assert "numerics" not in out


# --------------------------------------------------------------------------- cells that seed


def test_an_edit_upstream_is_blamed_not_the_cell_that_imports_and_seeds(tmp_path, capsys):
    path = write_notebook(
        tmp_path / "own_seed.ipynb", "import numpy as np\nnp.random.seed(0)", "x = np.random.rand(3)",
        "print(np.random.rand(2).round(6))", markdown_first=False)
    record(capsys, path)
    edit(path, 1, "x = np.random.rand(4)")  # draws one more number
    code, report = verify_json(capsys, str(path))
    notebook = report["notebooks"][0]
    assert code == 1 and notebook["first_difference"] == 2
    assert notebook["rng_divergence"] == {"cell": 1, "backend": "numpy", "against": "stored", "unseeded": False}


def test_explicit_seeds_are_not_blamed_an_unseeded_draw_later_is(tmp_path, capsys):
    pytest.importorskip("torch")
    path = write_notebook(
        tmp_path / "explicit.ipynb", "import numpy as np\nimport torch\nimport random",
        "np.random.seed(12345)\ntorch.manual_seed(42)",
        "print(round(float(np.random.rand()), 6), round(float(torch.rand(1)), 6))",
        "noise = random.random()\nprint(round(noise, 4))", markdown_first=False)
    record(capsys, path)
    code, report = verify_json(capsys, str(path))
    notebook = report["notebooks"][0]
    assert code == 1 and [c["index"] for c in notebook["cells"] if c["status"] == "differs"] == [3]
    assert notebook["rng_divergence"] == {"cell": 3, "backend": "random", "against": "stored", "unseeded": True}
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert "first RNG divergence: random at cell 4: it drew from random's global generator while nothing had " \
           "seeded it" in out


# --------------------------------------------------------------------------- what record writes

BAD_FRAME = '''
class Unmeasurable(pd.DataFrame):
    def memory_usage(self, *args, **kwargs):
        raise RuntimeError("cannot measure")

odd = Unmeasurable({"a": [1, 2]})
print("user's own warning", file=sys.stderr)
'''


def test_record_keeps_repro_notices_out_and_digests_pandas_indexes(tmp_path, capsys):
    pytest.importorskip("pandas")
    path = write_notebook(
        tmp_path / "frames.ipynb", "import sys\nimport pandas as pd",
        "dates = pd.date_range('2024-01-01', periods=3)\nlevels = pd.MultiIndex.from_tuples([(1, 'a'), (2, 'b')])\n"
        "frame = pd.DataFrame({'x': [1.0, 2.0, 3.0]}, index=dates)\nprint(len(dates))",
        BAD_FRAME, "odd2 = Unmeasurable({'b': [3]})", markdown_first=False)
    record(capsys, path)
    nb = nbformat.read(path, 4)
    state = nb.cells[1].metadata["repro"]["state"]
    assert set(state) == {"dates", "levels", "frame"} and not any(v.startswith("<") for v in state.values())
    assert nb.cells[2].metadata["repro"]["state"]["odd"] == "<unreadable>"
    assert [o.get("text") for o in nb.cells[2].outputs] == ["user's own warning\n"]
    assert nb.cells[3].outputs == []  # it held nothing but repro's warning
    assert "repro: " not in path.read_text()
    code, _, _ = run_cli(capsys, "verify", str(path))
    assert code == 0


DETERMINISTIC = (
    "import numpy as np\nimport random\nimport time",
    "for i in range(6):  # the kernel sends its output in pieces that follow the clock\n"
    "    print('step', i)\n    time.sleep(0.07)",
    "x = np.arange(6).reshape(2, 3)\nprint(x.sum())",
    "rng = np.random.default_rng(7)\ny = rng.random(3)\ny.round(6)",
    "%load_ext repro\n%seed 3",
    "z = np.random.rand(2)\nprint(z.round(6), random.random() < 2)",
)


def test_recording_an_unchanged_notebook_again_leaves_it_byte_identical(tmp_path, capsys):
    path = write_notebook(tmp_path / "stable.ipynb", *DETERMINISTIC, markdown_first=False)
    record(capsys, path)
    first = path.read_bytes()
    record(capsys, path)
    assert path.read_bytes() == first
    cells = json.loads(first)["cells"]
    assert not any("execution" in cell["metadata"] for cell in cells)
    # Python's random (seeded from entropy at kernel start) and NumPy's (numpy.random imported
    # with no seed): no digests until %seed; then there are.
    assert cells[0]["metadata"]["repro"]["backends"]["random"] == {"before": None, "after": None, "consumed": False}
    assert cells[3]["metadata"]["repro"]["backends"]["numpy"] == {"before": None, "after": None, "consumed": False}
    assert all(cells[5]["metadata"]["repro"]["backends"][name]["after"] for name in ("random", "numpy"))


def test_torch_digests_are_the_same_in_every_kernel(tmp_path, capsys):
    """torch's digest is read from its generator's memory: padding and a stale cached sample
    (a float64 normal drawn, then the generator seeded again) must not make two kernels differ."""
    pytest.importorskip("torch")
    path = write_notebook(
        tmp_path / "torch.ipynb", "%load_ext repro\n%seed 5", "import torch",
        "a = torch.randn(3, dtype=torch.float64)\nprint(a.tolist())",
        "torch.manual_seed(1)\nb = torch.randn(1)\nprint(b.tolist())",
        "c = torch.rand(700)\nprint(round(float(c.sum()), 4))", markdown_first=False)
    record(capsys, path)
    first = path.read_bytes()
    record(capsys, path)
    assert path.read_bytes() == first
    cells = json.loads(first)["cells"]
    digests = [cell["metadata"]["repro"]["backends"]["torch"] for cell in cells[2:]]
    assert all(d["before"] and d["after"] and d["consumed"] for d in digests)
    assert cells[2]["metadata"]["repro"]["digests"] == 2
    code, report = verify_json(capsys, str(path))
    assert code == 0 and report["notebooks"][0]["rng_divergence"] is None
