"""Loading, unloading and reloading the extension."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap


def _callbacks(ip):
    return {event: len(ip.events.callbacks[event]) for event in ("pre_run_cell", "post_run_cell")}


def test_unload_removes_exactly_what_load_added(_shell, capsys):
    ip = _shell
    original_random_class = random.Random
    ip.run_cell("%load_ext repro")  # IPython registers some of its own magics lazily
    ip.run_cell("%unload_ext repro")
    before = (_callbacks(ip), list(sys.meta_path), set(ip.magics_manager.magics["line"]), len(ip.configurables))
    ip.run_cell("%load_ext repro")
    ip.run_cell("%seed 1")
    assert "seed" in ip.magics_manager.magics["line"]
    assert "deterministic" in ip.magics_manager.magics["cell"]
    ip.run_cell("%unload_ext repro")
    after = (_callbacks(ip), list(sys.meta_path), set(ip.magics_manager.magics["line"]), len(ip.configurables))
    assert after == before
    assert "deterministic" not in ip.magics_manager.magics["cell"]
    assert random.Random is original_random_class
    capsys.readouterr()


def test_reload_does_not_double_register(_shell, capsys):
    ip = _shell
    base = _callbacks(ip)
    ip.run_cell("%load_ext repro")
    loaded = _callbacks(ip)
    assert all(loaded[k] > base[k] for k in base)
    ip.run_cell("%reload_ext repro")
    ip.run_cell("%reload_ext repro")
    assert _callbacks(ip) == loaded
    finders = [f for f in sys.meta_path if type(f).__name__ == "ImportWatcher"]
    assert len(finders) == 1
    ip.run_cell("%seed 1")
    capsys.readouterr()
    ip.run_cell("x = 1")
    ip.run_cell("%repro log --json")
    records = json.loads(capsys.readouterr().out)
    assert [r["source_digest"] for r in records].count(records[-2]["source_digest"]) == 1
    ip.run_cell("%unload_ext repro")
    assert _callbacks(ip) == base
    capsys.readouterr()


def test_loading_imports_no_heavy_library():
    code = textwrap.dedent(
        """
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        heavy = ["numpy", "torch", "tensorflow", "nbclient", "nbformat", "jax", "cupy"]
        assert not any(m in sys.modules for m in heavy)
        ip.run_cell("%load_ext repro")
        ip.run_cell("%seed 42")
        ip.run_cell("x = 1")
        print(sorted(m for m in heavy if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_reload_keeps_the_seed_state_and_tracing(_shell, capsys):
    ip = _shell
    ip.run_cell("%load_ext repro")
    ip.run_cell("%seed 5")
    ip.run_cell("%repro trace on")
    capsys.readouterr()
    cell = "import random\nprint(random.random(), random.Random().random())"
    ip.run_cell(cell, store_history=True)
    first = capsys.readouterr().out
    ip.run_cell("%reload_ext repro")
    ip.run_cell("%seed")
    ip.run_cell("%repro trace")
    out = capsys.readouterr().out
    assert "repro: seed 5, re-seeding before every cell" in out and "state tracing on" in out
    ip.run_cell(cell, store_history=True)
    assert capsys.readouterr().out == first
    ip.run_cell("%unload_ext repro")
    ip.run_cell("%load_ext repro")  # unloading and loading again starts afresh
    ip.run_cell("%seed")
    ip.run_cell("%repro trace")
    out = capsys.readouterr().out
    assert "seeding off" in out and "state tracing off" in out
    ip.run_cell("%unload_ext repro")
    capsys.readouterr()


def test_loading_again_is_silent_and_keeps_the_seed_state(_shell, capsys):
    ip = _shell
    ip.run_cell("%load_ext repro")
    ip.run_cell("%seed 5 --once")
    capsys.readouterr()
    ip.run_cell("%load_ext repro")
    assert capsys.readouterr() == ("", "")
    ip.run_cell("%seed")
    assert "seeded once with 5" in capsys.readouterr().out
    ip.run_cell("%unload_ext repro")
    load_ext = ip.magics_manager.magics["line"]["load_ext"]
    assert type(load_ext.__self__).__name__ == "ExtensionMagics"  # IPython's own %load_ext again
    capsys.readouterr()
