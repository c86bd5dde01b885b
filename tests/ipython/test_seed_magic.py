"""%seed in an in-process IPython shell."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from repro.seeding import derive_cell_seed

CANONICAL = """tensor([[0.8823, 0.9150, 0.3829, 0.9593],
        [0.3904, 0.6009, 0.2566, 0.7936],
        [0.9408, 0.1332, 0.9346, 0.5936]])"""


def test_seed_seeds_every_loaded_backend_with_exactly_n(shell):
    out = shell.out("%seed 42\nprint(np.random.rand(3).tolist(), random.random())")
    np.random.seed(42)
    random.seed(42)
    assert out.strip() == f"{np.random.rand(3).tolist()} {random.random()}"


def test_seed_then_torch_rand_gives_the_canonical_tensor(shell):
    pytest.importorskip("torch")
    assert shell.out("%seed 42\nimport torch\nprint(torch.rand(3, 4))").strip() == CANONICAL


def test_each_cell_is_reseeded_from_the_seed_and_its_own_source(shell):
    shell.out("%seed 7")
    source = "print(np.random.rand(2).tolist())"
    first = shell.out(source)
    shell.out("np.random.rand(100)")  # another cell draws in between
    assert shell.out(source) == first  # re-running gives the same numbers
    np.random.seed(derive_cell_seed(7, source))
    assert first.strip() == str(np.random.rand(2).tolist())


def test_different_cells_get_independent_streams(shell):
    shell.out("%seed 7")
    a = shell.out("print(np.random.rand(4).tolist())")
    b = shell.out("print(np.random.rand(4).tolist()); another = 'cell'")
    assert a != b


def test_unseeded_generators_are_derived_from_the_cell_seed_and_a_counter(shell):
    shell.out("%seed 3")
    source = (
        "print(np.random.default_rng().random(), np.random.default_rng().random(),"
        " np.random.RandomState().rand(), random.Random().random())"
    )
    first = shell.out(source).split()
    assert shell.out(source).split() == first
    assert first[0] != first[1]  # each call gets its own stream
    assert len(set(first)) == 4


def test_explicit_seeds_are_never_touched(shell):
    shell.out("%seed 3")
    out = shell.out(
        "print(np.random.default_rng(5).random(), np.random.RandomState(5).rand(), random.Random(5).random())"
    ).split()
    assert out == [
        str(np.random.default_rng(5).random()),
        str(np.random.RandomState(5).rand()),
        str(random.Random(5).random()),
    ]


def test_seed_off_stops_reseeding_and_undoes_patches(shell):
    original_random_class = random.Random
    shell.out("%seed 3")
    assert random.Random is not original_random_class
    shell.out("%seed --off")
    assert random.Random is original_random_class
    source = "print(np.random.default_rng().random())"
    assert shell.out(source) != shell.out(source)
    assert "seeding off" in shell.out("%seed")


def test_seed_once_does_not_reseed_before_each_cell(shell):
    shell.out("%seed 11 --once")
    source = "print(np.random.rand())"
    first, second = shell.out(source), shell.out(source)
    assert first != second
    np.random.seed(11)
    expected = [np.random.rand(), np.random.rand()]
    assert [float(first), float(second)] == expected
    assert "seeded once with 11" in shell.out("%seed")


def test_seed_without_arguments_shows_the_state(shell):
    shell.out("%seed 5")
    out = shell.out("%seed")
    assert "seed 5" in out
    assert "numpy" in out and "random" in out


@pytest.mark.parametrize(
    "line, message",
    [
        ("%seed abc", "seed must be an integer"),
        ("%seed -1", "between 0 and"),
        ("%seed 4294967296", "between 0 and"),
        ("%seed 1 --bogus", "unrecognized arguments"),
        ("%seed --once", "needs a seed"),
        ("%seed 3 --off", "takes no seed"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(shell, line, message):
    result, out, err = shell.run(line)
    assert not result.success
    text = (out + err).strip()
    assert text.startswith("UsageError:") and message in text
    assert "Traceback" not in text and len(text.splitlines()) == 1


def _displays(shell, source: str):
    """What the cell shows: its displays (as published), and its stderr."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = shell.ip.run_cell(source, store_history=True)
    assert result.success
    return captured.outputs, captured.stderr


def test_unfixed_hash_seed_advice_is_plain_text_once_naming_the_reproducible_kernel(shell, monkeypatch):
    from repro.payload import is_notice_output

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    shown, err = _displays(shell, "%seed 1")
    assert err == ""  # not an error: nothing on stderr (Jupyter shows stderr in red)
    (advice,) = shown
    text = advice.data["text/plain"]
    assert list(advice.data) == ["text/plain"] and len(text.splitlines()) == 1
    assert "PYTHONHASHSEED is not fixed" in text and "repro-nb kernel install" in text
    # As a notebook stores it: marked as repro's advice, which comparisons leave out.
    assert is_notice_output({"output_type": "display_data", "data": advice.data, "metadata": advice.metadata})
    shown, err = _displays(shell, "%seed 2")
    assert shown == [] and err == ""


