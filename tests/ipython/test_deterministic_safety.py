"""%%deterministic never leaves the session half-changed: bad arguments, failing backends, failing restores."""

from __future__ import annotations

import json

import pytest

from repro.kernel.backends import Backend

torch = pytest.importorskip("torch")

from tests.ipython.test_deterministic import _flags  # noqa: E402  (torch's deterministic settings)


def _one_line(out: str, err: str) -> str:
    text = (out + err).strip()
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    return text


def _records(shell):
    return json.loads(shell.out("%repro log --json"))


@pytest.mark.parametrize("threads", ["1000000000000", "4097", str(2**64), "9" * 5000])
def test_too_many_threads_is_a_usage_error_that_changes_nothing(shell, threads):
    shell.out("import torch")
    before, current = _flags(), shell.repro.state.current
    result, out, err = shell.run(f"%%deterministic --threads {threads}\nprint('ran')")
    assert not result.success
    text = _one_line(out, err)
    assert text.startswith("UsageError:") and "4096" in text and len(text) < 200
    assert _flags() == before and shell.repro.state.current == current
    assert "torch" not in shell.repro._failed
    shell.out("%seed 1")
    shell.out("x = torch.rand(2)")
    assert _records(shell)[-1]["backends"]["torch"]["after"] is not None  # torch is still recorded


@pytest.mark.parametrize("threads", ["0", "-3", "1_0", "\u0663", "+2", "2.0", "abc"])
def test_threads_must_be_plain_ascii_digits_from_1(shell, threads):
    shell.out("import torch")
    before = _flags()
    result, out, err = shell.run(f"%%deterministic --threads {threads}\nprint('ran')")
    assert not result.success
    text = _one_line(out, err)
    assert text.startswith("UsageError:") and "--threads" in text
    assert _flags() == before


def test_the_largest_thread_count_allowed_is_accepted(shell, monkeypatch):
    shell.out("import torch")
    before = _flags()
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))  # don't start 4096 threads
    import threadpoolctl

    monkeypatch.setattr(threadpoolctl.ThreadpoolController, "limit", lambda self, limits=None: calls.append(limits))
    out = shell.out("%%deterministic --threads 4096\nprint('ran')")
    assert out.strip() == "ran"
    assert 4096 in calls
    monkeypatch.undo()
    assert _flags() == before


def test_torch_failing_half_way_undoes_its_own_changes(shell, monkeypatch):
    """set_num_threads failing after deterministic algorithms were switched on: they are switched off again."""
    shell.out("import torch")
    before = _flags()
    real = torch.set_num_threads

    def set_num_threads(n):
        if n == 3:
            raise RuntimeError("no 3 threads today")
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", set_num_threads)
    result, out, err = shell.run(
        "%%deterministic --threads 3\n"
        "print(torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)"
    )
    assert result.success
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("repro: warning:")]
    assert len(warnings) == 1 and "torch" in warnings[0] and "no 3 threads today" in warnings[0]
    assert out.split() == ["False", str(before[3])]  # nothing of torch's deterministic mode was left on
    assert _flags() == before


class _Toy(Backend):
    """A backend on an always-loaded module that logs what it is asked to do."""

    module = "sys"

    def __init__(self, name, log, fail_in=None, exc=None):
        self.name = name
        self._log = log
        self._fail_in = fail_in
        self._exc = exc

    def _maybe_fail(self, where):
        if self._fail_in == where:
            raise self._exc

    def seed(self, seed):
        self._log.append((self.name, "seed", seed))

    def state(self):
        return b""

    def deterministic(self, options):
        self._maybe_fail("deterministic")
        self._log.append((self.name, "on"))

        def restore():
            self._log.append((self.name, "off"))
            self._maybe_fail("restore")

        return restore


@pytest.mark.parametrize("exc", [SystemExit(2), RuntimeError("boom"), GeneratorExit()])
def test_a_restore_that_raises_does_not_stop_the_others(shell, exc):
    shell.out("import torch")
    before = _flags()
    log = []
    shell.repro.backends[:0] = [_Toy("aaa", log, "restore", exc)]  # restored last: after torch
    shell.repro.backends.append(_Toy("zzz", log, "restore", exc))  # restored first: before torch
    result, out, err = shell.run("%%deterministic --threads 1\nprint(torch.are_deterministic_algorithms_enabled())")
    assert result.success, err
    assert out.strip() == "True"
    assert "Traceback" not in err
    assert [e for e in log if e[1] in ("on", "off")] == [("aaa", "on"), ("zzz", "on"), ("zzz", "off"), ("aaa", "off")]
    assert _flags() == before  # torch and the thread pools were restored in between
    assert sum(line.startswith("repro: warning:") for line in err.splitlines()) == 2


