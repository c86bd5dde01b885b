"""%repro trace on|off: per-cell digests of the variables a cell changed, in its record."""

from __future__ import annotations

import json

import pytest

from repro.kernel import tracer as state_module


def _last_record(shell):
    return json.loads(shell.out("%repro log --json"))[-1]


def test_off_by_default_and_nothing_is_computed(shell, monkeypatch):
    calls = []
    monkeypatch.setattr(state_module, "digest_names", lambda *a, **k: calls.append(a) or ({}, {}))
    shell.out("a = np.ones(3)")
    assert "state" not in _last_record(shell)
    assert not calls and shell.repro.recorder.tracer is None
    assert shell.out("%repro trace") == "repro: state tracing off\n"


def test_trace_on_digests_the_changed_variables(shell):
    assert shell.out("%repro trace on") == "repro: state tracing on\n"
    shell.out("a = np.arange(4.0)\nb = [1, 2]\n_hidden = 3\nimport math\ndef f(): pass")
    first = _last_record(shell)["state"]
    assert set(first) == {"a", "b"} and len(first["a"]) == 16
    shell.out("a += 1")
    second = _last_record(shell)["state"]
    assert set(second) == {"a"} and second["a"] != first["a"]
    shell.out("%repro trace off")
    shell.out("a += 1")
    assert "state" not in _last_record(shell)


def test_a_value_that_cannot_be_digested_is_one_warning_not_a_traceback(shell):
    torch = pytest.importorskip("torch")  # noqa: F841
    shell.out("%repro trace on")
    shell.out("import torch\nclass Bad(torch.nn.Module):\n    def state_dict(self, *a, **k):\n        raise OSError('x')")
    result, out, err = shell.run("m = Bad()")
    assert result.success and "Traceback" not in err + out
    assert err.count("repro: warning: cannot digest the value of 'm'") == 1
    assert _last_record(shell)["state"]["m"] == "<unreadable>"
    shell.out("%repro trace off")


def test_load_with_trace_switches_it_on(_shell, capsys):
    from repro.kernel.extension import load, unload

    repro = load(_shell, trace=True)
    try:
        assert repro.tracing
        _shell.run_cell("v = 3")
        assert repro.recorder.records[-1]["state"] == {"v": repro.recorder.records[-1]["state"]["v"]}
    finally:
        unload(_shell)