def test_fixed_hash_seed_is_not_reported(shell, monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    assert _displays(shell, "%seed 1") == ([], "")


def test_a_library_whose_random_module_loads_on_first_use_is_shown_imported_and_seeded_then(
        shell, with_backends, tmp_path, monkeypatch):
    """NumPy 2 imports numpy.random on first use of np.random: `import numpy` loaded numpy."""
    from repro.kernel.backends import Backend

    package = tmp_path / "toylazy"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import importlib\ndef __getattr__(name):\n"
        "    if name == 'random':\n        return importlib.import_module('toylazy.random')\n"
        "    raise AttributeError(name)\n")
    (package / "random.py").write_text("import random as _random\ngenerator = _random.Random(12345)\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class LazyBackend(Backend):
        name = "toylazy"
        module = "toylazy.random"

        def seed(self, seed):
            sys.modules["toylazy.random"].generator.seed(seed)

        def state(self):
            return repr(sys.modules["toylazy.random"].generator.getstate()).encode()

    with_backends(LazyBackend())
    try:
        assert "toylazy (not imported)" in shell.out("%seed 42\n%seed")
        draw = "print(toylazy.random.generator.random())"
        assert "toylazy.random" not in sys.modules and "toylazy (not imported)" not in shell.out(
            "import toylazy\n%seed")
        assert "toylazy.random" not in sys.modules
        # First use imports it, in the middle of a cell: seeded then with that cell's seed.
        assert float(shell.out(draw)) == random.Random(derive_cell_seed(42, draw)).random()
    finally:
        for name in ("toylazy.random", "toylazy"):
            sys.modules.pop(name, None)


def test_a_library_imported_after_seed_is_seeded_at_import(shell, tmp_path, monkeypatch, _shell):
    """A module that keeps its own generator, imported after %seed, is seeded with the seed in force."""
    from repro.kernel.backends import Backend
    from repro.kernel.extension import load, unload

    (tmp_path / "toyrng.py").write_text("import random\ngenerator = random.Random(12345)\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class ToyBackend(Backend):
        name = "toyrng"
        module = "toyrng"

        def seed(self, seed):
            sys.modules["toyrng"].generator.seed(seed)

        def state(self):
            return repr(sys.modules["toyrng"].generator.getstate()).encode()

    unload(_shell)
    import repro.kernel.extension

    builtin = repro.kernel.extension.load_backends
    monkeypatch.setattr(repro.kernel.extension, "load_backends", lambda: [*builtin(), ToyBackend()])
    load(_shell)
    try:
        out = shell.out("%seed 42\nimport toyrng\nprint(toyrng.generator.random())")
        assert float(out) == random.Random(42).random()
        sys.modules.pop("toyrng")
        out = shell.out("import toyrng\nprint(toyrng.generator.random())")
        cell_seed = derive_cell_seed(42, "import toyrng\nprint(toyrng.generator.random())")
        assert float(out) == random.Random(cell_seed).random()
        assert sys.modules["toyrng"].__spec__.loader.__class__.__name__ != "_NotifyingLoader"
    finally:
        sys.modules.pop("toyrng", None)


def test_a_subclass_made_while_seeding_was_on_is_unseeded_after_off(shell):
    shell.out("%seed 7\nclass Derived(random.Random):\n    pass")
    shell.out("%seed --off")
    source = "print(Derived().random())"
    assert shell.out(source) != shell.out(source)


def test_forked_children_get_distinct_reproducible_entropy(shell):
    """DataLoader-style workers: each fork creates different unseeded generators, the same every run."""
    source = (
        "import os\n"
        "def child_draw():\n"
        "    read, write = os.pipe()\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.write(write, repr(float(np.random.default_rng().random())).encode())\n"
        "        os._exit(0)\n"
        "    os.close(write)\n"
        "    value = float(os.read(read, 100))\n"
        "    os.waitpid(pid, 0)\n"
        "    return value\n"
        "print([child_draw(), child_draw()])"
    )
    shell.out("%seed 5")
    first = shell.out(source)
    values = eval(first)
    assert values[0] != values[1]
    assert shell.out(source) == first


def test_seed_off_leaves_devices_started_later_unseeded(shell):
    """A GPU that starts after %seed --off keeps torch's own seed (tests/ipython/test_cuda.py
    checks it on a device); here, what the backend would seed it with."""
    pytest.importorskip("torch")

    shell.out("import torch\n%seed 5")
    shell.out("x = 1")
    torch_backend = next(b for b in shell.repro.backends if b.name == "torch")
    assert torch_backend._device_seed is not None
    shell.out("%seed --off")
    assert torch_backend._device_seed is None
