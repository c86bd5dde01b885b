"""CUDA: seeding, fingerprints and %%deterministic on a real GPU (skipped without one)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _records(shell):
    return json.loads(shell.out("%repro log --json"))


def test_a_cell_on_the_gpu_draws_what_manual_seed_of_its_seed_gives(shell):
    shell.out("import torch\n_ = torch.zeros(1, device='cuda')")
    shell.out("%seed 42")
    drawn = shell.out("print(torch.rand(3, 4, device='cuda').tolist())")
    seed = _records(shell)[-1]["seed"]  # the log cell's own record comes after it prints
    torch.manual_seed(seed)
    assert drawn.strip() == str(torch.rand(3, 4, device="cuda").tolist())
    again = shell.out("print(torch.rand(3, 4, device='cuda').tolist())")
    assert again == drawn  # same code, same seed: the same numbers on every run


def test_a_draw_on_the_gpu_alone_shows_in_the_record(shell):
    shell.out("import torch\n_ = torch.zeros(1, device='cuda')")
    shell.out("%seed 7")
    shell.out("_ = torch.rand(8, device='cuda')")
    drew = _records(shell)[-1]
    assert drew["backends"]["torch"]["consumed"] is True
    shell.out("_ = 1 + 1")
    assert _records(shell)[-1]["backends"]["torch"]["consumed"] is False


def _nondeterministic_cuda_op() -> str | None:
    """The first candidate op that torch itself refuses in deterministic mode on this GPU."""
    candidates = [
        "torch.zeros(100, device='cuda').scatter_reduce_(0, torch.zeros(1000, dtype=torch.long, device='cuda'),"
        " torch.ones(1000, device='cuda'), reduce='sum')",
        "torch.bincount(torch.zeros(1000, dtype=torch.long, device='cuda'), weights=torch.ones(1000, device='cuda'))",
        "torch.zeros(100, device='cuda').put_(torch.zeros(1000, dtype=torch.long, device='cuda'),"
        " torch.ones(1000, device='cuda'), accumulate=True)",
        "torch.zeros(100, device='cuda').index_put_((torch.zeros(1000, dtype=torch.long, device='cuda'),),"
        " torch.ones(1000, device='cuda'), accumulate=True)",
    ]
    for code in candidates:
        torch.use_deterministic_algorithms(True)
        try:
            eval(code, {"torch": torch})
        except RuntimeError as exc:
            if "deterministic" in str(exc):
                return code
        finally:
            torch.use_deterministic_algorithms(False)
    return None


def test_deterministic_refuses_a_nondeterministic_cuda_op(shell):
    code = _nondeterministic_cuda_op()
    if code is None:
        pytest.skip("every candidate op is deterministic on this GPU")
    shell.out("import torch")
    result, _, _ = shell.run(f"%%deterministic\n{code}")
    assert not result.success
    assert "does not have a deterministic implementation" in str(result.error_in_exec)
    assert not torch.are_deterministic_algorithms_enabled()  # restored after the cell
    result, out, err = shell.run(
        "%%deterministic --warn-only\nimport warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    {code}\n"
        "print(len(caught) > 0)"
    )
    assert result.success, err
    assert out.strip().endswith("True")


NEVER_INITIALISES = """
import torch
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
for cell in ["import torch", "%load_ext repro", "%seed 3", "x = torch.rand(4)", "%repro log",
             "%%deterministic\\ny = torch.rand(2) @ torch.rand(2)", "import numpy", "z = 1"]:
    result = ip.run_cell(cell)
    assert result.success, cell
print("INITIALISED", torch.cuda.is_initialized())
"""


def test_repro_never_initialises_cuda_itself():
    done = subprocess.run([sys.executable, "-c", NEVER_INITIALISES], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "INITIALISED False" in done.stdout


INITIALISED_IN_A_CELL = """
import json
import torch
from IPython.testing.globalipapp import start_ipython
from repro.seeding import derive_cell_seed
ip = start_ipython()
for cell in ["%load_ext repro", "%seed 0", "import torch"]:
    assert ip.run_cell(cell).success, cell
assert not torch.cuda.is_initialized()
CELL = "drawn = torch.rand(5, device='cuda').tolist()"
assert ip.run_cell(CELL).success  # CUDA starts inside this cell
torch.cuda.manual_seed(derive_cell_seed(0, CELL))
print(json.dumps([ip.user_ns["drawn"], torch.rand(5, device="cuda").tolist()]))
"""


def _drawn_in_a_fresh_process() -> list[list[float]]:
    done = subprocess.run([sys.executable, "-c", INITIALISED_IN_A_CELL], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cell_that_initialises_cuda_draws_what_manual_seed_of_its_seed_gives():
    (drawn, expected), (again, _) = _drawn_in_a_fresh_process(), _drawn_in_a_fresh_process()
    assert drawn == expected
    assert again == drawn  # two fresh kernels: the same numbers on the GPU


def test_a_device_started_after_seeding_was_switched_off_keeps_torchs_own_seed():
    from repro.seeding import derive_cell_seed

    code = ("import torch\nfrom IPython.testing.globalipapp import start_ipython\nshell = start_ipython()\n"
            "shell.run_line_magic('load_ext', 'repro')\nshell.run_line_magic('seed', '5')\n"
            "shell.run_cell('x = 1')\nshell.run_line_magic('seed', '--off')\n"
            "shell.run_cell('y = torch.rand(1, device=\"cuda\")')\nprint(torch.cuda.initial_seed())")
    seed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1]
    assert int(seed) != derive_cell_seed(5, "x = 1")  # not the seed of the last cell seeded