def test_ctrl_c_in_a_restore_still_runs_every_restore_then_stops(shell):
    shell.out("import torch")
    before = _flags()
    log = []
    shell.repro.backends.append(_Toy("zzz", log, "restore", KeyboardInterrupt()))
    result, out, err = shell.run("%%deterministic --threads 1\nprint('body')")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert out.startswith("body\n")  # then the KeyboardInterrupt, as for any interrupted cell
    assert [e for e in log if e[1] in ("on", "off")] == [("zzz", "on"), ("zzz", "off")]
    assert _flags() == before


def test_ctrl_c_while_switching_on_undoes_what_was_switched_on(shell):
    shell.out("import torch")
    before, current = _flags(), shell.repro.state.current
    log = []
    shell.repro.backends.append(_Toy("zzz", log, "deterministic", KeyboardInterrupt()))
    result, out, err = shell.run("%%deterministic --threads 1\nprint('body')")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert not out.startswith("body")  # the body did not run
    assert _flags() == before and shell.repro.state.current == current


@pytest.mark.parametrize("exc", [SystemExit(1), RuntimeError("boom")])
def test_a_backend_failing_to_switch_on_is_one_warning_and_the_rest_stay_deterministic(shell, exc):
    shell.out("import torch")
    before, current = _flags(), shell.repro.state.current
    log = []
    shell.repro.backends.append(_Toy("zzz", log, "deterministic", exc))
    result, out, err = shell.run("%%deterministic --seed 5\nprint(torch.are_deterministic_algorithms_enabled())")
    assert result.success and out.strip() == "True"
    assert _one_line("", err).startswith("repro: warning: random backend 'zzz'")
    assert _flags() == before and shell.repro.state.current == current


def test_thread_pools_failing_is_one_warning_and_undone(shell, monkeypatch):
    """threadpoolctl fails half-way: the limits it had already set are put back."""
    import threadpoolctl

    shell.out("import torch")
    before, current = _flags(), shell.repro.state.current
    pools = {"blas": 8, "openmp": 8}

    class Controller:
        def info(self):
            return [{"user_api": api, "num_threads": n} for api, n in pools.items()]

        def limit(self, limits=None):
            if isinstance(limits, int):
                pools["blas"] = limits
                raise OSError("openmp said no")
            for info in limits:
                pools[info["user_api"]] = info["num_threads"]

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", Controller)
    result, out, err = shell.run("%%deterministic --threads 2\nprint(torch.get_num_threads())")
    assert result.success and out.strip() == "2"  # torch's own threads are still pinned
    text = _one_line("", err)
    assert text.startswith("repro: warning:") and "openmp said no" in text
    assert pools == {"blas": 8, "openmp": 8}
    assert _flags() == before and shell.repro.state.current == current


def test_deterministic_seed_arguments_are_checked_before_anything_changes(shell):
    shell.out("import torch")
    before = _flags()
    for seed in ["\u0663", "1_000", "-5", "4294967296", "9" * 5000]:
        result, out, err = shell.run(f"%%deterministic --seed {seed}\nprint('ran')")
        assert not result.success
        text = _one_line(out, err)
        assert text.startswith("UsageError: --seed:") and len(text) < 200
        assert _flags() == before


def test_a_deterministic_restore_that_is_not_callable_is_reported_at_entry(shell):
    class Odd(Backend):
        name = "odd"
        module = "sys"

        def seed(self, seed):
            pass

        def state(self):
            return b""

        def deterministic(self, options):
            return "not a function"

    shell.repro.backends.append(Odd())
    result, out, err = shell.run("%%deterministic\nprint('ran')")
    assert result.success and out.strip() == "ran"
    assert _one_line("", err).startswith("repro: warning: random backend 'odd' failed to enter deterministic mode")
