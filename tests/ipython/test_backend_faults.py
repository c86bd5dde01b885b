"""A third-party backend that misbehaves costs one warning and itself, never the user's cell or the other records."""

from __future__ import annotations

import json
import random
import sys
import zlib

import pytest

from repro.kernel.backends import Backend


class Custom(BaseException):
    """A BaseException that is neither Exception, SystemExit nor KeyboardInterrupt."""


def _records(shell):
    return json.loads(shell.out("%repro log --json"))


def _warnings(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("repro: warning:")]


class _Toy(Backend):
    """A backend that raises *exc* (or returns *value* from state()) in the method named *where*."""

    def __init__(self, name="toy", module="sys", where=None, exc=None, value=b"", log=None):
        self.name = name
        self.module = module
        self._where = where
        self._exc = exc
        self._value = value
        self.log = [] if log is None else log

    def _call(self, where):
        self.log.append(where)
        if self._where == where:
            raise self._exc

    def seed(self, seed):
        self._call("seed")

    def state(self):
        self._call("state")
        return self._value

    def patch(self, entropy):
        self._call("patch")

        def restore():
            self._call("restore")

        return restore

    def deterministic(self, options):
        self._call("deterministic")
        return lambda: None


def _other_records_continue(shell, cells=2):
    for i in range(cells):
        _, _, err = shell.run(f"y = np.random.rand()  # {i}")
        assert not _warnings(err)
    records = _records(shell)[-cells:]
    for record in records:
        assert record["backends"]["numpy"]["consumed"] is True
        assert record["backends"]["random"]["after"] is not None
    return records[-1]


# -- problem 2: state() that is not bytes ---------------------------------------------------

@pytest.mark.parametrize("value", ["a string", 12345, None, ["a", "list"]])
def test_a_state_that_is_not_bytes_is_one_warning_and_the_other_records_continue(shell, value):
    shell.repro.backends.append(_Toy(name="textual", value=value))
    _, _, err = shell.run("%seed 1")
    warnings = _warnings(err)
    assert len(warnings) == 1 and "'textual'" in warnings[0] and "not bytes" in warnings[0]
    last = _other_records_continue(shell, cells=3)
    assert "textual" not in last["backends"]


def test_the_cell_in_which_a_state_is_first_not_bytes_is_still_recorded(shell):
    shell.out("%seed 1")
    shell.repro.backends.append(_Toy(name="textual", value="text"))
    _, _, err = shell.run("y = np.random.rand()")
    assert len(_warnings(err)) == 1
    record = _records(shell)[-1]
    assert record["backends"]["numpy"]["consumed"] is True and "textual" not in record["backends"]


@pytest.mark.parametrize("value", [bytearray(b"abc"), memoryview(b"abc")])
def test_a_buffer_state_is_taken_as_bytes(shell, value):
    shell.repro.backends.append(_Toy(name="buffer", value=value))
    _, _, err = shell.run("%seed 1")
    assert not _warnings(err)
    last = _other_records_continue(shell)
    assert last["backends"]["buffer"] == {"before": f"{zlib.crc32(b'abc'):08x}", "after": f"{zlib.crc32(b'abc'):08x}",
                                          "consumed": False}


