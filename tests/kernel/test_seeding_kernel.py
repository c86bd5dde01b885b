"""repro in real Jupyter kernels: what a user sees when notebooks run twice.

The kernels are expensive, so a few module-scoped runs are shared:

* ``nb_runs``: the seeded notebook NB executed by nbclient in two fresh kernels;
* ``kc_plain``: NB sent cell by cell through a KernelClient without cell ids,
  top to bottom, as ``jupyter nbconvert --execute`` used to;
* ``kc_ids``: NB sent with cell ids, as JupyterLab does, out of order, with a
  cell run twice and a cell never run;
* ``late_torch``: notebook B, which imports torch only after ``%seed 42``;
* ``misc``: one kernel for the checks that need a kernel where torch is not
  yet imported and repro not yet loaded.
"""

from __future__ import annotations

import importlib.util
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from repro.payload import CellRecord, find_payload
from repro.seeding import derive_cell_seed

pytestmark = pytest.mark.kernel

pytest.importorskip("numpy")  # the kernel runs the same interpreter as the tests


def record_in(payloads) -> CellRecord:
    """repro's record among a reply's payloads, found and parsed as the notebook side does."""
    return CellRecord.from_payload(find_payload(payloads))

HAS_TORCH = importlib.util.find_spec("torch") is not None

CANONICAL_TENSOR = (
    "tensor([[0.8823, 0.9150, 0.3829, 0.9593],\n"
    "        [0.3904, 0.6009, 0.2566, 0.7936],\n"
    "        [0.9408, 0.1332, 0.9346, 0.5936]])\n"
)
CANONICAL_CELL = "%seed 42\nimport torch\nprint(torch.rand(3, 4))"

# Notebook NB: (name, source, tags). Torch cells only where torch is installed.
_NB_CELLS: list[tuple[str, str, list[str]]] = [
    ("env", "import sys\nprint(sys.executable)\nprint(sys.prefix)", []),
    ("load", "%load_ext repro", []),
    ("imports", "import random\nimport numpy as np" + ("\nimport torch" if HAS_TORCH else ""), []),
    ("seed", "%seed 42", []),
    ("np_rand", "print(np.random.rand(4))", []),
    ("py_random", "print(random.random(), random.randint(0, 10**9))", []),
    ("np_result", "np.random.randint(0, 10**6, size=5)", []),
    ("np_rand_other", "# the same draw, in a cell with other code\nprint(np.random.rand(4), end='\\n')", []),
    ("no_draw", "total = sum(range(10))\nprint(total)", []),
    ("default_rng", "rng = np.random.default_rng()\nprint(rng.random(3))", []),
    ("raises", "raise ValueError('boom')", ["raises-exception"]),
    ("after_error", "print(np.random.rand(2))", []),
]
TORCH_DRAW = "import torch\nx = torch.rand(2)\nprint(x)"
TORCH_LATER = "print(torch.randn(2, 2))"
if HAS_TORCH:
    _NB_CELLS += [
        ("torch_draw", TORCH_DRAW, []),
        ("torch_later", TORCH_LATER, []),
        ("canonical", CANONICAL_CELL, []),
    ]
NB_INDEX = {name: i for i, (name, _source, _tags) in enumerate(_NB_CELLS)}
NB_SOURCE = {name: source for name, source, _tags in _NB_CELLS}
#: Cells that show random numbers.
DRAW_CELLS = [
    name
    for name in NB_INDEX
    if name not in {"env", "load", "imports", "seed", "no_draw", "raises"}
]

# How kc_ids runs NB after the set-up cells: out of order, np_result twice, py_random never.
SHUFFLED = [
    "torch_later",
    "np_rand_other",
    "default_rng",
    "np_result",
    "np_result",
    "raises",
    "after_error",
    "canonical",
    "torch_draw",
    "np_rand",
    "no_draw",
]
SETUP = ["env", "load", "imports", "seed"]
SEED_OFF = "%seed --off"


