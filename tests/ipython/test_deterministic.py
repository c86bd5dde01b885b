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


def test_an_already_imported_torch_gets_deterministic_mode_when_the_cell_imports_it(shell):
    # torch is in sys.modules here, so `import torch` is a lookup: the mode comes from entering
    # the cell. A first import inside the cell is tested below with a toy library, and for
    # torch itself in a fresh kernel (tests/kernel/test_seeding_kernel.py).
    out = shell.out("%%deterministic\nimport torch\nprint(torch.are_deterministic_algorithms_enabled())")
    assert out.strip() == "True"
    assert not torch.are_deterministic_algorithms_enabled()


def test_a_library_first_imported_inside_the_cell_gets_deterministic_mode(shell, _shell, tmp_path, monkeypatch):
    import sys

    import repro.kernel.extension
    from repro.kernel.backends import Backend
    from repro.kernel.extension import load, unload

    (tmp_path / "toydet.py").write_text("deterministic = False\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    class ToyBackend(Backend):
        name = "toydet"
        module = "toydet"

        def seed(self, seed):
            seen.append(("seed", seed))

        def state(self):
            return b""

        def deterministic(self, options):
            module = sys.modules["toydet"]
            module.deterministic = True

            def restore():
                module.deterministic = False

            return restore

    unload(_shell)
    builtin = repro.kernel.extension.load_backends
    monkeypatch.setattr(repro.kernel.extension, "load_backends", lambda: [*builtin(), ToyBackend()])
    load(_shell)
    try:
        assert "toydet" not in sys.modules
        out = shell.out("%%deterministic --seed 5\nimport toydet\nprint(toydet.deterministic)")
        assert out.strip() == "True"
        assert sys.modules["toydet"].deterministic is False  # restored after the cell
        assert ("seed", 5) in seen  # seeded at import with the cell's seed
    finally:
        sys.modules.pop("toydet", None)
        unload(_shell)
        monkeypatch.undo()
        load(_shell)


def test_bad_arguments(shell):
    for line, message in [("--threads 0", "--threads must be at least 1"), ("--seed x", "seed must be an integer")]:
        result, out, err = shell.run(f"%%deterministic {line}\nx = 1")
        assert not result.success
        assert message in out + err and "Traceback" not in out + err
