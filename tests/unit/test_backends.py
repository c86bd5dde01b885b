from __future__ import annotations

import random
import sys
import textwrap

import numpy as np
import pytest

from repro.kernel.backends import load_backends
from repro.kernel.backends.numpy import NumpyBackend
from repro.kernel.backends.python_random import FINGERPRINT_SIZE, PythonRandomBackend, _state_bytes


def test_builtin_backends_register_through_the_entry_point_group():
    names = [b.name for b in load_backends()]
    assert {"random", "numpy", "torch", "tensorflow", "keras", "cupy"} <= set(names)


def test_a_broken_plugin_is_one_warning_line(tmp_path, monkeypatch, capsys):
    dist = tmp_path / "brokenplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[repro.backends]\nbroken = brokenplugin_missing:Backend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    names = [b.name for b in load_backends()]
    assert "numpy" in names and "broken" not in names
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("repro: warning: ") and "'broken'" in lines[0]


@pytest.mark.parametrize("backend, draw", [(PythonRandomBackend(), random.random), (NumpyBackend(), np.random.rand)])
def test_state_changes_with_draws_and_returns_with_the_seed(backend, draw):
    backend.seed(5)
    seeded = backend.state()
    draw()
    assert backend.state() != seeded
    backend.seed(5)
    assert backend.state() == seeded
    backend.seed(6)
    assert backend.state() != seeded


def test_python_random_fast_state_matches_getstate():
    backend = PythonRandomBackend()
    random.seed(3)
    random.random()
    assert backend.state() == _state_bytes(random.getstate())[:FINGERPRINT_SIZE]
    random.gauss(0, 1)  # caches a second value in Python
    assert backend.state().startswith(_state_bytes(random.getstate())[:FINGERPRINT_SIZE])
    assert backend.state() != _state_bytes(random.getstate())[:FINGERPRINT_SIZE]


@pytest.mark.parametrize("backend, draw_words", [(PythonRandomBackend(), random.getrandbits), (NumpyBackend(), None)])
def test_every_number_of_draws_changes_the_fingerprint(backend, draw_words):
    """Including whole multiples of the 624-word block, which bring the index back."""
    for count in (1, 623, 624, 625, 1248):
        backend.seed(11)
        seeded = backend.state()
        if draw_words is not None:
            for _ in range(count):
                draw_words(32)
        else:
            np.random.randint(0, 2**32, size=count, dtype=np.uint32)
        assert backend.state() != seeded, count


def test_seeding_matches_random_seed():
    backend = PythonRandomBackend()
    random.gauss(0, 1)
    backend.seed(99)
    assert random.random() == random.Random(99).random()


def test_torch_state_follows_the_cpu_generator():
    torch = pytest.importorskip("torch")
    from repro.kernel.backends.torch import TorchBackend

    backend = TorchBackend()
    backend.seed(42)
    seeded = backend.state()
    assert torch.rand(3, 4)[0, 0].item() == pytest.approx(0.8823, abs=1e-4)
    assert backend.state() != seeded
    torch.manual_seed(42)
    assert backend.state() == seeded
    assert not torch.cuda.is_initialized()  # seeding never initializes CUDA


def test_backends_import_nothing_heavy():
    import subprocess

    code = textwrap.dedent(
        """
        import sys
        from repro.kernel.backends import load_backends
        load_backends()
        import repro.kernel.extension, repro.kernel.magics, repro.kernel.recorder
        print([m for m in ("numpy", "torch", "tensorflow", "cupy", "nbformat", "nbclient") if m in sys.modules])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_snapshots_put_numpy_and_random_back_exactly():
    import random

    import numpy as np

    from repro.kernel.backends.numpy import NumpyBackend
    from repro.kernel.backends.python_random import PythonRandomBackend

    np.random.seed(3)
    np.random.randn()  # a normal left in the legacy cache
    random.seed(4)
    random.gauss(0, 1)
    before = np.random.get_state(), random.getstate()
    restores = [NumpyBackend().snapshot(), PythonRandomBackend().snapshot()]
    np.random.seed(5)
    np.random.rand(700)
    random.seed(6)
    random.random()
    for restore in restores:
        restore()
    after = np.random.get_state(), random.getstate()
    assert after[1] == before[1]
    assert after[0][0] == before[0][0] and np.array_equal(after[0][1], before[0][1]) and after[0][2:] == before[0][2:]