def test_a_state_that_is_not_bytes_at_import_is_one_warning(shell, with_backends, tmp_path, monkeypatch):
    (tmp_path / "toytext.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with_backends(_Toy(name="toytext", module="toytext", value="text"))
    try:
        shell.out("%seed 1")
        result, out, err = shell.run("import toytext\nprint('imported')")
        assert result.success and out.strip() == "imported"
        warnings = _warnings(err)
        assert len(warnings) == 1 and "'toytext'" in warnings[0]
        assert "toytext" not in _other_records_continue(shell)["backends"]
    finally:
        sys.modules.pop("toytext", None)


# -- problem 3: BaseException that is not KeyboardInterrupt ---------------------------------

_EXCEPTIONS = [SystemExit(3), GeneratorExit(), Custom("custom"), RuntimeError("plain")]


@pytest.mark.parametrize("where", ["seed", "state", "patch", "deterministic"])
@pytest.mark.parametrize("exc", _EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_a_backend_raising_at_import_costs_one_warning_not_the_import(shell, with_backends, tmp_path, monkeypatch,
                                                                      where, exc):
    module = f"toylib_{where}_{type(exc).__name__.lower()}"
    (tmp_path / f"{module}.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    backend = _Toy(name="toylib", module=module, where=where, exc=exc)
    with_backends(backend)
    try:
        shell.out("%seed 1")
        magic = "%%deterministic\n" if where == "deterministic" else ""
        result, out, err = shell.run(f"{magic}import {module}\nprint({module}.x)")
        assert result.success, result.error_in_exec
        assert out.strip() == "1"
        warnings = _warnings(err)
        assert len(warnings) == 1 and "'toylib'" in warnings[0] and type(exc).__name__ in warnings[0]
        calls = len(backend.log)
        assert "toylib" not in _other_records_continue(shell)["backends"]
        assert len(backend.log) == calls  # ignored from then on
    finally:
        sys.modules.pop(module, None)


@pytest.mark.parametrize("where", ["seed", "state"])
@pytest.mark.parametrize("exc", _EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_a_loaded_backend_raising_costs_one_warning_not_the_cell(shell, where, exc):
    backend = _Toy(where=where, exc=exc)
    shell.repro.backends.append(backend)
    result, out, err = shell.run("%seed 1\nprint('seeded')")
    assert result.success and out.strip() == "seeded"
    assert len(_warnings(err)) == 1
    assert "toy" not in _other_records_continue(shell)["backends"]


@pytest.mark.parametrize("where", ["seed", "state"])
def test_a_backend_raising_before_a_cell_costs_one_warning_not_the_cell(shell, where):
    shell.out("%seed 1")
    shell.repro.backends.append(_Toy(where=where, exc=SystemExit(4)))
    result, out, err = shell.run("print('ran')")
    assert result.success and out.strip() == "ran"
    assert len(_warnings(err)) == 1
    _other_records_continue(shell)


def test_ctrl_c_in_a_backend_still_stops_the_import(shell, with_backends, tmp_path, monkeypatch):
    (tmp_path / "toyctrlc.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with_backends(_Toy(name="toyctrlc", module="toyctrlc", where="seed", exc=KeyboardInterrupt()))
    try:
        shell.out("%seed 1")
        result, _, _ = shell.run("import toyctrlc")
        assert isinstance(result.error_in_exec, KeyboardInterrupt)
    finally:
        sys.modules.pop("toyctrlc", None)


def test_ctrl_c_in_a_backend_still_stops_seed(shell):
    shell.repro.backends.append(_Toy(where="seed", exc=KeyboardInterrupt()))
    result, _, _ = shell.run("%seed 1")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert "toy" not in shell.repro._failed  # not a failure of the backend: the user stopped


# -- patches that cannot be undone ----------------------------------------------------------

@pytest.mark.parametrize("exc", [SystemExit(5), RuntimeError("stuck")], ids=lambda e: type(e).__name__)
def test_a_patch_whose_undo_raises_still_lets_seed_off_undo_the_others(shell, exc):
    original = random.Random
    shell.repro.backends.append(_Toy(where="restore", exc=exc))
    shell.out("%seed 1")
    assert random.Random is not original
    result, out, err = shell.run("%seed --off")
    assert result.success and "seeding off" in out
    assert len(_warnings(err)) == 1
    assert random.Random is original


def test_a_patch_that_returns_no_function_is_reported_when_patching(shell):
    class Odd(_Toy):
        def patch(self, entropy):
            return "not a function"

    original = random.Random
    shell.repro.backends.append(Odd(name="odd"))
    _, _, err = shell.run("%seed 1")
    warnings = _warnings(err)
    assert len(warnings) == 1 and "'odd' failed to patch" in warnings[0]
    result, out, err = shell.run("%seed --off")
    assert result.success and not _warnings(err)
    assert random.Random is original


# -- plugins that fail to load ----------------------------------------------------------------

class _EntryPoint:
    def __init__(self, name, obj=None, exc=None):
        self.name, self.value = name, f"plugin_{name}:Backend"
        self._obj, self._exc = obj, exc

    def load(self):
        if self._exc is not None:
            raise self._exc
        return self._obj


def test_plugins_that_raise_or_have_bad_names_are_warned_about_and_skipped(monkeypatch, capsys):
    import repro.kernel.backends as backends

    good = _Toy(name="good", module="good_module")
    points = [
        _EntryPoint("exits", exc=SystemExit(1)),
        _EntryPoint("custom", exc=Custom("nope")),
        _EntryPoint("listmodule", obj=_Toy(name="listmodule", module=["not", "hashable"])),
        _EntryPoint("bytesname", obj=_Toy(name=b"bytes", module="m")),
        _EntryPoint("good", obj=good),
        _EntryPoint("renamed", obj=_Toy(name="good", module="other_module")),
    ]
    monkeypatch.setattr(backends, "entry_points", lambda group: points)
    loaded = backends.load_backends()
    assert loaded == [good]
    err = capsys.readouterr().err
    assert len(_warnings(err)) == 5
    for name in ("exits", "custom", "listmodule", "bytesname", "renamed"):
        assert f"'{name}'" in err


def test_ctrl_c_while_loading_plugins_still_stops(monkeypatch):
    import repro.kernel.backends as backends

    monkeypatch.setattr(backends, "entry_points", lambda group: [_EntryPoint("x", exc=KeyboardInterrupt())])
    with pytest.raises(KeyboardInterrupt):
        backends.load_backends()


# -- a configured seed out of range ------------------------------------------------------------

@pytest.mark.parametrize("seed", [-1, 2**40])
def test_a_configured_seed_out_of_range_is_one_warning_and_repro_still_loads(shell, _shell, capsys, seed):
    from repro.kernel.extension import load, unload

    unload(_shell)
    try:
        repro = load(_shell, seed=seed)
        err = capsys.readouterr().err
        warnings = _warnings(err)
        assert len(warnings) == 1 and "seed" in warnings[0]
        assert repro.state.mode == "off"
        assert "seeding off" in shell.out("%seed")
        assert shell.out("%seed 3\nprint('seeded')").strip() == "seeded"
    finally:
        unload(_shell)
        load(_shell)


# -- optional methods ----------------------------------------------------------------------------

class _Minimal:
    """A backend as the README describes the least of one: name, module, seed(seed) and state(); no base class."""

    def __init__(self, module):
        self.name = "minimal"
        self.module = module
        self.seeds = []

    def seed(self, seed):
        self.seeds.append(seed)

    def state(self):
        return repr(self.seeds[-1:]).encode()


def test_a_backend_without_the_optional_methods_is_seeded_and_fails_nothing(shell, with_backends, tmp_path,
                                                                         monkeypatch):
    (tmp_path / "minimallib.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    backend = _Minimal("minimallib")
    with_backends(backend)
    try:
        shell.out("%seed 1")
        result, out, err = shell.run("import minimallib\nprint(minimallib.x)")
        assert result.success and out.strip() == "1" and not _warnings(err), err
        result, out, err = shell.run("%%deterministic\nimport numpy as np\nprint(minimallib.x + 1)")
        assert result.success, result.error_in_exec
        assert out.strip() == "2" and not _warnings(err), err
        result, _, err = shell.run("from joblib import Parallel, delayed\n"
                                   "Parallel(n_jobs=1)(delayed(abs)(-i) for i in range(2))")
        assert result.success and not _warnings(err), err
        assert "minimal" in _records(shell)[-1]["backends"] and len(backend.seeds) >= 3
    finally:
        sys.modules.pop("minimallib", None)
