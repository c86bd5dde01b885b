"""Per-cell fingerprints: the recorder, %repro log and the payload."""

from __future__ import annotations

import json

import pytest

from repro.kernel.backends import Backend
from repro.payload import CellRecord, find_payload


def _records(shell):
    return json.loads(shell.out("%repro log --json"))


def test_each_cell_gets_one_record_with_seed_and_consumption(shell):
    shell.out("%seed 9")
    shell.out("y = np.random.rand()")
    shell.out("z = 1")
    records = _records(shell)
    draw, quiet = records[-2], records[-1]  # the log cell's own record comes after it prints
    assert draw["seed"] is not None and draw["seed_mode"] == "per-cell"
    assert draw["backends"]["numpy"]["consumed"] is True
    assert draw["backends"]["random"]["consumed"] is False
    assert quiet["backends"]["numpy"]["consumed"] is False
    assert draw["seed"] != quiet["seed"]


def test_the_record_travels_as_a_payload(shell):
    shell.out("%seed 9")
    shell.out("y = np.random.rand()")
    payload = find_payload(shell.ip.payload_manager.read_payload())
    assert payload is not None
    record = CellRecord.from_payload(payload)
    assert record.backends["numpy"].consumed is True
    assert record.source_digest == _records(shell)[-1]["source_digest"]


def test_the_load_cell_gets_a_record_without_before_states(_shell, capsys):
    ip = _shell
    ip.run_cell("import numpy.random")
    ip.run_cell("%load_ext repro")
    ip.run_cell("%repro log --json")
    records = json.loads(capsys.readouterr().out)
    assert records[0]["backends"]["numpy"]["before"] is None
    assert records[0]["backends"]["numpy"]["consumed"] is None
    ip.run_cell("%unload_ext repro")


def test_a_cell_magic_running_its_body_gives_one_record(shell):
    count = len(_records(shell))
    shell.out("%%capture captured\nprint(np.random.rand())")
    records = _records(shell)
    assert len(records) == count + 2  # the first log cell, then the %%capture cell
    assert records[-1]["backends"]["numpy"]["consumed"] is True


def test_a_cell_that_raises_is_recorded_as_an_error(shell):
    shell.run("1 / 0")
    records = _records(shell)
    assert records[-1]["error"] is True
    assert records[-2]["error"] is False


def test_log_table(shell):
    shell.out("%seed 9")
    shell.out("y = np.random.rand()")
    out = shell.out("%repro log")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["cell", "seed", "mode"]
    assert any("*" in line and "per-cell" in line for line in lines[1:-1])
    assert "drew random numbers" in lines[-1]


def test_a_failing_backend_is_one_warning_and_the_cell_still_runs(shell):
    class Broken(Backend):
        name = "broken"
        module = "sys"

        def seed(self, seed):
            raise RuntimeError("no seed for you")

        def state(self):
            return b""

    shell.repro.backends.append(Broken())
    shell.out("%seed 1")
    result, out, err = shell.run("x = np.random.rand()\nprint('ran')")
    assert result.success and out.strip() == "ran"
    assert "Traceback" not in err
    result, out, err = shell.run("print('again')")
    assert "broken" not in err  # reported once, then left alone
    shell.repro.backends.pop()


def test_seeding_in_the_cell_that_loads_repro_is_recorded(_shell, capsys, monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "0")  # no advice printed before the log
    ip = _shell
    ip.run_cell("import numpy.random")
    ip.run_cell("%load_ext repro\n%seed 42\nimport numpy as np\nx = np.random.rand(2)")
    ip.run_cell("%repro log --json")
    record = json.loads(capsys.readouterr().out)[0]
    assert record["seed"] == 42 and record["seed_mode"] == "per-cell"
    assert record["backends"]["numpy"]["consumed"] is True
    ip.run_cell("%unload_ext repro")


def test_log_marks_a_cell_that_raised(shell):
    shell.out("%seed 9")
    result, _, _ = shell.run("1 / 0")
    count = result.execution_count
    lines = shell.out("%repro log").splitlines()
    rows = {line.split()[0]: line for line in lines[1:] if line.split()[0][:1].isdigit()}
    assert f"{count}!" in rows and f"{count - 1}" in rows  # the cell before it did not raise
    assert "! the cell raised an exception" in lines
    assert "drew random numbers" in lines[-1]


def test_unseeded_generators_are_counted_in_the_record_and_the_log(shell):
    shell.out("%seed 9")
    shell.out("rng = np.random.default_rng()\nr = random.Random()\nold = np.random.RandomState()")
    shell.out("seeded = np.random.default_rng(5)")
    records = _records(shell)
    assert records[-2]["unseeded_generators"] == 3
    assert "unseeded_generators" not in records[-1]  # left out when there are none
    lines = shell.out("%repro log").splitlines()
    assert lines[0].split()[-1] == "unseeded"
    row = next(line for line in lines[1:] if line.split()[0] == str(records[-2]["execution_count"]))
    assert row.split()[-1] == "3"
    assert any(line.startswith("unseeded: generators the cell's code created without a seed") for line in lines)