def make_notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for _name, source, tags in cells:
        cell = new_code_cell(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def repro_payloads(reply: dict) -> list[dict]:
    """The payloads of an execute_reply's content that claim to be repro's."""
    return [p for p in reply.get("payload") or [] if isinstance(p, dict) and p.get("source") == "repro"]


def stdout_of(run, name) -> str:
    return run.texts(NB_INDEX[name])["stdout"]


# -- shared kernel runs ---------------------------------------------------------------


@pytest.fixture(scope="module")
def nb_runs(kernels):
    """NB executed by nbclient in two fresh kernels."""
    return [kernels.run_notebook(make_notebook(_NB_CELLS)) for _ in range(2)]


@pytest.fixture(scope="module")
def nb_run(nb_runs):
    return nb_runs[0]


@pytest.fixture(scope="module")
def kc_plain(kernels):
    """NB top to bottom through a KernelClient, no cell ids; then %seed --off and default_rng again."""
    with kernels.session() as session:
        executions = {name: session.execute(source) for name, source, _tags in _NB_CELLS}
        off = session.execute(SEED_OFF)
        unseeded = session.execute(NB_SOURCE["default_rng"])
        return {"cells": executions, "off": off, "unseeded_rng": unseeded, "pid": session.pid}


@pytest.fixture(scope="module")
def kc_ids(kernels):
    """NB with JupyterLab-style cell ids, in a shuffled order; then %seed --off and default_rng again."""
    nb = make_notebook(_NB_CELLS)
    ids = {name: nb.cells[i].id for name, i in NB_INDEX.items()}
    order = SETUP + [name for name in SHUFFLED if name in NB_INDEX]
    with kernels.session() as session:
        runs = [(name, session.execute(NB_SOURCE[name], cell_id=ids[name])) for name in order]
        off = session.execute(SEED_OFF, cell_id="seed-off")
        unseeded = session.execute(NB_SOURCE["default_rng"], cell_id=ids["default_rng"])
        return {"runs": runs, "ids": ids, "off": off, "unseeded_rng": unseeded}


# -- 1. nbclient twice --------------------------------------------------------------


def test_kernel_is_the_test_interpreter(kernels, nb_run, misc):
    lines = stdout_of(nb_run, "env").splitlines()
    assert lines == [kernels.python(), sys.prefix]
    assert misc["env"].stdout.splitlines()[0] == kernels.python()


def test_seeded_notebook_gives_identical_outputs_in_two_kernels(nb_runs):
    first, second = nb_runs
    for name, index in NB_INDEX.items():
        assert first.texts(index) == second.texts(index), f"cell {name!r} differs between the two runs"
    for name in DRAW_CELLS:
        texts = first.texts(NB_INDEX[name])
        assert texts["stdout"] or texts["execute_result"], f"cell {name!r} printed nothing"
    assert first.texts(NB_INDEX["np_result"])["execute_result"].startswith("array([")
    # The seed makes the runs equal, not a kernel that happens to start the same way.
    assert stdout_of(first, "np_rand") != stdout_of(first, "after_error")


# -- 2. the same notebook through a KernelClient, with and without cell ids -----------------


def test_requests_without_cell_ids_give_the_nbclient_outputs(nb_run, kc_plain):
    for name, index in NB_INDEX.items():
        assert kc_plain["cells"][name].texts == nb_run.texts(index), f"cell {name!r}"


def test_requests_with_cell_ids_in_any_order_give_the_nbclient_outputs(nb_run, kc_ids):
    names = [name for name, _execution in kc_ids["runs"]]
    assert names.count("np_result") == 2 and "py_random" not in names  # re-run and skipped
    for position, (name, execution) in enumerate(kc_ids["runs"]):
        assert execution.texts == nb_run.texts(NB_INDEX[name]), f"cell {name!r}, request #{position}"


# -- 3. different sources, different numbers -------------------------------------------------


def test_two_cells_with_the_same_draw_but_different_source_differ(nb_run):
    plain, other = stdout_of(nb_run, "np_rand"), stdout_of(nb_run, "np_rand_other")
    assert plain.startswith("[") and other.startswith("[")
    assert plain != other


# -- 4. the canonical tensor ----------------------------------------------------------------


def test_canonical_tensor_when_torch_was_imported_before_seed(nb_run):
    pytest.importorskip("torch")
    assert "import torch" in NB_SOURCE["imports"]
    assert stdout_of(nb_run, "canonical") == CANONICAL_TENSOR


def test_canonical_tensor_when_torch_is_imported_after_seed(misc):
    pytest.importorskip("torch")
    assert misc["env"].stdout.splitlines()[-1] == "False"  # torch not imported before
    assert misc["canonical"].texts["stdout"] == CANONICAL_TENSOR
    assert misc["canonical"].reply["status"] == "ok"


# -- 5. import torch before or after %seed --------------------------------------------------------


@pytest.fixture(scope="module")
def late_torch(kernels):
    """Notebook B: torch is imported only by the drawing cell, after %seed 42."""
    pytest.importorskip("torch")
    cells = [
        ("load", "%load_ext repro", []),
        ("check", 'import sys\nprint("torch" in sys.modules)', []),
        ("seed", "%seed 42", []),
        ("torch_draw", TORCH_DRAW, []),
        ("torch_later", TORCH_LATER, []),
    ]
    run = kernels.run_notebook(make_notebook(cells))
    return {name: run.texts(i) for i, (name, _source, _tags) in enumerate(cells)}


def test_import_torch_before_or_after_seed_makes_no_difference(nb_run, late_torch):
    pytest.importorskip("torch")
    # Notebook A (NB) imports torch in the cell before %seed 42; notebook B does not.
    assert "import torch" in NB_SOURCE["imports"] and NB_INDEX["imports"] < NB_INDEX["seed"]
    assert late_torch["check"]["stdout"] == "False\n"
    for name in ("torch_draw", "torch_later"):
        assert late_torch[name]["stdout"].startswith("tensor(")
        assert late_torch[name]["stdout"] == stdout_of(nb_run, name), name


# -- 6. the payload ---------------------------------------------------------------------------


def test_every_reply_after_load_ext_carries_one_repro_record(nb_runs, kc_plain, kc_ids):
    replies = [[run.replies[i] for i in range(len(_NB_CELLS))] for run in nb_runs]
    replies.append([kc_plain["cells"][name].reply for name in NB_INDEX] + [kc_plain["off"].reply])
    replies.append([execution.reply for _name, execution in kc_ids["runs"]] + [kc_ids["off"].reply])
    for kernel_replies in replies:
        assert repro_payloads(kernel_replies[0]) == []  # "env" runs before %load_ext repro
        assert find_payload(kernel_replies[0].get("payload")) is None
        for reply in kernel_replies[1:]:
            ours = repro_payloads(reply)
            assert len(ours) == 1, reply
            assert ours[0]["version"] == 1
            record = record_in(reply["payload"])
            assert record is not None
            assert record.execution_count == reply["execution_count"]


def test_record_says_which_generators_a_cell_drew_from(nb_run):
    def backends(name):
        return record_in(nb_run.replies[NB_INDEX[name]]["payload"]).backends

    assert backends("np_rand")["numpy"].consumed is True
    assert backends("np_rand")["random"].consumed is False
    assert backends("py_random")["random"].consumed is True
    assert backends("py_random")["numpy"].consumed is False
    assert {name: state.consumed for name, state in backends("no_draw").items()} == {
        name: False for name in backends("no_draw")
    }
    assert "numpy" in backends("no_draw")
    if HAS_TORCH:
        assert backends("torch_draw")["torch"].consumed is True
        assert backends("np_rand")["torch"].consumed is False


def test_record_seed_is_the_same_in_two_kernels(nb_runs):
    seeds = [
        [record_in(run.replies[i]["payload"]).seed for i in range(1, len(_NB_CELLS))]
        for run in nb_runs
    ]
    assert seeds[0] == seeds[1]
    first = nb_runs[0]

    def seed(name):
        return record_in(first.replies[NB_INDEX[name]]["payload"]).seed

    assert seed("seed") == 42
    assert seed("np_rand") == derive_cell_seed(42, NB_SOURCE["np_rand"])
    assert seed("np_rand") != seed("np_rand_other")
    # A comment or a %%time header is not code: the seed stays.
    assert seed("np_rand") == derive_cell_seed(42, "%%time\n# a note\n" + NB_SOURCE["np_rand"])


def test_record_cell_id_is_the_id_sent(nb_run, kc_plain, kc_ids):
    for name, execution in kc_ids["runs"][1:]:
        record = record_in(execution.reply["payload"])
        assert record.cell_id == kc_ids["ids"][name] == execution.cell_id
    assert record_in(kc_ids["off"].reply["payload"]).cell_id == "seed-off"
    # Without an id in the request there is none in the record (nbclient sends none either).
    for name in list(NB_INDEX)[1:]:
        assert record_in(kc_plain["cells"][name].reply["payload"]).cell_id is None
        assert record_in(nb_run.replies[NB_INDEX[name]]["payload"]).cell_id is None


def test_a_cell_that_raises_is_recorded_and_later_cells_still_are(nb_run, kc_ids):
    raises = nb_run.replies[NB_INDEX["raises"]]
    assert raises["status"] == "error" and raises["ename"] == "ValueError"
    assert record_in(raises["payload"]).error is True
    for name in list(NB_INDEX)[NB_INDEX["raises"] + 1 :]:
        record = record_in(nb_run.replies[NB_INDEX[name]]["payload"])
        assert record is not None and record.error is False, name
    executions = dict(kc_ids["runs"])
    assert record_in(executions["raises"].reply["payload"]).error is True
    assert record_in(executions["after_error"].reply["payload"]).error is False


def test_no_record_without_load_ext(misc):
    assert misc["env"].reply["status"] == "ok"
    assert repro_payloads(misc["env"].reply) == []
    assert find_payload(misc["env"].reply.get("payload")) is None
    assert len(repro_payloads(misc["load"].reply)) == 1


# -- 7. default_rng() ----------------------------------------------------------------------------


def test_default_rng_is_seeded_under_seed_and_not_after_seed_off(nb_runs, kc_plain, kc_ids):
    seeded = [stdout_of(run, "default_rng") for run in nb_runs]
    assert seeded[0].startswith("[") and seeded[0] == seeded[1]
    assert kc_plain["off"].stdout == kc_ids["off"].stdout == "repro: seeding off\n"
    unseeded = [kc_plain["unseeded_rng"].stdout, kc_ids["unseeded_rng"].stdout]
    assert all(text.startswith("[") for text in unseeded)
    assert unseeded[0] != unseeded[1]
    assert seeded[0] not in unseeded


# -- 8. %seed abc -------------------------------------------------------------------------------


def test_bad_seed_is_a_one_line_usage_error(misc):
    execution = misc["bad_seed"]
    assert execution.reply["status"] == "error"
    assert execution.reply["ename"] == "UsageError"
    assert not execution.reply.get("traceback")
    assert [out["output_type"] for out in execution.outputs] == ["stream"]  # no traceback output
    texts = execution.texts
    assert texts["stdout"] == "" and texts["execute_result"] == ""
    lines = texts["stderr"].splitlines()
    assert len(lines) == 1 and lines[0].startswith("UsageError"), texts["stderr"]
    assert "abc" in lines[0]
    assert "Traceback" not in texts["stderr"]


# -- 9. %%deterministic --------------------------------------------------------------------------


def test_deterministic_cell_magic_switches_torch_on_for_one_cell(kernels):
    pytest.importorskip("torch")
    with kernels.session() as session:
        assert session.execute("%load_ext repro").reply["status"] == "ok"
        inside = session.execute(
            "%%deterministic\nimport torch\nprint(torch.are_deterministic_algorithms_enabled())"
        )
        after = session.execute("print(torch.are_deterministic_algorithms_enabled())")
        # Again, now with torch imported before the cell.
        inside_again = session.execute("%%deterministic\nprint(torch.are_deterministic_algorithms_enabled())")
        after_again = session.execute("print(torch.are_deterministic_algorithms_enabled())")
    assert (inside.reply["status"], inside.texts["stdout"]) == ("ok", "True\n"), inside.outputs
    assert after.texts["stdout"] == "False\n"
    assert inside_again.texts["stdout"] == "True\n"
    assert after_again.texts["stdout"] == "False\n"


# -- the misc kernel -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def misc(kernels):
    """A fresh kernel: a cell before repro, %load_ext, %seed abc, then the canonical cell (if torch)."""
    with kernels.session() as session:
        results = {
            "env": session.execute('import sys\nprint(sys.executable)\nprint("torch" in sys.modules)'),
            "load": session.execute("%load_ext repro"),
            "bad_seed": session.execute("%seed abc"),
        }
        if HAS_TORCH:
            results["canonical"] = session.execute(CANONICAL_CELL)
        return results


# -- 10. no kernel left behind -------------------------------------------------------------------


def test_kernel_process_is_gone_after_shutdown(kernels, nb_runs):
    with kernels.session() as session:
        pid = session.pid
        assert kernels.pid_alive(pid)
        assert session.execute("import os\nprint(os.getpid())").stdout == f"{pid}\n"
    assert not kernels.pid_alive(pid)
    # nbclient's kernels too (run_notebook also checks this as each run ends).
    for run in nb_runs:
        assert not kernels.pid_alive(run.pid)
