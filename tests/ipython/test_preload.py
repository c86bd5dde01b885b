"""The statement the runner sends before the first cell (repro.kernel_calls), run in a real shell."""

from __future__ import annotations

from repro import kernel_calls


def test_the_preload_loads_repro_with_the_runs_settings_and_binds_no_name(_shell, capsys):
    from repro.kernel.extension import active, unload

    unload(_shell)
    names = set(_shell.user_ns)
    try:
        result = _shell.run_cell(kernel_calls.preload_statement(11, True, 4096), silent=True, store_history=False)
        assert result.success
        repro = active(_shell)
        assert repro is not None
        assert (repro.state.mode, repro.state.base) == ("per-cell", 11)
        assert _shell.run_cell(kernel_calls.loaded_expression()).result is True
        assert set(_shell.user_ns) - names <= {"_", "__", "___", "_i", "_ii", "_iii"} | {
            n for n in _shell.user_ns if n.startswith(("_i", "_"))}
        assert not any("repro" in n or n == "preload" for n in set(_shell.user_ns) - names)
    finally:
        unload(_shell)
        capsys.readouterr()