def test_generators_a_library_makes_while_imported_are_seeded_but_not_counted(shell, tmp_path, monkeypatch):
    """A library that makes generators at import (SciPy's docs examples do) is not the cell's doing."""
    (tmp_path / "toymaker.py").write_text("import random\nimport numpy as np\n"
                                          "made = [random.Random(), np.random.default_rng()]\n"
                                          "def make():\n    return random.Random()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    shell.out("%seed 9")
    shell.out("import toymaker")
    shell.out("mine = toymaker.make()")
    records = _records(shell)
    assert "unseeded_generators" not in records[-2]  # the import made two: the library's own
    assert records[-1]["unseeded_generators"] == 1  # made by the cell's code, in the library
    assert "unseeded" in shell.out("%repro log").splitlines()[0]
    # Seeded all the same: the same source gives the same numbers in a fresh import.
    first = [g.random() for g in shell.ip.user_ns["toymaker"].made[:1]]
    del __import__("sys").modules["toymaker"]
    shell.out("import toymaker")
    assert [g.random() for g in shell.ip.user_ns["toymaker"].made[:1]] == first


@pytest.mark.parametrize("magic", ["%%deterministic --seed 3", "%%deterministic"])
def test_a_deterministic_cell_that_draws_nothing_did_not_draw(shell, magic):
    """%%deterministic seeds the generators: a seeding is not a draw."""
    shell.out("from repro.kernel.backends import DeterministicOptions\nfrom repro.kernel.extension import active")
    shell.out("%seed 9")
    shell.out(f"{magic}\ny = 1")
    quiet = _records(shell)[-1]
    assert quiet["backends"] and not any(b["consumed"] for b in quiet["backends"].values())
    shell.out(f"{magic}\nz = np.random.rand()")
    drew = _records(shell)[-1]
    assert drew["backends"]["numpy"]["consumed"] is True and drew["backends"]["random"]["consumed"] is False
    # What the cell drew before a seeding still counts (the extension's deterministic() seeds mid-cell).
    shell.out("z = random.random()\nwith active().deterministic(3, DeterministicOptions()):\n    y = 1")
    assert _records(shell)[-1]["backends"]["random"]["consumed"] is True
    assert "*" not in next(line for line in shell.out("%repro log").splitlines()
                           if line.split()[0] == str(quiet["execution_count"]))


def test_no_unseeded_count_without_a_seed_in_force(shell):
    shell.out("%seed --off")
    shell.out("rng = np.random.default_rng()")
    assert "unseeded_generators" not in _records(shell)[-1]
    assert "unseeded" not in shell.out("%repro log").splitlines()[0]


def test_records_of_a_cell_run_again_match_a_fresh_session(shell, _shell):
    # The second run seeds from the states the backends kept; a fresh extension has none.
    pytest.importorskip("torch")
    shell.out("import torch")
    cell = "a = np.random.rand(3)\nb = random.random()\nc = torch.rand(2)"
    shell.out("%seed 11")
    shell.out(cell)
    shell.out(cell)
    first, second = _records(shell)[-2:]
    shell.run("%unload_ext repro")
    shell.run("%load_ext repro")
    shell.out("%seed 11")
    shell.out(cell)
    fresh = _records(shell)[-1]
    assert first["backends"] == second["backends"] == fresh["backends"]
    assert all(state["consumed"] for state in fresh["backends"].values())


def test_torch_state_is_read_without_get_state(shell, monkeypatch):
    torch = pytest.importorskip("torch")
    import repro.kernel.backends.torch as torch_backend

    probe = torch.Generator().manual_seed(0)
    if torch_backend._engine_offset(probe) is None:
        pytest.skip("this torch build's CPU generator has another layout: state() uses get_state()")
    if torch.cuda.is_initialized():
        pytest.skip("with CUDA initialized, state() reads each device's generator with get_state()")
    shell.out("import torch\n%seed 3")  # in a shell the generator's padding bytes are not zero
    calls = []
    monkeypatch.setattr(torch_backend, "_generator_state", lambda g, _read=torch_backend._generator_state: (
        calls.append(g), _read(g))[1])
    shell.out("quiet = 1")
    assert calls == []
    shell.out("noisy = torch.rand(1)")
    assert calls == []  # the engine's fingerprint, read in place, after a draw too
    record = _records(shell)[-1]
    assert record["backends"]["torch"]["consumed"] is True
