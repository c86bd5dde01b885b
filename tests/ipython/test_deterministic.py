"""%%deterministic in an in-process shell."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _flags():
    return (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.get_num_threads(),
    )


def test_flags_are_on_inside_and_restored_after(shell):
    shell.out("import torch")
    before = _flags()
    out = shell.out(
        "%%deterministic --threads 1\n"
        "print(torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,"
        " torch.backends.cudnn.benchmark, torch.get_num_threads())"
    )
    assert out.split() == ["True", "True", "False", "1"]
    assert _flags() == before


@pytest.mark.parametrize("exception", [ValueError, KeyboardInterrupt])
def test_restored_when_the_cell_raises_or_is_interrupted(shell, exception):
    shell.out("import torch")
    before = _flags()
    result, _, _ = shell.run(f"%%deterministic --threads 1\nraise {exception.__name__}")
    assert not result.success
    assert isinstance(result.error_in_exec, exception)
    assert _flags() == before


def test_a_nondeterministic_operation_raises_naming_it(shell):
    shell.out("import torch")
    result, out, err = shell.run(
        "%%deterministic\nx = torch.zeros(5)\nx.put_(torch.tensor([0, 1]), torch.tensor([1., 2.]), accumulate=False)"
    )
    assert not result.success
    assert "put_ does not have a deterministic implementation" in str(result.error_in_exec)


def test_warn_only_warns_instead(shell):
    shell.out("import torch")
    result, out, err = shell.run(
        "%%deterministic --warn-only\nimport warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    x = torch.zeros(5)\n"
        "    x.put_(torch.tensor([0, 1]), torch.tensor([1., 2.]), accumulate=False)\n"
        "print(x[1].item())\nprint(*[w.message for w in caught])"
    )
    assert result.success
    value, message = out.split("\n", 1)
    assert value == "2.0"
    assert "put_ does not have a deterministic implementation" in message


def test_the_cell_is_seeded_and_shows_its_last_value(shell):
    shell.out("import torch")
    cell = "%%deterministic --seed 42\ntorch.rand(1).item()"
    result, _, _ = shell.run(cell)
    torch.manual_seed(42)
    assert result.result == torch.rand(1).item()
    a, _, _ = shell.run("%%deterministic\nnp.random.rand()")
    b, _, _ = shell.run("%%deterministic\nnp.random.rand()")
    assert a.result == b.result  # the derived seed, even with %seed off


def test_torch_imported_inside_the_cell_gets_deterministic_mode(shell):
    # torch is already in sys.modules in this process; simulate a first import
    # by checking the per-import path through a re-seed of the record instead.
    out = shell.out("%%deterministic\nimport torch\nprint(torch.are_deterministic_algorithms_enabled())")
    assert out.strip() == "True"
    assert not torch.are_deterministic_algorithms_enabled()


def test_bad_arguments(shell):
    for line, message in [("--threads 0", "--threads must be at least 1"), ("--seed x", "seed must be an integer")]:
        result, out, err = shell.run(f"%%deterministic {line}\nx = 1")
        assert not result.success
        assert message in out + err and "Traceback" not in out + err
